//! Purchase orders: from a cXML OrderRequest to the subscription, exactly once.
//!
//! Everything an order changes (the order record, its payloadID, the quotes, the agreements,
//! the subscriber's email and the invoice charges) is planned first and written in one
//! transaction keyed by orderID and payloadID ([`Store::place_order`]). A duplicate, also one
//! arriving at the same moment, finds the keys taken and gets the first answer again.
//! Side effects that reach outside (SES, SQS) happen after the commit, which records them as
//! taken on by this request ([`Handover`]); what fails there is retried from the table (outbox
//! emails, scheduled charges), so a failure never loses anything. Before, one read
//! ([`crate::ports::Orders::prefetch`]) gets what the document names.

use cxml::{Body, ItemOut, OrderRequest, OrderType, Rejection, RequestPayload};
use time::OffsetDateTime;

use crate::auth::authenticate_known;
use crate::confirmations;
use crate::emails;
use crate::ids::{AgreementId, ChargeId, OrderId, OrgId, QuoteId};
use crate::message_log::{self, Exchange};
use crate::model::{
    Agreement, AgreementStatus, ChargeKind, ChargeLine, ChargeStatus, Integration, InvoiceJob,
    OrderRecord, Pricing, ProcurementSystem, Product, Quote, QuoteLine, QuoteStatus,
};
use crate::offers::offer_lapsed;
use crate::outbox;
use crate::ports::{
    Deps, Handover, OrderPlan, OrderPrefetch, OrderReads, OrderSlot, Recorded, StoreError,
};
use crate::refusal::Refusal;

/// The answer to an order (a cXML status and text), kept with it so a duplicate hears the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub code: u16,
    pub text: String,
}

impl Answer {
    fn of(record: &OrderRecord) -> Self {
        Self {
            code: record.answer_code,
            text: record.answer_text.clone(),
        }
    }
}

/// Handles a POSTed cXML OrderRequest: the answer to send back (a duplicate gets the first
/// order's answer again), or why the order was refused before anything was recorded. An
/// order that authenticated is logged with the answer ([`message_log`]); a log write that
/// fails changes nothing of it.
pub async fn receive(deps: &Deps, body: &[u8]) -> Result<Answer, Refusal> {
    let received = OffsetDateTime::now_utc();
    let mut exchange = None;
    let outcome = answer_order(deps, body, &mut exchange).await;
    let status = match &outcome {
        Ok(answer) => (answer.code, answer.text.clone()),
        Err(refusal) => message_log::answer_status(refusal),
    };
    message_log::record_inbound(deps, exchange, received, body, status).await;
    outcome
}

