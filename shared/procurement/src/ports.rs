//! The small traits through which the domain reaches storage, mail, the invoice queue and the
//! buyers' invoice endpoints: one per aggregate for storage, each implemented once for AWS
//! (procurement-aws) and once in memory for tests ([`crate::fakes`], feature `test-util`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::config::Config;
use crate::ids::{AgreementId, ChargeId, ConfirmationId, OrderId, OrgId, QuoteId};
use crate::message_log::{LoggedMessage, Position};
use crate::model::{
    Agreement, ChargeOutcome, ChargeStatus, Confirmation, ConfirmationOutcome, ConfirmationStatus,
    Email, Integration, InvoiceJob, OrderRecord, Organization, OutboxEmail, Product, Quote,
    QuoteStatus, Session,
};
use crate::network::AribaNetwork;
use crate::openbuy::OpenBuyToken;

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

/// What became of a conditional integration write ([`Integrations::replace`]).
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

/// One page of a listing; `next` is the cursor of the following page, none after the last.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Buyer organisations' integrations, found by organisation or by the buyer's From credential.
#[async_trait]
pub trait Integrations: Send + Sync {
    /// Writes an integration and its buyer credential unconditionally (seeding and tests).
    async fn put(&self, integration: &Integration) -> Result<(), StoreError>;
    /// Writes the integration only if the stored one is still `previous` (the same
    /// `updated_at`; none stored when `previous` is None), and in the same write claims its
    /// buyer credential for its organisation (giving up the previous one if it changed).
    /// Keeps a settings change and a secret rotation made at the same time from undoing each
    /// other, and two organisations from taking one credential at the same moment.
    async fn replace(
        &self,
        integration: &Integration,
        previous: Option<&Integration>,
    ) -> Result<IntegrationWrite, StoreError>;
    async fn get(&self, org_id: &OrgId) -> Result<Option<Integration>, StoreError>;
    /// The integration of the buyer with this From credential (domain compared
    /// case-insensitively).
    async fn find_by_buyer(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError>;
}

/// Buyer organisations: who may administer them, and their private marketplaces.
#[async_trait]
pub trait Organizations: Send + Sync {
    async fn put(&self, org: &Organization) -> Result<(), StoreError>;
    async fn get(&self, org_id: &OrgId) -> Result<Option<Organization>, StoreError>;
    /// The organisation this AWS account belongs to (as management or member account):
    /// how a subscribe attempt made in the marketplace finds its procurement integration.
    async fn find_by_account(&self, account_id: &str) -> Result<Option<Organization>, StoreError>;
}

/// Open punchout sessions, by the digest of their StartPage token.
#[async_trait]
pub trait Sessions: Send + Sync {
    async fn put(&self, session: &Session) -> Result<(), StoreError>;
    async fn get(&self, token_digest: &str) -> Result<Option<Session>, StoreError>;
    /// What a catalog page is decided on that its token and request name ([`VisitReads`]),
    /// read consistently and at once: one request where the store can (DynamoDB: one
    /// BatchGetItem).
    async fn visit(&self, reads: &VisitReads) -> Result<VisitRecords, StoreError>;
}

/// The records a catalog page names before the session is read: the session (by its token's
/// digest), the integration and record of the organisation the token names, and the products
/// the page names. The session, once read, decides whether the rest is used.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitReads {
    pub token_digest: String,
    pub org_id: OrgId,
    pub product_ids: Vec<String>,
}

/// What [`Sessions::visit`] found: each record asked for, or None.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitRecords {
    pub session: Option<Session>,
    pub integration: Option<Integration>,
    pub org: Option<Organization>,
    pub products: Vec<(String, Option<Product>)>,
}

/// Coupa Open Buy tokens, by their digest ([`crate::openbuy`]); expired ones are swept.
#[async_trait]
pub trait OpenBuyTokens: Send + Sync {
    async fn put(&self, token: &OpenBuyToken) -> Result<(), StoreError>;
    async fn get(&self, token_digest: &str) -> Result<Option<OpenBuyToken>, StoreError>;
}

