//! In-memory implementations of the ports, for unit tests and fixture tests.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
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
use crate::ports::{
    AribaNetworkAccount, Catalog, Charges, Confirmations, Deps, IntegrationWrite, Integrations,
    InvoiceSender, MailError, Mailer, MessageLog, OpenBuyTokens, OrderPlan, OrderPrefetch,
    OrderReads, OrderSlot, Orders, Organizations, Outbox, Page, Queue, Quotes, Recorded, SendError,
    Sessions, Stale, StoreError, VisitReads, VisitRecords,
};

type ConfirmationRows = HashMap<
    ConfirmationId,
    (
        Confirmation,
        ConfirmationStatus,
        Option<ConfirmationOutcome>,
    ),
>;

#[derive(Default)]
pub struct MemoryStore {
    integrations: Mutex<HashMap<OrgId, Integration>>,
    sessions: Mutex<HashMap<String, Session>>,
    open_buy_tokens: Mutex<HashMap<String, OpenBuyToken>>,
    products: Mutex<HashMap<String, Product>>,
    orders: Mutex<HashMap<String, OrderRecord>>,
    /// Orders by the credential they came with and payloadID ([`OrderPlan::sender`]).
    sent: Mutex<HashMap<String, OrderRecord>>,
    /// Calls of [`Orders::prefetch`], for tests that check the order's first read.
    pub prefetches: std::sync::atomic::AtomicUsize,
    /// Calls of [`Sessions::visit`], for tests that check a page's first read.
    pub visits: std::sync::atomic::AtomicUsize,
    organizations: Mutex<HashMap<OrgId, Organization>>,
    quotes: Mutex<HashMap<QuoteId, Quote>>,
    agreements: Mutex<HashMap<AgreementId, Agreement>>,
    /// Charge ID -> (job, status).
    pub charges: Mutex<HashMap<ChargeId, (InvoiceJob, ChargeStatus)>>,
    /// Charge ID -> what became of its invoice.
    pub charge_outcomes: Mutex<HashMap<ChargeId, ChargeOutcome>>,
    /// Charge ID -> (requeue time, times handed to the queue), from its first queueing.
    pub charge_queueings: Mutex<HashMap<ChargeId, (OffsetDateTime, u32)>>,
    /// Confirmation ID -> (confirmation, status, outcome).
    pub confirmations: Mutex<ConfirmationRows>,
    /// Confirmation ID -> (requeue time, times handed to the queue), from its first queueing.
    pub confirmation_queueings: Mutex<HashMap<ConfirmationId, (OffsetDateTime, u32)>>,
    pub outbox: Mutex<Vec<OutboxEmail>>,
    /// Email ID -> attempts so far.
    outbox_attempts: Mutex<HashMap<String, u32>>,
    /// Emails set aside as failed, with the reason.
    pub failed_emails: Mutex<Vec<(OutboxEmail, String)>>,
    /// What a sender holds (`email:<id>`, `charge:<id>`) -> until when.
    claims: Mutex<HashMap<String, OffsetDateTime>>,
    /// A quote another writer (the expiry check, a second PO) stores between an order's reads
    /// and its transaction: the next `Orders::place` writes it first, then runs.
    pub quote_written_before_next_place: Mutex<Option<Quote>>,
    /// When set, listing the pending quotes fails (a DynamoDB outage on that query).
    pub failing_quote_listing: std::sync::atomic::AtomicBool,
    /// The message log, in the order written.
    pub messages: Mutex<Vec<LoggedMessage>>,
    /// When set, every message log write fails (a DynamoDB outage or throttling).
    pub failing_message_log: std::sync::atomic::AtomicBool,
}

