//! Products (`PRODUCT#<id>` / `PRODUCT`), listed through GSI1 `CATALOG` by title.

use async_trait::async_trait;
use procurement::StoreError;
use procurement::model::Product;
use procurement::ports::Catalog;

use super::{DynamoStore, decode, item, s};

pub(super) const SK: &str = "PRODUCT";
const CATALOG_INDEX: &str = "CATALOG";

#[async_trait]
impl Catalog for DynamoStore {
    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        let mut item = item(format!("PRODUCT#{}", product.id), SK, product)?;
        item.insert("GSI1PK".into(), s(CATALOG_INDEX));
        item.insert(
            "GSI1SK".into(),
            s(format!("{}#{}", product.title, product.id)),
        );
        self.put(item).await
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        self.get(format!("PRODUCT#{id}"), SK).await
    }

    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        self.query_gsi1(CATALOG_INDEX)
            .await?
            .iter()
            .map(decode)
            .collect()
    }
}
