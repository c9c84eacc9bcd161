//! One table, keys `PK`/`SK`, overloaded indexes `GSI1`/`GSI2`, TTL attribute `ttl`.
//! Each record is kept as JSON in `data`; key attributes carry only what lookups need.
//!
//! | record      | PK                      | SK          | GSI1PK / GSI1SK                      |
//! |-------------|-------------------------|-------------|--------------------------------------|
//! | integration | `ORG#<org>`             | INTEGRATION | `SENDER#<domain lc>#<identity>` / INTEGRATION |
//! | session     | `SESSION#<token sha256>`| SESSION     |                                      |
//! | product     | `PRODUCT#<id>`          | PRODUCT     | `CATALOG` / `<title>#<id>`           |
//! | order       | `ORDER#<org>#<orderID>` | ORDER       |                                      |
//! | payload     | `PAYLOAD#<payloadID>`   | ORDER       | (points at the order)                |

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use procurement::model::{Integration, OrderRecord, Product, Session};
use procurement::ports::Recorded;
use procurement::{Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
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

fn sender_key(domain: &str, identity: &str) -> String {
    format!(
        "SENDER#{}#{}",
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
        let mut item = item(
            format!("ORG#{}", integration.org_id),
            "INTEGRATION",
            integration,
        )?;
        item.insert(
            "GSI1PK".into(),
            s(sender_key(
                &integration.sender_domain,
                &integration.sender_identity,
            )),
        );
        item.insert("GSI1SK".into(), s("INTEGRATION"));
        self.put(item).await
    }

    async fn get_integration(&self, org_id: &str) -> Result<Option<Integration>, StoreError> {
        self.get(format!("ORG#{org_id}"), "INTEGRATION").await
    }

    async fn find_integration_by_sender(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError> {
        let items = self.query_gsi1(&sender_key(domain, identity)).await?;
        items.first().map(decode).transpose()
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

    async fn record_order(&self, order: &OrderRecord) -> Result<Recorded<OrderRecord>, StoreError> {
        let order_key = format!("ORDER#{}#{}", order.org_id, order.order_id);
        let payload_key = format!("PAYLOAD#{}", order.payload_id);
        let put = |pk: &str| -> Result<TransactWriteItem, StoreError> {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(pk.to_string(), "ORDER", order)?))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(unavailable)?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        // Both keys in one transaction: a retry with the same payloadID and a resend with
        // a new payloadID but the same orderID are both caught, also when they race.
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(&order_key)?)
            .transact_items(put(&payload_key)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Recorded::Created),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                let existing: Option<OrderRecord> = match self.get(order_key, "ORDER").await? {
                    Some(o) => Some(o),
                    None => self.get(payload_key, "ORDER").await?,
                };
                existing.map(Recorded::Existing).ok_or_else(|| {
                    StoreError::Conflict(format!(
                        "order {} conflicted with a concurrent write; retry",
                        order.order_id
                    ))
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}
