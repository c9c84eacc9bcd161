//! offer-expiry-check: the scheduled run. It expires the pending quotes whose private offer
//! lapsed (their notices go to the outbox), hands the invoice charges that fell due and the
//! order confirmations not yet queued to the invoice queue, and sends what waits in the outbox, each step stopping short of the
//! invocation's deadline.

use std::time::SystemTime;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use procurement::Deps;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

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
    let stop_at = stop_at(event.context.deadline(), now);
    // A storage failure fails the run: EventBridge retries it, and every step is idempotent.
    let expiry = procurement::offers::expire_lapsed_offers(deps, now, stop_at).await?;
    let charges = procurement::invoices::queue_due_charges(deps, now).await?;
    let (confirmations_queued, confirmations_not_queued) =
        procurement::confirmations::queue_unqueued(deps, stop_at).await?;
    let emails_sent = procurement::outbox::flush_outbox(deps, stop_at).await?;
    tracing::info!(
        %scheduled_at,
        quotes_checked = expiry.checked,
        quotes_expired = expiry.expired,
        expiry_errors = expiry.errors,
        expiry_unfinished = expiry.unfinished,
        charges_queued = charges.queued,
        charges_not_queued = charges.failed,
        confirmations_queued,
        confirmations_not_queued,
        emails_sent,
        "scheduled run finished"
    );
    let out = json!({
        "scheduled_at": scheduled_at,
        "quotes_checked": expiry.checked,
        "quotes_expired": expiry.expired,
        "quotes_left_for_next_run": expiry.unfinished,
        "charges_queued": charges.queued,
        "confirmations_queued": confirmations_queued,
        "emails_sent": emails_sent,
    });
    if expiry.errors > 0 || charges.failed > 0 || confirmations_not_queued > 0 {
        // Done what could be done; failing the run makes the gap visible and retried.
        return Err(format!(
            "scheduled run incomplete: {} quotes and {} charges left for the next run",
            expiry.errors, charges.failed
        )
        .into());
    }
    Ok(out)
}

/// Kept back from the invocation's deadline: the step in flight ends and the summary is
/// logged before Lambda stops the run. What is left waits for the next run.
const DEADLINE_MARGIN: Duration = Duration::seconds(20);
/// The budget when the runtime gives no usable deadline (cargo lambda watch sends a fixed
/// one in 1970): the template's 300 s timeout less the margin.
const FALLBACK_BUDGET: Duration = Duration::seconds(280);

/// When the run's steps stop starting new work.
fn stop_at(deadline: SystemTime, now: OffsetDateTime) -> OffsetDateTime {
    let deadline = OffsetDateTime::from(deadline);
    if deadline > now {
        deadline - DEADLINE_MARGIN
    } else {
        now + FALLBACK_BUDGET
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_stops_short_of_the_lambda_deadline() {
        let now = OffsetDateTime::now_utc();
        let deadline = now + Duration::seconds(300);
        assert_eq!(stop_at(deadline.into(), now), deadline - DEADLINE_MARGIN);
    }

    #[test]
    fn a_deadline_in_the_past_falls_back_to_the_usual_budget() {
        let now = OffsetDateTime::now_utc();
        let cargo_lambda_watch = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(600_000);
        assert_eq!(stop_at(cargo_lambda_watch, now), now + FALLBACK_BUDGET);
    }
}