/// The marketplace's products.
#[async_trait]
pub trait Catalog: Send + Sync {
    async fn put_product(&self, product: &Product) -> Result<(), StoreError>;
    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError>;
    async fn list_products(&self) -> Result<Vec<Product>, StoreError>;
}

/// Quotes: what users asked approval for.
#[async_trait]
pub trait Quotes: Send + Sync {
    /// Stores a new quote. Fails with `Conflict` if the quote ID exists.
    async fn create(&self, quote: &Quote) -> Result<(), StoreError>;
    async fn get(&self, quote_id: &QuoteId) -> Result<Option<Quote>, StoreError>;
    /// Quotes pending approval that carry a private offer, by offer expiry, one page at a time.
    /// Only pending quotes are listed: a quote leaves the list when it leaves that status.
    async fn pending_offer_quotes(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Quote>, StoreError>;
    /// Marks a pending quote expired and stores its notice in the outbox, in one write, only
    /// if the quote is still pending approval. False if it was not: nothing is written then.
    async fn expire(&self, quote: &Quote, email: Option<&OutboxEmail>) -> Result<bool, StoreError>;
    /// Pre-approved quotes still waiting for their agreement ([`Quote::awaits_agreement`]),
    /// created before `before`, oldest first, one page at a time.
    async fn awaiting_agreement(
        &self,
        before: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Quote>, StoreError>;
    /// Writes the agreement of a pre-approved quote and records it on the quote, in one
    /// transaction, only if the quote still waits for it. False if it did not: nothing is
    /// written then.
    async fn subscribe(&self, quote: &Quote, agreement: &Agreement) -> Result<bool, StoreError>;
}

/// Purchase orders and the agreements they create.
#[async_trait]
pub trait Orders: Send + Sync {
    /// Writes everything one purchase order changes in one transaction, once per payloadID and
    /// in its [`OrderSlot`]: the original once per (organisation, orderID), or in place of the
    /// refused or test original it names, each change once per payloadID. When the payloadID or
    /// the slot is taken (a duplicate, also one racing this one) nothing is written and the
    /// earlier record comes back. Fails with `Conflict` when a quote is no longer in its
    /// expected status, or the original to replace is still there but could not be replaced.
    async fn place(&self, plan: &OrderPlan) -> Result<Recorded<OrderRecord>, StoreError>;
    /// The original order of this orderID (type new, or the resend that took its place).
    async fn find(
        &self,
        org_id: &OrgId,
        order_id: &OrderId,
    ) -> Result<Option<OrderRecord>, StoreError>;
    /// The order recorded for `payload_id` from this organisation (payloadIDs are the
    /// sender's: another organisation's record of the same payloadID is never read).
    async fn find_by_payload(
        &self,
        org_id: &OrgId,
        payload_id: &str,
    ) -> Result<Option<OrderRecord>, StoreError>;
    async fn get_agreement(
        &self,
        agreement_id: &AgreementId,
    ) -> Result<Option<Agreement>, StoreError>;
    /// What an OrderRequest is decided on that its document alone names ([`OrderReads`]), read
    /// consistently and at once: one request where the store can (DynamoDB: one BatchGetItem
    /// per 100 keys).
    async fn prefetch(&self, reads: &OrderReads) -> Result<OrderPrefetch, StoreError>;
}

/// The records an OrderRequest names by itself, before anything is authenticated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderReads {
    /// The buyer credentials the authentication looks up ([`crate::auth::buyer_lookups`]).
    pub credentials: Vec<cxml::CredentialId>,
    /// The document's payloadID: what each credential sent with it is read too.
    pub payload_id: String,
    /// The quotes (SupplierPartAuxiliaryID) and products (SupplierPartID) of its lines.
    pub quote_ids: Vec<QuoteId>,
    pub product_ids: Vec<String>,
}

/// What [`Orders::prefetch`] found: each key asked for, with its record or None.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderPrefetch {
    /// Each credential with the integration that holds it ([`Integrations::find_by_buyer`]).
    pub buyers: Vec<(cxml::CredentialId, Option<Integration>)>,
    /// The orders recorded with the payloadID, each with the credential it came with
    /// ([`OrderPlan::sender`]); only the ones found.
    pub sent: Vec<(cxml::CredentialId, OrderRecord)>,
    pub quotes: Vec<(QuoteId, Option<Quote>)>,
    pub products: Vec<(String, Option<Product>)>,
}

