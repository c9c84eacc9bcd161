//! SAP Ariba through the Ariba Network, against the in-memory world: the Network's one secret
//! for every buyer (current and previous during a rotation), buyers found by their From ANID,
//! test accounts in test mode, and the order confirmation that follows an accepted order.

mod support;

use cxml::{Body, OrderType, RequestPayload, SharedSecret};
use procurement::delivery::{Delivery, JobOutcome};
use procurement::demo;
use procurement::fakes::{FakeWorld, ScriptedInvoiceSender};
use procurement::ids::ConfirmationId;
use procurement::model::{ConfirmationStatus, Organization, SystemSettings};
use procurement::network::AribaNetwork;
use support::*;

const NOT_ACCEPTED: &str = "credentials of this document are not accepted";

/// The demo world with a second Ariba organisation beside the demo one, both served by the
/// same Network account, the second without a private marketplace; both out of test mode.
async fn two_ariba_buyers() -> FakeWorld {
    let world = FakeWorld::demo().await;
    world
        .deps
        .organizations
        .put(&Organization {
            org_id: "second-ariba-org".into(),
            name: "Second Ariba buyer".into(),
            management_account_id: "666666666666".into(),
            member_account_ids: Vec::new(),
            private_marketplace: None,
        })
        .await
        .unwrap();
    let mut second = demo::ariba_integration(time::OffsetDateTime::now_utc());
    second.org_id = "second-ariba-org".into();
    second.settings.system = SystemSettings::Ariba(procurement::model::AribaSettings {
        ariba_network_id: "AN01000000002".into(),
        ariba_test_network_id: None,
        order_confirmations: true,
    });
    world.deps.integrations.put(&second).await.unwrap();
    for org in [demo::ARIBA_ORG, "second-ariba-org"] {
        world
            .change_integration(org, |i| i.settings.test_mode = false)
            .await;
    }
    world
}

/// A PunchOutSetupRequest the Network forwards for `anid`, with `secret`.
fn network_setup(anid: &str, secret: &str) -> String {
    Setup::ariba()
        .production()
        .xml()
        .replace(demo::ARIBA_IDENTITY, anid)
        .replace(demo::ARIBA_NETWORK_SECRET, secret)
}

async fn setup_status(world: &FakeWorld, xml: &str) -> (u16, String) {
    let reply = handle_setup(world, xml.as_bytes()).await;
    (reply.status, reply.body)
}

/// The StartPage token of a session the Network opened for `anid`.
async fn session_for(world: &FakeWorld, anid: &str) -> String {
    let (status, body) =
        setup_status(world, &network_setup(anid, demo::ARIBA_NETWORK_SECRET)).await;
    assert_eq!(status, 200, "{body}");
    body.split("token=")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a StartPage token")
        .to_string()
}

#[tokio::test]
async fn two_organisations_share_the_network_secret_and_each_sees_its_own_catalog() {
    let world = two_ariba_buyers().await;
    let first = session_for(&world, demo::ARIBA_IDENTITY).await;
    let second = session_for(&world, "AN01000000002").await;
    let first_page = get(&world, "/catalog", &[("token", &first)]).await;
    let second_page = get(&world, "/catalog", &[("token", &second)]).await;
    assert_eq!((first_page.status, second_page.status), (200, 200));
    // The demo Ariba organisation keeps a private marketplace; the second one does not.
    assert!(
        first_page.body.contains("private marketplace"),
        "{}",
        first_page.body
    );
    assert!(!first_page.body.contains("Orbit CRM"));
    assert!(
        second_page.body.contains("Orbit CRM"),
        "{}",
        second_page.body
    );
    let sessions = [first, second].map(|token| {
        let world = &world;
        async move {
            procurement::punchout::open_visit(&world.deps, &token)
                .await
                .unwrap()
                .session
                .org_id
        }
    });
    let [a, b] = sessions;
    assert_eq!(a.await.as_str(), demo::ARIBA_ORG);
    assert_eq!(b.await.as_str(), "second-ariba-org");
}

