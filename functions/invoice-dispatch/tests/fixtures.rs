//! The SQS batch fixture: only messages that are not done are reported back, one by one.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use procurement::fakes::FakeWorld;
use procurement::ids::ChargeId;
use procurement::model::{ChargeStatus, InvoiceJob};

fn fixture() -> SqsEvent {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/invoice-dispatch/sqs-batch.json"
    ))
    .unwrap();
    serde_json::from_str(&raw).unwrap()
}

/// Stores the charge the fixture's valid message names as a queued charge, as the order
/// transaction would.
fn add_fixture_charge(world: &FakeWorld, event: &SqsEvent) -> ChargeId {
    let body = event.records[0].body.as_deref().unwrap();
    let message: procurement::delivery::InvoiceMessage = serde_json::from_str(body).unwrap();
    let id = message.charge_id.clone();
    let job = InvoiceJob {
        org_id: procurement::demo::COUPA_ORG.into(),
        order_id: "PO-4711".into(),
        agreement_id: "agr-0001".into(),
        charge_id: id.clone(),
        description: "Ledgerly Analytics, 12 months".into(),
        amount: cxml::Money::new(
            rust_decimal::Decimal::new(1_200_000, 2),
            cxml::Currency::USD,
        ),
        due: time::macros::datetime!(2026-11-24 10:00 UTC),
        po_line_number: Some(1),
    };
    world
        .store
        .charges
        .lock()
        .unwrap()
        .insert(id.clone(), (job, ChargeStatus::Queued));
    id
}

async fn run(world: &FakeWorld, event: SqsEvent) -> Vec<String> {
    let response: SqsBatchResponse =
        invoice_dispatch::handle(&world.deps, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn a_valid_job_is_invoiced_and_only_the_malformed_one_is_reported() {
    let world = FakeWorld::demo().await;
    world
        .change_integration(procurement::demo::COUPA_ORG, |i| {
            i.settings.test_mode = false
        })
        .await;
    let event = fixture();
    let charge = add_fixture_charge(&world, &event);

    assert_eq!(run(&world, event).await, ["msg-malformed-2"]);
    assert_eq!(
        world.deps.charges.status(&charge).await.unwrap(),
        Some(ChargeStatus::Invoiced)
    );
    assert_eq!(world.invoice_sender.posts().len(), 1);

    // The same batch again (redelivery): nothing is sent twice.
    run(&world, fixture()).await;
    assert_eq!(world.invoice_sender.posts().len(), 1);
}

#[tokio::test]
async fn in_test_mode_the_job_is_acknowledged_and_the_charge_waits() {
    let world = FakeWorld::demo().await; // the demo Coupa integration is in test mode
    let event = fixture();
    let charge = add_fixture_charge(&world, &event);
    assert_eq!(run(&world, event).await, ["msg-malformed-2"]);
    assert_eq!(
        world.deps.charges.status(&charge).await.unwrap(),
        Some(ChargeStatus::Scheduled),
        "back among the scheduled charges, never skipped"
    );
    assert!(world.invoice_sender.posts().is_empty());
}

#[tokio::test]
async fn a_job_for_an_unknown_charge_stays_on_the_queue() {
    let world = FakeWorld::demo().await;
    let event = fixture();
    let ids: Vec<String> = event
        .records
        .iter()
        .filter_map(|r| r.message_id.clone())
        .collect();
    // No charge in the table: the job is not ours to send; SQS dead-letters it in the end.
    assert_eq!(run(&world, event).await, ids);
}
