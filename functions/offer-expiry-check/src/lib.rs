//! offer-expiry-check: the scheduled run. It expires the pending quotes whose private offer
//! lapsed (their notices go to the outbox), hands the invoice queue the charges that fell due,
//! the charges whose job was dead-lettered or lost, the order confirmations not yet queued and
//! the pre-approved subscriptions still waiting for their agreement, and sends what waits in
//! the outbox. Each step stops short of the invocation's deadline and runs whatever became of
//! the others; each logs its counts.

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
    let stop_at = procurement::deadline::stop_before(
        event.context.deadline(),
        now,
        DEADLINE_MARGIN,
        FALLBACK_BUDGET,
    );
    // Each step runs whatever became of the others: a listing error while expiring offers
    // must not keep due invoices from the queue or the outbox from being sent. Every step is
    // idempotent, so the failed run EventBridge retries (and the next run) finish the rest.
    let mut failed_steps: Vec<&str> = Vec::new();
    let expiry = step(
        "expire lapsed offers",
        procurement::offers::expire_lapsed_offers(deps, now, stop_at).await,
        &mut failed_steps,
    );
    let charges = step(
        "queue due charges",
        procurement::invoices::queue_due_charges(deps, now, stop_at).await,
        &mut failed_steps,
    );
    let confirmations = step(
        "queue order confirmations",
        procurement::confirmations::queue_unqueued(deps, now, stop_at).await,
        &mut failed_steps,
    );
    let subscriptions = step(
        "queue pre-approved subscriptions",
        procurement::quotes::queue_awaiting_agreements(deps, now, stop_at).await,
        &mut failed_steps,
    );
    let emails = step(
        "flush the outbox",
        procurement::outbox::flush_outbox(deps, stop_at).await,
        &mut failed_steps,
    );
    tracing::info!(
        %scheduled_at,
        quotes_checked = expiry.checked,
        quotes_expired = expiry.expired,
        expiry_errors = expiry.errors,
        expiry_unfinished = expiry.unfinished,
        charges_queued = charges.queued,
        charges_requeued = charges.requeued,
        charges_dead_lettered = charges.dead_lettered,
        charges_not_queued = charges.failed,
        charges_unfinished = charges.unfinished,
        confirmations_queued = confirmations.queued,
        confirmations_requeued = confirmations.requeued,
        confirmations_dead_lettered = confirmations.dead_lettered,
        confirmations_not_queued = confirmations.failed,
        confirmations_unfinished = confirmations.unfinished,
        subscriptions_queued = subscriptions.queued,
        subscriptions_not_queued = subscriptions.failed,
        subscriptions_unfinished = subscriptions.unfinished,
        emails_sent = emails.sent,
        emails_failed = emails.failed,
        emails_left = emails.left,
        emails_unfinished = emails.unfinished,
        failed_steps = ?failed_steps,
        "scheduled run finished"
    );
    let out = json!({
        "scheduled_at": scheduled_at,
        "quotes_checked": expiry.checked,
        "quotes_expired": expiry.expired,
        "quotes_left_for_next_run": expiry.unfinished,
        "charges_queued": charges.queued,
        "charges_requeued": charges.requeued,
        "charges_dead_lettered": charges.dead_lettered,
        "confirmations_queued": confirmations.queued,
        "confirmations_requeued": confirmations.requeued,
        "confirmations_dead_lettered": confirmations.dead_lettered,
        "subscriptions_queued": subscriptions.queued,
        "emails_sent": emails.sent,
        "emails_failed": emails.failed,
        "failed_steps": failed_steps,
    });
    if !failed_steps.is_empty()
        || expiry.errors > 0
        || charges.failed > 0
        || confirmations.failed > 0
        || subscriptions.failed > 0
    {
        // Done what could be done; failing the run makes the gap visible and retried.
        return Err(format!(
            "scheduled run incomplete: steps failed: [{}]; {} quotes, {} charges, {} \
             confirmations and {} subscriptions left for the next run",
            failed_steps.join(", "),
            expiry.errors,
            charges.failed,
            confirmations.failed,
            subscriptions.failed
        )
        .into());
    }
    Ok(out)
}

/// The counts of one step, or (logged, and the step named in `failed`) empty counts when
/// the step could not run to its end.
fn step<'a, T: Default>(
    name: &'a str,
    result: Result<T, procurement::StoreError>,
    failed: &mut Vec<&'a str>,
) -> T {
    result.unwrap_or_else(|e| {
        tracing::error!(step = name, error = %e, "SCHEDULED_STEP_FAILED: a step of the scheduled run stopped; the other steps ran");
        failed.push(name);
        T::default()
    })
}

/// Kept back from the invocation's deadline: the step in flight ends and the summary is
/// logged before Lambda stops the run. What is left waits for the next run.
const DEADLINE_MARGIN: Duration = Duration::seconds(20);
/// The budget when the runtime gives no usable deadline: the template's 300 s timeout less
/// the margin.
const FALLBACK_BUDGET: Duration = Duration::seconds(280);