#[tokio::test]
async fn a_wrong_secret_an_unknown_buyer_and_a_stranger_supplier_get_the_same_401() {
    let world = two_ariba_buyers().await;
    let cases = [
        network_setup(demo::ARIBA_IDENTITY, "guessed"),
        network_setup("AN09999999999", demo::ARIBA_NETWORK_SECRET),
        network_setup(demo::ARIBA_IDENTITY, demo::ARIBA_NETWORK_SECRET)
            .replace(demo::ARIBA_SUPPLIER_ANID, "AN01000000098"),
        // A Coupa buyer's credential cannot ride on the Network's secret.
        network_setup(demo::COUPA_IDENTITY, demo::ARIBA_NETWORK_SECRET),
        // An Ariba buyer sending as itself, not through the Network.
        Setup::coupa()
            .xml()
            .replace(demo::COUPA_DOMAIN, demo::ARIBA_DOMAIN)
            .replace(demo::COUPA_IDENTITY, demo::ARIBA_IDENTITY)
            .replace(demo::COUPA_SECRET, demo::ARIBA_NETWORK_SECRET),
    ];
    let mut answers = Vec::new();
    for xml in &cases {
        let (status, body) = setup_status(&world, xml).await;
        assert_eq!(status, 401, "{body}");
        assert!(body.contains(NOT_ACCEPTED), "{body}");
        assert!(!body.contains("guessed") && !body.contains(demo::ARIBA_NETWORK_SECRET));
        let doc = cxml::parse(body.as_bytes()).unwrap();
        answers.push(doc.response_status().unwrap().clone());
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every refusal reads the same: {answers:?}"
    );
    // Without a Network account configured, nothing comes through the Network.
    world.ariba_network.set(None);
    let (status, _) = setup_status(
        &world,
        &network_setup(demo::ARIBA_IDENTITY, demo::ARIBA_NETWORK_SECRET),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn during_a_rotation_both_secrets_work_and_a_new_one_is_read_again() {
    let world = two_ariba_buyers().await;
    // Rotated in the deployment: the new secret is current, the old one previous.
    world.ariba_network.set(Some(AribaNetwork::new(
        demo::ARIBA_SUPPLIER_ANID,
        SharedSecret::new("rotated-network-secret"),
        Some(SharedSecret::new(demo::ARIBA_NETWORK_SECRET)),
    )));
    for secret in [demo::ARIBA_NETWORK_SECRET, "rotated-network-secret"] {
        let (status, body) =
            setup_status(&world, &network_setup(demo::ARIBA_IDENTITY, secret)).await;
        assert_eq!(status, 200, "{secret}: {body}");
    }
    assert_eq!(
        world
            .ariba_network
            .rereads
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "known secrets need no second read"
    );
    let (status, _) = setup_status(&world, &network_setup(demo::ARIBA_IDENTITY, "unknown")).await;
    assert_eq!(status, 401);
    assert_eq!(
        world
            .ariba_network
            .rereads
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "an unknown secret makes the instance read the account again before refusing"
    );
}

#[tokio::test]
async fn the_test_account_always_runs_in_test_mode() {
    let world = two_ariba_buyers().await;
    let token = session_for(&world, demo::ARIBA_TEST_IDENTITY).await;
    let page = get(&world, "/catalog", &[("token", &token)]).await;
    assert!(page.body.contains("Test mode."), "{}", page.body);
    let production = session_for(&world, demo::ARIBA_IDENTITY).await;
    let page = get(&world, "/catalog", &[("token", &production)]).await;
    assert!(
        !page.body.contains("Test mode."),
        "the switch is off for production"
    );

    // An order from the test ANID creates nothing, whatever the switch says.
    let quote = quote_for(&world, demo::ARIBA_ORG, "prod-saas-upfront", "q-test-anid").await;
    let po = order_request(
        network_header(demo::ARIBA_TEST_IDENTITY, demo::ARIBA_NETWORK_SECRET),
        "PO-TEST-ANID",
        "p-test-anid",
        OrderType::New,
        &[&quote],
    );
    let reply = handle_order(&world, &po).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("test"), "{}", reply.body);
    let stored = world
        .deps
        .quotes
        .get(&quote.quote_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.agreement_id, None, "no subscription");
    assert!(world.store.confirmations.lock().unwrap().is_empty());
    assert!(world.queue.jobs.lock().unwrap().is_empty(), "no invoice");
}

/// An accepted order from the production ANID: the confirmation it owes, and the PO as sent.
async fn ordered(world: &FakeWorld, order_id: &str) -> ConfirmationId {
    ordered_with_po(world, order_id).await.0
}

async fn ordered_with_po(world: &FakeWorld, order_id: &str) -> (ConfirmationId, Vec<u8>) {
    let quote = quote_for(
        world,
        demo::ARIBA_ORG,
        "prod-saas-upfront",
        &format!("q-{order_id}"),
    )
    .await;
    let po = order_request(
        network_header(demo::ARIBA_IDENTITY, demo::ARIBA_NETWORK_SECRET),
        order_id,
        &format!("payload-{order_id}@ariba.example"),
        OrderType::New,
        &[&quote],
    );
    let reply = handle_order(world, &po).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("accepted"), "{}", reply.body);
    (
        ConfirmationId::for_order(&demo::ARIBA_ORG.into(), &order_id.into()),
        po,
    )
}

