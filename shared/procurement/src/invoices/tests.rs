//! Invoice dispatch against the in-memory ports and a scripted buyer endpoint.

use std::time::Duration as StdDuration;

use cxml::{Currency, Money};
use rust_decimal_macros::dec;
use time::macros::datetime;

use super::*;
use crate::delivery::MAX_STATUS_TEXT;
use crate::demo;
use crate::fakes::{FakeWorld, ScriptedInvoiceSender};
use crate::ids::AgreementId;
use cxml::Body;

const DUE: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

fn job(charge_id: &str, due: OffsetDateTime) -> InvoiceJob {
    InvoiceJob {
        org_id: demo::COUPA_ORG.into(),
        order_id: "PO-4711".into(),
        agreement_id: "agmt-0001".into(),
        charge_id: charge_id.into(),
        description: "Ledgerly Analytics, 12 months".into(),
        amount: Money::new(dec!(12000.00), Currency::USD),
        due,
        po_line_number: Some(1),
        line: None,
        invoice_number: None,
    }
}

/// Stores a charge as the order transaction would, in `status`.
fn add_charge(world: &FakeWorld, job: &InvoiceJob, status: &str) {
    world.store.charges.lock().unwrap().insert(
        job.charge_id.clone(),
        (
            job.clone(),
            ChargeStatus::parse(status).expect("a charge status"),
        ),
    );
}

async fn status(world: &FakeWorld, charge_id: &str) -> &'static str {
    world
        .deps
        .charges
        .status(&ChargeId::from(charge_id))
        .await
        .unwrap()
        .map_or("", |s| s.as_str())
}

async fn outcome(world: &FakeWorld, charge_id: &str) -> ChargeOutcome {
    world
        .deps
        .charges
        .outcome(&ChargeId::from(charge_id))
        .await
        .unwrap()
        .expect("an outcome is recorded")
}

fn now() -> OffsetDateTime {
    DUE + Duration::minutes(1)
}

/// A scheduled run's time limit that this test never reaches (the limit is on the real clock).
fn far_off() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::hours(1)
}

/// Validates with xmllint against the official cXML 1.2.069 InvoiceDetail DTD.
fn xmllint(xml: &str) -> Result<(), String> {
    cxml::dtd_check::validate_against(xml, "InvoiceDetail.dtd")
}

#[tokio::test]
async fn a_200_answer_records_the_charge_invoiced_with_the_buyers_text() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            200,
            200,
            "Invoice received",
        )));

    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );

    assert_eq!(status(&world, "agmt-0001-1").await, "invoiced");
    let recorded = outcome(&world, "agmt-0001-1").await;
    assert_eq!(recorded.status, ChargeStatus::Invoiced);
    assert_eq!(recorded.code, Some(200));
    assert_eq!(recorded.text, "Invoice received");
    assert_eq!(recorded.at, now());
    assert_eq!(recorded.invoice_id.as_deref(), Some("agmt-0001-1"));
    assert_eq!(
        recorded.payload_id.as_deref(),
        Some("agmt-0001-1.invoice@api.marketplace.example")
    );
    let posts = world.invoice_sender.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].url, "http://127.0.0.1:9100/invoices");
    assert_eq!(posts[0].timeout, StdDuration::from_secs(20));
}

#[tokio::test]
async fn the_posted_invoice_is_what_coupa_expects() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    dispatch_job(&world.deps, &job, Delivery::first(now())).await;

    let body = world.invoice_sender.posts()[0].body.clone();
    xmllint(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    assert!(body.contains("InvoiceDetail.dtd"), "{body}");
    assert!(
        body.contains(r#"invoiceID="agmt-0001-1" purpose="standard" operation="new" invoiceDate="2026-11-24T10:00:00+00:00""#),
        "{body}"
    );
    assert!(
        body.contains(r#"<OrderReference orderID="PO-4711">"#)
            && body.contains(r#"<DocumentReference payloadID="PO-4711"/>"#),
        "{body}"
    );
    let doc = cxml::parse(body.as_bytes()).unwrap();
    assert_eq!(
        doc.payload_id,
        "agmt-0001-1.invoice@api.marketplace.example"
    );
    let header = doc.header.as_ref().unwrap();
    assert_eq!(
        (
            header.from[0].domain.as_str(),
            header.from[0].identity.as_str()
        ),
        ("NetworkID", "marketplace")
    );
    assert_eq!(
        (header.to[0].domain.as_str(), header.to[0].identity.as_str()),
        (demo::COUPA_DOMAIN, demo::COUPA_IDENTITY)
    );
    let secret = invoice_secret(&world.deps.config, &demo::COUPA_ORG.into(), 1).unwrap();
    assert_eq!(
        header.sender[0].shared_secret.as_ref().map(|s| s.expose()),
        Some(secret.expose())
    );
    assert_eq!(doc.deployment_mode(), DeploymentMode::Production);
    let Body::Request(request) = &doc.body else {
        panic!("a request")
    };
    let RequestPayload::InvoiceDetail(invoice) = &request.payload else {
        panic!("an InvoiceDetailRequest")
    };
    let item = &invoice.orders[0].items[0];
    assert_eq!(item.quantity, dec!(1));
    assert_eq!(item.unit_price.amount_text(), "12000.00");
    assert_eq!(item.reference_line_number, 1);
    assert_eq!(
        item.description.as_ref().map(|d| d.text.as_str()),
        Some("Ledgerly Analytics, 12 months")
    );
    let s = &invoice.summary;
    let tax = s.tax.as_ref().unwrap();
    assert_eq!(tax.money.amount_text(), "0.00");
    assert!(!tax.description.text.is_empty());
    let net = s.net.as_ref().unwrap();
    let due = s.due.as_ref().unwrap();
    assert_eq!(s.subtotal.amount + tax.money.amount, net.amount);
    assert_eq!(net, due);
    assert_eq!(net.amount_text(), "12000.00");
}

#[tokio::test]
async fn a_201_answer_is_also_invoiced() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(201, 201, "Accepted")));
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(status(&world, "agmt-0001-1").await, "invoiced");
    assert_eq!(outcome(&world, "agmt-0001-1").await.code, Some(201));
}

