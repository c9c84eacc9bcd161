//! Secrets Manager: one place that reads a secret's value, and the deployment's invoice key.
//!
//! Secrets are read at cold start, never passed as environment variables: anyone allowed
//! `lambda:GetFunctionConfiguration` reads those in clear, which is why AWS's Lambda
//! Developer Guide (working with environment variables) points secrets to Secrets Manager.

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use cxml::SharedSecret;
use procurement::StoreError;

/// The invoice key is the root of every organisation's invoice secret: as long as the
/// `InvoiceSecretKey` template parameter it replaces required (32), or it is refused.
pub const MIN_INVOICE_KEY_CHARS: usize = 32;

/// The `SecretString` of `secret_id` at version stage `stage` (`AWSCURRENT`, `AWSPREVIOUS`).
/// None when the stage does not exist (no previous version before the first rotation).
pub(crate) async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    stage: &str,
) -> Result<Option<String>, StoreError> {
    let result = client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(stage)
        .send()
        .await;
    match result {
        Ok(out) => Ok(Some(out.secret_string().unwrap_or_default().to_string())),
        Err(SdkError::ServiceError(e))
            if stage != "AWSCURRENT" && e.err().code() == Some("ResourceNotFoundException") =>
        {
            Ok(None)
        }
        Err(e) => Err(StoreError::Unavailable(format!(
            "Secrets Manager {secret_id} ({stage}): {}",
            DisplayErrorContext(e)
        ))),
    }
}

/// The invoice key: the secret's current value, a plain string (surrounding white space is
/// not part of it, as it was not of the environment variable it replaces, so a key moved
/// from there derives the same secrets).
pub async fn read_invoice_key(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<SharedSecret, StoreError> {
    let text = secret_string(client, secret_id, "AWSCURRENT")
        .await?
        .unwrap_or_default();
    invoice_key_of(secret_id, &text)
}

fn invoice_key_of(secret_id: &str, text: &str) -> Result<SharedSecret, StoreError> {
    let key = text.trim();
    if key.chars().count() < MIN_INVOICE_KEY_CHARS {
        return Err(StoreError::Corrupt {
            key: format!("secret {secret_id}"),
            // Never the value itself.
            reason: format!("the invoice key must be at least {MIN_INVOICE_KEY_CHARS} characters"),
        });
    }
    Ok(SharedSecret::new(key))
}

/// The invoice key at cold start; unreadable: none, logged (invoices wait on the queue and
/// the admin API shows no invoice secret until an instance reads it).
pub async fn load_invoice_key(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Option<SharedSecret> {
    match read_invoice_key(client, secret_id).await {
        Ok(key) => Some(key),
        Err(e) => {
            tracing::error!(error = %e, "INVOICE_KEY_SECRET_UNREADABLE: the invoice key could not be read");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invoice_key_is_the_trimmed_value_and_long_enough() {
        let key = invoice_key_of("s", "  0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!(key.expose(), "0123456789abcdef0123456789abcdef");
        let short = invoice_key_of("s", "hunter2-but-longer").unwrap_err();
        assert!(!short.to_string().contains("hunter2"), "{short}");
        assert!(invoice_key_of("s", "").is_err());
    }
}
