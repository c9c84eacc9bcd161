use async_trait::async_trait;
use procurement::Queue;
use procurement::delivery::{ConfirmationMessage, InvoiceMessage, SubscriptionMessage};
use procurement::ids::{ConfirmationId, QuoteId};
use procurement::model::InvoiceJob;

pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        Self {
            client,
            queue_url: queue_url.to_string(),
        }
    }
}

impl SqsQueue {
    async fn send(&self, body: String) -> Result<(), String> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "SQS send_message failed: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn enqueue_invoice(&self, job: &InvoiceJob) -> Result<(), String> {
        // Only charges already due are queued: the order (due now) or the scheduled run
        // (installments on their date) sends them, so no delivery delay is needed.
        // The charge's ID only: the dispatcher builds the invoice from the stored charge, so a
        // malformed or tampered message can name a charge but never change where it goes or
        // what it bills.
        let message = InvoiceMessage {
            charge_id: job.charge_id.clone(),
        };
        self.send(serde_json::to_string(&message).map_err(|e| e.to_string())?)
            .await
    }

    async fn enqueue_confirmation(&self, id: &ConfirmationId) -> Result<(), String> {
        let message = ConfirmationMessage {
            confirmation_id: id.clone(),
        };
        self.send(serde_json::to_string(&message).map_err(|e| e.to_string())?)
            .await
    }

    async fn enqueue_subscription(&self, quote_id: &QuoteId) -> Result<(), String> {
        let message = SubscriptionMessage {
            subscription_quote_id: quote_id.clone(),
        };
        self.send(serde_json::to_string(&message).map_err(|e| e.to_string())?)
            .await
    }
}