/// The answer to an OrderRequest; `exchange` is set once the sender authenticated.
async fn answer_order(
    deps: &Deps,
    body: &[u8],
    exchange: &mut Option<Exchange>,
) -> Result<Answer, Refusal> {
    let doc = cxml::parse(body)?;
    crate::limits::check(&doc)?;
    tracing::Span::current().record("payload_id", doc.payload_id.as_str());
    let (Some(header), Body::Request(request)) = (&doc.header, &doc.body) else {
        return Err(Rejection::bad_request(format!(
            "expected a cXML OrderRequest, got {}",
            doc.message_type()
        ))
        .into());
    };
    let RequestPayload::Order(order) = &request.payload else {
        return Err(Rejection::not_implemented(format!(
            "{} is not accepted at the order URL; it takes OrderRequest only",
            doc.message_type()
        ))
        .into());
    };
    // One read of what the document names (the store cannot know the organisation before):
    // the sender's integration, the order it sent with this payloadID, the lines' quotes and
    // products. A larger order's quotes and products are read once the sender is known.
    let mut wanted = order_reads(header, &doc.payload_id, order);
    let lines_later =
        wanted.credentials.len() * 2 + wanted.quote_ids.len() + wanted.product_ids.len()
            > PREFETCHED_BEFORE_AUTHENTICATION;
    let lines = lines_later.then(|| OrderReads {
        quote_ids: std::mem::take(&mut wanted.quote_ids),
        product_ids: std::mem::take(&mut wanted.product_ids),
        ..OrderReads::default()
    });
    let mut prefetch = deps.orders.prefetch(&wanted).await?;
    let authenticated = authenticate_known(deps, header, &prefetch.buyers).await?;
    *exchange = Some(Exchange::inbound(&authenticated.integration.org_id, &doc));
    let test = authenticated.test(request.deployment_mode);
    let from = authenticated.from;
    let integration = authenticated.integration;
    let org_id = integration.org_id.as_str();
    let order_id = order.header.order_id.trim();
    if order_id.is_empty() {
        return Err(Rejection::bad_request(
            "OrderRequestHeader has an empty orderID: the PO number is required",
        )
        .into());
    }
    tracing::Span::current().record("order_id", order_id);
    // Fast path for duplicates (this sender's payloadID); the transaction below is what
    // guarantees it, also for one sent under another credential of the organisation.
    if let Some(earlier) = prefetch
        .sent_by(&from)
        .filter(|o| o.org_id == integration.org_id)
    {
        return Ok(duplicate(earlier));
    }
    if let Some(lines) = lines {
        let read = deps.orders.prefetch(&lines).await?;
        prefetch.quotes = read.quotes;
        prefetch.products = read.products;
    }
    let now = OffsetDateTime::now_utc();
    let received = OrderRecord {
        org_id: integration.org_id.clone(),
        order_id: OrderId::from(order_id),
        payload_id: doc.payload_id.clone(),
        order_type: order.header.order_type,
        test,
        lines: order.items.len(),
        total: order.header.total.clone(),
        received_at: now,
        answer_code: 200,
        answer_text: String::new(),
        quote_ids: Vec::new(),
        agreement_ids: Vec::new(),
    };
    let handover = Handover {
        now,
        requeue_at: now + deps.config.job_requeue_after,
        claimed_until: now + outbox::SEND_CLAIM,
    };
    // The first plan is made from the reads above, and takes a new order's orderID as not
    // recorded yet: the transaction's condition on the order's key checks it, and an original
    // found there is answered, or (refused or a test order) given way to by a plan made again.
    // The plan is made from reads; the transaction commits it only if the quotes and charges
    // are still as read. When they are not (the expiry check expired a quote, another PO took
    // it, an invoice claimed a charge), one fresh plan answers from what is there now, so the
    // buyer hears "expired, resend" or "already ordered", not a bare conflict.
    let mut reads = prefetch;
    let mut original: Option<Option<OrderRecord>> = Some(None);
    let mut replaced_once = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut record = received.clone();
        let planned = match order.header.order_type {
            OrderType::New => {
                let original = original.take();
                plan_new(
                    deps,
                    &reads,
                    &integration,
                    &from,
                    order,
                    &mut record,
                    now,
                    original,
                )
                .await
            }
            OrderType::Update => {
                plan_update(deps, &reads, &integration, &from, order, &mut record, now).await
            }
            OrderType::Delete => plan_delete(deps, order, &mut record).await,
        };
        let mut plan = match planned {
            Ok(plan) => plan,
            Err(refusal) => {
                // A duplicate racing this one may have committed since the lookups above, and
                // changed the quotes under the plan: then the answer is the duplicate's.
                if let Some(earlier) = find_duplicate(deps, &record).await? {
                    return Ok(duplicate(&earlier));
                }
                // An update planned as the order it stands for, while a racing copy of the
                // resend placed that order (so the quotes read as ordered): planned again,
                // as the change of the accepted order it now is.
                if matches!(refusal, Refusal::Rejected(_))
                    && record.order_type == OrderType::Update
                    && attempt < PLAN_ATTEMPTS
                    && deps
                        .orders
                        .find(&record.org_id, &record.order_id)
                        .await?
                        .is_some_and(|o| !gives_way(&o, &record))
                {
                    reads = OrderPrefetch::default();
                    continue;
                }
                return Err(refusal);
            }
        };
        plan.sender = Some(from.clone());
        plan.handover = Some(handover);
        match deps.orders.place(&plan).await {
            Ok(Recorded::Created) => {
                tracing::info!(
                    org_id,
                    order_id,
                    order_type = record.order_type.as_str(),
                    test,
                    code = record.answer_code,
                    agreements = record.agreement_ids.len(),
                    "order recorded"
                );
                hand_over(deps, &plan, &handover).await;
                return Ok(Answer::of(&plan.record));
            }
            // The orderID's original, refused or a test order: planned again in its place.
            Ok(Recorded::Existing(earlier))
                if !replaced_once
                    && earlier.payload_id != record.payload_id
                    && gives_way(&earlier, &record) =>
            {
                replaced_once = true;
                attempt -= 1;
                original = Some(Some(earlier));
            }
            Ok(Recorded::Existing(earlier)) => return Ok(duplicate(&earlier)),
            Err(StoreError::Conflict(reason)) if attempt < PLAN_ATTEMPTS => {
                tracing::info!(org_id, order_id, %reason, attempt, "order lost a race for its quotes or charges; planning again from fresh reads");
                reads = OrderPrefetch::default();
                original = None;
            }
            Err(StoreError::Conflict(reason)) => {
                tracing::info!(org_id, order_id, %reason, "order lost a race for its quotes or charges");
                return Err(Rejection::conflict(format!(
                    "order {order_id}: a quote or charge changed while the order was processed \
                     ({reason}); the quote may have been ordered under another PO, or its invoice \
                     is being sent"
                ))
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Most keys read before the sender is authenticated: the document's credentials (each with
/// what it sent under the payloadID) and, when they fit, its lines' quotes and products. One
/// request's worth (DynamoDB's BatchGetItem takes 100), a bound on what a document that does
/// not authenticate makes the store read.
const PREFETCHED_BEFORE_AUTHENTICATION: usize = 100;
/// Buyer credentials read before the authentication; a document naming more (none does) has
/// the others read by it one at a time.
const PREFETCHED_CREDENTIALS: usize = 10;

/// What an OrderRequest names by itself: see [`OrderReads`]. A delete names no quotes.
fn order_reads(header: &cxml::Header, payload_id: &str, order: &OrderRequest) -> OrderReads {
    let mut credentials = crate::auth::buyer_lookups(header);
    credentials.truncate(PREFETCHED_CREDENTIALS);
    let mut reads = OrderReads {
        credentials,
        payload_id: payload_id.to_string(),
        ..OrderReads::default()
    };
    if order.header.order_type == OrderType::Delete {
        return reads;
    }
    for item in &order.items {
        if let Some(quote_id) = item
            .item_id
            .supplier_part_auxiliary_id
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(QuoteId::from)
            && !reads.quote_ids.contains(&quote_id)
        {
            reads.quote_ids.push(quote_id);
        }
        let part = item.item_id.supplier_part_id.trim();
        if !part.is_empty() && !reads.product_ids.iter().any(|p| p == part) {
            reads.product_ids.push(part.to_string());
        }
    }
    reads
}

/// What the request that placed an order does right after the commit ([`Handover`]): sends
/// the emails it holds claimed, and hands the due charges and the confirmations to the queue.
/// One the queue refuses is handed back to the scheduled run; nothing is lost either way.
async fn hand_over(deps: &Deps, plan: &OrderPlan, handover: &Handover) {
    outbox::deliver_claimed(deps, &plan.outbox, handover.claimed_until).await;
    for job in plan.charges.iter().filter(|c| handover.queues(c)) {
        if let Err(e) = deps.queue.enqueue_invoice(job).await {
            tracing::warn!(charge_id = %job.charge_id, error = %e, "invoice job not queued; handed back to the scheduled run");
            if let Err(e) = deps.charges.hand_back(job).await {
                tracing::warn!(charge_id = %job.charge_id, error = %e, "not handed back; the scheduled run queues it at its requeue time");
            }
        }
    }
    for confirmation in &plan.confirmations {
        let id = &confirmation.confirmation_id;
        if let Err(e) = deps.queue.enqueue_confirmation(id).await {
            tracing::warn!(confirmation_id = %id, error = %e, "confirmation not queued; handed back to the scheduled run");
            if let Err(e) = deps.confirmations.hand_back(confirmation).await {
                tracing::warn!(confirmation_id = %id, error = %e, "not handed back; the scheduled run queues it at its requeue time");
            }
        }
    }
}

/// How many times an order is planned when the store reports that what the plan read has
/// changed: the second plan reads the new state, which nearly always answers the order.
const PLAN_ATTEMPTS: u32 = 2;

/// The order this one repeats: same payloadID (also a refused one: it hears the same
/// refusal again), or (for a new order) same orderID, unless that original gives way to it.
async fn find_duplicate(
    deps: &Deps,
    record: &OrderRecord,
) -> Result<Option<OrderRecord>, StoreError> {
    if let Some(earlier) = deps
        .orders
        .find_by_payload(&record.org_id, &record.payload_id)
        .await?
    {
        return Ok(Some(earlier));
    }
    if record.order_type == OrderType::New {
        let original = deps.orders.find(&record.org_id, &record.order_id).await?;
        return Ok(original.filter(|o| !gives_way(o, record)));
    }
    Ok(None)
}

/// Whether the original recorded for an orderID gives way to `incoming`, which is then
/// planned afresh as the order: an original that was refused (an expired offer is recorded,
/// so its payloadID hears the same again), or a test order while `incoming` is a production
/// order or an update (whose lines are then checked, not waved through). Coupa tells the buyer
/// to fix a PO refused with a 4xx and resend it, as `type="new"` or often `type="update"`
/// (COUNTERPARTIES.md; Compass "cXML Purchase Orders", "PO failed: 5xx or 4xx error response").
fn gives_way(original: &OrderRecord, incoming: &OrderRecord) -> bool {
    original.answer_code != 200
        || (original.test && (!incoming.test || incoming.order_type != OrderType::New))
}

/// Where a planned (type new, or an update standing for it) order is recorded: the
/// orderID's original, or in place of a refused or test original that gives way to it.
/// `original`: the original as the caller knows it (`Some(None)`: none, also taken as none
/// before the transaction finds one), else it is read here. The transaction's conditions on
/// the order's key make a stale read lose (the order is then planned again), so a read
/// reused is as safe as one made here.
async fn original_slot(
    deps: &Deps,
    record: &OrderRecord,
    original: Option<Option<OrderRecord>>,
) -> Result<OrderSlot, StoreError> {
    let original = match original {
        Some(read) => read,
        None => deps.orders.find(&record.org_id, &record.order_id).await?,
    };
    Ok(match original {
        Some(original) if gives_way(&original, record) => OrderSlot::Replacing(original.payload_id),
        _ => OrderSlot::Original,
    })
}

fn duplicate(earlier: &OrderRecord) -> Answer {
    tracing::info!(org_id = %earlier.org_id, order_id = %earlier.order_id, "duplicate order answered as before");
    Answer::of(earlier)
}

/// Which quote lines the PO lines are, grouped by quote in PO order.
struct Matched {
    quote: Quote,
    product: Option<Product>,
    /// (quote line number, PO line number) of each PO line matched to this quote.
    po_lines: Vec<(u32, u32)>,
}

fn line_number(item: &ItemOut, index: usize) -> String {
    item.line_number
        .map(|n| n.to_string())
        .unwrap_or_else(|| (index + 1).to_string())
}

/// Matches every PO line to a line of its quote: product, quantity, price and currency must
/// agree with what was approved. Errors name the line and the field.
async fn match_lines(
    deps: &Deps,
    reads: &OrderPrefetch,
    org_id: &OrgId,
    order: &OrderRequest,
) -> Result<Vec<Matched>, Refusal> {
    if order.items.is_empty() {
        return Err(Rejection::bad_request("the OrderRequest has no ItemOut lines").into());
    }
    let mut matched: Vec<Matched> = Vec::new();
    let mut used: Vec<(QuoteId, u32)> = Vec::new();
    for (index, item) in order.items.iter().enumerate() {
        let line = line_number(item, index);
        let Some(quote_id) = item
            .item_id
            .supplier_part_auxiliary_id
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
        else {
            return Err(Rejection::bad_request(format!(
                "line {line}: SupplierPartAuxiliaryID is missing; it must carry the quote ID from the cart"
            ))
            .into());
        };
        let quote_id = QuoteId::from(quote_id);
        let quote = match matched.iter().find(|m| m.quote.quote_id == quote_id) {
            Some(m) => m.quote.clone(),
            None => match read_quote(deps, reads, &quote_id).await? {
                Some(q) if q.org_id == *org_id => {
                    let product = match reads.product(&q.product_id) {
                        Some(read) => read,
                        None => deps.catalog.get_product(&q.product_id).await?,
                    };
                    matched.push(Matched {
                        quote: q.clone(),
                        product,
                        po_lines: Vec::new(),
                    });
                    q
                }
                _ => {
                    return Err(Rejection::bad_request(format!(
                        "line {line}: SupplierPartAuxiliaryID {quote_id} is not a quote of this marketplace for your organisation"
                    ))
                    .into());
                }
            },
        };
        let part = item.item_id.supplier_part_id.trim();
        if part != quote.product_id {
            return Err(Rejection::bad_request(format!(
                "line {line}: SupplierPartID {part} does not match quote {quote_id}, which is for product {}",
                quote.product_id
            )).into());
        }
        let Some(detail) = &item.detail else {
            return Err(Rejection::bad_request(format!(
                "line {line}: ItemDetail with UnitPrice is missing"
            ))
            .into());
        };
        let price = &detail.unit_price;
        let candidates: Vec<&QuoteLine> = quote
            .lines
            .iter()
            .filter(|l| !used.contains(&(quote.quote_id.clone(), l.line_number)))
            .collect();
        let quoted = candidates
            .iter()
            .find(|l| l.unit_price == *price)
            // Same amount in another currency: matched, so the currency check names it.
            .or_else(|| candidates.iter().find(|l| l.unit_price.amount == price.amount))
            .or_else(|| (candidates.len() == 1).then(|| &candidates[0]))
            .copied()
            .ok_or_else(|| {
                Rejection::bad_request(format!(
                    "line {line}: unit price {price} matches no line of quote {quote_id} (quoted: {})",
                    quote
                        .lines
                        .iter()
                        .map(|l| l.unit_price.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if price.currency != quoted.unit_price.currency {
            return Err(Rejection::bad_request(format!(
                "line {line}: currency {} does not match the quote's {}",
                price.currency, quoted.unit_price.currency
            ))
            .into());
        }
        if price.amount != quoted.unit_price.amount {
            return Err(Rejection::bad_request(format!(
                "line {line}: unit price {price} does not match the quoted {}",
                quoted.unit_price
            ))
            .into());
        }
        if item.quantity != quoted.quantity {
            return Err(Rejection::bad_request(format!(
                "line {line}: quantity {} does not match the quoted {}",
                item.quantity, quoted.quantity
            ))
            .into());
        }
        used.push((quote.quote_id.clone(), quoted.line_number));
        // Invoices quote the PO line they bill (InvoiceDetailItemReference@lineNumber).
        let po_line = item
            .line_number
            .unwrap_or_else(|| u32::try_from(index + 1).unwrap_or(u32::MAX));
        if let Some(m) = matched.iter_mut().find(|m| m.quote.quote_id == quote_id) {
            m.po_lines.push((quoted.line_number, po_line));
        }
    }
    // A quote is approved as a whole (one ItemIn per line went into the cart): a PO that
    // drops a line would subscribe, and invoice, what was not ordered.
    for m in &matched {
        if let Some(missing) = m
            .quote
            .lines
            .iter()
            .find(|l| !m.po_lines.iter().any(|(q, _)| *q == l.line_number))
        {
            return Err(Rejection::bad_request(format!(
                "quote {} line {} ({}) is not on this order: every line of an approved quote \
                 must be ordered with it; add the line and resend the PO",
                m.quote.quote_id, missing.line_number, missing.description
            ))
            .into());
        }
    }
    Ok(matched)
}

/// A quote as read with the order, else read now.
async fn read_quote(
    deps: &Deps,
    reads: &OrderPrefetch,
    quote_id: &QuoteId,
) -> Result<Option<Quote>, StoreError> {
    match reads.quote(quote_id) {
        Some(read) => Ok(read),
        None => deps.quotes.get(quote_id).await,
    }
}

#[allow(clippy::too_many_arguments)]
async fn plan_new(
    deps: &Deps,
    reads: &OrderPrefetch,
    integration: &Integration,
    from: &cxml::CredentialId,
    order: &OrderRequest,
    record: &mut OrderRecord,
    now: OffsetDateTime,
    original: Option<Option<OrderRecord>>,
) -> Result<OrderPlan, Refusal> {
    let matched = match_lines(deps, reads, &integration.org_id, order).await?;
    record.quote_ids = matched.iter().map(|m| m.quote.quote_id.clone()).collect();
    for m in &matched {
        let q = &m.quote;
        match q.status {
            QuoteStatus::PendingApproval => {}
            QuoteStatus::Ordered => {
                return Err(Rejection::conflict(format!(
                    "quote {} was already ordered under PO {}",
                    q.quote_id,
                    q.order_id.as_deref().unwrap_or("(unknown)")
                ))
                .into());
            }
            QuoteStatus::Subscribed => {
                return Err(Rejection::conflict(format!(
                    "quote {} was pre-approved and subscribed at once; it needs no purchase order",
                    q.quote_id
                ))
                .into());
            }
            QuoteStatus::Cancelled => {
                return Err(Rejection::conflict(format!(
                    "quote {} was cancelled; request approval again from the marketplace",
                    q.quote_id
                ))
                .into());
            }
            QuoteStatus::Expired => {
                return Err(Rejection::conflict(format!(
                    "Offer expired: the private offer of quote {} expired before this order arrived; \
                     no subscription was created. Resend the request for approval from the marketplace.",
                    q.quote_id
                )).into());
            }
        }
    }
    let mut plan = OrderPlan::record_only(record.clone());
    plan.slot = original_slot(deps, record, original).await?;

    // Lapsed private offers: nothing is subscribed; the quotes are marked expired, the
    // requesters told, and the answer says to resend.
    let lapsed: Vec<&Matched> = matched
        .iter()
        .filter(|m| offer_lapsed(&m.quote, m.product.as_ref(), now))
        .collect();
    if !lapsed.is_empty() {
        let mut names = Vec::new();
        for m in lapsed {
            let mut expired = m.quote.clone();
            expired.status = QuoteStatus::Expired;
            expired.order_id = Some(record.order_id.clone());
            plan.outbox
                .extend(emails::offer_expired(&expired, &deps.config));
            names.push(format!(
                "{} (offer {})",
                m.quote.product_title,
                m.quote
                    .private_offer
                    .as_ref()
                    .map(|o| o.offer_id.as_str())
                    .unwrap_or("-")
            ));
            plan.quotes.push((expired, QuoteStatus::PendingApproval));
        }
        record.answer_code = 409;
        record.answer_text = format!(
            "Offer expired: the private offer for {} expired or changed before this order arrived; \
             no subscription was created. Resend the request for approval from the marketplace.",
            names.join(", ")
        );
        plan.record = record.clone();
        return Ok(plan);
    }

    if record.test {
        record.answer_text = format!(
            "OK: test order {} received; test mode creates no subscription and sends no invoice",
            record.order_id
        );
        plan.record = record.clone();
        return Ok(plan);
    }

    let invoiced_by_coupa = integration.system() == ProcurementSystem::Coupa
        && integration.settings.invoice_url().is_some();
    for m in &matched {
        let quote = &m.quote;
        let agreement_id = AgreementId::for_quote(&quote.quote_id);
        let charges = if invoiced_by_coupa && !quote.never_invoiced {
            charges_for(
                record,
                &agreement_id,
                quote,
                m.product.as_ref(),
                &m.po_lines,
                now,
            )
        } else {
            Vec::new()
        };
        let agreement = Agreement {
            agreement_id: agreement_id.clone(),
            org_id: record.org_id.clone(),
            product_id: quote.product_id.clone(),
            quote_id: quote.quote_id.clone(),
            po_number: Some(record.order_id.clone()),
            order_date: Some(order.header.order_date),
            subscriber_email: quote.requester_email.clone(),
            status: AgreementStatus::Active,
            charge_ids: charges.iter().map(|c| c.charge_id.clone()).collect(),
            created_at: now,
        };
        let mut ordered = quote.clone();
        ordered.status = QuoteStatus::Ordered;
        ordered.order_id = Some(record.order_id.clone());
        ordered.agreement_id = Some(agreement_id.clone());
        plan.outbox.extend(emails::subscribed(
            &agreement,
            quote,
            m.product.as_ref(),
            &deps.config,
        ));
        plan.quotes.push((ordered, QuoteStatus::PendingApproval));
        plan.charges.extend(charges);
        plan.agreements.push(agreement);
        record.agreement_ids.push(agreement_id);
    }
    record.answer_text = format!(
        "OK: order {} accepted; agreement {} created",
        record.order_id,
        record.agreement_ids.join(", ")
    );
    plan.record = record.clone();
    // The Network hears that the whole order is accepted, once (an Ariba buyer's ANID).
    plan.confirmations.extend(confirmations::owed(
        integration,
        record,
        order.header.order_date,
        Some(from.identity.as_str()),
        now,
    ));
    Ok(plan)
}

/// The invoice charges of a newly ordered quote: upfront contracts now; a flexible payment
/// schedule one charge per installment on its date. Usage, free trials, Free and BYOL: none.
fn charges_for(
    record: &OrderRecord,
    agreement_id: &AgreementId,
    quote: &Quote,
    product: Option<&Product>,
    po_lines: &[(u32, u32)],
    now: OffsetDateTime,
) -> Vec<InvoiceJob> {
    let contract_lines: Vec<&QuoteLine> = quote
        .lines
        .iter()
        .filter(|l| l.kind == ChargeKind::Contract)
        .collect();
    let po_line = |quote_line: u32| {
        po_lines
            .iter()
            .find(|(q, _)| *q == quote_line)
            .map(|(_, po)| *po)
    };
    // Installments bill the (first) contract line.
    let contract_line = contract_lines.first().copied();
    let contract_po_line = contract_line.and_then(|l| po_line(l.line_number));
    // What the invoice line repeats of the PO line (Compass "cXML Invoices": a PO-backed
    // invoice names the supplier part number, the UOM and the PO line number).
    let line_of = |l: &QuoteLine, quantity: rust_decimal::Decimal, installment| ChargeLine {
        supplier_part_id: quote.product_id.clone(),
        supplier_part_auxiliary_id: Some(quote.quote_id.to_string()),
        unit_of_measure: l.unit_of_measure.clone(),
        description: l.description.clone(),
        unit_price: l.unit_price.clone(),
        quantity,
        installment,
    };
    let job = |n: usize,
               description: String,
               amount: cxml::Money,
               due: OffsetDateTime,
               po_line_number: Option<u32>,
               line: ChargeLine| {
        let charge_id = ChargeId::nth(agreement_id, n);
        InvoiceJob {
            org_id: record.org_id.clone(),
            order_id: record.order_id.clone(),
            agreement_id: agreement_id.clone(),
            invoice_number: Some(crate::invoices::invoice_number(
                record.order_id.as_str(),
                po_line_number.unwrap_or(1),
                line.installment,
                &charge_id,
            )),
            charge_id,
            description,
            amount,
            due,
            po_line_number,
            line: Some(line),
        }
    };
    // Each contract line as one charge, due now: its quantity at its unit price.
    let contract_now = || -> Vec<InvoiceJob> {
        contract_lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let amount = cxml::Money::new(
                    l.unit_price.amount * l.quantity,
                    l.unit_price.currency.clone(),
                );
                job(
                    i + 1,
                    l.description.clone(),
                    crate::invoices::round_half_even(&amount),
                    now,
                    po_line(l.line_number),
                    line_of(l, l.quantity, None),
                )
            })
            .collect()
    };
    match product.map(|p| &p.pricing) {
        Some(Pricing::FlexiblePaymentSchedule { installments }) => {
            let scheduled: rust_decimal::Decimal =
                installments.iter().map(|i| i.amount.amount).sum();
            let approved: rust_decimal::Decimal = contract_lines
                .iter()
                .map(|l| l.unit_price.amount * l.quantity)
                .sum();
            if let Some(l) = contract_line
                && scheduled == approved
                && contract_lines.len() == 1
            {
                // Each installment is its share of the one line, so together they never
                // invoice more than the line (Coupa's tolerances check quantity and amount).
                let count = installments.len();
                let amounts: Vec<rust_decimal::Decimal> =
                    installments.iter().map(|i| i.amount.amount).collect();
                let shares = crate::invoices::installment_shares(l, &amounts);
                return installments
                    .iter()
                    .zip(shares)
                    .enumerate()
                    .map(|(i, (inst, (quantity, amount)))| {
                        let installment = Some((
                            u32::try_from(i + 1).unwrap_or(u32::MAX),
                            u32::try_from(count).unwrap_or(u32::MAX),
                        ));
                        job(
                            i + 1,
                            format!("{}: installment {} of {count}", quote.product_title, i + 1),
                            amount,
                            inst.due.max(now),
                            contract_po_line,
                            line_of(l, quantity, installment),
                        )
                    })
                    .collect();
            }
            // The schedule changed since approval: invoice what was approved, now.
            tracing::warn!(quote_id = %quote.quote_id, "payment schedule differs from the approved total; invoicing the approved total");
            contract_now()
        }
        Some(Pricing::Upfront { .. }) | Some(Pricing::ContractWithPayAsYouGo { .. }) => {
            contract_now()
        }
        _ => Vec::new(),
    }
}

/// The original order an update or delete refers to (DocumentReference, else the orderID).
/// `original`: the orderID's original as the caller just read it, else it is read here.
async fn earlier_order(
    deps: &Deps,
    order: &OrderRequest,
    record: &OrderRecord,
    original: Option<Option<OrderRecord>>,
) -> Result<OrderRecord, Refusal> {
    let by_reference = match &order.header.document_reference {
        Some(payload_id) => {
            deps.orders
                .find_by_payload(&record.org_id, payload_id)
                .await?
        }
        None => None,
    };
    let earlier = match (by_reference, original) {
        (Some(o), _) => Some(o),
        (None, Some(read)) => read,
        (None, None) => deps.orders.find(&record.org_id, &record.order_id).await?,
    };
    earlier
        .filter(|o| o.org_id == record.org_id && o.order_id == record.order_id)
        .ok_or_else(|| {
            Rejection::bad_request(format!(
                "{} order {}: DocumentReference and orderID name no order this marketplace received from you",
                record.order_type.as_str(),
                record.order_id
            ))
            .into()
        })
}

/// type="update": an update of an order that was accepted records what may change (nothing
/// that was approved: product, quantity, price); a change to an active subscription's terms
/// is refused with 409. An update of an order that was refused, taken as a test, or never
/// received is the corrected resend of that order, and is planned as the order it now is.
async fn plan_update(
    deps: &Deps,
    reads: &OrderPrefetch,
    integration: &Integration,
    from: &cxml::CredentialId,
    order: &OrderRequest,
    record: &mut OrderRecord,
    now: OffsetDateTime,
) -> Result<OrderPlan, Refusal> {
    let original = deps.orders.find(&record.org_id, &record.order_id).await?;
    let stands_for = match &original {
        None => Some("no earlier order was accepted"),
        Some(o) if o.answer_code != 200 => Some("the earlier order was refused"),
        Some(o) if gives_way(o, record) => Some("the earlier order was a test order"),
        Some(_) => None,
    };
    if let Some(why) = stands_for {
        let mut plan = plan_new(
            deps,
            reads,
            integration,
            from,
            order,
            record,
            now,
            Some(original.clone()),
        )
        .await?;
        if record.answer_code == 200 {
            record.answer_text = format!(
                "{} ({why}: this update was taken as the order)",
                record.answer_text
            );
            plan.record = record.clone();
        }
        return Ok(plan);
    }
    let earlier = earlier_order(deps, order, record, Some(original)).await?;
    record.quote_ids = earlier.quote_ids.clone();
    record.agreement_ids = earlier.agreement_ids.clone();
    let matched = match_lines(deps, reads, &record.org_id, order)
        .await
        .map_err(|refusal| match refusal {
            Refusal::Rejected(r) => Rejection::conflict(format!(
                "order {}: the subscription is active and its approved terms cannot change ({}); \
                 cancel it with a delete and send a new order",
                record.order_id, r.text
            ))
            .into(),
            storage => storage,
        })?;
    if let Some(other) = matched
        .iter()
        .find(|m| !earlier.quote_ids.contains(&m.quote.quote_id))
    {
        return Err(Rejection::conflict(format!(
            "order {}: quote {} was not part of this order; an update cannot add products, send a new order",
            record.order_id, other.quote.quote_id
        )).into());
    }
    record.answer_text = if record.test {
        format!(
            "OK: test update of order {} recorded; test mode changes no subscription",
            record.order_id
        )
    } else {
        format!(
            "OK: update of order {} recorded; the subscription terms are unchanged",
            record.order_id
        )
    };
    Ok(OrderPlan::record_only(record.clone()))
}

/// type="delete": cancels the order's agreements that have not started (no invoice queued or
/// sent); refuses with 409 when one has.
async fn plan_delete(
    deps: &Deps,
    order: &OrderRequest,
    record: &mut OrderRecord,
) -> Result<OrderPlan, Refusal> {
    let earlier = earlier_order(deps, order, record, None).await?;
    record.quote_ids = earlier.quote_ids.clone();
    record.agreement_ids = earlier.agreement_ids.clone();
    let mut plan = OrderPlan::record_only(record.clone());
    for agreement_id in &earlier.agreement_ids {
        let Some(mut agreement) = deps.orders.get_agreement(agreement_id).await? else {
            continue;
        };
        if agreement.status == AgreementStatus::Cancelled {
            continue;
        }
        for charge_id in &agreement.charge_ids {
            let status = deps.charges.status(charge_id).await?;
            if status != Some(ChargeStatus::Scheduled) {
                return Err(Rejection::conflict(format!(
                    "order {}: agreement {agreement_id} has started (charge {charge_id} is {}); it cannot be cancelled by a purchase order change, contact the seller",
                    record.order_id,
                    status.map_or("unknown", |s| s.as_str())
                ))
                .into());
            }
            plan.cancelled_charges.push(charge_id.clone());
        }
        agreement.status = AgreementStatus::Cancelled;
        if let Some(mut quote) = deps.quotes.get(&agreement.quote_id).await?
            && quote.status == QuoteStatus::Ordered
        {
            quote.status = QuoteStatus::Cancelled;
            plan.quotes.push((quote, QuoteStatus::Ordered));
        }
        plan.agreements.push(agreement);
    }
    record.answer_text = if plan.agreements.is_empty() {
        format!(
            "OK: order {} deleted; it had no active subscription",
            record.order_id
        )
    } else {
        format!(
            "OK: order {} deleted; agreement {} cancelled",
            record.order_id,
            plan.agreements
                .iter()
                .map(|a| a.agreement_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    plan.record = record.clone();
    Ok(plan)
}
