//! The SQS batch fixture: every message that is not done is reported back, one by one.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use procurement::fakes::FakeWorld;

#[tokio::test]
async fn failures_are_reported_per_message_and_nothing_is_dropped() {
    let world = FakeWorld::demo().await;
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/invoice-dispatch/sqs-batch.json"
    ))
    .unwrap();
    let event: SqsEvent = serde_json::from_str(&raw).unwrap();
    let ids: Vec<String> = event
        .records
        .iter()
        .filter_map(|r| r.message_id.clone())
        .collect();
    let response =
        invoice_dispatch::handle(&world.deps, LambdaEvent::new(event, Context::default()))
            .await
            .unwrap();
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    // Until invoice delivery lands (issue #6) no job may be acknowledged, valid or not.
    assert_eq!(failed, ids);
}