#[tokio::test]
async fn a_refusal_on_a_retried_delivery_records_that_the_buyer_may_already_hold_the_invoice() {
    // The first POST timed out (the buyer may have taken it); the retry is refused as a
    // duplicate. The failure record says which delivery this was and what to check.
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .then(Err(SendError::Timeout(StdDuration::from_secs(20))));
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            409,
            409,
            "Invoice number already exists",
        )));
    assert!(matches!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::KeepForRetry(_)
    ));
    let second = Delivery {
        now: now(),
        receive_count: 2,
    };
    assert_eq!(
        dispatch_job(&world.deps, &job, second).await,
        JobOutcome::Done
    );
    let recorded = outcome(&world, "agmt-0001-1").await;
    assert_eq!(recorded.status, ChargeStatus::Failed);
    assert!(
        recorded.text.starts_with(&format!(
            "delivery 2 of invoice {}: an earlier delivery got no final answer",
            recorded.invoice_id.as_deref().unwrap()
        )),
        "{}",
        recorded.text
    );
    assert!(
        recorded
            .text
            .ends_with("The buyer's answer: Invoice number already exists"),
        "{}",
        recorded.text
    );
    assert_eq!(world.invoice_sender.posts().len(), 2);
}

#[tokio::test]
async fn a_401_is_recorded_failed_with_the_buyers_text_and_not_retried() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            401,
            401,
            "Unauthorized: shared secret does not match",
        )));

    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(status(&world, "agmt-0001-1").await, "failed");
    let recorded = outcome(&world, "agmt-0001-1").await;
    assert_eq!(recorded.status, ChargeStatus::Failed);
    assert_eq!(recorded.code, Some(401));
    assert_eq!(recorded.text, "Unauthorized: shared secret does not match");

    // The same message again (SQS redelivery): nothing is sent.
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(world.invoice_sender.posts().len(), 1);
}

#[tokio::test]
async fn a_cxml_refusal_inside_http_200_is_permanent() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            200,
            400,
            "PO-4711 not found",
        )));
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(status(&world, "agmt-0001-1").await, "failed");
    assert_eq!(outcome(&world, "agmt-0001-1").await.code, Some(400));
}

#[tokio::test]
async fn a_500_is_retried_and_the_retry_resends_the_same_invoice() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .then(Ok(ScriptedInvoiceSender::cxml_answer(
            500,
            500,
            "Internal Server Error",
        )));

    let first = dispatch_job(&world.deps, &job, Delivery::first(now())).await;
    assert!(matches!(first, JobOutcome::KeepForRetry(_)), "{first:?}");
    assert_eq!(status(&world, "agmt-0001-1").await, "queued");

    // SQS redelivers after the visibility timeout; the buyer is back.
    let later = now() + Duration::minutes(24);
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(later)).await,
        JobOutcome::Done
    );
    assert_eq!(status(&world, "agmt-0001-1").await, "invoiced");

    let posts = world.invoice_sender.posts();
    assert_eq!(posts.len(), 2);
    let ids = |body: &str| {
        let doc = cxml::parse(body.as_bytes()).unwrap();
        let Body::Request(r) = doc.body else { panic!() };
        let RequestPayload::InvoiceDetail(i) = r.payload else {
            panic!()
        };
        (doc.payload_id, i.header.invoice_id)
    };
    assert_eq!(
        ids(&posts[0].body),
        ids(&posts[1].body),
        "one invoice, sent twice"
    );
}

#[tokio::test]
async fn timeouts_and_connection_errors_are_retried() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .then(Err(SendError::Timeout(StdDuration::from_secs(20))));
    world
        .invoice_sender
        .then(Err(SendError::Connection("connection refused".into())));
    world
        .invoice_sender
        .then(Ok((503, "<html>Service Unavailable</html>".into())));
    world.invoice_sender.then(Ok((429, String::new())));
    for _ in 0..4 {
        let outcome = dispatch_job(&world.deps, &job, Delivery::first(now())).await;
        assert!(
            matches!(outcome, JobOutcome::KeepForRetry(_)),
            "{outcome:?}"
        );
        assert_eq!(status(&world, "agmt-0001-1").await, "queued");
    }
    assert_eq!(
        world
            .deps
            .charges
            .outcome(&"agmt-0001-1".into())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn redelivery_of_an_invoiced_charge_sends_nothing() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    let body = serde_json::to_string(&job).unwrap();
    assert_eq!(
        dispatch(&world.deps, &body, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(
        dispatch(&world.deps, &body, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(world.invoice_sender.posts().len(), 1);
    assert_eq!(status(&world, "agmt-0001-1").await, "invoiced");
}

#[tokio::test]
async fn a_charge_another_delivery_is_sending_is_not_posted_twice() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    // Another instance got the same SQS message and holds the charge while it posts.
    let held_until = now() + Duration::minutes(2);
    assert!(
        world
            .deps
            .charges
            .claim(&"agmt-0001-1".into(), now(), held_until)
            .await
            .unwrap()
    );
    let outcome = dispatch_job(&world.deps, &job, Delivery::first(now())).await;
    assert!(
        matches!(&outcome, JobOutcome::KeepForRetry(why) if why.contains("another delivery")),
        "{outcome:?}"
    );
    assert!(world.invoice_sender.posts().is_empty());

    // That instance died without an answer: once its claim lapses, a redelivery sends.
    let later = held_until + Duration::seconds(1);
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(later)).await,
        JobOutcome::Done
    );
    assert_eq!(world.invoice_sender.posts().len(), 1);
    assert!(
        !world
            .deps
            .charges
            .claim(&"agmt-0001-1".into(), later, later)
            .await
            .unwrap(),
        "a settled charge cannot be claimed"
    );
}

#[tokio::test]
async fn cancelled_charges_are_never_sent() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "cancelled");
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert!(world.invoice_sender.posts().is_empty());
    assert_eq!(status(&world, "agmt-0001-1").await, "cancelled");
}

/// A production order's charge that falls due while an admin has test mode on waits: it goes
/// back among the scheduled charges (never `skipped`), and is invoiced once test mode is off.
#[tokio::test]
async fn a_charge_due_in_test_mode_waits_and_is_invoiced_after() {
    let world = FakeWorld::demo().await; // the demo Coupa integration is in test mode
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert!(world.invoice_sender.posts().is_empty());
    assert_eq!(status(&world, "agmt-0001-1").await, "scheduled");
    assert!(
        world
            .deps
            .charges
            .outcome(&ChargeId::from("agmt-0001-1"))
            .await
            .unwrap()
            .is_none(),
        "nothing settled"
    );

    // The scheduled run queues it again while it waits ...
    let run = queue_due_charges(&world.deps, now(), far_off())
        .await
        .unwrap();
    assert_eq!(run.queued, 1);
    // ... and once the admin switches test mode off, the invoice goes out.
    world
        .change_integration(demo::COUPA_ORG, |i| i.settings.test_mode = false)
        .await;
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(world.invoice_sender.posts().len(), 1);
    assert_eq!(status(&world, "agmt-0001-1").await, "invoiced");
}