/// Whether two buyer credentials are one: domains compared case-insensitively, identities
/// exactly, both trimmed (as [`Integrations::find_by_buyer`] finds them).
pub fn same_credential(a: &cxml::CredentialId, b: &cxml::CredentialId) -> bool {
    a.domain.trim().eq_ignore_ascii_case(b.domain.trim()) && a.identity.trim() == b.identity.trim()
}

impl OrderPrefetch {
    /// The order `credential` sent with the payloadID, if it was read.
    pub fn sent_by(&self, credential: &cxml::CredentialId) -> Option<&OrderRecord> {
        self.sent
            .iter()
            .find(|(c, _)| same_credential(c, credential))
            .map(|(_, record)| record)
    }

    /// The quote as read: `Some(None)` when it was read and is not there, None when not read.
    pub fn quote(&self, quote_id: &QuoteId) -> Option<Option<Quote>> {
        self.quotes
            .iter()
            .find(|(id, _)| id == quote_id)
            .map(|(_, q)| q.clone())
    }

    /// The product as read, as [`OrderPrefetch::quote`].
    pub fn product(&self, product_id: &str) -> Option<Option<Product>> {
        self.products
            .iter()
            .find(|(id, _)| id == product_id)
            .map(|(_, p)| p.clone())
    }
}

