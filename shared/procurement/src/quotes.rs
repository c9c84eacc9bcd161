//! Request approval: what pressing the button does. The product's cart (see [`crate::cart`])
//! is stored as a quote; a pre-approved Free or BYOL product is subscribed at once, anything
//! else goes back to the procurement system as a PunchOutOrderMessage, whose envelope is built
//! here too.
//!
//! **Edit and inspect.** Every cart we send says `operationAllowed="edit"` (cXML.dtd,
//! PunchOutOrderMessageHeader: "edit allows operation="edit" in that later Setup request"), so
//! the procurement system may re-open it: a PunchOutSetupRequest with `operation="edit"` (or
//! `inspect`, view only) whose `ItemOut` lines are the cart as it stands there (cXML.dtd,
//! PunchOutSetupRequest: "The PunchOut website can use this data to re-instantiate the
//! shopping cart created during the original session"). Coupa sends these when the punchout
//! site has `supports-edit` / `supports-inspect` set (Compass: "Punchout Site API"). The
//! `SupplierPartAuxiliaryID` of each line is our quote ID, and the stored quote, not the
//! line, is what the cart holds: [`earlier_cart`] reads back only the organisation's own
//! quotes. On edit the cart that goes back replaces the one in the procurement system, so
//! leaving without a change sends the same quotes back ([`return_cart`]), and Request
//! approval keeps a quote whose terms did not change (same SupplierPartAuxiliaryID) and
//! replaces one that did; on inspect nothing can be requested, and the way back carries no
//! items (the cart there stays as it was).

use cxml::{
    Credential, Cxml, DeploymentMode, MessagePayload, PunchOutOperation, PunchOutOrderMessage,
};
use time::OffsetDateTime;

use crate::cart::{self, CartDecision, NotReopened, Unsupported};
use crate::config::Config;
use crate::deadline::{Walk, walk_pages};
use crate::delivery::{JobOutcome, QueueRun};
use crate::ids::{AgreementId, NoRandomness, QuoteId};
use crate::model::{Agreement, AgreementStatus, Product, Quote, QuoteLine, QuoteStatus};
use crate::ports::{Deps, StoreError};
use crate::punchout::Visit;

/// What the cart message's Sender says it is.
const USER_AGENT: &str = "Software Marketplace procurement punchout 1.0";

/// What Request approval did.
#[derive(Debug, Clone)]
pub enum Approval {
    /// The quote is stored pending approval; `cart` goes back to the procurement system.
    CartReturned {
        quote: Quote,
        product: Product,
        /// On edit: the quote was already in the re-opened cart on the same terms, so it
        /// goes back as it was (same SupplierPartAuxiliaryID) and nothing new was stored.
        unchanged: bool,
        /// On edit: the other quotes of the re-opened cart that go back with it.
        kept: Vec<Quote>,
        cart: Box<Cxml>,
    },
    /// A pre-approved product: the quote is stored as subscribed and no cart is sent. Out of
    /// test mode, the job that writes its agreement is queued (in test mode nothing is
    /// subscribed).
    Subscribed { quote: Quote, product: Product },
}

