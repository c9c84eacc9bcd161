//! The message log against the in-memory ports: which exchanges are logged (authenticated
//! documents in, invoices and confirmations out), with which status, never with a secret; a
//! failing log changes no answer; and the admin route that lists it (who may read, paging).

mod support;

use std::sync::atomic::Ordering;

use cxml::OrderType;
use procurement::delivery::Delivery;
use procurement::demo;
use procurement::fakes::{FakeWorld, ScriptedInvoiceSender};
use procurement::message_log::{Direction, LoggedMessage};
use serde_json::Value;
use support::{Reply, Setup, handle_order, handle_setup};

fn logged(world: &FakeWorld) -> Vec<LoggedMessage> {
    world.store.messages.lock().unwrap().clone()
}

fn po(order_id: &str, payload_id: &str, quotes: &[&procurement::model::Quote]) -> Vec<u8> {
    support::order_request(
        support::coupa_header(),
        order_id,
        payload_id,
        OrderType::New,
        quotes,
    )
}

async fn ordered(world: &FakeWorld, order_id: &str) -> Reply {
    let quote = support::quote_for(
        world,
        demo::COUPA_ORG,
        "prod-saas-upfront",
        &format!("q-{order_id}"),
    )
    .await;
    handle_order(
        world,
        &po(order_id, &format!("p-{order_id}@buyer.example"), &[&quote]),
    )
    .await
}

#[tokio::test]
async fn an_order_is_logged_with_our_answer_and_without_its_secret() {
    let world = FakeWorld::demo_live().await;
    let reply = ordered(&world, "PO-LOG-1").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let messages = logged(&world);
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let m = &messages[0];
    assert_eq!(m.org_id.as_str(), demo::COUPA_ORG);
    assert_eq!(m.direction, Direction::In);
    assert_eq!(m.message_type, "OrderRequest");
    assert_eq!(m.payload_id, "p-PO-LOG-1@buyer.example");
    assert_eq!(m.order_id.as_deref(), Some("PO-LOG-1"));
    assert_eq!(m.status_code, Some(200));
    let answer = cxml::parse(reply.body.as_bytes()).unwrap();
    assert_eq!(m.status_text, answer.response_status().unwrap().text);
    assert!(m.document.contains("orderID=\"PO-LOG-1\""));
    assert!(m.document.contains("<SharedSecret>***</SharedSecret>"));
    assert!(!m.document.contains(demo::COUPA_SECRET));
}

#[tokio::test]
async fn a_refused_order_is_logged_with_the_refusal() {
    let world = FakeWorld::demo_live().await;
    let mut unknown = support::quote_for(&world, demo::COUPA_ORG, "prod-saas-upfront", "q-2").await;
    unknown.quote_id = "q-never-stored".into();
    let reply = handle_order(
        &world,
        &po("PO-LOG-2", "p-refused@buyer.example", &[&unknown]),
    )
    .await;
    assert!(reply.status >= 400, "{}", reply.body);
    let messages = logged(&world);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].status_code, Some(reply.status));
    let answer = cxml::parse(reply.body.as_bytes()).unwrap();
    assert_eq!(
        messages[0].status_text,
        answer.response_status().unwrap().text
    );
}

#[tokio::test]
async fn setup_and_profile_requests_are_logged() {
    let world = FakeWorld::demo().await;
    let reply = handle_setup(&world, Setup::coupa().xml().as_bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let messages = logged(&world);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message_type, "PunchOutSetupRequest");
    assert_eq!(messages[0].status_code, Some(200));
    assert_eq!(messages[0].order_id, None);
    assert!(!messages[0].document.contains(demo::COUPA_SECRET));
}

#[tokio::test]
async fn unauthenticated_documents_are_never_logged() {
    let world = FakeWorld::demo_live().await;
    let quote = support::quote_for(&world, demo::COUPA_ORG, "prod-saas-upfront", "q-x").await;
    let mut header = support::coupa_header();
    header.sender[0].shared_secret = Some(cxml::SharedSecret::new("wrong-secret"));
    let doc = support::order_request(header, "PO-X", "p-x", OrderType::New, &[&quote]);
    assert_eq!(handle_order(&world, &doc).await.status, 401);
    let setup = Setup::coupa()
        .xml()
        .replace(demo::COUPA_SECRET, "wrong-secret");
    assert_eq!(handle_setup(&world, setup.as_bytes()).await.status, 401);
    assert_eq!(handle_order(&world, b"<cXML").await.status, 400);
    assert!(logged(&world).is_empty(), "{:#?}", logged(&world));
}

