//! One table, keys `PK`/`SK`, overloaded indexes `GSI1`/`GSI2`, TTL attribute `ttl`.
//! Each record is kept as JSON in `data`; key attributes carry only what lookups need.
//!
//! | record      | PK                      | SK          | GSI1PK / GSI1SK                      |
//! |-------------|-------------------------|-------------|--------------------------------------|
//! | integration | `ORG#<org>`             | INTEGRATION | `BUYER#<domain lc>#<identity>` / INTEGRATION; `updated_ns` (its version) |
//! | credential  | `BUYER#<domain lc>#<identity>` | CREDENTIAL | (attribute `org_id`: the one organisation whose integration holds it) |
//! | organisation| `ORG#<org>`             | ORG         |                                      |
//! | account     | `ACCOUNT#<aws account>` | ACCOUNT     | (attribute `org_id`: its organisation) |
//! | quote       | `QUOTE#<quote>`         | QUOTE       | GSI2 while pending with a private offer: `QUOTE#pending_offer` / `<offer expires>#<quote>` |
//! | agreement   | `AGREEMENT#<agreement>` | AGREEMENT   |                                      |
//! | session     | `SESSION#<token sha256>`| SESSION     |                                      |
//! | product     | `PRODUCT#<id>`          | PRODUCT     | `CATALOG` / `<title>#<id>`           |
//! | order       | `ORDER#<org>#<orderID>` | ORDER       |                                      |
//! | order change| `ORDER#<org>#<orderID>` | `CHANGE#<type>#<payloadID>` |                      |
//! | payload     | `PAYLOAD#<payloadID>`   | ORDER       | (points at the order)                |
//! | outbox email| `OUTBOX#<email>`        | OUTBOX      | GSI2: `OUTBOX` / `<created>#<email>`; `claimed_until` (Unix ms) while a sender holds it |
//! | charge      | `CHARGE#<charge>`       | CHARGE      | GSI2 while scheduled: `CHARGE#scheduled` / `<due>#<charge>`; once failed: `CHARGE#failed` / `<failed at>#<charge>` |
//!
//! Charges also carry `status` (scheduled, queued, invoiced, failed, skipped, cancelled),
//! `claimed_until` (Unix ms) while an invoice-dispatch instance is sending the invoice, and,
//! once settled, `outcome` (the [`ChargeOutcome`] as JSON); quotes carry `status`.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use procurement::model::{
    Agreement, Integration, OrderRecord, Organization, Product, Quote, Session,
};
use procurement::model::{
    AgreementStatus, ChargeOutcome, ChargeStatus, InvoiceJob, OutboxEmail, QuoteStatus,
};
use procurement::ports::{Claim, IntegrationWrite, OrderPlan, Page, Recorded};
use procurement::{Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

type Item = HashMap<String, AttributeValue>;

/// GSI2 partitions: emails not yet sent, and charges waiting for their due date.
const OUTBOX_INDEX: &str = "OUTBOX";
const SCHEDULED_CHARGES_INDEX: &str = "CHARGE#scheduled";
/// Charges whose invoice failed for good, by time: for the operators' follow-up.
const FAILED_CHARGES_INDEX: &str = "CHARGE#failed";
/// Quotes pending approval with a private offer, by offer expiry: the expiry check's list.
const PENDING_OFFER_INDEX: &str = "QUOTE#pending_offer";
const TRANSACTION_CONFLICT: &str = "TransactionConflict";
const CONDITION_FAILED_EXCEPTION: &str = "ConditionalCheckFailedException";

/// Why DynamoDB cancelled a transaction: its reason code per step ("None",
/// "ConditionalCheckFailed", "TransactionConflict", ...).
#[derive(Debug)]
struct Cancelled(Vec<String>);

impl Cancelled {
    fn conflicted(&self) -> bool {
        self.0.iter().any(|r| r == TRANSACTION_CONFLICT)
    }

    fn condition_failed_at(&self, step: usize) -> bool {
        self.0
            .get(step)
            .is_some_and(|r| r == "ConditionalCheckFailed")
    }

    fn reasons(&self) -> String {
        self.0.join(", ")
    }
}

/// DynamoDB's limit on the items of one TransactWriteItems call.
const MAX_TRANSACTION_ITEMS: usize = 100;

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

/// An integration, found by its buyer credential through GSI1, versioned by `updated_ns`.
fn integration_item(integration: &Integration) -> Result<Item, StoreError> {
    let mut integration_item = item(
        format!("ORG#{}", integration.org_id),
        "INTEGRATION",
        integration,
    )?;
    integration_item.insert(
        "GSI1PK".into(),
        s(buyer_key(
            &integration.buyer_domain,
            &integration.buyer_identity,
        )),
    );
    integration_item.insert("GSI1SK".into(), s("INTEGRATION"));
    integration_item.insert("updated_ns".into(), unix_nanos(integration.updated_at));
    Ok(integration_item)
}

/// The item that says which organisation holds a buyer credential: written with the
/// integration in one transaction, conditionally, so two organisations cannot both hold one.
fn credential_item(integration: &Integration) -> Item {
    HashMap::from([
        (
            "PK".into(),
            s(buyer_key(
                &integration.buyer_domain,
                &integration.buyer_identity,
            )),
        ),
        ("SK".into(), s(CREDENTIAL_SK)),
        ("org_id".into(), s(&integration.org_id)),
    ])
}

const CREDENTIAL_SK: &str = "CREDENTIAL";

/// The item a claim is written on.
fn claim_key(target: Claim<'_>) -> (String, &'static str) {
    match target {
        Claim::Email(id) => (format!("OUTBOX#{id}"), "OUTBOX"),
        Claim::Charge(id) => (format!("CHARGE#{id}"), "CHARGE"),
    }
}

/// The original order is unique per orderID; each update or delete per payloadID.
fn order_key(record: &OrderRecord) -> (String, String) {
    let pk = format!("ORDER#{}#{}", record.org_id, record.order_id);
    match record.order_type {
        cxml::OrderType::New => (pk, "ORDER".into()),
        other => (
            pk,
            format!("CHANGE#{}#{}", other.as_str(), record.payload_id),
        ),
    }
}

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

/// Every AWS account of the organisation, once each (a transaction may not name an item twice).
fn org_accounts(org: &Organization) -> BTreeSet<String> {
    std::iter::once(&org.management_account_id)
        .chain(&org.member_account_ids)
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// `ACCOUNT#<id>` / `ACCOUNT`: which organisation an AWS account belongs to.
fn account_item(account_id: &str, org_id: &str) -> Item {
    HashMap::from([
        ("PK".to_string(), s(format!("ACCOUNT#{account_id}"))),
        ("SK".to_string(), s("ACCOUNT")),
        ("org_id".to_string(), s(org_id)),
    ])
}

/// A quote as stored: in the pending-offer index only while pending with a private offer, so a
/// quote leaves the index with any write that moves it on (each write replaces the item).
fn quote_item(quote: &Quote) -> Result<Item, StoreError> {
    let mut quote_item = item(format!("QUOTE#{}", quote.quote_id), "QUOTE", quote)?;
    quote_item.insert("status".into(), s(quote.status.as_str()));
    if let (QuoteStatus::PendingApproval, Some(offer)) = (quote.status, &quote.private_offer) {
        quote_item.insert("GSI2PK".into(), s(PENDING_OFFER_INDEX));
        quote_item.insert(
            "GSI2SK".into(),
            s(format!("{}#{}", rfc3339(offer.expires_at), quote.quote_id)),
        );
    }
    Ok(quote_item)
}

/// An outbox email, listed in GSI2 `OUTBOX` by creation time until SES accepts it.
fn outbox_item(outbox: &OutboxEmail) -> Result<Item, StoreError> {
    let mut outbox_item = item(format!("OUTBOX#{}", outbox.email_id), "OUTBOX", outbox)?;
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

fn buyer_key(domain: &str, identity: &str) -> String {
    format!(
        "BUYER#{}#{}",
        domain.trim().to_ascii_lowercase(),
        identity.trim()
    )
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
            if cancelled.conflicted() && attempt < 6 {
                tokio::time::sleep(std::time::Duration::from_millis(40 * attempt)).await;
                continue;
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
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_integration(&self, integration: &Integration) -> Result<(), StoreError> {
        let steps = vec![
            self.put_step(integration_item(integration)?)?,
            self.put_step(credential_item(integration))?,
        ];
        match self.transact(steps).await? {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(StoreError::Unavailable(format!(
                "integration {} not written: {}",
                integration.org_id,
                cancelled.reasons()
            ))),
        }
    }

    /// One transaction: the integration (conditional on its version, step 0), its credential
    /// (free or already this organisation's, step 1) and, when the credential changed,
    /// giving up the previous one (step 2).
    async fn replace_integration(
        &self,
        integration: &Integration,
        previous: Option<&Integration>,
    ) -> Result<IntegrationWrite, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(integration_item(integration)?));
        let put = match previous {
            None => put.condition_expression("attribute_not_exists(PK)"),
            // Items written before versions existed carry none: the first write adds one.
            Some(previous) => put
                .condition_expression("updated_ns = :previous OR attribute_not_exists(updated_ns)")
                .expression_attribute_values(":previous", unix_nanos(previous.updated_at)),
        };
        let holder_is_this_org = "attribute_not_exists(PK) OR org_id = :org";
        let credential = Put::builder()
            .table_name(&self.table)
            .set_item(Some(credential_item(integration)))
            .condition_expression(holder_is_this_org)
            .expression_attribute_values(":org", s(&integration.org_id));
        let mut steps = vec![
            TransactWriteItem::builder()
                .put(put.build().map_err(unavailable)?)
                .build(),
            TransactWriteItem::builder()
                .put(credential.build().map_err(unavailable)?)
                .build(),
        ];
        let new_key = buyer_key(&integration.buyer_domain, &integration.buyer_identity);
        if let Some(previous) = previous {
            let old_key = buyer_key(&previous.buyer_domain, &previous.buyer_identity);
            if old_key != new_key {
                let give_up = Delete::builder()
                    .table_name(&self.table)
                    .key("PK", s(old_key))
                    .key("SK", s(CREDENTIAL_SK))
                    .condition_expression(holder_is_this_org)
                    .expression_attribute_values(":org", s(&integration.org_id))
                    .build()
                    .map_err(unavailable)?;
                steps.push(TransactWriteItem::builder().delete(give_up).build());
            }
        }
        Ok(match self.transact(steps).await? {
            Ok(()) => IntegrationWrite::Written,
            Err(cancelled) if cancelled.condition_failed_at(1) => IntegrationWrite::CredentialTaken,
            Err(cancelled) if cancelled.condition_failed_at(0) || cancelled.conflicted() => {
                IntegrationWrite::Stale
            }
            Err(cancelled) => {
                return Err(StoreError::Conflict(format!(
                    "integration {} not written: {}",
                    integration.org_id,
                    cancelled.reasons()
                )));
            }
        })
    }

    async fn get_integration(&self, org_id: &str) -> Result<Option<Integration>, StoreError> {
        self.get(format!("ORG#{org_id}"), "INTEGRATION").await
    }

    async fn find_integration_by_buyer(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError> {
        let items = self.query_gsi1(&buyer_key(domain, identity)).await?;
        items.first().map(decode).transpose()
    }

    /// Writes the organisation and one `ACCOUNT#<id>` item per account (management and
    /// members) naming it, so a marketplace user's account finds its organisation with one
    /// read. Accounts that left the organisation are forgotten.
    async fn put_organization(&self, org: &Organization) -> Result<(), StoreError> {
        let previous: Option<Organization> = self.get(format!("ORG#{}", org.org_id), "ORG").await?;
        let accounts = org_accounts(org);
        let mut steps = vec![self.put_step(item(format!("ORG#{}", org.org_id), "ORG", org)?)?];
        for account in &accounts {
            steps.push(self.put_step(account_item(account, &org.org_id))?);
        }
        // A transaction holds at most 100 steps; a larger organisation is written in several
        // (every step is a plain put, so writing again completes a partial write).
        for chunk in steps.chunks(100) {
            self.client
                .transact_write_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(unavailable)?;
        }
        let gone = previous.map(|p| org_accounts(&p)).unwrap_or_default();
        for account in gone.difference(&accounts) {
            // Only if it still names this organisation: another may have claimed it since.
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("PK", s(format!("ACCOUNT#{account}")))
                .key("SK", s("ACCOUNT"))
                .condition_expression("org_id = :org")
                .expression_attribute_values(":org", s(&org.org_id))
                .send()
                .await;
            condition_held(result)?;
        }
        Ok(())
    }

    async fn get_organization(&self, org_id: &str) -> Result<Option<Organization>, StoreError> {
        self.get(format!("ORG#{org_id}"), "ORG").await
    }

    async fn find_organization_by_account(
        &self,
        account_id: &str,
    ) -> Result<Option<Organization>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(format!("ACCOUNT#{}", account_id.trim())))
            .key("SK", s("ACCOUNT"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(org_id) = out
            .item()
            .and_then(|i| i.get("org_id"))
            .and_then(|v| v.as_s().ok())
        else {
            return Ok(None);
        };
        // The organisation record is the truth; the account item only points at it.
        Ok(self
            .get_organization(org_id)
            .await?
            .filter(|o| org_accounts(o).contains(account_id.trim())))
    }

    async fn create_quote(
        &self,
        quote: &Quote,
        agreement: Option<&Agreement>,
    ) -> Result<(), StoreError> {
        let mut steps = vec![self.put_new(quote_item(quote)?)?];
        if let Some(a) = agreement {
            let agreement_item = item(format!("AGREEMENT#{}", a.agreement_id), "AGREEMENT", a)?;
            steps.push(self.put_new(agreement_item)?);
        }
        match self.transact(steps).await? {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(StoreError::Conflict(format!(
                "quote {} exists ({})",
                quote.quote_id,
                cancelled.reasons()
            ))),
        }
    }

    async fn get_quote(&self, quote_id: &str) -> Result<Option<Quote>, StoreError> {
        self.get(format!("QUOTE#{quote_id}"), "QUOTE").await
    }

    async fn get_agreement(&self, agreement_id: &str) -> Result<Option<Agreement>, StoreError> {
        self.get(format!("AGREEMENT#{agreement_id}"), "AGREEMENT")
            .await
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut item = item(
            format!("SESSION#{}", session.token_digest),
            "SESSION",
            session,
        )?;
        // DynamoDB's TTL sweeps expired sessions; reads also check expires_at.
        item.insert(
            "ttl".into(),
            AttributeValue::N(session.expires_at.unix_timestamp().to_string()),
        );
        self.put(item).await
    }

    async fn get_session(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        self.get(format!("SESSION#{token_digest}"), "SESSION").await
    }

    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        let mut item = item(format!("PRODUCT#{}", product.id), "PRODUCT", product)?;
        item.insert("GSI1PK".into(), s("CATALOG"));
        item.insert(
            "GSI1SK".into(),
            s(format!("{}#{}", product.title, product.id)),
        );
        self.put(item).await
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        self.get(format!("PRODUCT#{id}"), "PRODUCT").await
    }

    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        self.query_gsi1("CATALOG")
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    async fn place_order(&self, plan: &OrderPlan) -> Result<Recorded<OrderRecord>, StoreError> {
        let record = &plan.record;
        let (order_pk, order_sk) = order_key(record);
        let payload_pk = format!("PAYLOAD#{}", record.payload_id);
        // The order and payload keys come first, so their cancellation reasons are 0 and 1.
        let mut steps = vec![
            self.put_new(item(order_pk.clone(), &order_sk, record)?)?,
            self.put_new(item(payload_pk.clone(), "ORDER", record)?)?,
        ];
        for (quote, expected) in &plan.quotes {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(quote_item(quote)?))
                .condition_expression("#status = :expected")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":expected", s(expected.as_str()))
                .build()
                .map_err(unavailable)?;
            steps.push(TransactWriteItem::builder().put(put).build());
        }
        for agreement in &plan.agreements {
            let agreement_item = item(
                format!("AGREEMENT#{}", agreement.agreement_id),
                "AGREEMENT",
                agreement,
            )?;
            steps.push(match agreement.status {
                AgreementStatus::Active => self.put_new(agreement_item)?,
                AgreementStatus::Cancelled => self.put_step(agreement_item)?,
            });
        }
        for outbox in &plan.outbox {
            steps.push(self.put_new(outbox_item(outbox)?)?);
        }
        for job in &plan.charges {
            let mut charge_item = item(format!("CHARGE#{}", job.charge_id), "CHARGE", job)?;
            charge_item.insert("status".into(), s("scheduled"));
            charge_item.insert("GSI2PK".into(), s(SCHEDULED_CHARGES_INDEX));
            charge_item.insert(
                "GSI2SK".into(),
                s(format!("{}#{}", rfc3339(job.due), job.charge_id)),
            );
            steps.push(self.put_new(charge_item)?);
        }
        for charge_id in &plan.cancelled_charges {
            let update = Update::builder()
                .table_name(&self.table)
                .key("PK", s(format!("CHARGE#{charge_id}")))
                .key("SK", s("CHARGE"))
                .update_expression("SET #status = :cancelled REMOVE GSI2PK, GSI2SK")
                .condition_expression("#status = :scheduled")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":cancelled", s("cancelled"))
                .expression_attribute_values(":scheduled", s("scheduled"))
                .build()
                .map_err(unavailable)?;
            steps.push(TransactWriteItem::builder().update(update).build());
        }
        if steps.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Conflict(format!(
                "order {} changes {} records, more than one transaction holds ({MAX_TRANSACTION_ITEMS}); split the order",
                record.order_id,
                steps.len()
            )));
        }
        let Err(cancelled) = self.transact(steps).await? else {
            return Ok(Recorded::Created);
        };
        let existing: Option<OrderRecord> = match self.get(order_pk, &order_sk).await? {
            Some(o) => Some(o),
            None => self.get(payload_pk, "ORDER").await?,
        };
        match existing {
            Some(existing) => Ok(Recorded::Existing(existing)),
            None => Err(StoreError::Conflict(format!(
                "order {} could not be recorded: {}",
                record.order_id,
                cancelled.reasons()
            ))),
        }
    }

    async fn find_order(
        &self,
        org_id: &str,
        order_id: &str,
    ) -> Result<Option<OrderRecord>, StoreError> {
        self.get(format!("ORDER#{org_id}#{order_id}"), "ORDER")
            .await
    }

    async fn find_order_by_payload(
        &self,
        payload_id: &str,
    ) -> Result<Option<OrderRecord>, StoreError> {
        self.get(format!("PAYLOAD#{payload_id}"), "ORDER").await
    }

    async fn mark_charge_queued(&self, charge_id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(format!("CHARGE#{charge_id}")))
            .key("SK", s("CHARGE"))
            .update_expression("SET #status = :queued REMOVE GSI2PK, GSI2SK")
            .condition_expression("#status = :scheduled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", s("queued"))
            .expression_attribute_values(":scheduled", s("scheduled"))
            .send()
            .await;
        condition_held(result)
    }

    async fn charge_status(&self, charge_id: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(format!("CHARGE#{charge_id}")))
            .key("SK", s("CHARGE"))
            .consistent_read(true)
            .projection_expression("#status")
            .expression_attribute_names("#status", "status")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .item()
            .and_then(|i| i.get("status"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    async fn due_charges(
        &self,
        now: time::OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<InvoiceJob>, StoreError> {
        // Sort keys are `<due>#<charge>` with fixed-width UTC times; '$' sorts right after
        // '#', so this bound takes every charge due up to this second.
        let below = format!("{}$", rfc3339(now));
        let (items, next) = self
            .query_gsi2_page(SCHEDULED_CHARGES_INDEX, Some(below), limit, cursor)
            .await?;
        Ok(Page {
            items: decode_listed(&items),
            next,
        })
    }

    async fn record_charge_outcome(
        &self,
        charge_id: &str,
        outcome: &ChargeOutcome,
    ) -> Result<bool, StoreError> {
        let key = format!("CHARGE#{charge_id}");
        let json = serde_json::to_string(outcome).map_err(|e| StoreError::Corrupt {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(&key))
            .key("SK", s("CHARGE"))
            .condition_expression("#status IN (:scheduled, :queued)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(outcome.status.as_str()))
            .expression_attribute_values(":outcome", s(json))
            .expression_attribute_values(":scheduled", s(ChargeStatus::Scheduled.as_str()))
            .expression_attribute_values(":queued", s(ChargeStatus::Queued.as_str()));
        update = if outcome.status == ChargeStatus::Failed {
            update
                .update_expression(
                    "SET #status = :status, outcome = :outcome, GSI2PK = :index, GSI2SK = :sk",
                )
                .expression_attribute_values(":index", s(FAILED_CHARGES_INDEX))
                .expression_attribute_values(
                    ":sk",
                    s(format!("{}#{charge_id}", rfc3339(outcome.at))),
                )
        } else {
            update.update_expression(
                "SET #status = :status, outcome = :outcome REMOVE GSI2PK, GSI2SK",
            )
        };
        condition_held(update.send().await)
    }

    async fn charge_outcome(&self, charge_id: &str) -> Result<Option<ChargeOutcome>, StoreError> {
        let key = format!("CHARGE#{charge_id}");
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(&key))
            .key("SK", s("CHARGE"))
            .consistent_read(true)
            .projection_expression("outcome")
            .send()
            .await
            .map_err(unavailable)?;
        let Some(json) = out
            .item()
            .and_then(|i| i.get("outcome"))
            .and_then(|v| v.as_s().ok())
        else {
            return Ok(None);
        };
        serde_json::from_str(json)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                key,
                reason: e.to_string(),
            })
    }

    async fn pending_offer_quotes(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Quote>, StoreError> {
        let (items, next) = self
            .query_gsi2_page(PENDING_OFFER_INDEX, None, limit, cursor)
            .await?;
        Ok(Page {
            items: decode_listed(&items),
            next,
        })
    }

    async fn expire_quote(
        &self,
        quote: &Quote,
        email: Option<&OutboxEmail>,
    ) -> Result<bool, StoreError> {
        let mut expired = quote.clone();
        expired.status = QuoteStatus::Expired;
        // Written only while the quote is still pending: a second run, or an order that
        // arrived meanwhile, wins and nothing is written (no second notice either).
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(quote_item(&expired)?))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(QuoteStatus::PendingApproval.as_str()))
            .build()
            .map_err(unavailable)?;
        let mut steps = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(email) = email {
            steps.push(self.put_step(outbox_item(email)?)?);
        }
        match self.transact(steps).await? {
            Ok(()) => Ok(true),
            // No longer pending: ordered, cancelled or expired by an earlier run.
            Err(cancelled) if cancelled.condition_failed_at(0) => Ok(false),
            Err(cancelled) => Err(StoreError::Unavailable(format!(
                "quote {} not expired: {}",
                quote.quote_id,
                cancelled.reasons()
            ))),
        }
    }

    async fn pending_emails(&self, limit: usize) -> Result<Vec<OutboxEmail>, StoreError> {
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
        out.items().iter().map(decode).collect()
    }

    async fn claim(
        &self,
        target: Claim<'_>,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = claim_key(target);
        // What must still be true for the target to be worth sending. `attribute_exists(PK)`
        // also keeps an email already sent (deleted) from coming back as a bare claim item.
        let sendable = match target {
            Claim::Email(_) => "attribute_exists(PK)",
            Claim::Charge(_) => "#status IN (:scheduled, :queued)",
        };
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
        if let Claim::Charge(_) = target {
            update = update
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":scheduled", s(ChargeStatus::Scheduled.as_str()))
                .expression_attribute_values(":queued", s(ChargeStatus::Queued.as_str()));
        }
        condition_held(update.send().await)
    }

    async fn release(
        &self,
        target: Claim<'_>,
        until: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (pk, sk) = claim_key(target);
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

    async fn email_sent(&self, email_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(format!("OUTBOX#{email_id}")))
            .key("SK", s("OUTBOX"))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
