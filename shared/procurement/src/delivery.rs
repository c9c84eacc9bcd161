//! What invoices and order confirmations share on their way out: one queued job is one
//! delivery of a cXML document, posted with a bound on its wait, claimed so that two
//! deliveries never post it at once, and settled by how the other party answered (2xx done,
//! 4xx refused for good, 5xx or no answer retried by the queue, then dead-lettered).

use cxml::Body;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ids::{ChargeId, ConfirmationId, QuoteId};
use crate::ports::Deps;

/// The queue message of an order confirmation: its ID only; the document is built from the
/// stored confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationMessage {
    pub confirmation_id: ConfirmationId,
}

/// The queue message of a pre-approved subscription: its quote's ID only; the agreement is
/// built from the stored quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionMessage {
    pub subscription_quote_id: QuoteId,
}

/// The queue message of an invoice: the charge's ID only. Messages queued before this shape
/// carried the whole job; their other fields are ignored, never trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceMessage {
    pub charge_id: ChargeId,
}

/// Handles one message of the invoice queue: an order confirmation, a pre-approved
/// subscription, or an invoice job.
pub async fn dispatch(deps: &Deps, body: &str, receive_count: u32) -> JobOutcome {
    let delivery = Delivery {
        now: OffsetDateTime::now_utc(),
        receive_count,
    };
    if let Ok(message) = serde_json::from_str::<ConfirmationMessage>(body) {
        return crate::confirmations::dispatch(deps, &message.confirmation_id, delivery).await;
    }
    match serde_json::from_str::<SubscriptionMessage>(body) {
        Ok(message) => crate::quotes::write_agreement(deps, &message.subscription_quote_id).await,
        Err(_) => crate::invoices::dispatch(deps, body, delivery).await,
    }
}

/// What one scheduled run did with the invoice charges or the order confirmations it hands
/// to the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueRun {
    /// Handed to the queue for the first time (fell due, or not queued by their order).
    pub queued: usize,
    /// Still queued at their requeue time (no delivery settled them): handed over again.
    pub requeued: usize,
    /// Handed over as often as allowed and still unsettled: recorded failed (alarmed).
    pub dead_lettered: usize,
    /// Not queued (SQS or the table failed); they stay as they were for the next run.
    pub failed: usize,
    /// The run reached its time limit with some left; the next run goes on.
    pub unfinished: bool,
}

/// What became of one queued job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Leave the message on the queue: SQS redelivers it, then dead-letters it.
    KeepForRetry(String),
}

/// Longest status text kept on a record (Coupa can answer with whole stack traces).
pub const MAX_STATUS_TEXT: usize = 1000;
/// How long a dispatcher holds a job beyond its POST timeout: time to build the document and
/// record the answer. Far below the queue's visibility timeout, so a redelivery after a crash
/// finds the claim lapsed.
pub const CLAIM_MARGIN: Duration = Duration::minutes(1);

/// How the receiving party answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Accepted { code: u16, text: String },
    Refused { code: u16, text: String },
    Retry(String),
}

/// Reads the answer to a posted document. The cXML Status code decides (cXML errors often travel in
/// HTTP 200); the HTTP status only when the body is not a cXML Response, or when it says
/// the server side failed (5xx, 408, 429), which is always worth another try.
pub fn read_answer(http: u16, body: &str) -> Answer {
    let status = cxml::parse(body.as_bytes())
        .ok()
        .and_then(|doc| match doc.body {
            Body::Response(r) => Some(r.status),
            _ => None,
        });
    let text = match &status {
        Some(s) => {
            let mut text = s.text.trim().to_string();
            let message = s.message.trim();
            if !message.is_empty() {
                text = if text.is_empty() {
                    message.to_string()
                } else {
                    format!("{text}: {message}")
                };
            }
            text
        }
        None => format!("HTTP {http}; the answer is not a cXML Response: {body}"),
    };
    let text = clip(&text);
    if http >= 500 || http == 408 || http == 429 {
        return Answer::Retry(format!("HTTP {http}: {text}"));
    }
    let code = status.as_ref().map_or(http, |s| s.code);
    match code {
        200..=299 => Answer::Accepted { code, text },
        500..=599 => Answer::Retry(format!("cXML status {code}: {text}")),
        _ => Answer::Refused { code, text },
    }
}

/// One line, at most [`MAX_STATUS_TEXT`] characters: fit for a record and a log line.
pub fn clip(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX_STATUS_TEXT) {
        Some((cut, _)) => format!("{}...", &one_line[..cut]),
        None => one_line,
    }
}

/// One delivery of a queued job: when it runs, and which receive of its SQS message it is
/// (`ApproximateReceiveCount`, 1 on the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub now: OffsetDateTime,
    pub receive_count: u32,
}

impl Delivery {
    pub fn first(now: OffsetDateTime) -> Self {
        Self {
            now,
            receive_count: 1,
        }
    }

    pub fn is_retry(self) -> bool {
        self.receive_count > 1
    }
}
