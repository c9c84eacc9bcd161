//! One table, keys `PK`/`SK`, overloaded indexes `GSI1`/`GSI2`, TTL attribute `ttl`.
//! Each record is kept as JSON in `data`; key attributes carry only what lookups need.
//!
//! | record      | PK                      | SK          | GSI1PK / GSI1SK                      |
//! |-------------|-------------------------|-------------|--------------------------------------|
//! | integration | `ORG#<org>`             | INTEGRATION | `updated_ns` (its version)           |
//! | credential  | `BUYER#<domain lc>#<identity>` | CREDENTIAL | one per buyer credential of an integration: `org_id` (the one organisation holding it) and a copy of the integration in `data` |
//! | organisation| `ORG#<org>`             | ORG         |                                      |
//! | account     | `ACCOUNT#<aws account>` | ACCOUNT     | (attribute `org_id`: its organisation) |
//! | quote       | `QUOTE#<quote>`         | QUOTE       | GSI2 while pending with a private offer: `QUOTE#pending_offer` / `<offer expires>#<quote>` |
//! | agreement   | `AGREEMENT#<agreement>` | AGREEMENT   |                                      |
//! | session     | `SESSION#<token sha256>`| SESSION     |                                      |
//! | Open Buy token | `OPENBUY#<token sha256>` | OPENBUY_TOKEN |                                 |
//! | product     | `PRODUCT#<id>`          | PRODUCT     | `CATALOG` / `<title>#<id>`           |
//! | order       | `ORDER#<org>#<orderID>` | ORDER       |                                      |
//! | order change| `ORDER#<org>#<orderID>` | `CHANGE#<type>#<payloadID>` |                      |
//! | payload     | `PAYLOAD#<org>#<payloadID>` | ORDER       | (points at the order)                |
//! | sent order  | `BUYER#<domain lc>#<identity>` | `PAYLOAD#<payloadID>` | a copy of the order record its buyer credential sent with that payloadID: found with the credential in the order's first read |
//! | outbox email| `OUTBOX#<email>`        | OUTBOX      | GSI2 while waiting: `OUTBOX` / `<created>#<email>`; once set aside: `OUTBOX#failed` / `<failed at>#<email>`; `claimed_until` (Unix ms) while a sender holds it, `attempts` |
//! | confirmation| `CONFIRMATION#<id>`     | CONFIRMATION| GSI2 until queued: `CONFIRMATION#scheduled` / `<created>#<id>` |
//! | logged message | `MSGLOG#<org>`       | `MSG#<UTC time, ns>#<id>` | (`ttl`: 30 days after the exchange) |
//! | charge      | `CHARGE#<charge>`       | CHARGE      | GSI2 while scheduled: `CHARGE#scheduled` / `<due>#<charge>`; while queued: `CHARGE#queued` / `<requeue at>#<charge>`; once failed: `CHARGE#failed` / `<failed at>#<charge>` |
//!
//! Charges also carry `status` (scheduled, queued, invoiced, failed, skipped, cancelled),
//! `queueings` (times handed to the queue), `claimed_until` (Unix ms) while an
//! invoice-dispatch instance is sending the invoice, and,
//! once settled, `outcome` (the [`ChargeOutcome`] as JSON); quotes carry `status`.

mod catalog;
mod charges;
mod confirmations;
mod integrations;
mod message_log;
mod openbuy_tokens;
mod orders;
mod organizations;
mod outbox;
mod quotes;
mod sessions;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use procurement::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

type Item = HashMap<String, AttributeValue>;

const TRANSACTION_CONFLICT: &str = "TransactionConflict";
const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const CONDITION_FAILED_EXCEPTION: &str = "ConditionalCheckFailedException";
/// The cancellation reasons of a step DynamoDB refused for capacity, not for its content.
const THROTTLED: [&str; 2] = ["ThrottlingError", "ProvisionedThroughputExceeded"];

/// Why DynamoDB cancelled a transaction: its reason code per step ("None",
/// "ConditionalCheckFailed", "TransactionConflict", ...).
#[derive(Debug)]
struct Cancelled(Vec<String>);