#[tokio::test]
async fn a_missing_invoice_url_or_integration_is_a_recorded_permanent_failure() {
    let world = FakeWorld::demo_live().await;
    world
        .change_integration(demo::COUPA_ORG, |i| {
            if let crate::model::SystemSettings::Coupa(coupa) = &mut i.settings.system {
                coupa.invoice_url = Some("  ".into());
            }
        })
        .await;
    let job1 = job("agmt-0001-1", DUE);
    add_charge(&world, &job1, "queued");
    assert_eq!(
        dispatch_job(&world.deps, &job1, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(status(&world, "agmt-0001-1").await, "failed");
    assert!(
        outcome(&world, "agmt-0001-1")
            .await
            .text
            .contains("invoice URL")
    );

    let mut orphan = job("agmt-0002-1", DUE);
    orphan.org_id = "no-such-org".into();
    add_charge(&world, &orphan, "queued");
    assert_eq!(
        dispatch_job(&world.deps, &orphan, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(status(&world, "agmt-0002-1").await, "failed");
    assert!(world.invoice_sender.posts().is_empty());
}

#[tokio::test]
async fn an_unusable_url_is_permanent() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world.invoice_sender.then(Err(SendError::Invalid(
        "ftp://x: not an http(s) URL".into(),
    )));
    assert_eq!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert_eq!(status(&world, "agmt-0001-1").await, "failed");
}

#[tokio::test]
async fn unknown_charges_and_malformed_jobs_stay_on_the_queue() {
    let world = FakeWorld::demo_live().await;
    let unknown = job("agmt-9999-1", DUE);
    assert!(matches!(
        dispatch_job(&world.deps, &unknown, Delivery::first(now())).await,
        JobOutcome::KeepForRetry(_)
    ));
    assert!(matches!(
        dispatch(&world.deps, "{not json", Delivery::first(now())).await,
        JobOutcome::KeepForRetry(_)
    ));
    assert!(world.invoice_sender.posts().is_empty());
}

#[tokio::test]
async fn without_the_secret_key_jobs_wait_on_the_queue() {
    let mut config = Config::example();
    config.invoice_secret_key = None;
    let world = FakeWorld::new(config);
    demo::seed(world.store.as_ref(), now()).await.unwrap();
    world
        .change_integration(demo::COUPA_ORG, |i| i.settings.test_mode = false)
        .await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    assert!(matches!(
        dispatch_job(&world.deps, &job, Delivery::first(now())).await,
        JobOutcome::KeepForRetry(_)
    ));
    assert_eq!(status(&world, "agmt-0001-1").await, "queued");
    assert!(world.invoice_sender.posts().is_empty());
}

#[tokio::test]
async fn a_charge_that_cannot_be_invoiced_fails_visibly_without_a_panic() {
    let world = FakeWorld::demo_live().await;
    let cases = [
        ("neg-1", Money::new(dec!(-5.00), Currency::USD)),
        ("zero-1", Money::new(dec!(0), Currency::USD)),
        ("neg-2", Money::new(dec!(-0.004), Currency::USD)),
        (
            "cur-1",
            Money::new(dec!(10), "currency_code".parse().unwrap()),
        ),
    ];
    for (charge_id, amount) in cases {
        let mut bad = job(charge_id, DUE);
        bad.amount = amount;
        add_charge(&world, &bad, "queued");
        assert_eq!(
            dispatch_job(&world.deps, &bad, Delivery::first(now())).await,
            JobOutcome::Done
        );
        assert_eq!(status(&world, charge_id).await, "failed", "{charge_id}");
    }
    assert!(world.invoice_sender.posts().is_empty());
}

#[tokio::test]
async fn a_job_far_ahead_of_its_date_waits_for_the_scheduled_run() {
    let world = FakeWorld::demo_live().await;
    let future = job("agmt-0001-2", now() + Duration::days(180));
    add_charge(&world, &future, "scheduled");
    assert_eq!(
        dispatch_job(&world.deps, &future, Delivery::first(now())).await,
        JobOutcome::Done
    );
    assert!(world.invoice_sender.posts().is_empty());
    assert_eq!(status(&world, "agmt-0001-2").await, "scheduled");
}

#[test]
fn every_invoice_built_validates_against_the_dtd() {
    let config = Config::example();
    let integration = demo::coupa_integration(DUE);
    let secret = invoice_secret(&config, &demo::COUPA_ORG.into(), 1).unwrap();
    let mut jobs = vec![job("agmt-0001-1", DUE)];
    let mut installment = job("agmt-0002-2", DUE + Duration::days(180));
    installment.description = "Orbit CRM <Enterprise> & \"friends\": installment 2 of 2".into();
    installment.amount = Money::new(dec!(5000), Currency::EUR);
    installment.po_line_number = None;
    jobs.push(installment);
    let mut yen = job("agmt-0003-1", DUE);
    yen.amount = Money::new(dec!(150000), Currency::iso("JPY").unwrap());
    yen.description = String::new();
    yen.po_line_number = Some(3);
    jobs.push(yen);
    for job in &jobs {
        let doc = build_invoice(&config, &integration, job, &secret, DUE).unwrap();
        let xml = cxml::to_xml(&doc);
        xmllint(&xml).unwrap_or_else(|e| panic!("{}: {e}\n{xml}", job.charge_id));
        assert!(xml.contains("+00:00"), "{xml}");
    }
    // The checker must be able to say no, or the loop above proves nothing.
    let doc = build_invoice(&config, &integration, &jobs[0], &secret, DUE).unwrap();
    let broken = cxml::to_xml(&doc).replace("<NetAmount>", "<Bogus/><NetAmount>");
    assert!(
        xmllint(&broken).is_err(),
        "xmllint accepted an undeclared element"
    );
}

#[test]
fn invoice_secrets_are_derived_per_organisation() {
    let config = Config::example();
    let coupa = invoice_secret(&config, &demo::COUPA_ORG.into(), 1).unwrap();
    // hex(HMAC-SHA256(key, "invoice:demo-coupa-org")), computed independently.
    assert_eq!(
        coupa.expose(),
        "7f26630e4fdb24be24f9cbd0d76b5796c1a919772e7d3b1a3e60949c43203604"
    );
    let other = invoice_secret(&config, &"another-org".into(), 1).unwrap();
    assert_ne!(coupa, other);
    assert_eq!(format!("{coupa:?}"), "SharedSecret(<redacted>)");
    let mut unkeyed = config.clone();
    unkeyed.invoice_secret_key = None;
    assert!(invoice_secret(&unkeyed, &demo::COUPA_ORG.into(), 1).is_none());
}

#[test]
fn each_invoice_secret_version_is_another_secret() {
    let config = Config::example();
    let org: OrgId = demo::COUPA_ORG.into();
    let secret = |version| {
        invoice_secret(&config, &org, version)
            .map(|s| s.expose().to_string())
            .unwrap_or_default()
    };
    // hex(HMAC-SHA256(key, "invoice-v<n>:demo-coupa-org")), computed independently.
    assert_eq!(
        secret(2),
        "3e17974a1c9056e8e527864233c8f111161412a27db5df7d071ce33e26336e56"
    );
    assert_eq!(
        secret(3),
        "f83e476ce39a1d8170a51162b88f04a06bb6e238bd87b3d6baacc7019b82a2ba"
    );
    assert_ne!(secret(1), secret(2));
    // No version 0: nothing is derived for it.
    assert!(invoice_secret(&config, &org, 0).is_none());
    // The version ends at its `:`: organisation "2:x" on version 1 and "x" on version 2 (or
    // "v2:x" and "x") are different messages, so different secrets.
    assert_ne!(
        invoice_secret(&config, &"x".into(), 2),
        invoice_secret(&config, &"2:x".into(), 1)
    );
    assert_ne!(
        invoice_secret(&config, &"3:x".into(), 2),
        invoice_secret(&config, &"x".into(), 23)
    );
    // The same version of another organisation is another secret.
    assert_ne!(
        invoice_secret(&config, &"another-org".into(), 2),
        invoice_secret(&config, &org, 2)
    );
}

#[test]
fn integrations_stored_before_versions_are_on_the_first_derivation() {
    let mut stored = serde_json::to_value(demo::coupa_integration(DUE)).unwrap();
    // The first version is not written, so a stored integration keeps its shape ...
    assert!(stored.get("invoice_secret_version").is_none(), "{stored}");
    stored
        .as_object_mut()
        .unwrap()
        .remove("invoice_secret_version");
    let read: Integration = serde_json::from_value(stored.clone()).unwrap();
    // ... and reads back on the derivation its buyer was shown.
    assert_eq!(read.invoice_secret_version, 1);
    let config = Config::example();
    assert_eq!(
        invoice_secret_of(&config, &read).unwrap().expose(),
        "7f26630e4fdb24be24f9cbd0d76b5796c1a919772e7d3b1a3e60949c43203604"
    );
    stored["invoice_secret_version"] = serde_json::json!(4);
    let rotated: Integration = serde_json::from_value(stored).unwrap();
    assert_eq!(rotated.invoice_secret_version, 4);
    assert_eq!(
        serde_json::to_value(&rotated).unwrap()["invoice_secret_version"],
        4
    );
}

#[tokio::test]
async fn rotating_the_invoice_secret_changes_what_that_organisations_invoices_present() {
    use crate::settings;

    let world = FakeWorld::demo_live().await;
    let org = demo::organizations()
        .into_iter()
        .find(|o| o.org_id == demo::COUPA_ORG)
        .unwrap();
    let before = settings::read(&world.deps, &org).await.unwrap();
    let (rotated, secret) = settings::rotate_invoice_secret(&world.deps, &org)
        .await
        .unwrap();
    assert_eq!(rotated.invoice_secret_version, 2);
    assert_eq!(
        secret,
        invoice_secret(&world.deps.config, &org.org_id, 2)
            .unwrap()
            .expose()
    );
    assert_ne!(
        secret,
        invoice_secret(&world.deps.config, &org.org_id, 1)
            .unwrap()
            .expose()
    );
    // Stored, and nothing else changed: the punchout secret and the settings are kept.
    let stored = settings::read(&world.deps, &org).await.unwrap();
    assert_eq!(stored.invoice_secret_version, 2);
    assert_eq!(stored.secret_digest, before.secret_digest);
    assert_eq!(stored.settings, before.settings);

    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    dispatch_job(&world.deps, &job, Delivery::first(now())).await;
    let body = world.invoice_sender.posts()[0].body.clone();
    let doc = cxml::parse(body.as_bytes()).unwrap();
    let header = doc.header.as_ref().unwrap();
    assert_eq!(
        header.sender[0].shared_secret.as_ref().map(|s| s.expose()),
        Some(secret.as_str())
    );

    // Once more: the next version.
    let (again, third) = settings::rotate_invoice_secret(&world.deps, &org)
        .await
        .unwrap();
    assert_eq!(again.invoice_secret_version, 3);
    assert_ne!(third, secret);
}

#[tokio::test]
async fn the_invoice_secret_is_rotated_only_where_there_is_one() {
    use crate::settings::{self, SettingsRefused};

    let world = FakeWorld::demo().await;
    let org = |id: &str| {
        demo::organizations()
            .into_iter()
            .find(|o| o.org_id == id)
            .unwrap()
    };
    // Ariba organisations are not invoiced by us.
    assert!(matches!(
        settings::rotate_invoice_secret(&world.deps, &org(demo::ARIBA_ORG)).await,
        Err(SettingsRefused::NetworkSecret)
    ));
    // Without the invoice key nothing could be shown: refused, and nothing is written.
    let mut config = Config::example();
    config.invoice_secret_key = None;
    let unkeyed = FakeWorld::new(config);
    demo::seed(unkeyed.store.as_ref(), now()).await.unwrap();
    assert!(matches!(
        settings::rotate_invoice_secret(&unkeyed.deps, &org(demo::COUPA_ORG)).await,
        Err(SettingsRefused::NoInvoiceKey)
    ));
    let stored = settings::read(&unkeyed.deps, &org(demo::COUPA_ORG))
        .await
        .unwrap();
    assert_eq!(stored.invoice_secret_version, 1);
}

#[test]
fn answers_are_read_by_their_cxml_status_first() {
    let cxml = |code, text| ScriptedInvoiceSender::cxml_answer(200, code, text).1;
    assert!(matches!(
        read_answer(200, &cxml(200, "OK")),
        Answer::Accepted { code: 200, .. }
    ));
    assert!(matches!(
        read_answer(200, &cxml(403, "No")),
        Answer::Refused { code: 403, .. }
    ));
    assert!(matches!(
        read_answer(200, &cxml(500, "Later")),
        Answer::Retry(_)
    ));
    assert!(matches!(read_answer(502, "<html/>"), Answer::Retry(_)));
    assert!(matches!(
        read_answer(302, ""),
        Answer::Refused { code: 302, .. }
    ));
    assert!(matches!(
        read_answer(404, "Not Found"),
        Answer::Refused { code: 404, .. }
    ));
    // A plain 200 without a cXML body: received, with the body kept as the text.
    let Answer::Accepted { text, .. } = read_answer(200, "thanks") else {
        panic!("accepted")
    };
    assert!(text.contains("thanks"));
    let long = "x".repeat(5000);
    let Answer::Refused { text, .. } = read_answer(400, &long) else {
        panic!("refused")
    };
    assert!(text.chars().count() <= MAX_STATUS_TEXT + 3);
}

#[tokio::test]
async fn installments_are_queued_only_once_due() {
    let world = FakeWorld::demo_live().await;
    let first = job("agmt-0002-1", DUE);
    let second = job("agmt-0002-2", DUE + Duration::days(180));
    add_charge(&world, &first, "scheduled");
    add_charge(&world, &second, "scheduled");

    let run = queue_due_charges(&world.deps, now(), far_off())
        .await
        .unwrap();
    assert_eq!(
        run,
        QueueRun {
            queued: 1,
            ..QueueRun::default()
        }
    );
    assert_eq!(status(&world, "agmt-0002-1").await, "queued");
    assert_eq!(status(&world, "agmt-0002-2").await, "scheduled");
    // The same day again: nothing new.
    let again = queue_due_charges(&world.deps, now() + Duration::hours(1), far_off())
        .await
        .unwrap();
    assert_eq!(again.queued, 0);
    // What was queued is invoiced by dispatch, once.
    let first_job = world.queue.jobs.lock().unwrap()[0].clone();
    assert_eq!(
        dispatch_job(&world.deps, &first_job, Delivery::first(now())).await,
        JobOutcome::Done
    );
    // Its date comes: the second is queued, the invoiced first is not queued again.
    let later = queue_due_charges(&world.deps, second.due, far_off())
        .await
        .unwrap();
    assert_eq!((later.queued, later.requeued), (1, 0));
    let jobs = world.queue.jobs.lock().unwrap().clone();
    let ids: Vec<&str> = jobs.iter().map(|j| j.charge_id.as_str()).collect();
    assert_eq!(ids, ["agmt-0002-1", "agmt-0002-2"]);
    assert_eq!(
        dispatch_job(&world.deps, &jobs[1], Delivery::first(second.due)).await,
        JobOutcome::Done
    );
    assert_eq!(world.invoice_sender.posts().len(), 2);
}

#[tokio::test]
async fn the_scheduled_run_pages_through_many_due_charges() {
    let world = FakeWorld::demo_live().await;
    for n in 0..250 {
        let mut charge = job(&format!("agmt-{n:04}-1"), DUE - Duration::minutes(n));
        charge.agreement_id = AgreementId::from(format!("agmt-{n:04}"));
        add_charge(&world, &charge, "scheduled");
    }
    let run = queue_due_charges(&world.deps, now(), far_off())
        .await
        .unwrap();
    assert_eq!(run.queued, 250);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 250);
    assert_eq!(
        queue_due_charges(&world.deps, now(), far_off())
            .await
            .unwrap()
            .queued,
        0
    );
}

#[tokio::test]
async fn the_purchase_information_shows_the_invoice_secret_with_a_coupa_secret_only() {
    use crate::settings::{self, PurchaseInformation};

    let world = FakeWorld::demo().await;
    let expected = invoice_secret(&world.deps.config, &demo::COUPA_ORG.into(), 1).unwrap();
    let org = |id: &str| {
        demo::organizations()
            .into_iter()
            .find(|o| o.org_id == id)
            .unwrap()
    };

    let (integration, secret) = settings::rotate(&world.deps, &org(demo::COUPA_ORG))
        .await
        .unwrap();
    let shown = PurchaseInformation::of(&world.deps, &integration, None, Some(&secret));
    assert_eq!(
        shown.invoice_shared_secret.as_deref(),
        Some(expected.expose())
    );

    // A read never carries it.
    let read = PurchaseInformation::of(&world.deps, &integration, None, None);
    assert_eq!(read.invoice_shared_secret, None);
    assert_eq!(read.shared_secret, None);

    // Ariba integrations are not invoiced by us, and have no secret of their own to rotate.
    assert!(matches!(
        settings::rotate(&world.deps, &org(demo::ARIBA_ORG)).await,
        Err(settings::SettingsRefused::NetworkSecret)
    ));
    let ariba = settings::read(&world.deps, &org(demo::ARIBA_ORG))
        .await
        .unwrap();
    let network = demo::ariba_network();
    let shown = PurchaseInformation::of(&world.deps, &ariba, Some(&network), None);
    assert_eq!(shown.invoice_shared_secret, None);
    assert_eq!(shown.shared_secret, None);
    assert_eq!(
        shown.supplier_anid.as_deref(),
        Some(demo::ARIBA_SUPPLIER_ANID)
    );
    assert_eq!(shown.sender_identity, "sysadmin@ariba.com");
    assert_eq!(
        shown.buyer_test_identity.as_deref(),
        Some(demo::ARIBA_TEST_IDENTITY)
    );
}

/// The queue message names a charge; everything else comes from the table. A message that
/// carries other fields (the old shape, or a tampered one) cannot redirect or change the invoice.
#[tokio::test]
async fn the_message_names_the_charge_and_the_invoice_is_built_from_the_stored_one() {
    let world = FakeWorld::demo_live().await;
    let stored = job("agmt-0001-1", DUE);
    add_charge(&world, &stored, "queued");
    let tampered = serde_json::json!({
        "charge_id": "agmt-0001-1",
        "org_id": demo::ARIBA_ORG,
        "order_id": "PO-EVIL",
        "amount": {"amount": "1.00", "currency": "EUR"},
    });
    assert_eq!(
        dispatch(&world.deps, &tampered.to_string(), Delivery::first(now())).await,
        JobOutcome::Done
    );
    let posts = world.invoice_sender.posts();
    assert_eq!(posts.len(), 1);
    let body = &posts[0].body;
    assert!(
        body.contains("PO-4711") && !body.contains("PO-EVIL"),
        "{body}"
    );
    assert!(
        body.contains(r#"<Money currency="USD">12000.00</Money>"#),
        "{body}"
    );
    assert_eq!(status(&world, "agmt-0001-1").await, "invoiced");

    // A message naming no stored charge stays on the queue (then the dead-letter queue).
    assert!(matches!(
        dispatch(
            &world.deps,
            r#"{"charge_id":"agmt-none-1"}"#,
            Delivery::first(now())
        )
        .await,
        JobOutcome::KeepForRetry(_)
    ));
    assert_eq!(world.invoice_sender.posts().len(), 1);
}

#[tokio::test]
async fn a_charge_whose_job_was_dead_lettered_is_queued_again_after_the_requeue_time() {
    let world = FakeWorld::demo_live().await;
    let charge = job("agmt-0003-1", DUE);
    add_charge(&world, &charge, "scheduled");
    let after = world.deps.config.job_requeue_after;
    assert_eq!(
        queue_due_charges(&world.deps, now(), far_off())
            .await
            .unwrap()
            .queued,
        1
    );
    // Its job is still on its way through the queue's retries: left alone.
    let soon = queue_due_charges(&world.deps, now() + after - Duration::minutes(1), far_off())
        .await
        .unwrap();
    assert_eq!((soon.queued, soon.requeued), (0, 0));
    // No delivery settled it by its requeue time (the job went to the dead-letter queue):
    // the scheduled run hands it over again, and that delivery invoices it.
    let later = now() + after + Duration::minutes(1);
    let run = queue_due_charges(&world.deps, later, far_off())
        .await
        .unwrap();
    assert_eq!((run.queued, run.requeued), (0, 1));
    let jobs = world.queue.jobs.lock().unwrap().clone();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        dispatch_job(&world.deps, &jobs[1], Delivery::first(later)).await,
        JobOutcome::Done
    );
    assert_eq!(status(&world, "agmt-0003-1").await, "invoiced");
    // Settled: never handed over again, and the old dead-lettered job, redriven, sends nothing.
    let much_later = later + after * 3;
    let run = queue_due_charges(&world.deps, much_later, far_off())
        .await
        .unwrap();
    assert_eq!(run, QueueRun::default());
    assert_eq!(
        dispatch_job(&world.deps, &jobs[0], Delivery::first(much_later)).await,
        JobOutcome::Done
    );
    assert_eq!(world.invoice_sender.posts().len(), 1);
}

#[tokio::test]
async fn a_charge_handed_over_as_often_as_allowed_is_recorded_failed_not_left_queued() {
    let world = FakeWorld::demo_live().await;
    let charge = job("agmt-0004-1", DUE);
    add_charge(&world, &charge, "scheduled");
    let after = world.deps.config.job_requeue_after + Duration::minutes(1);
    let max = world.deps.config.job_max_queueings;
    let mut at = now();
    for _ in 0..max {
        let run = queue_due_charges(&world.deps, at, far_off()).await.unwrap();
        assert_eq!(run.queued + run.requeued, 1);
        at += after;
    }
    // A dispatcher is posting it right now: not overruled.
    let held_until = at + Duration::minutes(2);
    assert!(
        world
            .deps
            .charges
            .claim(&"agmt-0004-1".into(), at, held_until)
            .await
            .unwrap()
    );
    let run = queue_due_charges(&world.deps, at, far_off()).await.unwrap();
    assert_eq!(run.dead_lettered, 0);
    assert_eq!(status(&world, "agmt-0004-1").await, "queued");
    // Once nobody holds it, it is recorded failed (the alarm), and never queued again.
    let at = held_until + Duration::seconds(1);
    let run = queue_due_charges(&world.deps, at, far_off()).await.unwrap();
    assert_eq!((run.dead_lettered, run.requeued), (1, 0));
    assert_eq!(status(&world, "agmt-0004-1").await, "failed");
    let failed = outcome(&world, "agmt-0004-1").await;
    assert!(failed.text.contains("dead-letter queue"), "{}", failed.text);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), max as usize);
    let run = queue_due_charges(&world.deps, at + after * 2, far_off())
        .await
        .unwrap();
    assert_eq!(run, QueueRun::default());
    assert!(world.invoice_sender.posts().is_empty());
}