/// Why Request approval did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalRefused {
    #[error("the session only inspects a cart")]
    InspectOnly,
    #[error("product {0} is not in the organisation's catalog")]
    NotAvailable(String),
    #[error("{0}")]
    Unsupported(#[from] Unsupported),
    #[error("the BrowserFormPost is not a web address")]
    NoWayBack,
    /// This session already requested the product, and that quote is no longer waiting for
    /// approval (ordered, expired or cancelled since): nothing is requested again.
    #[error("this session already requested the product: quote {}", .0.quote_id)]
    AlreadyRequested(Box<Quote>),
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// The product of the visit's catalog, if it is offered to the organisation
/// ([`crate::catalog::offered_to`]); `None` alike for a product that does not exist.
pub async fn visible_product(
    deps: &Deps,
    visit: &Visit,
    product_id: &str,
) -> Result<Option<Product>, StoreError> {
    if !crate::limits::may_name_a_record(product_id) {
        return Ok(None);
    }
    let product = match visit.read_product(product_id) {
        Some(read) => read,
        None => deps.catalog.get_product(product_id).await?,
    };
    Ok(product.filter(|p| visit.offers(p)))
}

/// Stores the quote for `product_id`, then either subscribes at once (pre-approved Free/BYOL)
/// or builds the cart that returns to the procurement system.
pub async fn request_approval(
    deps: &Deps,
    visit: &Visit,
    product_id: &str,
) -> Result<Approval, ApprovalRefused> {
    if !visit.may_request() {
        return Err(ApprovalRefused::InspectOnly);
    }
    let product = visible_product(deps, visit, product_id)
        .await?
        .ok_or_else(|| ApprovalRefused::NotAvailable(product_id.to_string()))?;
    let decision = cart::cart_lines(&product, &visit.integration)?;
    let preapproved = matches!(decision, CartDecision::SubscribeNow(_));
    if !preapproved && !returns_to_the_web(visit) {
        tracing::warn!(org_id = %visit.session.org_id, "BrowserFormPost is not an http(s) URL");
        return Err(ApprovalRefused::NoWayBack);
    }
    // On edit, the rest of the re-opened cart goes back with this product; this product's
    // own earlier quote goes back as it was if nothing changed, or is replaced.
    let earlier = earlier_cart(deps, visit).await?;
    let mut kept: Vec<(Quote, Product)> = Vec::new();
    let mut same = None;
    for (quote, earlier_product) in earlier.open() {
        if quote.product_id != product.id {
            kept.push((quote.clone(), earlier_product.clone()));
        } else if same.is_none()
            && !preapproved
            && cart::unchanged(quote, &product, decision.cart(), visit.test())
        {
            same = Some(quote.clone());
        }
    }
    if let Some(quote) = same {
        tracing::info!(
            org_id = %quote.org_id,
            quote_id = %quote.quote_id,
            product_id = %quote.product_id,
            "quote unchanged in the edited cart"
        );
        let cart = cart_with(deps, visit, &kept, Some((&quote, &product)))?;
        return Ok(Approval::CartReturned {
            quote,
            product,
            unchanged: true,
            kept: kept.into_iter().map(|(q, _)| q).collect(),
            cart: Box::new(cart),
        });
    }
    if !preapproved {
        // Checked before anything is stored: a cart carries one currency.
        let mut lines: Vec<QuoteLine> = kept.iter().flat_map(|(q, _)| q.lines.clone()).collect();
        lines.extend(decision.cart().lines.iter().cloned());
        cart::check_one_currency(&lines)?;
    }
    let cart = decision.into_cart();
    let test = visit.test();
    let now = OffsetDateTime::now_utc();
    let quote = Quote {
        // One quote per session and product: see [`QuoteId::for_request`].
        quote_id: QuoteId::for_request(&visit.session.token_digest, &product.id),
        org_id: visit.session.org_id.clone(),
        product_id: product.id.clone(),
        product_title: product.title.clone(),
        lines: cart.lines,
        status: if preapproved {
            QuoteStatus::Subscribed
        } else {
            QuoteStatus::PendingApproval
        },
        test,
        never_invoiced: cart.never_invoiced,
        private_offer: product.private_offer.clone(),
        requester_email: visit.session.requester_email.clone(),
        requester_name: visit.session.requester_name.clone(),
        buyer_cookie: visit.session.buyer_cookie.clone(),
        created_at: now,
        order_id: None,
        agreement_id: None,
    };
    // The quote is written only if it does not exist: of a double click, a replay or two
    // requests racing, one writes and the others answer with what it wrote. A conflict
    // without a stored quote (the winner's write not yet visible) is tried again.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match deps.quotes.create(&quote).await {
            Ok(()) => break,
            Err(StoreError::Conflict(reason)) => {
                if let Some(earlier) = deps.quotes.get(&quote.quote_id).await? {
                    return again(deps, visit, earlier, product, kept).await;
                }
                if attempt >= 3 {
                    return Err(StoreError::Conflict(reason).into());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(
        org_id = %quote.org_id,
        quote_id = %quote.quote_id,
        product_id = %quote.product_id,
        status = quote.status.as_str(),
        test,
        "quote created"
    );
    if preapproved {
        queue_agreement(deps, &quote).await;
        return Ok(Approval::Subscribed { quote, product });
    }
    let cart = cart_with(deps, visit, &kept, Some((&quote, &product)))?;
    Ok(Approval::CartReturned {
        quote,
        product,
        unchanged: false,
        kept: kept.into_iter().map(|(q, _)| q).collect(),
        cart: Box::new(cart),
    })
}

/// Queues the job that writes a pre-approved quote's agreement, if it still waits for one.
/// A failure is logged and left: the scheduled run queues what still waits
/// ([`queue_awaiting_agreements`]).
async fn queue_agreement(deps: &Deps, quote: &Quote) {
    if !quote.awaits_agreement() {
        return;
    }
    if let Err(error) = deps.queue.enqueue_subscription(&quote.quote_id).await {
        tracing::warn!(
            org_id = %quote.org_id,
            quote_id = %quote.quote_id,
            %error,
            "SUBSCRIPTION_NOT_QUEUED: the scheduled run queues it"
        );
    }
}

/// The agreement of a pre-approved quote, as its job writes it.
fn agreement_of(quote: &Quote, now: OffsetDateTime) -> Agreement {
    Agreement {
        agreement_id: AgreementId::for_quote(&quote.quote_id),
        org_id: quote.org_id.clone(),
        product_id: quote.product_id.clone(),
        quote_id: quote.quote_id.clone(),
        po_number: None,
        order_date: None,
        subscriber_email: quote.requester_email.clone(),
        status: AgreementStatus::Active,
        charge_ids: Vec::new(),
        created_at: now,
    }
}

/// The queued job of a pre-approved subscription (invoice-dispatch): writes the quote's
/// agreement once. Done when written, already written or nothing to write; kept for a retry
/// when the table failed.
pub async fn write_agreement(deps: &Deps, quote_id: &QuoteId) -> JobOutcome {
    let quote = match deps.quotes.get(quote_id).await {
        Ok(Some(quote)) => quote,
        Ok(None) => {
            tracing::warn!(%quote_id, "subscription job names no stored quote: dropped");
            return JobOutcome::Done;
        }
        Err(e) => return JobOutcome::KeepForRetry(format!("reading the quote: {e}")),
    };
    if !quote.awaits_agreement() {
        tracing::info!(%quote_id, "subscription job: the agreement exists, nothing written");
        return JobOutcome::Done;
    }
    let agreement = agreement_of(&quote, OffsetDateTime::now_utc());
    match deps.quotes.subscribe(&quote, &agreement).await {
        Ok(written) => {
            tracing::info!(
                org_id = %quote.org_id,
                %quote_id,
                agreement_id = %agreement.agreement_id,
                written,
                "pre-approved subscription: agreement written"
            );
            JobOutcome::Done
        }
        Err(e) => JobOutcome::KeepForRetry(format!("writing the agreement: {e}")),
    }
}

/// The scheduled run's part: queues the job of every pre-approved quote still waiting for its
/// agreement a while after it was made (its own job was lost, failed for good, or is late).
pub async fn queue_awaiting_agreements(
    deps: &Deps,
    now: OffsetDateTime,
    stop_at: OffsetDateTime,
) -> Result<QueueRun, StoreError> {
    let mut run = QueueRun::default();
    let walk = walk_pages(
        stop_at,
        async |cursor| {
            deps.quotes
                .awaiting_agreement(now - AGREEMENT_JOB_GRACE, 100, cursor)
                .await
        },
        async |quotes| {
            for quote in &quotes {
                match deps.queue.enqueue_subscription(&quote.quote_id).await {
                    Ok(()) => run.queued += 1,
                    Err(error) => {
                        tracing::warn!(quote_id = %quote.quote_id, %error, "SUBSCRIPTION_NOT_QUEUED");
                        run.failed += 1;
                    }
                }
            }
        },
    )
    .await?;
    run.unfinished = walk == Walk::OutOfTime;
    Ok(run)
}

/// How long a pre-approved quote's own job has before the scheduled run queues another: far
/// more than a delivery takes, so the run rarely doubles a job (a double writes nothing).
pub const AGREEMENT_JOB_GRACE: time::Duration = time::Duration::minutes(10);

/// Request approval of a product this session already requested: the answer the first one
/// had (the same cart again, or the same subscription), nothing stored. A quote that is no
/// longer waiting for approval is not sent again.
async fn again(
    deps: &Deps,
    visit: &Visit,
    earlier: Quote,
    product: Product,
    kept: Vec<(Quote, Product)>,
) -> Result<Approval, ApprovalRefused> {
    if earlier.org_id != visit.session.org_id || earlier.product_id != product.id {
        return Err(StoreError::Conflict(format!(
            "quote {} names another request",
            earlier.quote_id
        ))
        .into());
    }
    tracing::info!(
        org_id = %earlier.org_id,
        quote_id = %earlier.quote_id,
        product_id = %earlier.product_id,
        status = earlier.status.as_str(),
        "Request approval repeated in its session: answered with the quote it made"
    );
    match earlier.status {
        QuoteStatus::Subscribed => {
            // A job lost on its way (SQS failed) is queued again by the repeat, as by the
            // scheduled run; a second job for the same quote writes nothing.
            queue_agreement(deps, &earlier).await;
            Ok(Approval::Subscribed {
                quote: earlier,
                product,
            })
        }
        QuoteStatus::PendingApproval => {
            let cart = cart_with(deps, visit, &kept, Some((&earlier, &product)))?;
            Ok(Approval::CartReturned {
                quote: earlier,
                product,
                unchanged: false,
                kept: kept.into_iter().map(|(q, _)| q).collect(),
                cart: Box::new(cart),
            })
        }
        QuoteStatus::Ordered | QuoteStatus::Expired | QuoteStatus::Cancelled => {
            Err(ApprovalRefused::AlreadyRequested(Box::new(earlier)))
        }
    }
}

/// The cart document of `kept` and then `last`, for this session.
fn cart_with(
    deps: &Deps,
    visit: &Visit,
    kept: &[(Quote, Product)],
    last: Option<(&Quote, &Product)>,
) -> Result<Cxml, Unsupported> {
    let quotes: Vec<(&Quote, &Product)> = kept.iter().map(|(q, p)| (q, p)).chain(last).collect();
    let message = cart::cart_message(&visit.session.buyer_cookie, &quotes)?;
    Ok(cart_document(&deps.config, visit, message))
}

/// Back to the procurement system without requesting anything (many procurement systems
/// give a punchout user no other way back). A `create` or `inspect` session returns an empty
/// cart; an `edit` session returns the re-opened cart as it was (same quotes, same
/// SupplierPartAuxiliaryIDs), since the cart that comes back from an edit replaces the one
/// in the procurement system (punchoutcommerce.com "cXML PunchOut Edit/Inspect": on edit
/// "the shopping cart should be sent back normally with any changes included"; on inspect
/// the shopper is returned "by passing back a PunchOutOrderMessage with no items"). Lines
/// that no longer stand (a lapsed private offer, an unknown or foreign quote) do not go
/// back.
pub async fn return_cart(deps: &Deps, visit: &Visit) -> Result<CartBack, ApprovalRefused> {
    if !returns_to_the_web(visit) {
        return Err(ApprovalRefused::NoWayBack);
    }
    if visit.session.operation != PunchOutOperation::Edit {
        return Ok(CartBack {
            cart: cart_document(
                &deps.config,
                visit,
                cart::empty_order_message(&visit.session.buyer_cookie),
            ),
            quotes: Vec::new(),
        });
    }
    let earlier = earlier_cart(deps, visit).await?;
    let kept: Vec<(Quote, Product)> = earlier
        .open()
        .map(|(q, p)| (q.clone(), p.clone()))
        .collect();
    Ok(CartBack {
        cart: cart_with(deps, visit, &kept, None)?,
        quotes: kept.into_iter().map(|(q, _)| q).collect(),
    })
}

/// The cart that goes back when the user leaves, and the quotes in it.
#[derive(Debug, Clone)]
pub struct CartBack {
    pub cart: Cxml,
    pub quotes: Vec<Quote>,
}

/// At most this many quotes of an `edit`/`inspect` request are looked up; lines beyond
/// are shown as not found (a cart of ours holds one quote per Request approval).
pub const MAX_EARLIER_QUOTES: usize = 25;

/// One entry of the cart that an `edit` or `inspect` setup request sent back.
#[derive(Debug, Clone)]
pub enum EarlierItem {
    /// The organisation's own quote, still standing: it goes back as it is.
    Open { quote: Quote, product: Box<Product> },
    /// The organisation's own quote, but it cannot go back as it stands.
    NotReopened { quote: Quote, reason: NotReopened },
    /// A line we cannot tie to one of the organisation's quotes: no SupplierPartAuxiliaryID,
    /// an unknown one, another organisation's, or one for another product. Only what the
    /// procurement system itself sent (its SupplierPartID) is shown.
    Unknown { supplier_part_id: String },
}

/// The re-opened cart of an `edit` or `inspect` session, one entry per quote.
#[derive(Debug, Clone, Default)]
pub struct EarlierCart {
    pub items: Vec<EarlierItem>,
}

impl EarlierCart {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The quotes that still stand, with their products.
    pub fn open(&self) -> impl Iterator<Item = (&Quote, &Product)> {
        self.items.iter().filter_map(|i| match i {
            EarlierItem::Open { quote, product } => Some((quote, product.as_ref())),
            _ => None,
        })
    }
}

/// The cart the setup request sent back, read against our stored quotes (empty unless the
/// session is `edit` or `inspect`). A buyer re-opens only its own organisation's quotes:
/// anything else is [`EarlierItem::Unknown`], and nothing of it is read out.
pub async fn earlier_cart(deps: &Deps, visit: &Visit) -> Result<EarlierCart, StoreError> {
    let session = &visit.session;
    if !matches!(
        session.operation,
        PunchOutOperation::Edit | PunchOutOperation::Inspect
    ) {
        return Ok(EarlierCart::default());
    }
    let now = OffsetDateTime::now_utc();
    let mut seen: Vec<String> = Vec::new();
    let mut items = Vec::new();
    for (part, aux) in &session.earlier_items {
        let part = part.trim();
        let aux = aux
            .as_ref()
            .map(|q| q.as_str().trim())
            .filter(|q| !q.is_empty());
        // One entry per quote (a quote of two lines comes back as two ItemOut lines).
        let key = match aux {
            Some(q) => format!("q {q}"),
            None => format!("p {part}"),
        };
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let unknown = || EarlierItem::Unknown {
            supplier_part_id: part.to_string(),
        };
        let Some(aux) = aux.filter(|_| seen.len() <= MAX_EARLIER_QUOTES) else {
            items.push(unknown());
            continue;
        };
        let quote = match deps.quotes.get(&QuoteId::from(aux)).await? {
            Some(q) if q.org_id == session.org_id && q.product_id == part => q,
            other => {
                tracing::warn!(
                    org_id = %session.org_id,
                    foreign = other.is_some(),
                    "a re-opened cart names a quote that is not this organisation's for that product"
                );
                items.push(unknown());
                continue;
            }
        };
        let product = visible_product(deps, visit, &quote.product_id).await?;
        items.push(match cart::reopen(&quote, product.as_ref(), now) {
            Ok(()) => match product {
                Some(product) => EarlierItem::Open {
                    quote,
                    product: Box::new(product),
                },
                None => EarlierItem::NotReopened {
                    quote,
                    reason: NotReopened::ProductUnavailable,
                },
            },
            Err(reason) => EarlierItem::NotReopened { quote, reason },
        });
    }
    Ok(EarlierCart { items })
}

/// The cart goes back through the user's browser: only to a web address.
fn returns_to_the_web(visit: &Visit) -> bool {
    let lower = visit.session.browser_form_post.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The cXML envelope of a cart: From and Sender are the marketplace, To is the buyer.
fn cart_document(config: &Config, visit: &Visit, message: PunchOutOrderMessage) -> Cxml {
    let supplier = || Credential::new(&config.supplier_domain, &config.supplier_identity);
    let buyer = visit.integration.buyer();
    let header = cxml::Header {
        from: vec![supplier()],
        to: vec![Credential::new(&buyer.domain, &buyer.identity)],
        sender: vec![supplier()],
        user_agent: USER_AGENT.into(),
    };
    let mode = if visit.test() {
        DeploymentMode::Test
    } else {
        DeploymentMode::Production
    };
    Cxml::message(
        config.payload_host(),
        header,
        mode,
        MessagePayload::PunchOutOrder(message),
    )
}