impl Cancelled {
    fn conflicted(&self) -> bool {
        self.0.iter().any(|r| r == TRANSACTION_CONFLICT)
    }

    fn condition_failed_at(&self, step: usize) -> bool {
        self.0.get(step).is_some_and(|r| r == CONDITION_FAILED)
    }

    /// Refused for capacity only: no condition failed, so trying again may commit it.
    fn throttled(&self) -> bool {
        self.0.iter().any(|r| THROTTLED.contains(&r.as_str()))
            && !self.0.iter().any(|r| r == CONDITION_FAILED)
    }

    fn reasons(&self) -> String {
        self.0.join(", ")
    }
}

/// DynamoDB's limit on the items of one TransactWriteItems call.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's limit on the keys of one BatchGetItem call.
const MAX_BATCH_KEYS: usize = 100;
/// Times a BatchGetItem asks again for the keys DynamoDB left unprocessed before giving up.
const BATCH_ATTEMPTS: u64 = 6;

/// An item's key.
type Key = (String, String);

fn rfc3339(t: time::OffsetDateTime) -> String {
    cxml::format_timestamp(t)
}

/// A time as a number attribute (Unix milliseconds), for conditions that compare times.
fn unix_millis(t: time::OffsetDateTime) -> AttributeValue {
    AttributeValue::N((t.unix_timestamp_nanos() / 1_000_000).to_string())
}

/// A time as a number attribute (Unix nanoseconds): a record's version, for conditions that
/// must tell two writes in the same millisecond apart.
fn unix_nanos(t: time::OffsetDateTime) -> AttributeValue {
    AttributeValue::N(t.unix_timestamp_nanos().to_string())
}

/// The one DynamoDB adapter: every storage port of the domain, on one table.
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Whether a conditional write happened: false when its condition did not hold, an error
/// for anything else.
fn condition_held<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some(CONDITION_FAILED_EXCEPTION) => {
            Ok(false)
        }
        Err(e) => Err(unavailable(e)),
    }
}

fn unavailable<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

fn item<T: Serialize>(pk: String, sk: &str, record: &T) -> Result<Item, StoreError> {
    let data = serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
        key: pk.clone(),
        reason: e.to_string(),
    })?;
    Ok(HashMap::from([
        ("PK".to_string(), s(pk)),
        ("SK".to_string(), s(sk)),
        ("data".to_string(), s(data)),
    ]))
}

/// The record of a key a batch read ([`DynamoStore::batch_get`]) found.
fn decoded<T: DeserializeOwned>(
    found: &HashMap<Key, Item>,
    key: &Key,
) -> Result<Option<T>, StoreError> {
    found.get(key).map(decode).transpose()
}

fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let key = item
        .get("PK")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let data = item
        .get("data")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Corrupt {
            key: key.clone(),
            reason: "no data attribute".into(),
        })?;
    serde_json::from_str(data).map_err(|e| StoreError::Corrupt {
        key,
        reason: e.to_string(),
    })
}

/// A page cursor: DynamoDB's LastEvaluatedKey (string attributes only) as JSON.
fn encode_cursor(key: &Item) -> Option<String> {
    let fields: serde_json::Map<String, serde_json::Value> = key
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.as_s().ok()?.clone().into())))
        .collect();
    (!fields.is_empty()).then(|| serde_json::Value::Object(fields).to_string())
}

fn decode_cursor(cursor: &str) -> Result<Item, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: "page cursor".into(),
        reason,
    };
    let fields: HashMap<String, String> =
        serde_json::from_str(cursor).map_err(|e| corrupt(e.to_string()))?;
    Ok(fields.into_iter().map(|(k, v)| (k, s(v))).collect())
}

/// The records of a listing; one unreadable item is logged and skipped, so it cannot stall
/// a scheduled run that pages past it.
fn decode_listed<T: DeserializeOwned>(items: &[Item]) -> Vec<T> {
    items
        .iter()
        .filter_map(|i| {
            decode(i)
                .map_err(|e| tracing::error!(error = %e, "unreadable record skipped in a listing"))
                .ok()
        })
        .collect()
}

