//! Outbox emails (`OUTBOX#<email>` / `OUTBOX`), listed in GSI2 `OUTBOX` by creation time until
//! SES accepts them; `claimed_until` (Unix ms) while a sender holds one, `attempts` counted
//! by each claim; set aside in GSI2 `OUTBOX#failed` (with `failed_at` and `failure`) once SES
//! will never take them.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use procurement::StoreError;
use procurement::model::OutboxEmail;
use procurement::ports::{Outbox, Page};

use super::{
    DynamoStore, Item, condition_held, decode_listed, item, rfc3339, s, unavailable, unix_millis,
};

const SK: &str = "OUTBOX";
const OUTBOX_INDEX: &str = "OUTBOX";
/// Emails SES will never take, by the time they were set aside: for the operators' follow-up.
const FAILED_OUTBOX_INDEX: &str = "OUTBOX#failed";

/// An outbox email, listed in GSI2 `OUTBOX` by creation time until SES accepts it.
pub(super) fn outbox_item(outbox: &OutboxEmail) -> Result<Item, StoreError> {
    let mut outbox_item = item(format!("OUTBOX#{}", outbox.email_id), SK, outbox)?;
    outbox_item.insert("GSI2PK".into(), s(OUTBOX_INDEX));
    outbox_item.insert(
        "GSI2SK".into(),
        s(format!(
            "{}#{}",
            rfc3339(outbox.created_at),
            outbox.email_id
        )),
    );
    Ok(outbox_item)
}

/// An outbox email as an order's transaction writes it for the request that sends it right
/// after the commit: claimed by it until `until`, its first attempt counted.
pub(super) fn claimed_outbox_item(
    outbox: &OutboxEmail,
    until: time::OffsetDateTime,
) -> Result<Item, StoreError> {
    let mut claimed = outbox_item(outbox)?;
    claimed.insert("claimed_until".into(), unix_millis(until));
    claimed.insert("attempts".into(), AttributeValue::N("1".into()));
    Ok(claimed)
}

fn key(email_id: &str) -> (String, &'static str) {
    (format!("OUTBOX#{email_id}"), SK)
}

#[async_trait]
impl Outbox for DynamoStore {
    async fn pending(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<OutboxEmail>, StoreError> {
        let (items, next) = self
            .query_gsi2_page(OUTBOX_INDEX, None, limit, cursor)
            .await?;
        // One unreadable email must not keep every later one from being sent.
        Ok(Page {
            items: decode_listed(&items),
            next,
        })
    }

    async fn claim(
        &self,
        email_id: &str,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let (pk, sk) = key(email_id);
        // `attribute_exists(PK)` also keeps an email already sent (deleted) from coming back
        // as a bare claim item; one set aside as failed is never claimed again.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .update_expression("SET claimed_until = :until ADD attempts :one")
            .condition_expression(
                "attribute_exists(PK) AND attribute_not_exists(failed_at) \
                 AND (attribute_not_exists(claimed_until) OR claimed_until < :now)",
            )
            .expression_attribute_values(":until", unix_millis(until))
            .expression_attribute_values(":now", unix_millis(now))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let attempts = out
                    .attributes()
                    .and_then(|a| a.get("attempts"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Ok(Some(attempts))
            }
            Err(e) => condition_held(Err::<(), _>(e)).map(|_| None),
        }
    }

    async fn release(&self, email_id: &str, until: time::OffsetDateTime) -> Result<(), StoreError> {
        DynamoStore::release(self, key(email_id), until).await
    }

    async fn sent(&self, email_id: &str) -> Result<(), StoreError> {
        let (pk, sk) = key(email_id);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn failed(
        &self,
        email_id: &str,
        reason: &str,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (pk, sk) = key(email_id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .update_expression(
                "SET failed_at = :at, failure = :reason, GSI2PK = :index, GSI2SK = :sk \
                 REMOVE claimed_until",
            )
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":at", s(rfc3339(at)))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":index", s(FAILED_OUTBOX_INDEX))
            .expression_attribute_values(":sk", s(format!("{}#{email_id}", rfc3339(at))))
            .send()
            .await;
        // Gone: it was sent meanwhile, nothing to set aside.
        condition_held(result).map(|_| ())
    }
}
