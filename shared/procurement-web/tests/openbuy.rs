//! Coupa Open Buy: authentication with the buyer credential and shared secret, a short-lived
//! token stored as its digest, paged search honouring the private marketplace and private
//! offers, detail, and a checkout that opens the chosen product's punchout.

mod support;

use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement_web::testing::{api_gateway_event, send_event};
use serde_json::{Value, json};
use support::*;

fn coupa_credentials() -> String {
    format!(
        "{}/{}:{}",
        demo::COUPA_DOMAIN,
        demo::COUPA_IDENTITY,
        demo::COUPA_SECRET
    )
}

/// Coupa's POST of one Open Buy action (`authentication`, `search`, ...).
async fn call(
    world: &FakeWorld,
    method: &str,
    action: &str,
    token: Option<&str>,
    body: &str,
) -> (Reply, Value) {
    let path = format!("/openbuy/{action}/v1.0.0");
    let mut event = api_gateway_event(method, &path, "", "application/json", Some(body), None);
    if let Some(token) = token {
        event["headers"]["authorization"] = format!("Bearer {token}").into();
    }
    let reply = send_event(&setup_app(world), &event).await;
    assert_eq!(reply.content_type(), "application/json", "{}", reply.body);
    let json = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply, json)
}

async fn token(world: &FakeWorld) -> String {
    let body = json!({"credentials": coupa_credentials(), "email": "jim@buyer.example"});
    let (reply, json) = call(world, "POST", "authentication", None, &body.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    json["token"].as_str().unwrap().to_string()
}

async fn search(world: &FakeWorld, token: &str, body: Value) -> (Reply, Value) {
    call(world, "POST", "search", Some(token), &body.to_string()).await
}

fn parts(json: &Value) -> Vec<String> {
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["source_part_num"].as_str().unwrap().to_string())
        .collect()
}

