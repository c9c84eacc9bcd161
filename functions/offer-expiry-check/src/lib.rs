//! offer-expiry-check: the scheduled run. It expires the pending quotes whose private offer
//! lapsed (and tells their requesters), hands the invoice charges that fell due to the
//! invoice queue, and sends the emails an earlier attempt could not (the outbox).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use procurement::Deps;
use serde_json::{Value, json};
use time::OffsetDateTime;

pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<Value, Error> {
    let scheduled_at = event
        .payload
        .time
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    // The check runs at the real time: a retried or late event must not judge offers by the
    // time it was scheduled for.
    let now = OffsetDateTime::now_utc();
    // A storage failure fails the run: EventBridge retries it, and every step is idempotent.
    let expiry = procurement::offers::expire_lapsed_offers(deps, now).await?;
    let charges = procurement::invoices::queue_due_charges(deps, now).await?;
    let emails_sent = procurement::notify::flush_outbox(deps).await?;
    tracing::info!(
        %scheduled_at,
        quotes_checked = expiry.checked,
        quotes_expired = expiry.expired,
        expiry_emails_sent = expiry.emails_sent,
        expiry_errors = expiry.errors,
        charges_queued = charges.queued,
        charges_not_queued = charges.failed,
        emails_sent,
        "scheduled run finished"
    );
    let out = json!({
        "scheduled_at": scheduled_at,
        "quotes_checked": expiry.checked,
        "quotes_expired": expiry.expired,
        "charges_queued": charges.queued,
        "emails_sent": emails_sent + expiry.emails_sent,
    });
    if expiry.errors > 0 || charges.failed > 0 {
        // Done what could be done; failing the run makes the gap visible and retried.
        return Err(format!(
            "scheduled run incomplete: {} quotes and {} charges left for the next run",
            expiry.errors, charges.failed
        )
        .into());
    }
    Ok(out)
}