#[tokio::test]
async fn the_scheduled_run_stops_at_its_time_limit_and_the_next_goes_on() {
    let world = FakeWorld::demo_live().await;
    add_charge(&world, &job("agmt-0005-1", DUE), "scheduled");
    let out_of_time = OffsetDateTime::now_utc() - Duration::seconds(1);
    let run = queue_due_charges(&world.deps, now(), out_of_time)
        .await
        .unwrap();
    assert_eq!(
        run,
        QueueRun {
            unfinished: true,
            ..QueueRun::default()
        }
    );
    assert!(world.queue.jobs.lock().unwrap().is_empty());
    let next = queue_due_charges(&world.deps, now(), far_off())
        .await
        .unwrap();
    assert_eq!((next.queued, next.unfinished), (1, false));
}

fn coupa_settings(
    world_integration: &mut Integration,
    f: impl FnOnce(&mut crate::integration::InvoiceSettings),
) {
    if let crate::integration::SystemSettings::Coupa(c) = &mut world_integration.settings.system {
        f(&mut c.invoicing);
    }
}

fn line_job(charge_id: &str, quantity: rust_decimal::Decimal, amount: Money) -> InvoiceJob {
    let mut j = job(charge_id, DUE);
    j.amount = amount;
    j.invoice_number = Some(invoice_number("PO-4711", 2, Some((1, 3)), &j.charge_id));
    j.po_line_number = Some(2);
    j.line = Some(crate::model::ChargeLine {
        supplier_part_id: "prod-saas-fps".into(),
        supplier_part_auxiliary_id: Some("quote-0001".into()),
        unit_of_measure: "EA".into(),
        description: "Ledgerly Analytics, 3 yearly installments".into(),
        unit_price: Money::new(dec!(10000.00), Currency::USD),
        quantity,
        installment: Some((1, 3)),
    });
    j
}

