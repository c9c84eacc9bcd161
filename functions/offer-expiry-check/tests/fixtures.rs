use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Context, LambdaEvent};
use procurement::fakes::FakeWorld;
use serde_json::Value;

#[tokio::test]
async fn the_scheduled_event_runs_the_check() {
    let world = FakeWorld::demo().await;
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/offer-expiry-check/scheduled.json"
    ))
    .unwrap();
    let event: EventBridgeEvent<Value> = serde_json::from_str(&raw).unwrap();
    let out = offer_expiry_check::handle(&world.deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert_eq!(out["scheduled_at"], "2026-11-24T10:00:00+00:00");
}

#[tokio::test]
async fn the_run_expires_lapsed_offers_and_queues_due_charges_once() {
    use procurement::model::{ChargeStatus, InvoiceJob, QuoteStatus};

    let world = FakeWorld::demo().await;
    let now = time::OffsetDateTime::now_utc();
    // A quote sent for approval with an offer whose expiry the seller has since changed.
    let product = world
        .deps
        .catalog
        .get_product("prod-saas-private")
        .await
        .unwrap()
        .unwrap();
    let mut quote = procurement::demo::quotes(now).remove(0);
    quote.quote_id = "quote-private".into();
    quote.product_id = product.id.clone();
    let mut offer = product.private_offer.clone().unwrap();
    offer.expires_at -= time::Duration::days(1);
    quote.private_offer = Some(offer);
    world.deps.quotes.create(&quote).await.unwrap();
    // An installment that fell due.
    let job = InvoiceJob {
        org_id: procurement::demo::COUPA_ORG.into(),
        order_id: "PO-1".into(),
        agreement_id: "agmt-1".into(),
        charge_id: "agmt-1-2".into(),
        description: "installment 2 of 2".into(),
        amount: cxml::Money::new(rust_decimal::Decimal::new(500_000, 2), cxml::Currency::USD),
        due: now - time::Duration::hours(1),
        po_line_number: Some(1),
        line: None,
        invoice_number: None,
    };
    world.store.charges.lock().unwrap().insert(
        job.charge_id.clone(),
        (job.clone(), ChargeStatus::Scheduled),
    );

    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/offer-expiry-check/scheduled.json"
    ))
    .unwrap();
    let event: EventBridgeEvent<Value> = serde_json::from_str(&raw).unwrap();
    let out = offer_expiry_check::handle(
        &world.deps,
        LambdaEvent::new(event.clone(), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(out["quotes_expired"], 1);
    assert_eq!(out["charges_queued"], 1);
    assert_eq!(
        world
            .deps
            .quotes
            .get(&"quote-private".into())
            .await
            .unwrap()
            .unwrap()
            .status,
        QuoteStatus::Expired
    );
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);

    // The next run finds nothing to do.
    let again =
        offer_expiry_check::handle(&world.deps, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
    assert_eq!(
        (
            again["quotes_expired"].as_u64(),
            again["charges_queued"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failing_step_does_not_stop_the_others_and_fails_the_run() {
    use procurement::model::{ChargeStatus, Email, InvoiceJob, OutboxEmail};
    use std::sync::atomic::Ordering;

    let world = FakeWorld::demo().await;
    let now = time::OffsetDateTime::now_utc();
    let job = InvoiceJob {
        org_id: procurement::demo::COUPA_ORG.into(),
        order_id: "PO-1".into(),
        agreement_id: "agmt-1".into(),
        charge_id: "agmt-1-1".into(),
        description: "upfront".into(),
        amount: cxml::Money::new(rust_decimal::Decimal::new(500_000, 2), cxml::Currency::USD),
        due: now - time::Duration::hours(1),
        po_line_number: Some(1),
        line: None,
        invoice_number: None,
    };
    world.store.charges.lock().unwrap().insert(
        job.charge_id.clone(),
        (job.clone(), ChargeStatus::Scheduled),
    );
    world.store.outbox.lock().unwrap().push(OutboxEmail {
        email_id: "subscribed#agmt-1".into(),
        email: Email {
            to: "jim.halpert@buyer.example".into(),
            subject: "Your subscription is ready".into(),
            text: "Hello".into(),
        },
        created_at: now,
    });
    // The expiry step's listing fails, as when its index query is throttled.
    world
        .store
        .failing_quote_listing
        .store(true, Ordering::SeqCst);

    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/offer-expiry-check/scheduled.json"
    ))
    .unwrap();
    let event: EventBridgeEvent<Value> = serde_json::from_str(&raw).unwrap();
    let error = offer_expiry_check::handle(
        &world.deps,
        LambdaEvent::new(event.clone(), Context::default()),
    )
    .await
    .expect_err("a failed step fails the run, so EventBridge retries it");
    assert!(
        error.to_string().contains("expire lapsed offers"),
        "{error}"
    );
    // The steps after it ran all the same.
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1);
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1);

    world
        .store
        .failing_quote_listing
        .store(false, Ordering::SeqCst);
    let out = offer_expiry_check::handle(&world.deps, LambdaEvent::new(event, Context::default()))
        .await
        .unwrap();
    assert_eq!(out["failed_steps"], serde_json::json!([]));
    assert_eq!(world.queue.jobs.lock().unwrap().len(), 1, "queued once");
    assert_eq!(world.mailer.sent.lock().unwrap().len(), 1, "sent once");
}
