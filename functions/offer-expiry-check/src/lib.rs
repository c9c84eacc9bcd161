//! offer-expiry-check: runs on a schedule. The check of pending quotes against their private
//! offers arrives with issue #6; until then a run reports what it looked at.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use procurement::Deps;
use serde_json::{Value, json};

pub async fn handle(
    _deps: &Deps,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<Value, Error> {
    let scheduled_at = event
        .payload
        .time
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    tracing::info!(%scheduled_at, "offer expiry check ran");
    Ok(json!({"scheduled_at": scheduled_at, "checked": 0, "expired": 0}))
}