#[tokio::test]
async fn a_failing_log_changes_no_answer() {
    let world = FakeWorld::demo_live().await;
    world
        .store
        .failing_message_log
        .store(true, Ordering::SeqCst);
    let reply = ordered(&world, "PO-LOG-3").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (_, status) = world
        .deps
        .orders
        .find(&demo::COUPA_ORG.into(), &"PO-LOG-3".into())
        .await
        .unwrap()
        .map(|o| ((), o.answer_code))
        .expect("the order is recorded");
    assert_eq!(status, 200);
    assert_eq!(
        world.queue.jobs.lock().unwrap().len(),
        1,
        "invoiced as usual"
    );
    let setup = handle_setup(&world, Setup::coupa().xml().as_bytes()).await;
    assert_eq!(setup.status, 200);
    assert!(logged(&world).is_empty());
}

#[tokio::test]
async fn an_invoice_is_logged_with_the_buyers_answer_and_without_its_secret() {
    let world = FakeWorld::demo_live().await;
    assert_eq!(ordered(&world, "PO-LOG-4").await.status, 200);
    let job = world.queue.jobs.lock().unwrap()[0].clone();
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            200,
            417,
            "Duplicate invoice",
        )));
    procurement::invoices::dispatch_charge(
        &world.deps,
        &job.charge_id,
        Delivery::first(time::OffsetDateTime::now_utc()),
    )
    .await;
    let posted = world.invoice_sender.posts();
    assert_eq!(posted.len(), 1);
    let messages = logged(&world);
    let out: Vec<_> = messages
        .iter()
        .filter(|m| m.direction == Direction::Out)
        .collect();
    assert_eq!(out.len(), 1, "{messages:#?}");
    assert_eq!(out[0].message_type, "InvoiceDetailRequest");
    assert_eq!(out[0].order_id.as_deref(), Some("PO-LOG-4"));
    assert_eq!(out[0].status_code, Some(417));
    assert_eq!(out[0].status_text, "Duplicate invoice");
    let sent = cxml::parse(posted[0].body.as_bytes()).unwrap();
    assert_eq!(out[0].payload_id, sent.payload_id);
    let secret = procurement::invoices::invoice_secret(
        &world.deps.config,
        &demo::COUPA_ORG.into(),
        procurement::invoices::first_invoice_secret_version(),
    )
    .unwrap();
    assert!(
        posted[0].body.contains(secret.expose()),
        "the buyer gets it"
    );
    assert!(!out[0].document.contains(secret.expose()), "the log never");
    assert!(out[0].document.contains("<SharedSecret>***</SharedSecret>"));
}

#[tokio::test]
async fn a_post_without_an_answer_is_logged_without_a_status() {
    let world = FakeWorld::demo_live().await;
    assert_eq!(ordered(&world, "PO-LOG-5").await.status, 200);
    let job = world.queue.jobs.lock().unwrap()[0].clone();
    world
        .invoice_sender
        .then(Err(procurement::ports::SendError::Timeout(
            std::time::Duration::from_secs(3),
        )));
    procurement::invoices::dispatch_charge(
        &world.deps,
        &job.charge_id,
        Delivery::first(time::OffsetDateTime::now_utc()),
    )
    .await;
    let out: Vec<_> = logged(&world)
        .into_iter()
        .filter(|m| m.direction == Direction::Out)
        .collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status_code, None);
    assert_eq!(out[0].status_text, "no answer within 3s");
}

#[tokio::test]
async fn an_order_confirmation_is_logged_with_the_networks_answer() {
    let world = FakeWorld::demo().await;
    world
        .change_integration(demo::ARIBA_ORG, |i| i.settings.test_mode = false)
        .await;
    let quote = support::quote_for(&world, demo::ARIBA_ORG, "prod-saas-upfront", "q-a").await;
    let doc = support::order_request(
        support::network_header(demo::ARIBA_IDENTITY, demo::ARIBA_NETWORK_SECRET),
        "PO-ARIBA-LOG",
        "p-ariba-log@ariba.example",
        OrderType::New,
        &[&quote],
    );
    assert_eq!(handle_order(&world, &doc).await.status, 200);
    let id = world.queue.confirmations.lock().unwrap()[0].clone();
    procurement::confirmations::dispatch(
        &world.deps,
        &id,
        Delivery::first(time::OffsetDateTime::now_utc()),
    )
    .await;
    let messages = logged(&world);
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages
            .iter()
            .all(|m| m.org_id.as_str() == demo::ARIBA_ORG)
    );
    let out = &messages[1];
    assert_eq!(
        (out.direction, out.message_type.as_str()),
        (Direction::Out, "ConfirmationRequest")
    );
    assert_eq!(out.status_code, Some(200));
    assert_eq!(out.order_id.as_deref(), Some("PO-ARIBA-LOG"));
    for m in &messages {
        assert!(
            !m.document.contains(demo::ARIBA_NETWORK_SECRET),
            "{}",
            m.document
        );
    }
}