/// Invoice charges: stored with their order, queued when due, settled by the buyer's answer.
#[async_trait]
pub trait Charges: Send + Sync {
    /// Marks a charge as handed to the invoice queue (false if it was neither scheduled nor
    /// queued) and counts the handing; listed among the stale queued charges from
    /// `requeue_at` on, if it is still queued then (its job was dead-lettered or lost).
    async fn mark_queued(
        &self,
        charge_id: &ChargeId,
        requeue_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Queued charges whose requeue time came by `now`, oldest first, one page at a time.
    async fn stale_queued(
        &self,
        now: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Stale<InvoiceJob>>, StoreError>;
    /// A charge's current status; None if there is no such charge.
    async fn status(&self, charge_id: &ChargeId) -> Result<Option<ChargeStatus>, StoreError>;
    /// The stored charge (what its invoice is built from) and its status, read consistently.
    async fn get(
        &self,
        charge_id: &ChargeId,
    ) -> Result<Option<(InvoiceJob, ChargeStatus)>, StoreError>;
    /// Puts a queued charge back among the scheduled ones (indexed by its due date again), so
    /// the scheduled run queues it later; false if it was settled meanwhile.
    async fn reschedule(&self, job: &InvoiceJob) -> Result<bool, StoreError>;
    /// Undoes the hand-over an order's transaction recorded ([`Handover`]) when the queue
    /// refused the job: scheduled again and the queueing uncounted, so the next scheduled run
    /// queues it; false if it is no longer queued once (nothing is written then).
    async fn hand_back(&self, job: &InvoiceJob) -> Result<bool, StoreError>;
    /// Scheduled charges due at or before `now`, oldest due first, one page at a time
    /// (`cursor` is the `next` of the previous page).
    async fn due(
        &self,
        now: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<InvoiceJob>, StoreError>;
    /// Records what became of a charge's invoice (its status becomes `outcome.status`), only
    /// while the charge is scheduled or queued. False if it was not (already recorded,
    /// cancelled, or unknown): nothing is written then.
    async fn record_outcome(
        &self,
        charge_id: &ChargeId,
        outcome: &ChargeOutcome,
    ) -> Result<bool, StoreError>;
    /// The recorded outcome of a charge's invoice, if any.
    async fn outcome(&self, charge_id: &ChargeId) -> Result<Option<ChargeOutcome>, StoreError>;
    /// Claims an unsettled charge for one dispatcher until `until`: true if this caller may
    /// post its invoice; false if another delivery's claim has not lapsed by `now`, or the
    /// charge is settled. Keeps two deliveries of one SQS message from posting at once.
    async fn claim(
        &self,
        charge_id: &ChargeId,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Gives back the claim taken until `until` (a failed post), so the next delivery need not
    /// wait for it to lapse. Does nothing if another dispatcher holds the charge now.
    async fn release(&self, charge_id: &ChargeId, until: OffsetDateTime) -> Result<(), StoreError>;
}

/// A charge or confirmation still queued at its requeue time: no delivery of its job settled
/// it (the job was dead-lettered, or lost), so nothing would ever send it without the
/// scheduled run.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale<T> {
    pub job: T,
    /// How many times it was handed to the queue so far.
    pub queueings: u32,
}

/// Order confirmations to the Ariba Network: written with their order, queued, settled by the
/// Network's answer; the same lifecycle as invoice charges.
#[async_trait]
pub trait Confirmations: Send + Sync {
    async fn get(
        &self,
        id: &ConfirmationId,
    ) -> Result<Option<(Confirmation, ConfirmationStatus)>, StoreError>;
    /// Marks a confirmation as handed to the queue, as [`Charges::mark_queued`].
    async fn mark_queued(
        &self,
        id: &ConfirmationId,
        requeue_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Queued confirmations whose requeue time came by `now`, as [`Charges::stale_queued`].
    async fn stale_queued(
        &self,
        now: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Stale<Confirmation>>, StoreError>;
    /// Confirmations not yet handed to the queue, oldest first, one page at a time.
    async fn unqueued(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Confirmation>, StoreError>;
    /// Records the Network's answer, only while the confirmation is scheduled or queued.
    async fn record_outcome(
        &self,
        id: &ConfirmationId,
        outcome: &ConfirmationOutcome,
    ) -> Result<bool, StoreError>;
    async fn outcome(&self, id: &ConfirmationId)
    -> Result<Option<ConfirmationOutcome>, StoreError>;
    /// One sender at a time, as [`Charges::claim`].
    async fn claim(
        &self,
        id: &ConfirmationId,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn release(&self, id: &ConfirmationId, until: OffsetDateTime) -> Result<(), StoreError>;
    /// As [`Charges::hand_back`]: scheduled again, uncounted, if it is still queued once.
    async fn hand_back(&self, confirmation: &Confirmation) -> Result<bool, StoreError>;
}

/// The supplier's account on the SAP Ariba Network, as the deployment holds it (a secret read
/// at cold start).
#[async_trait]
pub trait AribaNetworkAccount: Send + Sync {
    /// The account as last read; None when the deployment has none configured.
    async fn current(&self) -> Result<Option<AribaNetwork>, StoreError>;
    /// Reads the account again (at most once per interval, whatever the callers) and returns
    /// it: for when a presented secret matched none of the known ones, as during a rotation.
    async fn reread(&self) -> Result<Option<AribaNetwork>, StoreError>;
}

/// Emails written with what they report, removed once SES accepts them, or set aside as
/// failed once SES refuses them for good.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Emails waiting to be sent (not sent, not failed), oldest first, one page at a time.
    async fn pending(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<OutboxEmail>, StoreError>;
    /// Claims an email for one sender until `until` and counts the attempt: the number of
    /// this attempt if this caller may send it; None if another sender's claim has not lapsed
    /// by `now`, or it was sent (gone) or set aside as failed. Keeps an order's request and a
    /// scheduled flush from both sending it.
    async fn claim(
        &self,
        email_id: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError>;
    /// Gives back the claim taken until `until` (a failed send).
    async fn release(&self, email_id: &str, until: OffsetDateTime) -> Result<(), StoreError>;
    /// SES accepted it: it leaves the outbox.
    async fn sent(&self, email_id: &str) -> Result<(), StoreError>;
    /// SES will never accept it (its address is refused, or it failed on every attempt): it
    /// leaves the pending emails, kept with the reason for the operators.
    async fn failed(
        &self,
        email_id: &str,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Each organisation's log of cXML exchanges ([`crate::message_log`]): one record per
/// exchange, listed newest first; records expire [`crate::message_log::RETENTION`] after their
/// exchange.
#[async_trait]
pub trait MessageLog: Send + Sync {
    /// Writes one exchange. Bounded: an adapter gives up rather than hold up the answer for
    /// long (the caller logs the failure and answers all the same).
    async fn record(&self, message: &LoggedMessage) -> Result<(), StoreError>;
    /// The organisation's messages at or after `since` and before `before`, newest first, at
    /// most `limit`; `next` is the [`Position`] (as text) to list on from, none after the last.
    async fn list(
        &self,
        org_id: &OrgId,
        since: OffsetDateTime,
        limit: usize,
        before: Option<&Position>,
    ) -> Result<Page<LoggedMessage>, StoreError>;
}

/// Every storage port: what one table behind one adapter provides.
pub trait Store:
    Integrations
    + Organizations
    + Sessions
    + OpenBuyTokens
    + Catalog
    + Quotes
    + Orders
    + Charges
    + Confirmations
    + Outbox
    + MessageLog
{
}

impl<T> Store for T where
    T: Integrations
        + Organizations
        + Sessions
        + OpenBuyTokens
        + Catalog
        + Quotes
        + Orders
        + Charges
        + Confirmations
        + Outbox
        + MessageLog
{
}

/// Everything one purchase order changes: see [`Orders::place`].
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPlan {
    pub record: OrderRecord,
    /// Where the record goes (the orderID's original order, or a change of it).
    pub slot: OrderSlot,
    /// Quotes in their new state, each written only if still in the given status.
    pub quotes: Vec<(Quote, QuoteStatus)>,
    /// Agreements to create (new orders) or to overwrite (cancellations).
    pub agreements: Vec<Agreement>,
    pub outbox: Vec<OutboxEmail>,
    /// Invoice charges, stored as scheduled; invoice-dispatch's queue gets them when due.
    pub charges: Vec<InvoiceJob>,
    /// Charges to mark cancelled (a delete of an order not yet invoiced).
    pub cancelled_charges: Vec<ChargeId>,
    /// Confirmations to the Ariba Network, stored as scheduled.
    pub confirmations: Vec<Confirmation>,
    /// The buyer credential the order came with ([`crate::auth::Authenticated::from`]): the
    /// record is also kept under it by payloadID, where [`Orders::prefetch`] finds a
    /// duplicate before the organisation is known.
    pub sender: Option<cxml::CredentialId>,
    /// Set when the request that places the order hands its due charges and confirmations to
    /// the queue and sends its emails itself, right after the commit.
    pub handover: Option<Handover>,
}

/// What the request placing an order does right after the commit, recorded by the commit
/// itself, so that no write follows it: the charges due by `now` and the confirmations are
/// stored as queued once (listed as stale from `requeue_at`; one the queue refuses is handed
/// back, [`Charges::hand_back`]), and the outbox emails as claimed by the request until
/// `claimed_until`, a first attempt (a flush sends what it did not, once the claim lapses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handover {
    pub now: OffsetDateTime,
    pub requeue_at: OffsetDateTime,
    pub claimed_until: OffsetDateTime,
}

impl Handover {
    /// Whether the request hands this charge to the queue: it is due by then.
    pub fn queues(&self, job: &InvoiceJob) -> bool {
        job.due <= self.now
    }
}

impl OrderPlan {
    /// A plan that records the order (and its answer) and changes nothing else.
    pub fn record_only(record: OrderRecord) -> Self {
        Self {
            slot: OrderSlot::of(&record),
            record,
            quotes: Vec::new(),
            agreements: Vec::new(),
            outbox: Vec::new(),
            charges: Vec::new(),
            cancelled_charges: Vec::new(),
            confirmations: Vec::new(),
            sender: None,
            handover: None,
        }
    }
}

/// Where an order's record is kept. The orderID's original order is one record; a refused or
/// test original gives way to the order that corrects it (Compass "PO failed: 5xx or 4xx error
/// response": the buyer fixes the data and resends the PO, often as `type="update"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderSlot {
    /// The original order of the orderID, which must not be recorded yet.
    Original,
    /// The original order, in place of the refused or test one recorded under this payloadID,
    /// which must still be the one there (so of racing resends exactly one takes its place).
    Replacing(String),
    /// A change (update, delete) of the original: one record per payloadID.
    Change,
}

impl OrderSlot {
    /// The slot of an order recorded as it arrived: a new order is the original.
    pub fn of(record: &OrderRecord) -> Self {
        match record.order_type {
            cxml::OrderType::New => Self::Original,
            _ => Self::Change,
        }
    }
}

/// Why SES did not take an email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// SES refused this email for good (its recipient address): no retry can help.
    #[error("refused: {0}")]
    Refused(String),
    /// SES, or the way to it, failed; a later attempt may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

/// The invoice queue: what invoice-dispatch sends to buyers and to the Ariba Network.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn enqueue_invoice(&self, job: &InvoiceJob) -> Result<(), String>;
    async fn enqueue_confirmation(&self, id: &ConfirmationId) -> Result<(), String>;
    /// The job that writes a pre-approved quote's agreement.
    async fn enqueue_subscription(&self, quote_id: &QuoteId) -> Result<(), String>;
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

/// Everything a handler needs, built once per Lambda instance. The storage ports are usually
/// one adapter seen through each of its traits ([`Deps::new`]).
#[derive(Clone)]
pub struct Deps {
    pub config: Config,
    pub integrations: Arc<dyn Integrations>,
    pub organizations: Arc<dyn Organizations>,
    pub sessions: Arc<dyn Sessions>,
    pub open_buy_tokens: Arc<dyn OpenBuyTokens>,
    pub catalog: Arc<dyn Catalog>,
    pub quotes: Arc<dyn Quotes>,
    pub orders: Arc<dyn Orders>,
    pub charges: Arc<dyn Charges>,
    pub confirmations: Arc<dyn Confirmations>,
    pub outbox: Arc<dyn Outbox>,
    pub message_log: Arc<dyn MessageLog>,
    pub ariba_network: Arc<dyn AribaNetworkAccount>,
    pub mailer: Arc<dyn Mailer>,
    pub queue: Arc<dyn Queue>,
    pub invoice_sender: Arc<dyn InvoiceSender>,
}

impl Deps {
    /// Every storage port served by one store.
    pub fn new<S: Store + 'static>(
        config: Config,
        store: Arc<S>,
        ariba_network: Arc<dyn AribaNetworkAccount>,
        mailer: Arc<dyn Mailer>,
        queue: Arc<dyn Queue>,
        invoice_sender: Arc<dyn InvoiceSender>,
    ) -> Self {
        Self {
            config,
            integrations: store.clone(),
            organizations: store.clone(),
            sessions: store.clone(),
            open_buy_tokens: store.clone(),
            catalog: store.clone(),
            quotes: store.clone(),
            orders: store.clone(),
            charges: store.clone(),
            confirmations: store.clone(),
            outbox: store.clone(),
            message_log: store,
            ariba_network,
            mailer,
            queue,
            invoice_sender,
        }
    }
}
