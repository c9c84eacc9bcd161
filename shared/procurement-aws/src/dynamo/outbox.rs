//! Outbox emails (`OUTBOX#<email>` / `OUTBOX`), listed in GSI2 `OUTBOX` by creation time until
//! SES accepts them; `claimed_until` (Unix ms) while a sender holds one.

use async_trait::async_trait;
use procurement::StoreError;
use procurement::model::OutboxEmail;
use procurement::ports::Outbox;

use super::{DynamoStore, Item, decode_listed, item, rfc3339, s, unavailable};

const SK: &str = "OUTBOX";
const OUTBOX_INDEX: &str = "OUTBOX";

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

fn key(email_id: &str) -> (String, &'static str) {
    (format!("OUTBOX#{email_id}"), SK)
}

#[async_trait]
impl Outbox for DynamoStore {
    async fn pending(&self, limit: usize) -> Result<Vec<OutboxEmail>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .key_condition_expression("GSI2PK = :pk")
            .expression_attribute_values(":pk", s(OUTBOX_INDEX))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        // One unreadable email must not keep every later one from being sent.
        Ok(decode_listed(out.items()))
    }

    async fn claim(
        &self,
        email_id: &str,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        // `attribute_exists(PK)` also keeps an email already sent (deleted) from coming back
        // as a bare claim item.
        DynamoStore::claim(self, key(email_id), "attribute_exists(PK)", &[], now, until).await
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
}
