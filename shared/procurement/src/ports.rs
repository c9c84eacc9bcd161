//! The small traits through which the domain reaches storage, mail and the invoice queue.
//! Each has one AWS implementation (procurement-aws) and an in-memory fake ([`crate::fakes`]).

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::Config;
use crate::model::{Email, Integration, InvoiceJob, OrderRecord, Product, Session};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the record already exists (or changed under us).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backing service failed; the caller may retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be read back.
    #[error("corrupt record {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// What happened to a write that must happen exactly once.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded<T> {
    Created,
    /// Already there: the earlier record, so the caller can answer as it did before.
    Existing(T),
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn put_integration(&self, integration: &Integration) -> Result<(), StoreError>;
    async fn get_integration(&self, org_id: &str) -> Result<Option<Integration>, StoreError>;
    /// The integration whose Sender credential this is (domain compared case-insensitively).
    async fn find_integration_by_sender(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError>;

    async fn put_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn get_session(&self, token_digest: &str) -> Result<Option<Session>, StoreError>;

    async fn put_product(&self, product: &Product) -> Result<(), StoreError>;
    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError>;
    async fn list_products(&self) -> Result<Vec<Product>, StoreError>;

    /// Records an order once per (organisation, orderID) and once per payloadID.
    async fn record_order(&self, order: &OrderRecord) -> Result<Recorded<OrderRecord>, StoreError>;
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), String>;
}

#[async_trait]
pub trait Queue: Send + Sync {
    async fn enqueue_invoice(&self, job: &InvoiceJob) -> Result<(), String>;
}

/// Everything a handler needs, built once per Lambda instance.
#[derive(Clone)]
pub struct Deps {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub queue: Arc<dyn Queue>,
}
