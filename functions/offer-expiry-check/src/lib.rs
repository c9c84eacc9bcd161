//! offer-expiry-check: the scheduled run. It sends the emails an earlier attempt could not
//! (the outbox). The check of pending quotes against their private offers is issue #6.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use procurement::Deps;
use serde_json::{Value, json};

pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<Value, Error> {
    let scheduled_at = event
        .payload
        .time
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    // A storage failure fails the run: EventBridge retries it, nothing is skipped.
    let emails_sent = procurement::notify::flush_outbox(deps).await?;
    tracing::info!(%scheduled_at, emails_sent, "scheduled run finished");
    Ok(json!({"scheduled_at": scheduled_at, "emails_sent": emails_sent}))
}