#[tokio::test]
async fn an_accepted_order_is_confirmed_to_the_network_once() {
    let world = two_ariba_buyers().await;
    let (id, po) = ordered_with_po(&world, "PO-ARIBA-7").await;
    assert_eq!(
        *world.queue.confirmations.lock().unwrap(),
        std::slice::from_ref(&id),
        "queued once, after the order's transaction"
    );
    let (stored, status) = world.deps.confirmations.get(&id).await.unwrap().unwrap();
    assert_eq!(status, ConfirmationStatus::Queued);
    assert_eq!(stored.buyer_anid, demo::ARIBA_IDENTITY);
    assert_eq!(stored.order_payload_id, "payload-PO-ARIBA-7@ariba.example");

    let now = time::OffsetDateTime::now_utc();
    assert_eq!(
        procurement::confirmations::dispatch(&world.deps, &id, Delivery::first(now)).await,
        JobOutcome::Done
    );
    let posts = world.invoice_sender.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].url, world.deps.config.ariba_network_url);
    let xml = &posts[0].body;
    cxml::dtd_check::validate_against(xml, "Fulfill.dtd").unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let doc = cxml::parse(xml.as_bytes()).unwrap();
    let header = doc.header.as_ref().unwrap();
    assert_eq!(header.from[0].identity, demo::ARIBA_SUPPLIER_ANID);
    assert_eq!(header.to[0].identity, demo::ARIBA_IDENTITY);
    assert_eq!(header.sender[0].identity, demo::ARIBA_SUPPLIER_ANID);
    assert_eq!(
        header.sender[0].shared_secret.as_ref().map(|s| s.expose()),
        Some(demo::ARIBA_NETWORK_SECRET)
    );
    let Body::Request(request) = &doc.body else {
        panic!("not a request: {xml}")
    };
    let RequestPayload::Confirmation(confirmation) = &request.payload else {
        panic!("not a ConfirmationRequest: {xml}")
    };
    assert_eq!(confirmation.header.confirmation_type, "accept");
    assert_eq!(confirmation.order.order_id.as_deref(), Some("PO-ARIBA-7"));
    assert_eq!(
        confirmation.order.document_payload_id,
        "payload-PO-ARIBA-7@ariba.example"
    );
    assert_eq!(
        world.deps.confirmations.get(&id).await.unwrap().unwrap().1,
        ConfirmationStatus::Confirmed
    );
    // The same job delivered again (as SQS may): nothing more is sent.
    assert_eq!(
        procurement::confirmations::dispatch(&world.deps, &id, Delivery::first(now)).await,
        JobOutcome::Done
    );
    assert_eq!(world.invoice_sender.posts().len(), 1);
    // The same order again is a duplicate: the same answer, no second confirmation.
    let again = handle_order(&world, &po).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(world.queue.confirmations.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_networks_answer_decides_retried_refused_or_done() {
    let world = two_ariba_buyers().await;
    let now = time::OffsetDateTime::now_utc();
    let id = ordered(&world, "PO-ARIBA-8").await;
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            500,
            500,
            "Internal Server Error",
        )));
    assert!(matches!(
        procurement::confirmations::dispatch(&world.deps, &id, Delivery::first(now)).await,
        JobOutcome::KeepForRetry(_)
    ));
    assert_eq!(
        world.deps.confirmations.get(&id).await.unwrap().unwrap().1,
        ConfirmationStatus::Queued,
        "a 5xx leaves it for the queue's next delivery"
    );
    let refused = ordered(&world, "PO-ARIBA-9").await;
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            401,
            401,
            "Unauthorized",
        )));
    assert_eq!(
        procurement::confirmations::dispatch(&world.deps, &refused, Delivery::first(now)).await,
        JobOutcome::Done
    );
    let outcome = world
        .deps
        .confirmations
        .outcome(&refused)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.status, ConfirmationStatus::Failed);
    assert_eq!(outcome.code, Some(401));
    // The retried one goes through on its next delivery.
    let later = Delivery {
        now,
        receive_count: 2,
    };
    assert_eq!(
        procurement::confirmations::dispatch(&world.deps, &id, later).await,
        JobOutcome::Done
    );
    assert_eq!(
        world.deps.confirmations.get(&id).await.unwrap().unwrap().1,
        ConfirmationStatus::Confirmed
    );
}