fn invoice_of(doc: &Cxml) -> &InvoiceDetailRequest {
    match &doc.body {
        Body::Request(cxml::Request {
            payload: RequestPayload::InvoiceDetail(i),
            ..
        }) => i,
        _ => panic!("not an invoice"),
    }
}

#[test]
fn an_invoice_carries_the_payment_term_the_tax_the_part_number_and_remit_to_and_adds_up() {
    let config = Config::example();
    let mut integration = demo::coupa_integration(DUE);
    coupa_settings(&mut integration, |i| {
        i.payment_term_days = 45;
        i.payment_term_code = Some("Net 45".into());
        i.tax = Some(crate::integration::TaxSetting {
            category: "vat".into(),
            rate_percent: dec!(19),
            description: None,
        });
        i.remit_to = Some(crate::integration::RemitTo {
            name: "Marketplace GmbH".into(),
            code: Some("REMIT-DE-1".into()),
            street: vec!["Hauptstrasse 1".into()],
            city: "Berlin".into(),
            state: None,
            postal_code: Some("10115".into()),
            country_code: "DE".into(),
            country: Some("Germany".into()),
        });
        i.supplier_tax_id = Some(crate::integration::SupplierTaxId {
            prefix: Some("DE".into()),
            number: "123456789".into(),
        });
        i.to_domain = Some("DUNS".into());
        i.to_identity = Some("coupa-invoices".into());
    });
    let j = line_job(
        "agmt-0001-1",
        dec!(0.3333333333),
        Money::new(dec!(3333.33), Currency::USD),
    );
    let secret = SharedSecret::new("s");
    let doc = build_invoice(&config, &integration, &j, &secret, now()).unwrap();
    let xml = cxml::to_xml(&doc);
    xmllint(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    // Compass "Sample cXML Invoice with Payment Terms": before the header's end.
    let header_end = xml.find("</InvoiceDetailRequestHeader>").unwrap();
    let term = xml
        .find(r#"<PaymentTerm payInNumberOfDays="45"/>"#)
        .expect(&xml);
    assert!(term < header_end, "{xml}");
    let code = xml
        .find(r#"<Extrinsic name="PaymentTermCode">Net 45</Extrinsic>"#)
        .expect(&xml);
    assert!(code < header_end, "{xml}");
    assert!(
        xml.contains(r#"<Contact role="remitTo" addressID="REMIT-DE-1">"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<IdReference identifier="DE" domain="taxPrefix"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<IdReference identifier="123456789" domain="taxNumber"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"category="vat" percentageRate="19""#),
        "{xml}"
    );
    assert!(
        xml.contains("<SupplierPartID>prod-saas-fps</SupplierPartID>"),
        "{xml}"
    );
    assert!(
        xml.contains("<SupplierPartAuxiliaryID>quote-0001</SupplierPartAuxiliaryID>"),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<InvoiceDetailItemReference lineNumber="2">"#),
        "{xml}"
    );
    assert!(xml.contains(r#"quantity="0.3333333333""#), "{xml}");
    let Body::Request(r) = &doc.body else {
        panic!()
    };
    assert_eq!(r.deployment_mode, DeploymentMode::Production);
    assert_eq!(
        doc.header.as_ref().unwrap().to[0].identity,
        "coupa-invoices"
    );
    let invoice = invoice_of(&doc);
    assert_eq!(invoice.header.invoice_id, "PO-4711-2-1");
    let s = &invoice.summary;
    let tax = s.tax.as_ref().unwrap().money.amount;
    // 3333.33 x 19% = 633.3327: rounded half-even to cents.
    assert_eq!(tax, dec!(633.33));
    assert_eq!(s.tax_details[0].tax.amount, tax);
    assert_eq!(s.subtotal.amount, dec!(3333.33));
    let line_total: rust_decimal::Decimal = invoice.orders[0]
        .items
        .iter()
        .map(|i| i.subtotal.as_ref().unwrap().amount)
        .sum();
    assert_eq!(line_total, s.subtotal.amount);
    assert_eq!(s.net.as_ref().unwrap().amount, s.subtotal.amount + tax);
    assert_eq!(s.due, s.net);
}

#[test]
fn a_zero_rated_tax_still_writes_a_tax_detail_and_no_tax_writes_none() {
    let config = Config::example();
    let secret = SharedSecret::new("s");
    let j = line_job(
        "agmt-0001-1",
        dec!(1),
        Money::new(dec!(10000.00), Currency::USD),
    );
    let mut integration = demo::coupa_integration(DUE);
    coupa_settings(&mut integration, |i| {
        i.tax = Some(crate::integration::TaxSetting {
            category: "sales".into(),
            rate_percent: dec!(0),
            description: Some("Zero-rated".into()),
        });
    });
    let xml = cxml::to_xml(&build_invoice(&config, &integration, &j, &secret, now()).unwrap());
    xmllint(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert!(
        xml.contains(r#"category="sales" percentageRate="0" exemptDetail="zeroRated""#),
        "{xml}"
    );
    // Defaults: net 30, no tax, no remit-to, To = the punchout buyer credential.
    coupa_settings(&mut integration, |i| *i = Default::default());
    let doc = build_invoice(&config, &integration, &j, &secret, now()).unwrap();
    let xml = cxml::to_xml(&doc);
    xmllint(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert!(
        xml.contains(r#"<PaymentTerm payInNumberOfDays="30"/>"#),
        "{xml}"
    );
    assert!(
        !xml.contains("TaxDetail") && !xml.contains("InvoicePartner"),
        "{xml}"
    );
    assert_eq!(
        doc.header.as_ref().unwrap().to[0].identity,
        demo::COUPA_IDENTITY
    );
    let s = &invoice_of(&doc).summary;
    assert_eq!(s.due.as_ref().unwrap().amount, dec!(10000.00));
}

#[test]
fn installments_share_the_one_line_and_add_up_to_it_exactly() {
    let line = crate::model::QuoteLine {
        line_number: 1,
        description: "Ledgerly".into(),
        kind: crate::model::ChargeKind::Contract,
        quantity: dec!(1),
        unit_price: Money::new(dec!(10000.00), Currency::USD),
        unit_of_measure: "EA".into(),
        unspsc: "81162000".into(),
    };
    for amounts in [
        vec![dec!(3333.33), dec!(3333.33), dec!(3333.34)],
        vec![dec!(5000), dec!(5000)],
        vec![dec!(1000.005), dec!(1000.015), dec!(7999.98)],
        vec![dec!(100); 100],
    ] {
        let shares = installment_shares(&line, &amounts);
        assert_eq!(shares.len(), amounts.len());
        let quantity: rust_decimal::Decimal = shares.iter().map(|(q, _)| *q).sum();
        let amount: rust_decimal::Decimal = shares.iter().map(|(_, a)| a.amount).sum();
        assert_eq!(
            quantity,
            dec!(1),
            "{amounts:?}: never more than the line's quantity"
        );
        assert_eq!(
            amount,
            dec!(10000.00),
            "{amounts:?}: exactly the line's amount"
        );
        for (q, a) in &shares {
            assert_eq!(a.amount.scale(), 2, "{a}: rounded to cents");
            let priced = round_half_even(&Money::new(q * dec!(10000.00), Currency::USD));
            assert_eq!(priced.amount, a.amount, "quantity x price is the amount");
        }
    }
    // Half-even: 1000.005 -> 1000.00, 1000.015 -> 1000.02.
    let shares = installment_shares(&line, &[dec!(1000.005), dec!(1000.015), dec!(7999.98)]);
    assert_eq!(shares[0].1.amount, dec!(1000.00));
    assert_eq!(shares[1].1.amount, dec!(1000.02));
    assert_eq!(shares[2].1.amount, dec!(7999.98));
}

#[test]
fn invoice_numbers_are_readable_at_most_40_characters_and_distinct() {
    let charge = |n: usize| {
        ChargeId::nth(
            &AgreementId::from("agmt-0123456789abcdef0123456789abcdef"),
            n,
        )
    };
    assert_eq!(invoice_number("PO-4711", 1, None, &charge(1)), "PO-4711-1");
    assert_eq!(
        invoice_number("4711", 1, Some((100, 120)), &charge(100)),
        "4711-1-100"
    );
    let long = "PO-e2e-quote-0123456789abcdef0123456789abcdef";
    let mut seen = std::collections::HashSet::new();
    for n in 1..=150usize {
        let number = invoice_number(long, 1, Some((n as u32, 150)), &charge(n));
        assert!(
            number.chars().count() <= MAX_INVOICE_NUMBER_CHARS,
            "{number}"
        );
        assert!(
            number.starts_with("PO-e2e-quote-") && number.ends_with(&format!("-1-{n}")),
            "{number}"
        );
        assert!(seen.insert(number.clone()), "{number} twice");
        // Stable: the same charge always gets the same number.
        assert_eq!(
            number,
            invoice_number(long, 1, Some((n as u32, 150)), &charge(n))
        );
    }
}

#[test]
fn coupas_answers_are_classified_as_coupa_documents_them() {
    let ok = |code| ScriptedInvoiceSender::cxml_answer(200, code, "OK");
    assert!(matches!(
        read_coupa_answer(200, &ok(200).1),
        Answer::Accepted { code: 200, .. }
    ));
    assert!(matches!(
        read_coupa_answer(200, &ok(201).1),
        Answer::Accepted { code: 201, .. }
    ));
    // A 2xx that is not a cXML Response (a proxy's page, an empty body) is not invoiced.
    assert!(matches!(
        read_coupa_answer(200, "<html>Welcome</html>"),
        Answer::Retry(_)
    ));
    assert!(matches!(read_coupa_answer(204, ""), Answer::Retry(_)));
    assert!(matches!(
        read_coupa_answer(200, &ok(204).1),
        Answer::Retry(_)
    ));
    let (http, body) = ScriptedInvoiceSender::cxml_answer(
        417,
        417,
        "Invalid attributes in document. [Validation failed: Payment Term Must be present on invoice]",
    );
    match read_coupa_answer(http, &body) {
        Answer::Refused { code: 417, text } => assert!(text.contains("Payment Term"), "{text}"),
        other => panic!("{other:?}"),
    }
    let (http, body) = ScriptedInvoiceSender::cxml_answer(401, 401, "Invalid credentials.");
    assert!(matches!(
        read_coupa_answer(http, &body),
        Answer::Refused { code: 401, .. }
    ));
    let (http, body) = ScriptedInvoiceSender::cxml_answer(500, 500, "Unexpected server error.");
    assert!(matches!(read_coupa_answer(http, &body), Answer::Retry(_)));
}

#[tokio::test]
async fn a_500_is_retried_a_bounded_number_of_times_then_recorded_failed_with_coupas_text() {
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .always(Ok(ScriptedInvoiceSender::cxml_answer(
            500,
            500,
            "Unexpected server error.",
        )));
    for receive_count in 1..SERVER_ERROR_ATTEMPTS {
        let delivery = Delivery {
            now: now(),
            receive_count,
        };
        assert!(matches!(
            dispatch_job(&world.deps, &job, delivery).await,
            JobOutcome::KeepForRetry(_)
        ));
        assert_eq!(status(&world, "agmt-0001-1").await, "queued");
    }
    let last = Delivery {
        now: now(),
        receive_count: SERVER_ERROR_ATTEMPTS,
    };
    assert_eq!(
        dispatch_job(&world.deps, &job, last).await,
        JobOutcome::Done
    );
    let recorded = outcome(&world, "agmt-0001-1").await;
    assert_eq!(recorded.status, ChargeStatus::Failed);
    assert_eq!(recorded.code, Some(500));
    assert!(
        recorded.text.contains("Unexpected server error."),
        "{recorded:?}"
    );
    assert_eq!(
        world.invoice_sender.posts().len(),
        SERVER_ERROR_ATTEMPTS as usize
    );
}

#[tokio::test]
async fn an_outage_is_retried_on_every_delivery_until_the_dead_letter_queue() {
    // 503 says Coupa is down, not that the invoice is wrong: no bound, SQS dead-letters it.
    let world = FakeWorld::demo_live().await;
    let job = job("agmt-0001-1", DUE);
    add_charge(&world, &job, "queued");
    world
        .invoice_sender
        .always(Ok((503, "Service Unavailable".to_string())));
    for receive_count in 1..=SERVER_ERROR_ATTEMPTS + 2 {
        let delivery = Delivery {
            now: now(),
            receive_count,
        };
        assert!(matches!(
            dispatch_job(&world.deps, &job, delivery).await,
            JobOutcome::KeepForRetry(_)
        ));
        assert_eq!(status(&world, "agmt-0001-1").await, "queued");
    }
}
