//! In-tool search: Basic authentication with the buyer credential and shared secret, JSON
//! results honouring the private marketplace, and a punchout that opens the chosen result.

mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement_web::testing::{api_gateway_event, send_event};
use serde_json::Value;
use support::*;

fn basic(user: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{secret}")))
}

fn coupa_auth() -> String {
    basic(
        &format!("{}/{}", demo::COUPA_DOMAIN, demo::COUPA_IDENTITY),
        demo::COUPA_SECRET,
    )
}

/// A procurement system's search request (method, query, Authorization header).
async fn send_search(
    world: &FakeWorld,
    method: &str,
    auth: Option<&str>,
    q: Option<&str>,
) -> Reply {
    let query = q
        .map(|q| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("q", q)
                .finish()
        })
        .unwrap_or_default();
    let mut event = api_gateway_event(method, "/search", &query, "text/plain", None, None);
    if let Some(auth) = auth {
        event["headers"]["authorization"] = auth.into();
    }
    send_event(&setup_app(world), &event).await
}

async fn search(world: &FakeWorld, auth: Option<&str>, q: Option<&str>) -> (Reply, Value) {
    let reply = send_search(world, "GET", auth, q).await;
    assert_eq!(reply.content_type(), "application/json");
    let json = serde_json::from_str(&reply.body).unwrap();
    (reply, json)
}

fn ids(json: &Value) -> Vec<String> {
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_with_a_challenge() {
    let world = FakeWorld::demo().await;
    let wrong_secret = basic(
        &format!("{}/{}", demo::COUPA_DOMAIN, demo::COUPA_IDENTITY),
        "guess",
    );
    let unknown = basic("DUNS/stranger", demo::COUPA_SECRET);
    // Another buyer's secret does not open this buyer.
    let crossed = basic(
        &format!("{}/{}", demo::COUPA_DOMAIN, demo::COUPA_IDENTITY),
        "another-buyers-secret",
    );
    for auth in [
        None,
        Some("Bearer x"),
        Some("Basic !!!"),
        Some(wrong_secret.as_str()),
        Some(unknown.as_str()),
        Some(crossed.as_str()),
    ] {
        let (reply, json) = search(&world, auth, Some("ledgerly")).await;
        assert_eq!(reply.status, 401, "{auth:?}");
        assert_eq!(json["error"]["status"], 401);
        let challenge = reply.header("www-authenticate");
        assert!(
            challenge.is_some_and(|c| c.starts_with("Basic ")),
            "{auth:?}"
        );
        assert!(!reply.body.contains(demo::COUPA_SECRET));
    }
}

#[tokio::test]
async fn a_disabled_integration_gets_403() {
    let world = FakeWorld::demo().await;
    change_integration(&world, demo::COUPA_ORG, |i| i.settings.enabled = false).await;
    let (reply, _) = search(&world, Some(&coupa_auth()), Some("ledgerly")).await;
    assert_eq!(reply.status, 403);
}

#[tokio::test]
async fn results_say_what_the_procurement_system_shows() {
    let world = FakeWorld::demo().await;
    // Domains are compared case-insensitively, as for cXML.
    let auth = basic(
        &format!("duns/{}", demo::COUPA_IDENTITY),
        demo::COUPA_SECRET,
    );
    let (reply, json) = search(&world, Some(&auth), Some("LEDGERLY")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["id"], "prod-saas-upfront");
    assert_eq!(r["supplier_part_id"], "prod-saas-upfront");
    assert_eq!(r["title"], "Ledgerly Analytics");
    assert_eq!(r["vendor"], "Ledgerly");
    assert_eq!(r["product_type"], "SaaS");
    assert_eq!(r["price_summary"], "12000.00 USD upfront for 12 months");
    assert_eq!(
        r["punchout_url"],
        "https://api.marketplace.example/punchout/setup"
    );

    let (_, json) = search(&world, Some(&coupa_auth()), Some("")).await;
    assert_eq!(ids(&json).len(), 13);
    let (_, json) = search(&world, Some(&coupa_auth()), Some("machine image")).await;
    assert_eq!(
        ids(&json),
        ["prod-ami-contract", "prod-ami-byol", "prod-ami-free"]
    );

    let (reply, json) = search(&world, Some(&coupa_auth()), None).await;
    assert_eq!(reply.status, 400);
    assert!(json["error"]["message"].as_str().unwrap().contains("q"));
}

#[tokio::test]
async fn the_private_marketplace_limits_results() {
    let world = FakeWorld::demo().await;
    // The Coupa buyer's organisation keeps a private marketplace (as the Ariba one does).
    let mut org = demo::organizations().remove(0);
    org.private_marketplace = Some(
        demo::ARIBA_PRIVATE_MARKETPLACE
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    world.deps.organizations.put(&org).await.unwrap();
    let (_, json) = search(&world, Some(&coupa_auth()), Some("")).await;
    let mut found = ids(&json);
    found.sort();
    let mut expected: Vec<String> = demo::ARIBA_PRIVATE_MARKETPLACE
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    assert_eq!(found, expected);
    let (_, json) = search(&world, Some(&coupa_auth()), Some("orbit")).await;
    assert!(ids(&json).is_empty());
}

#[tokio::test]
async fn a_result_punches_out_straight_to_its_product() {
    let world = FakeWorld::demo().await;
    let (_, json) = search(&world, Some(&coupa_auth()), Some("sentinel")).await;
    let part = json["results"][0]["supplier_part_id"].as_str().unwrap();
    // The procurement system sends its PunchOutSetupRequest with the SelectedItem.
    let token = open_session(&world, &Setup::coupa().selected(part)).await;
    let page = get(&world, "/punchout/start", &[("token", &token)]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Sentinel SIEM (private offer)</h1>"));
}

#[tokio::test]
async fn only_get_is_allowed() {
    let world = FakeWorld::demo().await;
    let reply = send_search(&world, "POST", Some(&coupa_auth()), Some("x")).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET"));
}
