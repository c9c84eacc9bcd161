//! Each organisation's message log (`MSGLOG#<org>` / `MSG#<UTC time with nanoseconds>#<id>`):
//! one partition per organisation, sorted by time, so one Query pages it newest first; swept
//! by DynamoDB's TTL 30 days after each exchange.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use procurement::StoreError;
use procurement::ids::OrgId;
use procurement::message_log::{LoggedMessage, Position};
use procurement::ports::{MessageLog, Page};

use super::{DynamoStore, Item, decode_listed, item, s, unavailable};

const SK_PREFIX: &str = "MSG#";

/// How long one log write may hold up the answer it follows: a PutItem takes milliseconds in
/// the table's region, so this is reached only when DynamoDB struggles, and then the log entry
/// is given up (the caller logs it) rather than the buyer kept waiting.
pub(super) const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// One retry within that bound (a throttled write), not the SDK's default three attempts.
const WRITE_ATTEMPTS: u32 = 2;

fn pk(org_id: &OrgId) -> String {
    format!("MSGLOG#{org_id}")
}

/// The stored item of a logged message.
pub(super) fn message_item(message: &LoggedMessage) -> Result<Item, StoreError> {
    let sk = format!("{SK_PREFIX}{}", Position::of(message).as_str());
    let mut item = item(pk(&message.org_id), &sk, message)?;
    // DynamoDB's TTL takes Unix seconds (AWS "Using time to live (TTL) in DynamoDB").
    item.insert(
        "ttl".into(),
        AttributeValue::N(message.expires_at.unix_timestamp().to_string()),
    );
    Ok(item)
}

#[async_trait]
impl MessageLog for DynamoStore {
    async fn record(&self, message: &LoggedMessage) -> Result<(), StoreError> {
        let item = message_item(message)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Builder::default()
                    .timeout_config(
                        TimeoutConfig::builder()
                            .operation_timeout(WRITE_TIMEOUT)
                            .build(),
                    )
                    .retry_config(RetryConfig::standard().with_max_attempts(WRITE_ATTEMPTS)),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn list(
        &self,
        org_id: &OrgId,
        since: time::OffsetDateTime,
        limit: usize,
        before: Option<&Position>,
    ) -> Result<Page<LoggedMessage>, StoreError> {
        let pk = pk(org_id);
        // The cursor is a position only: the partition is always the caller's organisation.
        let start = before.map(|p| {
            Item::from([
                ("PK".to_string(), s(&pk)),
                ("SK".to_string(), s(format!("{SK_PREFIX}{}", p.as_str()))),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK > :since")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(
                ":since",
                s(format!("{SK_PREFIX}{}", Position::time(since))),
            )
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let next = out
            .last_evaluated_key()
            .and_then(|key| key.get("SK"))
            .and_then(|sk| sk.as_s().ok())
            .and_then(|sk| sk.strip_prefix(SK_PREFIX))
            .map(str::to_string);
        Ok(Page {
            items: decode_listed(out.items()),
            next,
        })
    }
}
