//! Invoice jobs as they arrive from the queue. Delivery to the buyer's invoice URL is
//! issue #6; until it lands a valid job is handed back to the queue (never dropped), so
//! the redrive policy parks it in the dead-letter queue where it can be replayed.

use crate::model::InvoiceJob;
use crate::ports::Deps;

/// What became of one queued job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Leave the message on the queue: SQS redelivers it, then dead-letters it.
    KeepForRetry(String),
}

pub async fn dispatch(_deps: &Deps, body: &str) -> JobOutcome {
    match serde_json::from_str::<InvoiceJob>(body) {
        Err(e) => {
            tracing::error!(error = %e, "INVOICE_JOB_MALFORMED: message is not an invoice job");
            JobOutcome::KeepForRetry(format!("not an invoice job: {e}"))
        }
        Ok(job) => {
            tracing::warn!(
                org_id = %job.org_id,
                order_id = %job.order_id,
                charge_id = %job.charge_id,
                "invoice delivery is not enabled in this build; job kept on the queue"
            );
            JobOutcome::KeepForRetry("invoice delivery not enabled".into())
        }
    }
}
