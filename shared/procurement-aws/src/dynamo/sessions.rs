//! Punchout sessions (`SESSION#<token sha256>` / `SESSION`), swept by DynamoDB's TTL.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use procurement::StoreError;
use procurement::model::Session;
use procurement::ports::Sessions;

use super::{DynamoStore, item};

const SK: &str = "SESSION";

#[async_trait]
impl Sessions for DynamoStore {
    async fn put(&self, session: &Session) -> Result<(), StoreError> {
        let mut item = item(format!("SESSION#{}", session.token_digest), SK, session)?;
        // DynamoDB's TTL sweeps expired sessions; reads also check expires_at.
        item.insert(
            "ttl".into(),
            AttributeValue::N(session.expires_at.unix_timestamp().to_string()),
        );
        DynamoStore::put(self, item).await
    }

    async fn get(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        DynamoStore::get(self, format!("SESSION#{token_digest}"), SK).await
    }
}