/// Listed queued records with the number of times each was handed to the queue (`queueings`);
/// unreadable ones are skipped, as in [`decode_listed`].
fn stale_listed<T: DeserializeOwned>(items: &[Item]) -> Vec<procurement::ports::Stale<T>> {
    items
        .iter()
        .filter_map(|i| {
            let job = decode(i)
                .map_err(|e| tracing::error!(error = %e, "unreadable record skipped in a listing"))
                .ok()?;
            let queueings = i
                .get("queueings")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            Some(procurement::ports::Stale { job, queueings })
        })
        .collect()
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_string(),
        }
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item().map(decode).transpose()
    }

    /// A record and its `status` attribute, read consistently: what a dispatcher reads before it
    /// sends (charges, confirmations). A record without a readable status is corrupt.
    async fn get_with_status<T: DeserializeOwned, S>(
        &self,
        pk: String,
        sk: &str,
        parse_status: impl Fn(&str) -> Option<S>,
    ) -> Result<Option<(T, S)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(&pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(found) = out.item() else {
            return Ok(None);
        };
        let status = found
            .get("status")
            .and_then(|v| v.as_s().ok())
            .and_then(|v| parse_status(v))
            .ok_or_else(|| StoreError::Corrupt {
                key: pk,
                reason: "no readable status".into(),
            })?;
        Ok(Some((decode(found)?, status)))
    }

    /// Reads items by key, consistently, with BatchGetItem: each key once, at most
    /// [`MAX_BATCH_KEYS`] a request. Keys DynamoDB leaves unprocessed (throttled, or past the
    /// answer's 16 MB) are asked for again after a short growing pause, [`BATCH_ATTEMPTS`]
    /// times, then the read is `Unavailable`. The items found, by key.
    async fn batch_get(&self, keys: &[Key]) -> Result<HashMap<Key, Item>, StoreError> {
        let mut unique: Vec<&Key> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        let mut found = HashMap::new();
        for chunk in unique.chunks(MAX_BATCH_KEYS) {
            let mut wanted: Vec<Item> = chunk
                .iter()
                .map(|(pk, sk)| HashMap::from([("PK".into(), s(pk)), ("SK".into(), s(sk))]))
                .collect();
            let mut attempt = 0;
            while !wanted.is_empty() {
                attempt += 1;
                if attempt > 1 {
                    if attempt > BATCH_ATTEMPTS {
                        return Err(StoreError::Unavailable(format!(
                            "BatchGetItem left {} keys unprocessed after {BATCH_ATTEMPTS} attempts",
                            wanted.len()
                        )));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut wanted)))
                    .consistent_read(true)
                    .build()
                    .map_err(unavailable)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let part = |name: &str| {
                        item.get(name)
                            .and_then(|v| v.as_s().ok())
                            .cloned()
                            .unwrap_or_default()
                    };
                    found.insert((part("PK"), part("SK")), item.clone());
                }
                if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                    wanted = left.keys().to_vec();
                }
            }
        }
        Ok(found)
    }

    /// A transaction step that writes `item`, replacing what is there.
    fn put_step(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Runs one transaction. A cancellation comes back as its reasons, one per step.
    /// Steps that overlapped another transaction on the same keys (TransactionConflict) are
    /// tried again a few times first: once the other commits, the retry sees what it wrote.
    /// So are throttled steps (the SDK retries throttled calls, never a cancelled
    /// transaction); one still throttled after that is `Unavailable`, not an answer about the
    /// records: callers read a cancellation as a duplicate or a lost race.
    async fn transact(
        &self,
        steps: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        let mut attempt = 0u64;
        loop {
            attempt += 1;
            // The SDK retries an attempt whose answer it lost (timeout, stalled stream); the
            // token makes DynamoDB answer such a retry with the first success instead of
            // applying it again, where its conditions would fail on our own writes.
            let token = cxml::payload::random_hex::<16>()
                .map_err(|e| StoreError::Unavailable(format!("no random source: {e}")))?;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(steps.clone()))
                .client_request_token(token)
                .send()
                .await;
            let cancelled = match result {
                Ok(_) => return Ok(Ok(())),
                Err(SdkError::ServiceError(e)) => match e.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => Cancelled(
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code().unwrap_or("None").to_string())
                            .collect(),
                    ),
                    TransactWriteItemsError::TransactionInProgressException(_) => {
                        Cancelled(vec![TRANSACTION_CONFLICT.into()])
                    }
                    _ => return Err(unavailable(SdkError::ServiceError(e))),
                },
                Err(e) => return Err(unavailable(e)),
            };
            if (cancelled.conflicted() || cancelled.throttled()) && attempt < 6 {
                tokio::time::sleep(std::time::Duration::from_millis(40 * attempt)).await;
                continue;
            }
            if cancelled.throttled() {
                return Err(StoreError::Unavailable(format!(
                    "transaction throttled: {}",
                    cancelled.reasons()
                )));
            }
            return Ok(Err(cancelled));
        }
    }

    /// A transaction step that writes `item` only if its key is new.
    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// One page of a GSI2 partition in sort key order, optionally only keys below `below`.
    async fn query_gsi2_page(
        &self,
        pk: &str,
        below: Option<String>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let start = cursor.as_deref().map(decode_cursor).transpose()?;
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI2")
            .expression_attribute_values(":pk", s(pk))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        query = match below {
            Some(upper) => query
                .key_condition_expression("GSI2PK = :pk AND GSI2SK < :upper")
                .expression_attribute_values(":upper", s(upper)),
            None => query.key_condition_expression("GSI2PK = :pk"),
        };
        let out = query.send().await.map_err(unavailable)?;
        let next = out.last_evaluated_key().and_then(encode_cursor);
        Ok((out.items().to_vec(), next))
    }

    /// All items of one GSI1 partition, following pagination.
    async fn query_gsi1(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("GSI1")
                .key_condition_expression("GSI1PK = :pk")
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }

    /// One string attribute of an item, read consistently; None if the item is absent.
    async fn attribute(
        &self,
        pk: String,
        sk: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .projection_expression("#attribute")
            .expression_attribute_names("#attribute", name)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .item()
            .and_then(|i| i.get(name))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    /// Sets `claimed_until` on an item while `sendable` holds and no claim is held at `now`:
    /// one sender at a time (outbox emails, invoice charges). `values` are the condition's own.
    async fn claim(
        &self,
        (pk, sk): (String, &str),
        sendable: &str,
        values: &[(&str, &str)],
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .update_expression("SET claimed_until = :until")
            .condition_expression(format!(
                "{sendable} AND (attribute_not_exists(claimed_until) OR claimed_until < :now)"
            ))
            .expression_attribute_values(":until", unix_millis(until))
            .expression_attribute_values(":now", unix_millis(now));
        for (name, value) in values {
            update = update.expression_attribute_values(*name, s(*value));
        }
        if sendable.contains("#status") {
            update = update.expression_attribute_names("#status", "status");
        }
        condition_held(update.send().await)
    }

    /// Removes the claim taken until `until`, if it is still that one.
    async fn release(
        &self,
        (pk, sk): (String, &str),
        until: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .update_expression("REMOVE claimed_until")
            .condition_expression("claimed_until = :until")
            .expression_attribute_values(":until", unix_millis(until))
            .send()
            .await;
        // Not held (not ours any more: lapsed and taken, or sent): nothing to give back.
        condition_held(result).map(|_| ())
    }

    /// Puts a queued job (charge, confirmation) back among the scheduled ones under its
    /// scheduled-index sort key `sk`, uncounted, only while its one queueing is this request's
    /// (the queue refused it). False if it moved on meanwhile: nothing is written then.
    async fn put_back_scheduled(
        &self,
        (pk, sk): (String, &str),
        (scheduled, queued): (&str, &str),
        (index, index_sk): (&str, String),
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .update_expression(
                "SET #status = :scheduled, GSI2PK = :index, GSI2SK = :sk REMOVE queueings",
            )
            .condition_expression("#status = :queued AND queueings = :one")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":scheduled", s(scheduled))
            .expression_attribute_values(":queued", s(queued))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":index", s(index))
            .expression_attribute_values(":sk", s(index_sk))
            .send()
            .await;
        condition_held(result)
    }
}