async fn all_parts(world: &FakeWorld, token: &str, query: &str) -> Vec<String> {
    let (reply, json) = search(world, token, json!({"query": query})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(json["total_count"].as_u64().unwrap() <= procurement::openbuy::PAGE_SIZE as u64);
    parts(&json)
}

#[tokio::test]
async fn authentication_issues_a_token_stored_only_as_its_digest() {
    let world = FakeWorld::demo().await;
    let body = json!({"credentials": coupa_credentials(), "email": "jim@buyer.example"});
    let (reply, json) = call(&world, "POST", "authentication", None, &body.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let token = json["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert!(
        world
            .deps
            .open_buy_tokens
            .get(token)
            .await
            .unwrap()
            .is_none()
    );
    let stored = world
        .deps
        .open_buy_tokens
        .get(&cxml::SecretDigest::of(token).to_hex())
        .await
        .unwrap()
        .expect("stored by its digest");
    assert_eq!(stored.org_id.as_str(), demo::COUPA_ORG);
    let lifetime = stored.expires_at - time::OffsetDateTime::now_utc();
    assert!(
        lifetime <= time::Duration::minutes(procurement::openbuy::TOKEN_MINUTES)
            && lifetime > time::Duration::minutes(procurement::openbuy::TOKEN_MINUTES - 1),
        "{lifetime}"
    );
    // Base64 of the same credentials (as HTTP Basic would carry them) is read too; domains
    // are compared case-insensitively, as for cXML.
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
        "duns/{}:{}",
        demo::COUPA_IDENTITY,
        demo::COUPA_SECRET
    ));
    let body = json!({"credentials": encoded});
    let (reply, json) = call(&world, "POST", "authentication", None, &body.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_ne!(
        json["token"].as_str().unwrap(),
        token,
        "a new token each time"
    );
}

#[tokio::test]
async fn wrong_credentials_and_tokens_get_one_401() {
    let world = FakeWorld::demo().await;
    let wrong = [
        format!("{}/{}:guess", demo::COUPA_DOMAIN, demo::COUPA_IDENTITY),
        format!("DUNS/stranger:{}", demo::COUPA_SECRET),
        // The Ariba organisation's credential has no secret of its own.
        format!(
            "{}/{}:{}",
            demo::ARIBA_DOMAIN,
            demo::ARIBA_IDENTITY,
            demo::ARIBA_NETWORK_SECRET
        ),
        "not a credential".into(),
        demo::COUPA_SECRET.into(),
    ];
    let mut texts = Vec::new();
    for credentials in wrong {
        let body = json!({"credentials": credentials, "email": "x@buyer.example"});
        let (reply, json) = call(&world, "POST", "authentication", None, &body.to_string()).await;
        assert_eq!(reply.status, 401, "{credentials}: {}", reply.body);
        assert_eq!(json["error"]["status"], 401);
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|c| c.starts_with("Bearer ")),
        );
        assert!(!reply.body.contains(demo::COUPA_SECRET));
        texts.push(json["error"]["message"].clone());
    }
    let real = token(&world).await;
    for bad in [None, Some("x"), Some(&"0".repeat(64)), Some(&real[1..])] {
        let (reply, json) = search(&world, bad.unwrap_or(""), json!({"query": "x"})).await;
        assert_eq!(reply.status, 401, "{bad:?}: {}", reply.body);
        texts.push(json["error"]["message"].clone());
    }
    texts.dedup();
    assert_eq!(texts.len(), 1, "one text for every failure: {texts:?}");

    // An expired token is refused, though DynamoDB's TTL has not swept it yet.
    let digest = cxml::SecretDigest::of(&real).to_hex();
    let mut stored = world
        .deps
        .open_buy_tokens
        .get(&digest)
        .await
        .unwrap()
        .unwrap();
    stored.expires_at = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    world.deps.open_buy_tokens.put(&stored).await.unwrap();
    let (reply, _) = search(&world, &real, json!({"query": "x"})).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn a_disabled_integration_gets_401_saying_so() {
    let world = FakeWorld::demo().await;
    let token = token(&world).await;
    change_integration(&world, demo::COUPA_ORG, |i| i.settings.enabled = false).await;
    let (reply, json) = search(&world, &token, json!({"query": "x"})).await;
    assert_eq!(reply.status, 401);
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    let body = json!({"credentials": coupa_credentials()});
    let (reply, _) = call(&world, "POST", "authentication", None, &body.to_string()).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn bad_requests_get_400_naming_the_field() {
    let world = FakeWorld::demo().await;
    for (body, field) in [
        ("{}", "credentials"),
        (r#"{"credentials": 7}"#, "credentials"),
        (r#"{"credentials": "DUNS/a:b", "email": ["x"]}"#, "email"),
        ("not json", "JSON"),
        ("[1]", "JSON object"),
        ("", "JSON"),
    ] {
        let (reply, json) = call(&world, "POST", "authentication", None, body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{body}: {message}");
    }
    let token = token(&world).await;
    for (action, body, field) in [
        ("search", json!({}), "query"),
        ("search", json!({"query": 1}), "query"),
        (
            "search",
            json!({"query": "x", "page_number": 0}),
            "page_number",
        ),
        (
            "search",
            json!({"query": "x", "page_number": 1.5}),
            "page_number",
        ),
        (
            "search",
            json!({"query": "x", "page_number": "two"}),
            "page_number",
        ),
        ("search", json!({"query": "x".repeat(501)}), "query"),
        ("detail", json!({}), "source_part_num"),
        (
            "detail",
            json!({"source_part_num": "prod-none"}),
            "source_part_num",
        ),
        (
            "checkout",
            json!({"source_part_num": "prod-saas-upfront", "quantity": 3}),
            "quantity",
        ),
        (
            "checkout",
            json!({"source_part_num": "prod-saas-upfront", "quantity": "a"}),
            "quantity",
        ),
    ] {
        let (reply, json) = call(&world, "POST", action, Some(&token), &body.to_string()).await;
        assert_eq!(reply.status, 400, "{action} {body}: {}", reply.body);
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{action} {body}: {message}");
    }
}

#[tokio::test]
async fn results_carry_what_coupa_shows_and_buys() {
    let world = FakeWorld::demo().await;
    let token = token(&world).await;
    let (reply, json) = search(&world, &token, json!({"query": "LEDGERLY"})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(json["count"], 1);
    assert_eq!(json["total_count"], 1);
    let r = &json["results"][0];
    assert_eq!(r["source_part_num"], "prod-saas-upfront");
    assert_eq!(r["name"], "Ledgerly Analytics");
    assert_eq!(r["manufacturer"], "Ledgerly");
    assert_eq!(r["price"], "12000.00");
    assert_eq!(r["currency"], "USD");
    assert_eq!(r["uom"], "EA");
    assert_eq!(r["unspsc"], "81162000");
    assert_eq!(r["product_type"], "SaaS");
    assert_eq!(r["price_summary"], "12000.00 USD upfront for 12 months");
    assert_eq!(r["private_offer"], Value::Null);

    // Every word must match; a product the cart rules refuse is not offered (the AMI
    // contract), though the catalog page shows it with the reason.
    assert_eq!(
        all_parts(&world, &token, "machine image").await,
        ["prod-ami-byol", "prod-ami-free"]
    );
    let everything = all_parts(&world, &token, "").await;
    assert_eq!(everything.len(), 11, "{everything:?}");
    assert!(
        !everything
            .iter()
            .any(|p| p == "prod-ami-contract" || p == "prod-proserv")
    );

    // Pay-as-you-go is bought as the usage allowance; contract plus usage as both lines.
    let (reply, json) = call(
        &world,
        "POST",
        "detail",
        Some(&token),
        &json!({"source_part_num": "prod-saas-payg"}).to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(json["price"], "10000.00");
    assert_eq!(json["lines"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn search_pages_never_overlap_and_count_every_match() {
    let world = FakeWorld::demo().await;
    let now = time::OffsetDateTime::now_utc();
    let template = demo::products(now)
        .into_iter()
        .find(|p| p.id == "prod-saas-upfront")
        .unwrap();
    for n in 0..45 {
        let mut p = template.clone();
        p.id = format!("prod-bulk-{n:02}");
        p.title = format!("Bulk tool {n:02}");
        world.deps.catalog.put_product(&p).await.unwrap();
    }
    let token = token(&world).await;
    let mut seen = Vec::new();
    for page in 1..=4 {
        let (reply, json) = search(
            &world,
            &token,
            json!({"query": "bulk", "page_number": page}),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(json["total_count"], 45);
        let found = parts(&json);
        assert_eq!(json["count"], found.len());
        seen.extend(found);
    }
    let expected: Vec<String> = (0..45).map(|n| format!("prod-bulk-{n:02}")).collect();
    assert_eq!(seen, expected, "every match once, in name order");
    // No page_number is the first page; a number as a string is read too.
    let (_, first) = search(&world, &token, json!({"query": "bulk"})).await;
    assert_eq!(parts(&first)[0], "prod-bulk-00");
    let (_, second) = search(&world, &token, json!({"query": "bulk", "page_number": "2"})).await;
    assert_eq!(
        parts(&second)[0],
        format!("prod-bulk-{:02}", procurement::openbuy::PAGE_SIZE)
    );
}

#[tokio::test]
async fn the_private_marketplace_limits_search_detail_and_checkout() {
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
    let token = token(&world).await;
    let mut found = all_parts(&world, &token, "").await;
    found.sort();
    let mut expected: Vec<String> = demo::ARIBA_PRIVATE_MARKETPLACE
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    assert_eq!(found, expected);
    assert!(all_parts(&world, &token, "orbit").await.is_empty());
    // Outside the private marketplace, an existing product gets the answer of a missing one.
    let mut texts = Vec::new();
    for part in ["prod-saas-fps", "prod-does-not-exist"] {
        for action in ["detail", "checkout"] {
            let body = json!({"source_part_num": part}).to_string();
            let (reply, json) = call(&world, "POST", action, Some(&token), &body).await;
            assert_eq!(reply.status, 400, "{action} {part}");
            texts.push(
                json["error"]["message"]
                    .as_str()
                    .unwrap()
                    .replace(part, "<part>"),
            );
        }
    }
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 1, "{texts:?}");
}

#[tokio::test]
async fn a_private_offer_is_shown_with_its_terms_until_it_lapses() {
    let world = FakeWorld::demo().await;
    let token = token(&world).await;
    let (_, json) = search(&world, &token, json!({"query": "sentinel"})).await;
    let offer = &json["results"][0]["private_offer"];
    assert_eq!(offer["offer_id"], "offer-sentinel-2026");
    assert!(offer["expires_at"].as_str().unwrap().ends_with('Z'));

    let mut product = world
        .deps
        .catalog
        .get_product("prod-saas-private")
        .await
        .unwrap()
        .unwrap();
    product.private_offer.as_mut().unwrap().expires_at =
        time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    world.deps.catalog.put_product(&product).await.unwrap();
    assert!(all_parts(&world, &token, "sentinel").await.is_empty());
    let body = json!({"source_part_num": "prod-saas-private"}).to_string();
    let (reply, _) = call(&world, "POST", "checkout", Some(&token), &body).await;
    assert_eq!(reply.status, 400, "a lapsed offer is not bought");
}

#[tokio::test]
async fn a_private_offer_not_extended_to_the_organisation_is_neither_found_nor_bought() {
    let world = FakeWorld::demo().await;
    let token = token(&world).await;
    let private = demo::PRIVATE_OFFER_PRODUCT;
    let all = all_parts(&world, &token, "").await;
    assert!(
        all.iter().any(|p| p == private),
        "extended to the Coupa buyer"
    );
    withdraw_private_offer(&world, demo::COUPA_ORG).await;
    let (reply, json) = search(&world, &token, json!({"query": ""})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        json["total_count"].as_u64().unwrap() as usize,
        all.len() - 1
    );
    assert!(!reply.body.contains("Sentinel") && !reply.body.contains("offer-sentinel"));
    assert!(all_parts(&world, &token, "sentinel").await.is_empty());
    // Detail and checkout: the answer of an item that does not exist, word for word.
    for action in ["detail", "checkout"] {
        let mut texts = Vec::new();
        for part in [private, "prod-does-not-exist"] {
            let body = json!({"source_part_num": part, "quantity": 1}).to_string();
            let (reply, json) = call(&world, "POST", action, Some(&token), &body).await;
            assert_eq!(reply.status, 400, "{action} {part}: {}", reply.body);
            texts.push(
                json["error"]["message"]
                    .as_str()
                    .unwrap()
                    .replace(part, "<part>"),
            );
        }
        assert_eq!(texts[0], texts[1], "{action}");
    }
}

#[tokio::test]
async fn checkout_opens_the_punchout_of_that_item() {
    let world = FakeWorld::demo().await;
    let token = token(&world).await;
    let body = json!({"source_part_num": "prod-saas-private", "quantity": 1}).to_string();
    let (reply, json) = call(&world, "POST", "checkout", Some(&token), &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(json["source_part_num"], "prod-saas-private");
    assert_eq!(json["price"], "48000.00");
    assert_eq!(json["quantity"], "1");
    let punchout = &json["punchout"];
    assert_eq!(
        punchout["url"],
        "https://api.marketplace.example/punchout/setup"
    );
    assert_eq!(punchout["operation"], "create");
    let part = punchout["selected_item"]["supplier_part_id"]
        .as_str()
        .unwrap();
    // Coupa sends its PunchOutSetupRequest with that SelectedItem: the product opens.
    let session = open_session(&world, &Setup::coupa().selected(part)).await;
    let page = get(&world, "/punchout/start", &[("token", &session)]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<h1>Sentinel SIEM (private offer)</h1>"));
    // The token may also come in the body.
    let body = json!({"source_part_num": "prod-saas-upfront", "token": token}).to_string();
    let (reply, _) = call(&world, "POST", "checkout", None, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn only_post_is_allowed_and_the_old_search_is_gone() {
    let world = FakeWorld::demo().await;
    for action in ["authentication", "search", "detail", "checkout"] {
        let (reply, _) = call(&world, "GET", action, None, "").await;
        assert_eq!(reply.status, 405, "{action}");
        assert_eq!(reply.header("allow"), Some("POST"));
    }
    let event = api_gateway_event("GET", "/search", "q=x", "text/plain", None, None);
    assert_eq!(send_event(&setup_app(&world), &event).await.status, 404);
}

#[tokio::test]
async fn the_purchase_information_shows_the_open_buy_url_and_credentials() {
    let world = FakeWorld::demo().await;
    let path = procurement::paths::admin_integration(demo::COUPA_ORG);
    let reply = admin(
        &world,
        "GET",
        &path,
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json: Value = serde_json::from_str(&reply.body).unwrap();
    let info = &json["purchase_information"];
    assert_eq!(
        info["open_buy_url"],
        "https://api.marketplace.example/openbuy"
    );
    assert_eq!(
        info["open_buy_credentials"],
        format!(
            "{}/{}:<shared secret>",
            demo::COUPA_DOMAIN,
            demo::COUPA_IDENTITY
        )
    );
}
