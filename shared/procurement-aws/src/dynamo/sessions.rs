//! Punchout sessions (`SESSION#<token sha256>` / `SESSION`), swept by DynamoDB's TTL.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use procurement::StoreError;
use procurement::model::Session;
use procurement::ports::{Sessions, VisitReads, VisitRecords};

use super::{DynamoStore, Key, catalog, decoded, integrations, item, organizations};

const SK: &str = "SESSION";

fn session_pk(token_digest: &str) -> String {
    format!("SESSION#{token_digest}")
}

#[async_trait]
impl Sessions for DynamoStore {
    async fn put(&self, session: &Session) -> Result<(), StoreError> {
        let mut item = item(session_pk(&session.token_digest), SK, session)?;
        // DynamoDB's TTL sweeps expired sessions; reads also check expires_at.
        item.insert(
            "ttl".into(),
            AttributeValue::N(session.expires_at.unix_timestamp().to_string()),
        );
        DynamoStore::put(self, item).await
    }

    async fn get(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        DynamoStore::get(self, session_pk(token_digest), SK).await
    }

    /// One BatchGetItem: the session, the organisation's integration and record, the products.
    async fn visit(&self, reads: &VisitReads) -> Result<VisitRecords, StoreError> {
        let session_key: Key = (session_pk(&reads.token_digest), SK.into());
        let org_pk = format!("ORG#{}", reads.org_id);
        let integration_key: Key = (org_pk.clone(), integrations::SK.into());
        let org_key: Key = (org_pk, organizations::SK.into());
        let product_key = |id: &str| -> Key { (format!("PRODUCT#{id}"), catalog::SK.into()) };
        let mut keys = vec![
            session_key.clone(),
            integration_key.clone(),
            org_key.clone(),
        ];
        keys.extend(reads.product_ids.iter().map(|id| product_key(id)));
        let found = self.batch_get(&keys).await?;
        let mut records = VisitRecords {
            session: decoded(&found, &session_key)?,
            integration: decoded(&found, &integration_key)?,
            org: decoded(&found, &org_key)?,
            products: Vec::new(),
        };
        for id in &reads.product_ids {
            records
                .products
                .push((id.clone(), decoded(&found, &product_key(id))?));
        }
        Ok(records)
    }
}
