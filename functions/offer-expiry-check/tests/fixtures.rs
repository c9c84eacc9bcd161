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
