//! The small traits through which the domain reaches storage, mail and the invoice queue.
//! Each has one AWS implementation (procurement-aws) and an in-memory fake ([`crate::fakes`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::config::Config;
use crate::model::{
    Agreement, ChargeOutcome, Email, Integration, InvoiceJob, OrderRecord, Organization,
    OutboxEmail, Product, Quote, QuoteStatus, Session,
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

/// What became of a conditional integration write ([`Store::replace_integration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationWrite {
    Written,
    /// Another write changed the integration since it was read: nothing was written.
    Stale,
    /// Another organisation's integration holds the buyer credential: nothing was written.
    CredentialTaken,
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
    /// Writes an integration and its buyer credential unconditionally (seeding and tests).
    async fn put_integration(&self, integration: &Integration) -> Result<(), StoreError>;
    /// Writes the integration only if the stored one is still `previous` (the same
    /// `updated_at`; none stored when `previous` is None), and in the same write claims its
    /// buyer credential for its organisation (giving up the previous one if it changed).
    /// Keeps a settings change and a secret rotation made at the same time from undoing each
    /// other, and two organisations from taking one credential at the same moment.
    async fn replace_integration(
        &self,
        integration: &Integration,
        previous: Option<&Integration>,
    ) -> Result<IntegrationWrite, StoreError>;
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
    /// A charge's current status (scheduled, queued, invoiced, failed, skipped, cancelled).
    async fn charge_status(&self, charge_id: &str) -> Result<Option<String>, StoreError>;
    /// Scheduled charges due at or before `now`, oldest due first, one page at a time
    /// (`cursor` is the `next` of the previous page).
    async fn due_charges(
        &self,
        now: time::OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<InvoiceJob>, StoreError>;
    /// Records what became of a charge's invoice (its status becomes `outcome.status`), only
    /// while the charge is scheduled or queued. False if it was not (already recorded,
    /// cancelled, or unknown): nothing is written then.
    async fn record_charge_outcome(
        &self,
        charge_id: &str,
        outcome: &ChargeOutcome,
    ) -> Result<bool, StoreError>;
    /// The recorded outcome of a charge's invoice, if any.
    async fn charge_outcome(&self, charge_id: &str) -> Result<Option<ChargeOutcome>, StoreError>;

    /// Quotes pending approval that carry a private offer, by offer expiry, one page at a time.
    /// Only pending quotes are listed: a quote leaves the list when it leaves that status.
    async fn pending_offer_quotes(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Quote>, StoreError>;
    /// Marks a pending quote expired and stores its notice in the outbox, in one write, only
    /// if the quote is still pending approval. False if it was not: nothing is written then.
    async fn expire_quote(
        &self,
        quote: &Quote,
        email: Option<&OutboxEmail>,
    ) -> Result<bool, StoreError>;

    /// Emails not yet accepted by SES, oldest first.
    async fn pending_emails(&self, limit: usize) -> Result<Vec<OutboxEmail>, StoreError>;
    /// Claims an outbox email or an unsettled charge for one sender until `until`. True if
    /// this caller may send it; false if another sender's claim has not lapsed by `now`, or
    /// there is nothing left to send (email gone, charge settled). This keeps two senders
    /// (an order's request and a scheduled flush; two deliveries of one SQS message) from
    /// both sending the same thing at once.
    async fn claim(
        &self,
        target: Claim<'_>,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Gives back the claim taken until `until` once the sender is done without settling it
    /// (a failed send), so the next attempt need not wait for it to lapse. Does nothing if
    /// the claim lapsed and another sender holds the target now.
    async fn release(&self, target: Claim<'_>, until: OffsetDateTime) -> Result<(), StoreError>;
    async fn email_sent(&self, email_id: &str) -> Result<(), StoreError>;
}

/// What a sender claims before sending it: see [`Store::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim<'a> {
    /// An outbox email, by email ID.
    Email(&'a str),
    /// An invoice charge, by charge ID; claimable while scheduled or queued.
    Charge(&'a str),
}

/// One page of a listing; `next` is the cursor of the following page, none after the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
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

/// Why an invoice POST got no answer. Every variant but `Invalid` is worth a retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connecting, TLS, or the exchange itself failed.
    #[error("connection failed: {0}")]
    Connection(String),
    /// The request cannot be made at all (unusable URL): retrying will not help.
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// POSTs a cXML document to a buyer's URL (Content-Type text/xml; charset=UTF-8).
#[async_trait]
pub trait InvoiceSender: Send + Sync {
    /// The HTTP status and body of the answer, or why there was none.
    async fn post(
        &self,
        url: &str,
        body: String,
        timeout: Duration,
    ) -> Result<(u16, String), SendError>;
}

/// Everything a handler needs, built once per Lambda instance.
#[derive(Clone)]
pub struct Deps {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub queue: Arc<dyn Queue>,
    pub invoice_sender: Arc<dyn InvoiceSender>,
}
