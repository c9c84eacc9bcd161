//! Coupa Open Buy tokens (`OPENBUY#<token sha256>` / `OPENBUY_TOKEN`), swept by DynamoDB's TTL.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use procurement::StoreError;
use procurement::openbuy::OpenBuyToken;
use procurement::ports::OpenBuyTokens;

use super::{DynamoStore, item};

const SK: &str = "OPENBUY_TOKEN";

#[async_trait]
impl OpenBuyTokens for DynamoStore {
    async fn put(&self, token: &OpenBuyToken) -> Result<(), StoreError> {
        let mut item = item(format!("OPENBUY#{}", token.token_digest), SK, token)?;
        // DynamoDB's TTL sweeps expired tokens (within days); reads also check expires_at.
        item.insert(
            "ttl".into(),
            AttributeValue::N(token.expires_at.unix_timestamp().to_string()),
        );
        DynamoStore::put(self, item).await
    }

    async fn get(&self, token_digest: &str) -> Result<Option<OpenBuyToken>, StoreError> {
        DynamoStore::get(self, format!("OPENBUY#{token_digest}"), SK).await
    }
}
