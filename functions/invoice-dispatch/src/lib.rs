//! invoice-dispatch: consumes the invoice queue (invoices to buyers, order confirmations to the
//! SAP Ariba Network) and reports failures per message, so one bad job never makes SQS
//! redeliver the whole batch.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use procurement::Deps;
use procurement::delivery::{self, JobOutcome};
use tracing::Instrument;

pub async fn handle(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
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
        if let JobOutcome::KeepForRetry(reason) = delivery::dispatch(deps, body, receive_count)
            .instrument(span.clone())
            .await
        {
            let _in_span = span.enter();
            tracing::info!(message_id = %id, %reason, "invoice job left on the queue");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}
