use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use procurement::model::Email;
use procurement::{MailError, Mailer};

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: &str) -> Self {
        Self {
            client,
            from: from.to_string(),
        }
    }
}

fn content(text: &str) -> Result<Content, String> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| e.to_string())
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(content(&email.subject).map_err(MailError::Refused)?)
            .body(
                Body::builder()
                    .text(content(&email.text).map_err(MailError::Refused)?)
                    .build(),
            )
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let refused = e.as_service_error().is_some_and(|service| {
                    refused_for_good(service.meta().code(), service.message(), &self.from)
                });
                let text = format!("SES send_email failed: {}", DisplayErrorContext(&e));
                Err(if refused {
                    MailError::Refused(text)
                } else {
                    MailError::Unavailable(text)
                })
            }
        }
    }
}

/// Whether SES's refusal is about this email itself, so that no retry can succeed: a
/// malformed request or recipient (`BadRequestException` in SES v2; moto answers with SES
/// v1's `InvalidParameterValue`), or a `MessageRejected` that is not about our own sender
/// identity (in the SES sandbox an unverified recipient is refused that way). Everything else
/// (throttling, a paused or suspended account, our sender not verified, 5xx) is ours or
/// passing, and is retried. Source: SES v2 API reference, SendEmail "Errors".
fn refused_for_good(code: Option<&str>, message: Option<&str>, sender: &str) -> bool {
    match code {
        Some("BadRequestException" | "InvalidParameterValue") => true,
        Some("MessageRejected") => {
            let message = message.unwrap_or("").to_ascii_lowercase();
            !message.contains(&sender.to_ascii_lowercase())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::refused_for_good;

    const SENDER: &str = "no-reply@marketplace.example";

    #[test]
    fn a_bad_recipient_is_refused_for_good() {
        assert!(refused_for_good(
            Some("BadRequestException"),
            Some("Illegal address"),
            SENDER
        ));
        assert!(refused_for_good(
            Some("InvalidParameterValue"),
            Some("Missing domain"),
            SENDER
        ));
        assert!(refused_for_good(
            Some("MessageRejected"),
            Some(
                "Email address is not verified. The following identities failed the check in region US-EAST-1: jim@buyer.example"
            ),
            SENDER
        ));
    }

    #[test]
    fn our_own_sender_or_a_passing_failure_is_retried() {
        assert!(!refused_for_good(
            Some("MessageRejected"),
            Some(
                "Email address is not verified. The following identities failed the check in region US-EAST-1: No-Reply@marketplace.example"
            ),
            SENDER
        ));
        assert!(!refused_for_good(
            Some("TooManyRequestsException"),
            None,
            SENDER
        ));
        assert!(!refused_for_good(
            Some("SendingPausedException"),
            None,
            SENDER
        ));
        assert!(!refused_for_good(None, None, SENDER));
    }
}