/// One page of `rows` (sorted by key) after `cursor`, the way a DynamoDB query pages:
/// `next` is the last key returned when more rows follow.
fn page_of<T>(mut rows: Vec<(String, T)>, limit: usize, cursor: Option<String>) -> Page<T> {
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rest: Vec<(String, T)> = rows
        .into_iter()
        .filter(|(key, _)| cursor.as_ref().is_none_or(|c| key > c))
        .collect();
    let limit = limit.max(1);
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more {
        rest.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    Page {
        items: rest.into_iter().map(|(_, item)| item).collect(),
        next,
    }
}

/// The key an order record is unique under: the original per orderID, each change per payloadID.
fn order_key(record: &OrderRecord, slot: &OrderSlot) -> String {
    match slot {
        OrderSlot::Original | OrderSlot::Replacing(_) => {
            format!("{}#{}", record.org_id, record.order_id)
        }
        OrderSlot::Change => format!(
            "{}#{}#{}#{}",
            record.org_id,
            record.order_id,
            record.order_type.as_str(),
            record.payload_id
        ),
    }
}

/// The key of an order by the credential it came with and its payloadID, as the adapter's
/// (`BUYER#<domain lc>#<identity>` / `PAYLOAD#<payloadID>`).
fn sent_key(credential: &cxml::CredentialId, payload_id: &str) -> String {
    format!(
        "{}#{}#{payload_id}",
        credential.domain.trim().to_ascii_lowercase(),
        credential.identity.trim()
    )
}

/// DynamoDB refuses a partition key over 2048 bytes or a sort key over 1024 bytes with a
/// `ValidationException` ("Service, account, and table quotas in Amazon DynamoDB"), which the
/// adapter reports as unavailable storage: the fake does the same for the keys the adapter
/// builds (`procurement-aws/src/dynamo`), so a test sees what an overlong ID would cost.
fn dynamo_key(partition: String, sort: &str) -> Result<(), StoreError> {
    if partition.len() > 2048 || sort.len() > 1024 {
        return Err(StoreError::Unavailable(format!(
            "ValidationException: a key of {} / {} bytes is over DynamoDB's limit (simulated)",
            partition.len(),
            sort.len()
        )));
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemoryStore {
    /// Takes `key` until `until` unless a claim on it is held at `now`.
    fn take_claim(&self, key: String, now: OffsetDateTime, until: OffsetDateTime) -> bool {
        let mut claims = lock(&self.claims);
        if claims.get(&key).is_some_and(|held| *held >= now) {
            return false;
        }
        claims.insert(key, until);
        true
    }

    fn give_back(&self, key: &str, until: OffsetDateTime) {
        let mut claims = lock(&self.claims);
        if claims.get(key) == Some(&until) {
            claims.remove(key);
        }
    }

    /// How many quotes are stored (tests check that a refused or unchanged request stored none).
    pub fn quote_count(&self) -> usize {
        lock(&self.quotes).len()
    }

    /// How many agreements are stored.
    pub fn agreement_count(&self) -> usize {
        lock(&self.agreements).len()
    }
}

#[async_trait]
impl Integrations for MemoryStore {
    async fn put(&self, integration: &Integration) -> Result<(), StoreError> {
        lock(&self.integrations).insert(integration.org_id.clone(), integration.clone());
        Ok(())
    }

    async fn replace(
        &self,
        integration: &Integration,
        previous: Option<&Integration>,
    ) -> Result<IntegrationWrite, StoreError> {
        let mut integrations = lock(&self.integrations);
        let stored = integrations.get(&integration.org_id).map(|i| i.updated_at);
        if stored != previous.map(|p| p.updated_at) {
            return Ok(IntegrationWrite::Stale);
        }
        let wanted = integration.settings.buyer_credentials();
        let taken = integrations.values().any(|other| {
            other.org_id != integration.org_id
                && other.settings.buyer_credentials().iter().any(|(held, _)| {
                    wanted.iter().any(|(w, _)| {
                        held.domain.eq_ignore_ascii_case(&w.domain) && held.identity == w.identity
                    })
                })
        });
        if taken {
            return Ok(IntegrationWrite::CredentialTaken);
        }
        integrations.insert(integration.org_id.clone(), integration.clone());
        Ok(IntegrationWrite::Written)
    }

    async fn get(&self, org_id: &OrgId) -> Result<Option<Integration>, StoreError> {
        Ok(lock(&self.integrations).get(org_id).cloned())
    }

    async fn find_by_buyer(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError> {
        dynamo_key(format!("BUYER#{domain}#{identity}"), "CREDENTIAL")?;
        Ok(lock(&self.integrations)
            .values()
            .find(|i| i.settings.instance_of(domain, identity).is_some())
            .cloned())
    }
}

#[async_trait]
impl Organizations for MemoryStore {
    async fn put(&self, org: &Organization) -> Result<(), StoreError> {
        lock(&self.organizations).insert(org.org_id.clone(), org.clone());
        Ok(())
    }

    async fn get(&self, org_id: &OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(lock(&self.organizations).get(org_id).cloned())
    }

    async fn find_by_account(&self, account_id: &str) -> Result<Option<Organization>, StoreError> {
        Ok(lock(&self.organizations)
            .values()
            .find(|o| {
                o.management_account_id == account_id
                    || o.member_account_ids.iter().any(|a| a == account_id)
            })
            .cloned())
    }
}

#[async_trait]
impl Sessions for MemoryStore {
    async fn put(&self, session: &Session) -> Result<(), StoreError> {
        lock(&self.sessions).insert(session.token_digest.clone(), session.clone());
        Ok(())
    }

    async fn get(&self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        Ok(lock(&self.sessions).get(token_digest).cloned())
    }

    async fn visit(&self, reads: &VisitReads) -> Result<VisitRecords, StoreError> {
        self.visits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        dynamo_key(format!("ORG#{}", reads.org_id), "INTEGRATION")?;
        let mut found = VisitRecords {
            session: Sessions::get(self, &reads.token_digest).await?,
            integration: Integrations::get(self, &reads.org_id).await?,
            org: Organizations::get(self, &reads.org_id).await?,
            products: Vec::new(),
        };
        for product_id in &reads.product_ids {
            found
                .products
                .push((product_id.clone(), self.get_product(product_id).await?));
        }
        Ok(found)
    }
}

#[async_trait]
impl OpenBuyTokens for MemoryStore {
    async fn put(&self, token: &OpenBuyToken) -> Result<(), StoreError> {
        lock(&self.open_buy_tokens).insert(token.token_digest.clone(), token.clone());
        Ok(())
    }

    async fn get(&self, token_digest: &str) -> Result<Option<OpenBuyToken>, StoreError> {
        Ok(lock(&self.open_buy_tokens).get(token_digest).cloned())
    }
}

#[async_trait]
impl Catalog for MemoryStore {
    async fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        lock(&self.products).insert(product.id.clone(), product.clone());
        Ok(())
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, StoreError> {
        dynamo_key(format!("PRODUCT#{id}"), "PRODUCT")?;
        Ok(lock(&self.products).get(id).cloned())
    }

    async fn list_products(&self) -> Result<Vec<Product>, StoreError> {
        let mut all: Vec<Product> = lock(&self.products).values().cloned().collect();
        all.sort_by(|a, b| a.title.cmp(&b.title));
        Ok(all)
    }
}

#[async_trait]
impl Quotes for MemoryStore {
    async fn create(&self, quote: &Quote) -> Result<(), StoreError> {
        dynamo_key(format!("QUOTE#{}", quote.quote_id), "QUOTE")?;
        let mut quotes = lock(&self.quotes);
        if quotes.contains_key(&quote.quote_id) {
            return Err(StoreError::Conflict(format!(
                "quote {} exists",
                quote.quote_id
            )));
        }
        quotes.insert(quote.quote_id.clone(), quote.clone());
        Ok(())
    }

    async fn get(&self, quote_id: &QuoteId) -> Result<Option<Quote>, StoreError> {
        dynamo_key(format!("QUOTE#{quote_id}"), "QUOTE")?;
        Ok(lock(&self.quotes).get(quote_id).cloned())
    }

    async fn pending_offer_quotes(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Quote>, StoreError> {
        if self
            .failing_quote_listing
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::Unavailable(
                "the quote index is unavailable (simulated)".into(),
            ));
        }
        let rows = lock(&self.quotes)
            .values()
            .filter(|q| q.status == QuoteStatus::PendingApproval)
            .filter_map(|q| {
                let offer = q.private_offer.as_ref()?;
                let key = format!(
                    "{}#{}",
                    cxml::format_timestamp(offer.expires_at),
                    q.quote_id
                );
                Some((key, q.clone()))
            })
            .collect();
        Ok(page_of(rows, limit, cursor))
    }

    async fn expire(&self, quote: &Quote, email: Option<&OutboxEmail>) -> Result<bool, StoreError> {
        let mut quotes = lock(&self.quotes);
        let current = quotes.get(&quote.quote_id).map(|q| q.status);
        if current != Some(QuoteStatus::PendingApproval) {
            return Ok(false);
        }
        let mut expired = quote.clone();
        expired.status = QuoteStatus::Expired;
        quotes.insert(quote.quote_id.clone(), expired);
        if let Some(email) = email {
            let mut outbox = lock(&self.outbox);
            outbox.retain(|e| e.email_id != email.email_id);
            outbox.push(email.clone());
        }
        Ok(true)
    }

    async fn awaiting_agreement(
        &self,
        before: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Quote>, StoreError> {
        let rows = lock(&self.quotes)
            .values()
            .filter(|q| q.awaits_agreement() && q.created_at < before)
            .map(|q| {
                let key = format!("{}#{}", cxml::format_timestamp(q.created_at), q.quote_id);
                (key, q.clone())
            })
            .collect();
        Ok(page_of(rows, limit, cursor))
    }

    async fn subscribe(&self, quote: &Quote, agreement: &Agreement) -> Result<bool, StoreError> {
        let mut quotes = lock(&self.quotes);
        let Some(stored) = quotes.get_mut(&quote.quote_id) else {
            return Ok(false);
        };
        if !stored.awaits_agreement() {
            return Ok(false);
        }
        let mut agreements = lock(&self.agreements);
        if !agreements.contains_key(&agreement.agreement_id) {
            agreements.insert(agreement.agreement_id.clone(), agreement.clone());
        }
        stored.agreement_id = Some(agreement.agreement_id.clone());
        Ok(true)
    }
}

#[async_trait]
impl Orders for MemoryStore {
    async fn place(&self, plan: &OrderPlan) -> Result<Recorded<OrderRecord>, StoreError> {
        if let Some(racing) = lock(&self.quote_written_before_next_place).take() {
            lock(&self.quotes).insert(racing.quote_id.clone(), racing);
        }
        let record = &plan.record;
        dynamo_key(
            format!("ORDER#{}#{}", record.org_id, record.order_id),
            &format!(
                "CHANGE#{}#{}",
                record.order_type.as_str(),
                record.payload_id
            ),
        )?;
        dynamo_key(
            format!("PAYLOAD#{}#{}", record.org_id, record.payload_id),
            "ORDER",
        )?;
        // One lock order (orders, then the rest) keeps the fake atomic like the transaction.
        let mut orders = lock(&self.orders);
        let key = order_key(&plan.record, &plan.slot);
        let by_payload = format!("payload#{}#{}", plan.record.org_id, plan.record.payload_id);
        if let Some(existing) = orders.get(&by_payload) {
            return Ok(Recorded::Existing(existing.clone()));
        }
        match (&plan.slot, orders.get(&key)) {
            (OrderSlot::Replacing(replaced), Some(current)) if current.payload_id == *replaced => {}
            (OrderSlot::Replacing(replaced), None) => {
                return Err(StoreError::Conflict(format!(
                    "order {}: the original {replaced} to replace is not there",
                    plan.record.order_id
                )));
            }
            (_, Some(existing)) => return Ok(Recorded::Existing(existing.clone())),
            (_, None) => {}
        }
        let mut quotes = lock(&self.quotes);
        for (quote, expected) in &plan.quotes {
            let current = quotes.get(&quote.quote_id).map(|q| q.status);
            if current != Some(*expected) {
                return Err(StoreError::Conflict(format!(
                    "quote {} is {:?}, expected {:?}",
                    quote.quote_id, current, expected
                )));
            }
        }
        let mut charges = lock(&self.charges);
        for id in &plan.cancelled_charges {
            let status = charges.get(id).map(|(_, s)| *s);
            if status != Some(ChargeStatus::Scheduled) {
                return Err(StoreError::Conflict(format!(
                    "charge {id} is {status:?}, expected scheduled"
                )));
            }
            // As the table's condition: not while a dispatcher's claim holds it.
            let now = OffsetDateTime::now_utc();
            if lock(&self.claims)
                .get(&format!("charge:{id}"))
                .is_some_and(|held| *held >= now)
            {
                return Err(StoreError::Conflict(format!(
                    "charge {id} is being invoiced"
                )));
            }
        }
        for (quote, _) in &plan.quotes {
            quotes.insert(quote.quote_id.clone(), quote.clone());
        }
        let mut agreements = lock(&self.agreements);
        for a in &plan.agreements {
            agreements.insert(a.agreement_id.clone(), a.clone());
        }
        for job in &plan.charges {
            // Handed to the queue by the placing request: queued once, as the transaction writes it.
            let handed = plan.handover.filter(|h| h.queues(job));
            let status = match handed {
                Some(h) => {
                    lock(&self.charge_queueings).insert(job.charge_id.clone(), (h.requeue_at, 1));
                    ChargeStatus::Queued
                }
                None => ChargeStatus::Scheduled,
            };
            charges.insert(job.charge_id.clone(), (job.clone(), status));
        }
        for id in &plan.cancelled_charges {
            if let Some(entry) = charges.get_mut(id) {
                entry.1 = ChargeStatus::Cancelled;
            }
        }
        lock(&self.outbox).extend(plan.outbox.iter().cloned());
        if let Some(h) = plan.handover {
            // Claimed by the placing request, its first attempt.
            for email in &plan.outbox {
                lock(&self.claims).insert(format!("email:{}", email.email_id), h.claimed_until);
                lock(&self.outbox_attempts).insert(email.email_id.clone(), 1);
            }
        }
        let mut confirmations = lock(&self.confirmations);
        for c in &plan.confirmations {
            let status = match plan.handover {
                Some(h) => {
                    lock(&self.confirmation_queueings)
                        .insert(c.confirmation_id.clone(), (h.requeue_at, 1));
                    ConfirmationStatus::Queued
                }
                None => ConfirmationStatus::Scheduled,
            };
            confirmations.insert(c.confirmation_id.clone(), (c.clone(), status, None));
        }
        if let Some(sender) = &plan.sender {
            lock(&self.sent).insert(
                sent_key(sender, &plan.record.payload_id),
                plan.record.clone(),
            );
        }
        orders.insert(key, plan.record.clone());
        orders.insert(by_payload, plan.record.clone());
        Ok(Recorded::Created)
    }

    async fn find(
        &self,
        org_id: &OrgId,
        order_id: &OrderId,
    ) -> Result<Option<OrderRecord>, StoreError> {
        dynamo_key(format!("ORDER#{org_id}#{order_id}"), "ORDER")?;
        Ok(lock(&self.orders)
            .get(&format!("{org_id}#{order_id}"))
            .cloned())
    }

    async fn find_by_payload(
        &self,
        org_id: &OrgId,
        payload_id: &str,
    ) -> Result<Option<OrderRecord>, StoreError> {
        dynamo_key(format!("PAYLOAD#{org_id}#{payload_id}"), "ORDER")?;
        Ok(lock(&self.orders)
            .get(&format!("payload#{org_id}#{payload_id}"))
            .cloned())
    }

    async fn get_agreement(
        &self,
        agreement_id: &AgreementId,
    ) -> Result<Option<Agreement>, StoreError> {
        Ok(lock(&self.agreements).get(agreement_id).cloned())
    }

    async fn prefetch(&self, reads: &OrderReads) -> Result<OrderPrefetch, StoreError> {
        self.prefetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut found = OrderPrefetch::default();
        for credential in &reads.credentials {
            let integration = self
                .find_by_buyer(&credential.domain, &credential.identity)
                .await?;
            found.buyers.push((credential.clone(), integration));
            dynamo_key(
                format!("BUYER#{}#{}", credential.domain, credential.identity),
                &format!("PAYLOAD#{}", reads.payload_id),
            )?;
            if let Some(record) = lock(&self.sent)
                .get(&sent_key(credential, &reads.payload_id))
                .cloned()
            {
                found.sent.push((credential.clone(), record));
            }
        }
        for quote_id in &reads.quote_ids {
            found
                .quotes
                .push((quote_id.clone(), Quotes::get(self, quote_id).await?));
        }
        for product_id in &reads.product_ids {
            found
                .products
                .push((product_id.clone(), self.get_product(product_id).await?));
        }
        Ok(found)
    }
}

#[async_trait]
impl Charges for MemoryStore {
    async fn mark_queued(
        &self,
        charge_id: &ChargeId,
        requeue_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut charges = lock(&self.charges);
        match charges.get_mut(charge_id) {
            Some(entry) if matches!(entry.1, ChargeStatus::Scheduled | ChargeStatus::Queued) => {
                entry.1 = ChargeStatus::Queued;
                let mut queueings = lock(&self.charge_queueings);
                let (at, count) = queueings
                    .entry(charge_id.clone())
                    .or_insert((requeue_at, 0));
                *at = requeue_at;
                *count += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn stale_queued(
        &self,
        now: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Stale<InvoiceJob>>, StoreError> {
        let queueings = lock(&self.charge_queueings);
        let rows = lock(&self.charges)
            .values()
            .filter(|(_, status)| *status == ChargeStatus::Queued)
            .filter_map(|(job, _)| {
                let (requeue_at, queueings) = *queueings.get(&job.charge_id)?;
                (requeue_at <= now).then(|| {
                    let key = format!("{}#{}", cxml::format_timestamp(requeue_at), job.charge_id);
                    let stale = Stale {
                        job: job.clone(),
                        queueings,
                    };
                    (key, stale)
                })
            })
            .collect();
        Ok(page_of(rows, limit, cursor))
    }

    async fn status(&self, charge_id: &ChargeId) -> Result<Option<ChargeStatus>, StoreError> {
        Ok(lock(&self.charges).get(charge_id).map(|(_, s)| *s))
    }

    async fn due(
        &self,
        now: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<InvoiceJob>, StoreError> {
        let rows = lock(&self.charges)
            .values()
            .filter(|(job, status)| *status == ChargeStatus::Scheduled && job.due <= now)
            .map(|(job, _)| {
                let key = format!("{}#{}", cxml::format_timestamp(job.due), job.charge_id);
                (key, job.clone())
            })
            .collect();
        Ok(page_of(rows, limit, cursor))
    }

    async fn record_outcome(
        &self,
        charge_id: &ChargeId,
        outcome: &ChargeOutcome,
    ) -> Result<bool, StoreError> {
        let mut charges = lock(&self.charges);
        match charges.get_mut(charge_id) {
            Some(entry) if !entry.1.is_final() => {
                entry.1 = outcome.status;
                lock(&self.charge_outcomes).insert(charge_id.clone(), outcome.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn outcome(&self, charge_id: &ChargeId) -> Result<Option<ChargeOutcome>, StoreError> {
        Ok(lock(&self.charge_outcomes).get(charge_id).cloned())
    }

    async fn get(
        &self,
        charge_id: &ChargeId,
    ) -> Result<Option<(InvoiceJob, ChargeStatus)>, StoreError> {
        Ok(lock(&self.charges).get(charge_id).cloned())
    }

    async fn reschedule(&self, job: &InvoiceJob) -> Result<bool, StoreError> {
        let mut charges = lock(&self.charges);
        match charges.get_mut(&job.charge_id) {
            Some((_, status)) if !status.is_final() => {
                *status = ChargeStatus::Scheduled;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn hand_back(&self, job: &InvoiceJob) -> Result<bool, StoreError> {
        let mut charges = lock(&self.charges);
        let mut queueings = lock(&self.charge_queueings);
        match charges.get_mut(&job.charge_id) {
            Some((_, status))
                if *status == ChargeStatus::Queued
                    && queueings.get(&job.charge_id).map(|(_, n)| *n) == Some(1) =>
            {
                *status = ChargeStatus::Scheduled;
                queueings.remove(&job.charge_id);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn claim(
        &self,
        charge_id: &ChargeId,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let claimable = lock(&self.charges)
            .get(charge_id)
            .is_some_and(|(_, status)| !status.is_final());
        Ok(claimable && self.take_claim(format!("charge:{charge_id}"), now, until))
    }

    async fn release(&self, charge_id: &ChargeId, until: OffsetDateTime) -> Result<(), StoreError> {
        self.give_back(&format!("charge:{charge_id}"), until);
        Ok(())
    }
}

#[async_trait]
impl Confirmations for MemoryStore {
    async fn get(
        &self,
        id: &ConfirmationId,
    ) -> Result<Option<(Confirmation, ConfirmationStatus)>, StoreError> {
        Ok(lock(&self.confirmations)
            .get(id)
            .map(|(c, status, _)| (c.clone(), *status)))
    }

    async fn mark_queued(
        &self,
        id: &ConfirmationId,
        requeue_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut confirmations = lock(&self.confirmations);
        match confirmations.get_mut(id) {
            Some(entry)
                if matches!(
                    entry.1,
                    ConfirmationStatus::Scheduled | ConfirmationStatus::Queued
                ) =>
            {
                entry.1 = ConfirmationStatus::Queued;
                let mut queueings = lock(&self.confirmation_queueings);
                let (at, count) = queueings.entry(id.clone()).or_insert((requeue_at, 0));
                *at = requeue_at;
                *count += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn stale_queued(
        &self,
        now: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Stale<Confirmation>>, StoreError> {
        let queueings = lock(&self.confirmation_queueings);
        let rows = lock(&self.confirmations)
            .values()
            .filter(|(_, status, _)| *status == ConfirmationStatus::Queued)
            .filter_map(|(c, _, _)| {
                let (requeue_at, queueings) = *queueings.get(&c.confirmation_id)?;
                (requeue_at <= now).then(|| {
                    let key = format!(
                        "{}#{}",
                        cxml::format_timestamp(requeue_at),
                        c.confirmation_id
                    );
                    let stale = Stale {
                        job: c.clone(),
                        queueings,
                    };
                    (key, stale)
                })
            })
            .collect();
        Ok(page_of(rows, limit, cursor))
    }

    async fn unqueued(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Confirmation>, StoreError> {
        let rows = lock(&self.confirmations)
            .values()
            .filter(|(_, status, _)| *status == ConfirmationStatus::Scheduled)
            .map(|(c, _, _)| {
                let key = format!(
                    "{}#{}",
                    cxml::format_timestamp(c.created_at),
                    c.confirmation_id
                );
                (key, c.clone())
            })
            .collect();
        Ok(page_of(rows, limit, cursor))
    }

    async fn record_outcome(
        &self,
        id: &ConfirmationId,
        outcome: &ConfirmationOutcome,
    ) -> Result<bool, StoreError> {
        let mut confirmations = lock(&self.confirmations);
        match confirmations.get_mut(id) {
            Some(entry) if !entry.1.is_final() => {
                entry.1 = outcome.status;
                entry.2 = Some(outcome.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn outcome(
        &self,
        id: &ConfirmationId,
    ) -> Result<Option<ConfirmationOutcome>, StoreError> {
        Ok(lock(&self.confirmations)
            .get(id)
            .and_then(|(_, _, outcome)| outcome.clone()))
    }

    async fn claim(
        &self,
        id: &ConfirmationId,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let claimable = lock(&self.confirmations)
            .get(id)
            .is_some_and(|(_, status, _)| !status.is_final());
        Ok(claimable && self.take_claim(format!("confirmation:{id}"), now, until))
    }

    async fn release(&self, id: &ConfirmationId, until: OffsetDateTime) -> Result<(), StoreError> {
        self.give_back(&format!("confirmation:{id}"), until);
        Ok(())
    }

    async fn hand_back(&self, confirmation: &Confirmation) -> Result<bool, StoreError> {
        let id = &confirmation.confirmation_id;
        let mut confirmations = lock(&self.confirmations);
        let mut queueings = lock(&self.confirmation_queueings);
        match confirmations.get_mut(id) {
            Some(entry)
                if entry.1 == ConfirmationStatus::Queued
                    && queueings.get(id).map(|(_, n)| *n) == Some(1) =>
            {
                entry.1 = ConfirmationStatus::Scheduled;
                queueings.remove(id);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// The supplier's Ariba Network account as a test sets it; rereading returns what is set now.
#[derive(Default)]
pub struct StaticAribaNetwork {
    account: Mutex<Option<AribaNetwork>>,
    /// How often the account was read again.
    pub rereads: std::sync::atomic::AtomicUsize,
}

impl StaticAribaNetwork {
    pub fn set(&self, account: Option<AribaNetwork>) {
        *lock(&self.account) = account;
    }
}

#[async_trait]
impl AribaNetworkAccount for StaticAribaNetwork {
    async fn current(&self) -> Result<Option<AribaNetwork>, StoreError> {
        Ok(lock(&self.account).clone())
    }

    async fn reread(&self) -> Result<Option<AribaNetwork>, StoreError> {
        self.rereads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(lock(&self.account).clone())
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn pending(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<OutboxEmail>, StoreError> {
        let rows = lock(&self.outbox)
            .iter()
            .map(|e| {
                let key = format!("{}#{}", cxml::format_timestamp(e.created_at), e.email_id);
                (key, e.clone())
            })
            .collect();
        Ok(page_of(rows, limit, cursor))
    }

    async fn claim(
        &self,
        email_id: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let claimable = lock(&self.outbox).iter().any(|e| e.email_id == email_id);
        if !(claimable && self.take_claim(format!("email:{email_id}"), now, until)) {
            return Ok(None);
        }
        let mut attempts = lock(&self.outbox_attempts);
        let attempt = attempts.entry(email_id.to_string()).or_insert(0);
        *attempt += 1;
        Ok(Some(*attempt))
    }

    async fn release(&self, email_id: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        self.give_back(&format!("email:{email_id}"), until);
        Ok(())
    }

    async fn sent(&self, email_id: &str) -> Result<(), StoreError> {
        lock(&self.outbox).retain(|e| e.email_id != email_id);
        Ok(())
    }

    async fn failed(
        &self,
        email_id: &str,
        reason: &str,
        _at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut outbox = lock(&self.outbox);
        if let Some(i) = outbox.iter().position(|e| e.email_id == email_id) {
            let email = outbox.remove(i);
            lock(&self.failed_emails).push((email, reason.to_string()));
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<Email>>,
    /// When set, every send fails (an SES outage).
    pub failing: std::sync::atomic::AtomicBool,
    /// Recipients SES refuses for good (as the sandbox refuses unverified recipients).
    pub refused: Mutex<Vec<String>>,
    /// Every address a send was attempted to, in order.
    pub attempted: Mutex<Vec<String>>,
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        lock(&self.attempted).push(email.to.clone());
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(MailError::Unavailable(
                "SES is unavailable (simulated)".into(),
            ));
        }
        if lock(&self.refused).contains(&email.to) {
            return Err(MailError::Refused(
                "Email address is not verified (simulated sandbox)".into(),
            ));
        }
        lock(&self.sent).push(email.clone());
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryQueue {
    pub jobs: Mutex<Vec<InvoiceJob>>,
    pub confirmations: Mutex<Vec<ConfirmationId>>,
    pub subscriptions: Mutex<Vec<QuoteId>>,
    /// When set, every invoice job fails to queue (an SQS outage).
    pub failing: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn enqueue_invoice(&self, job: &InvoiceJob) -> Result<(), String> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("SQS is unavailable (simulated)".into());
        }
        lock(&self.jobs).push(job.clone());
        Ok(())
    }

    async fn enqueue_confirmation(&self, id: &ConfirmationId) -> Result<(), String> {
        lock(&self.confirmations).push(id.clone());
        Ok(())
    }

    async fn enqueue_subscription(&self, quote_id: &QuoteId) -> Result<(), String> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("SQS is unavailable (simulated)".into());
        }
        lock(&self.subscriptions).push(quote_id.clone());
        Ok(())
    }
}

/// One POST the fake invoice endpoint received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedInvoice {
    pub url: String,
    pub body: String,
    pub timeout: Duration,
}

type SendResult = Result<(u16, String), SendError>;

/// A buyer's invoice URL: records every POST and answers from a script, then with the
/// default answer (a cXML 200 OK unless changed with [`ScriptedInvoiceSender::always`]).
pub struct ScriptedInvoiceSender {
    pub posted: Mutex<Vec<PostedInvoice>>,
    script: Mutex<VecDeque<SendResult>>,
    default: Mutex<SendResult>,
}

impl Default for ScriptedInvoiceSender {
    fn default() -> Self {
        Self {
            posted: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Ok(Self::cxml_answer(200, 200, "OK"))),
        }
    }
}

impl ScriptedInvoiceSender {
    /// Answers the next POST (not yet answered by earlier scripted answers) with `answer`.
    pub fn then(&self, answer: SendResult) {
        lock(&self.script).push_back(answer);
    }

    /// Answers every POST after the scripted ones with `answer`.
    pub fn always(&self, answer: SendResult) {
        *lock(&self.default) = answer;
    }

    /// An HTTP status with a cXML Response carrying `code` and `text`, as a buyer answers.
    pub fn cxml_answer(http: u16, code: u16, text: &str) -> (u16, String) {
        let doc = cxml::Cxml::response("buyer.example", cxml::Status::new(code, text), None);
        (http, cxml::to_xml(&doc))
    }

    pub fn posts(&self) -> Vec<PostedInvoice> {
        lock(&self.posted).clone()
    }
}

#[async_trait]
impl InvoiceSender for ScriptedInvoiceSender {
    async fn post(&self, url: &str, body: String, timeout: Duration) -> SendResult {
        lock(&self.posted).push(PostedInvoice {
            url: url.to_string(),
            body,
            timeout,
        });
        let scripted = lock(&self.script).pop_front();
        scripted.unwrap_or_else(|| lock(&self.default).clone())
    }
}

#[async_trait]
impl MessageLog for MemoryStore {
    async fn record(&self, message: &LoggedMessage) -> Result<(), StoreError> {
        if self
            .failing_message_log
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::Unavailable(
                "message log write throttled".into(),
            ));
        }
        lock(&self.messages).push(message.clone());
        Ok(())
    }

    async fn list(
        &self,
        org_id: &OrgId,
        since: OffsetDateTime,
        limit: usize,
        before: Option<&Position>,
    ) -> Result<Page<LoggedMessage>, StoreError> {
        let mut rows: Vec<(Position, LoggedMessage)> = lock(&self.messages)
            .iter()
            .filter(|m| &m.org_id == org_id && m.at >= since)
            .map(|m| (Position::of(m), m.clone()))
            .filter(|(p, _)| before.is_none_or(|b| p < b))
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0));
        let limit = limit.max(1);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = more
            .then(|| rows.last().map(|(p, _)| p.as_str().to_string()))
            .flatten();
        Ok(Page {
            items: rows.into_iter().map(|(_, m)| m).collect(),
            next,
        })
    }
}

/// Deps wired to fresh in-memory fakes, with handles to inspect them.
pub struct FakeWorld {
    pub deps: Deps,
    pub store: Arc<MemoryStore>,
    pub ariba_network: Arc<StaticAribaNetwork>,
    pub mailer: Arc<MemoryMailer>,
    pub queue: Arc<MemoryQueue>,
    pub invoice_sender: Arc<ScriptedInvoiceSender>,
}

impl FakeWorld {
    pub fn new(config: Config) -> Self {
        let store = Arc::new(MemoryStore::default());
        let ariba_network = Arc::new(StaticAribaNetwork::default());
        let mailer = Arc::new(MemoryMailer::default());
        let queue = Arc::new(MemoryQueue::default());
        let invoice_sender = Arc::new(ScriptedInvoiceSender::default());
        let deps = Deps::new(
            config,
            store.clone(),
            ariba_network.clone(),
            mailer.clone(),
            queue.clone(),
            invoice_sender.clone(),
        );
        Self {
            deps,
            store,
            ariba_network,
            mailer,
            queue,
            invoice_sender,
        }
    }
}

impl FakeWorld {
    /// The demo world with the Coupa buyer out of test mode, as after their testing:
    /// orders make agreements and invoices.
    pub async fn demo_live() -> Self {
        let world = Self::demo().await;
        world
            .change_integration(crate::demo::COUPA_ORG, |i| i.settings.test_mode = false)
            .await;
        world
    }

    /// Changes a stored integration in place (as an administrator's PUT would, unconditionally).
    pub async fn change_integration(&self, org_id: &str, change: impl FnOnce(&mut Integration)) {
        let org_id = OrgId::from(org_id);
        let mut integration = Integrations::get(self.store.as_ref(), &org_id)
            .await
            .ok()
            .flatten()
            .expect("no such integration in the fake world");
        change(&mut integration);
        Integrations::put(self.store.as_ref(), &integration)
            .await
            .expect("the in-memory store never fails");
    }

    /// Runs the queued subscription jobs as invoice-dispatch would, each once; the outcomes.
    pub async fn run_subscription_jobs(&self) -> Vec<crate::delivery::JobOutcome> {
        let queued: Vec<QuoteId> = std::mem::take(&mut *lock(&self.queue.subscriptions));
        let mut outcomes = Vec::new();
        for quote_id in queued {
            outcomes.push(crate::quotes::write_agreement(&self.deps, &quote_id).await);
        }
        outcomes
    }

    /// A world holding the demo catalog and integrations, as `make run` seeds them.
    pub async fn demo() -> Self {
        let world = Self::new(Config::example());
        crate::demo::seed(world.store.as_ref(), time::OffsetDateTime::now_utc())
            .await
            .expect("the in-memory store never fails");
        world.ariba_network.set(Some(crate::demo::ariba_network()));
        world
    }
}
