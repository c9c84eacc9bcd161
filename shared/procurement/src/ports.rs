//! The small traits through which the domain reaches storage, mail and the invoice queue.
//! Each has one AWS implementation (procurement-aws) and an in-memory fake ([`crate::fakes`]).

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::Config;
use crate::model::{
    Agreement, Email, Integration, InvoiceJob, OrderRecord, Organization, OutboxEmail, Product,
    Quote, QuoteStatus, Session,
};

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
    /// The integration of the buyer with this From credential (domain compared
    /// case-insensitively).
    async fn find_integration_by_buyer(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError>;

    async fn put_organization(&self, org: &Organization) -> Result<(), StoreError>;
    async fn get_organization(&self, org_id: &str) -> Result<Option<Organization>, StoreError>;
    /// The organisation this AWS account belongs to (as management or member account):
    /// how a subscribe attempt made in the marketplace finds its procurement integration.
    async fn find_organization_by_account(
        &self,
        account_id: &str,
    ) -> Result<Option<Organization>, StoreError>;

    async fn put_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn get_session(&self, token_digest: &str) -> Result<Option<Session>, StoreError>;

    async fn put_product(&self, product: &Product) -> Result<(), StoreError>;
    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError>;
    async fn list_products(&self) -> Result<Vec<Product>, StoreError>;

    /// Stores a new quote, and with it, in one transaction, the agreement of a pre-approved
    /// product. Fails with `Conflict` if the quote ID exists.
    async fn create_quote(
        &self,
        quote: &Quote,
        agreement: Option<&Agreement>,
    ) -> Result<(), StoreError>;
    async fn get_quote(&self, quote_id: &str) -> Result<Option<Quote>, StoreError>;
    async fn get_agreement(&self, agreement_id: &str) -> Result<Option<Agreement>, StoreError>;

    /// Writes everything one purchase order changes in one transaction, once per
    /// (organisation, orderID, order type) and once per payloadID. When either key exists (a
    /// duplicate, also one racing this one) nothing is written and the earlier record comes back.
    /// Fails with `Conflict` when a quote is no longer in its expected status.
    async fn place_order(&self, plan: &OrderPlan) -> Result<Recorded<OrderRecord>, StoreError>;
    /// The original (type new) order of this orderID.
    async fn find_order(
        &self,
        org_id: &str,
        order_id: &str,
    ) -> Result<Option<OrderRecord>, StoreError>;
    async fn find_order_by_payload(
        &self,
        payload_id: &str,
    ) -> Result<Option<OrderRecord>, StoreError>;
    /// Marks a scheduled charge as handed to the invoice queue (false if it was not scheduled).
    async fn mark_charge_queued(&self, charge_id: &str) -> Result<bool, StoreError>;
    /// A charge's current status (scheduled, queued, invoiced, failed, cancelled).
    async fn charge_status(&self, charge_id: &str) -> Result<Option<String>, StoreError>;

    /// Emails not yet accepted by SES, oldest first.
    async fn pending_emails(&self, limit: usize) -> Result<Vec<OutboxEmail>, StoreError>;
    async fn email_sent(&self, email_id: &str) -> Result<(), StoreError>;
}

/// Everything one purchase order changes: see [`Store::place_order`].
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPlan {
    pub record: OrderRecord,
    /// Quotes in their new state, each written only if still in the given status.
    pub quotes: Vec<(Quote, QuoteStatus)>,
    /// Agreements to create (new orders) or to overwrite (cancellations).
    pub agreements: Vec<Agreement>,
    pub outbox: Vec<OutboxEmail>,
    /// Invoice charges, stored as scheduled; invoice-dispatch's queue gets them when due.
    pub charges: Vec<InvoiceJob>,
    /// Charges to mark cancelled (a delete of an order not yet invoiced).
    pub cancelled_charges: Vec<String>,
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
