//! invoice-dispatch: consumes the invoice queue (invoices to buyers, order confirmations to the
//! SAP Ariba Network) and reports failures per message, so one bad job never makes SQS
//! redeliver the whole batch.
//!
//! The jobs of a batch run at once: each waits on a different buyer, so one that hangs
//! delays no other. None outlives the invocation: a job not started while there is still
//! time for a whole POST, or not finished shortly before the deadline, is reported failed
//! untried or unfinished, and SQS hands it out again.

use std::time::SystemTime;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::{StreamExt, stream};
use lambda_runtime::{Error, LambdaEvent};
use procurement::Deps;
use procurement::delivery::{self, CLAIM_MARGIN, JobOutcome};
use time::{Duration, OffsetDateTime};
use tracing::Instrument;

/// Jobs of one batch in flight at once: the template's batch size, so none waits on another.
pub const CONCURRENT_JOBS: usize = 10;
/// Kept back from the deadline for reporting the batch's failures to Lambda.
const REPORT_MARGIN: Duration = Duration::seconds(5);
/// The budget when the runtime gives no usable deadline (cargo lambda watch): the template's
/// 240 s timeout.
const FALLBACK_BUDGET: Duration = Duration::seconds(240);

pub async fn handle(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let now = OffsetDateTime::now_utc();
    let deadline = event.context.deadline();
    let limits = Limits::new(deps, deadline, now);
    let failures: Vec<BatchItemFailure> = stream::iter(event.payload.records)
        .map(|record| handle_message(deps, record, limits))
        .buffer_unordered(CONCURRENT_JOBS)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    Ok(response)
}

/// When a job may still start, and when every job must have ended.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Later than this, a job might not finish its POST and its record before the deadline.
    last_start: OffsetDateTime,
    /// What runs then is stopped and reported failed; its claim lapses for the redelivery.
    hard_stop: OffsetDateTime,
}

impl Limits {
    fn new(deps: &Deps, deadline: SystemTime, now: OffsetDateTime) -> Self {
        let hard_stop =
            procurement::deadline::stop_before(deadline, now, REPORT_MARGIN, FALLBACK_BUDGET);
        let job_budget = Duration::try_from(deps.config.invoice_timeout)
            .unwrap_or(Duration::minutes(1))
            + CLAIM_MARGIN;
        Self {
            last_start: hard_stop - job_budget,
            hard_stop,
        }
    }
}

/// One message: None when it is done with, a failure when SQS must hand it out again.
async fn handle_message(
    deps: &Deps,
    record: SqsMessage,
    limits: Limits,
) -> Option<BatchItemFailure> {
    let id = record.message_id.clone().unwrap_or_default();
    let body = record.body.as_deref().unwrap_or("");
    let receive_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    // One span per message: the dispatcher records the charge, organisation and order
    // in it as it reads them, so every line of one job can be followed.
    let span = tracing::info_span!(
        "sqs_message",
        message_id = %id,
        receive_count,
        charge_id = tracing::field::Empty,
        confirmation_id = tracing::field::Empty,
        org_id = tracing::field::Empty,
        order_id = tracing::field::Empty,
    );
    let reason = if OffsetDateTime::now_utc() >= limits.last_start {
        Some("not started: too little of the invocation left for a whole delivery".to_string())
    } else {
        let job = delivery::dispatch(deps, body, receive_count).instrument(span.clone());
        let hard_stop = std::time::Duration::try_from(limits.hard_stop - OffsetDateTime::now_utc())
            .unwrap_or_default();
        match tokio::time::timeout(hard_stop, job).await {
            Ok(JobOutcome::Done) => None,
            Ok(JobOutcome::KeepForRetry(reason)) => Some(reason),
            Err(_) => Some("stopped unfinished at the invocation's deadline".to_string()),
        }
    };
    let reason = reason?;
    let _in_span = span.enter();
    tracing::info!(message_id = %id, %reason, "invoice job left on the queue");
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    Some(failure)
}