/// The runbook puts the new secret into Secrets Manager before Ariba: until the supplier
/// account changes too, the Network refuses the new one (401) and the previous one is sent.
#[tokio::test]
async fn mid_rotation_a_refused_secret_is_followed_by_the_previous_one_once() {
    let world = two_ariba_buyers().await;
    let now = time::OffsetDateTime::now_utc();
    let id = ordered(&world, "PO-ARIBA-ROT").await;
    world.ariba_network.set(Some(AribaNetwork::new(
        demo::ARIBA_SUPPLIER_ANID,
        SharedSecret::new("rotated-network-secret"),
        Some(SharedSecret::new(demo::ARIBA_NETWORK_SECRET)),
    )));
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            401,
            401,
            "Unauthorized",
        )));
    assert_eq!(
        procurement::confirmations::dispatch(&world.deps, &id, Delivery::first(now)).await,
        JobOutcome::Done
    );
    let secrets: Vec<String> = world
        .invoice_sender
        .posts()
        .iter()
        .map(|p| {
            let doc = cxml::parse(p.body.as_bytes()).unwrap();
            let sender = &doc.header.unwrap().sender[0];
            sender.shared_secret.as_ref().unwrap().expose().to_string()
        })
        .collect();
    assert_eq!(
        secrets,
        ["rotated-network-secret", demo::ARIBA_NETWORK_SECRET],
        "the current secret first, then the previous one, nothing more"
    );
    let payload_ids: Vec<String> = world
        .invoice_sender
        .posts()
        .iter()
        .map(|p| cxml::parse(p.body.as_bytes()).unwrap().payload_id)
        .collect();
    assert_eq!(
        payload_ids[0], payload_ids[1],
        "the same document, re-signed"
    );
    assert_eq!(
        world.deps.confirmations.get(&id).await.unwrap().unwrap().1,
        ConfirmationStatus::Confirmed
    );
}

#[tokio::test]
async fn an_organisation_can_turn_confirmations_off() {
    let world = two_ariba_buyers().await;
    world
        .change_integration(demo::ARIBA_ORG, |i| {
            if let SystemSettings::Ariba(a) = &mut i.settings.system {
                a.order_confirmations = false;
            }
        })
        .await;
    let id = ordered(&world, "PO-ARIBA-10").await;
    assert!(world.deps.confirmations.get(&id).await.unwrap().is_none());
    assert!(world.queue.confirmations.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_confirmation_the_order_could_not_queue_is_queued_by_the_scheduled_run() {
    let world = two_ariba_buyers().await;
    let id = ordered(&world, "PO-ARIBA-11").await;
    // The queue refused it after the order's transaction (SQS down): still scheduled.
    world.queue.confirmations.lock().unwrap().clear();
    world
        .store
        .confirmations
        .lock()
        .unwrap()
        .get_mut(&id)
        .unwrap()
        .1 = ConfirmationStatus::Scheduled;
    let now = time::OffsetDateTime::now_utc();
    let stop_at = now + time::Duration::minutes(1);
    let run = procurement::confirmations::queue_unqueued(&world.deps, now, stop_at)
        .await
        .unwrap();
    assert_eq!((run.queued, run.failed), (1, 0));
    assert_eq!(
        *world.queue.confirmations.lock().unwrap(),
        std::slice::from_ref(&id)
    );
    let again = procurement::confirmations::queue_unqueued(&world.deps, now, stop_at)
        .await
        .unwrap();
    assert_eq!(
        again,
        procurement::delivery::QueueRun::default(),
        "queued once"
    );
}

#[tokio::test]
async fn a_dead_lettered_confirmation_is_queued_again_then_recorded_failed() {
    let world = two_ariba_buyers().await;
    let id = ordered(&world, "PO-ARIBA-12").await;
    assert_eq!(world.queue.confirmations.lock().unwrap().len(), 1);
    let after = world.deps.config.job_requeue_after + time::Duration::minutes(1);
    let max = world.deps.config.job_max_queueings;
    let stop_at = || time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    // Every delivery of its job failed and the job went to the dead-letter queue: each
    // requeue time, the scheduled run hands it over again, up to the limit.
    let mut at = time::OffsetDateTime::now_utc();
    for handed in 2..=max {
        at += after;
        let run = procurement::confirmations::queue_unqueued(&world.deps, at, stop_at())
            .await
            .unwrap();
        assert_eq!(
            (run.requeued, run.dead_lettered),
            (1, 0),
            "handing {handed}"
        );
    }
    assert_eq!(
        world.queue.confirmations.lock().unwrap().len(),
        max as usize
    );
    at += after;
    let run = procurement::confirmations::queue_unqueued(&world.deps, at, stop_at())
        .await
        .unwrap();
    assert_eq!((run.requeued, run.dead_lettered), (0, 1));
    let (_, status) = world.deps.confirmations.get(&id).await.unwrap().unwrap();
    assert_eq!(status, ConfirmationStatus::Failed);
    let outcome = world
        .deps
        .confirmations
        .outcome(&id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        outcome.text.contains("dead-letter queue"),
        "{}",
        outcome.text
    );
    // Settled: never handed over again.
    let run = procurement::confirmations::queue_unqueued(&world.deps, at + after, stop_at())
        .await
        .unwrap();
    assert_eq!(run, procurement::delivery::QueueRun::default());
}