// The admin route.

fn messages_path(org: &str, query: &str) -> String {
    format!("/admin/orgs/{org}/integration/messages{query}")
}

async fn list(world: &FakeWorld, org: &str, query: &str, account: Option<&str>) -> (u16, Value) {
    let reply = support::admin(world, "GET", &messages_path(org, query), account, None).await;
    assert_eq!(reply.content_type(), "application/json");
    (reply.status, reply.json())
}

#[tokio::test]
async fn management_and_member_accounts_read_the_log_others_get_403() {
    let world = FakeWorld::demo_live().await;
    assert_eq!(ordered(&world, "PO-LOG-6").await.status, 200);
    for account in [demo::COUPA_MANAGEMENT_ACCOUNT, demo::COUPA_MEMBER_ACCOUNT] {
        let (status, json) = list(&world, demo::COUPA_ORG, "", Some(account)).await;
        assert_eq!(status, 200, "{json}");
        let messages = json["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(m["direction"], "in");
        assert_eq!(m["message_type"], "OrderRequest");
        assert_eq!(m["payload_id"], "p-PO-LOG-6@buyer.example");
        assert_eq!(m["order_id"], "PO-LOG-6");
        assert_eq!(m["status_code"], 200);
        assert!(m["status_text"].is_string());
        let at = m["at"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok()
                && at.ends_with("+00:00"),
            "{at}"
        );
        let document = m["document"].as_str().unwrap();
        assert!(document.contains("PO-LOG-6") && !document.contains(demo::COUPA_SECRET));
        assert_eq!(json["next"], Value::Null);
    }
    // Another organisation's admin, of the same deployment: 403, and nothing of the log.
    let (status, json) = list(
        &world,
        demo::COUPA_ORG,
        "",
        Some(demo::ARIBA_MANAGEMENT_ACCOUNT),
    )
    .await;
    assert_eq!(status, 403);
    assert!(json.get("messages").is_none());
    // Its own log holds none of the Coupa organisation's exchanges.
    let (status, json) = list(
        &world,
        demo::ARIBA_ORG,
        "",
        Some(demo::ARIBA_MANAGEMENT_ACCOUNT),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json["messages"], serde_json::json!([]));
    let (status, _) = list(&world, demo::COUPA_ORG, "", None).await;
    assert_eq!(status, 401);
    let (status, _) = list(&world, "no-such-org", "", Some("999999999999")).await;
    assert_eq!(status, 404);
    let reply = support::admin(
        &world,
        "POST",
        &messages_path(demo::COUPA_ORG, ""),
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
        None,
    )
    .await;
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn the_log_pages_newest_first_with_an_opaque_cursor() {
    let world = FakeWorld::demo_live().await;
    for n in 1..=5 {
        assert_eq!(ordered(&world, &format!("PO-PAGE-{n}")).await.status, 200);
    }
    let admin = Some(demo::COUPA_MANAGEMENT_ACCOUNT);
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    let mut pages = 0;
    loop {
        let (status, json) = list(&world, demo::COUPA_ORG, &query, admin).await;
        assert_eq!(status, 200, "{json}");
        pages += 1;
        let messages = json["messages"].as_array().unwrap();
        assert!(messages.len() <= 2);
        seen.extend(
            messages
                .iter()
                .map(|m| m["order_id"].as_str().unwrap().to_string()),
        );
        match json["next"].as_str() {
            Some(next) => query = format!("?limit=2&before={next}"),
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(
        seen,
        [
            "PO-PAGE-5",
            "PO-PAGE-4",
            "PO-PAGE-3",
            "PO-PAGE-2",
            "PO-PAGE-1"
        ],
        "newest first, each once"
    );
    assert_eq!(pages, 3);

    for bad in [
        "?limit=0",
        "?limit=101",
        "?limit=two",
        "?before=not-a-cursor",
        "?after=x",
    ] {
        let (status, json) = list(&world, demo::COUPA_ORG, bad, admin).await;
        assert_eq!(status, 400, "{bad}: {json}");
    }
}

#[tokio::test]
async fn exchanges_older_than_thirty_days_are_not_listed() {
    let world = FakeWorld::demo_live().await;
    assert_eq!(ordered(&world, "PO-OLD").await.status, 200);
    {
        let mut messages = world.store.messages.lock().unwrap();
        messages[0].at -= time::Duration::days(30) + time::Duration::minutes(1);
    }
    assert_eq!(ordered(&world, "PO-NEW").await.status, 200);
    let (_, json) = list(
        &world,
        demo::COUPA_ORG,
        "",
        Some(demo::COUPA_MANAGEMENT_ACCOUNT),
    )
    .await;
    let ids: Vec<&str> = json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["PO-NEW"]);
}
