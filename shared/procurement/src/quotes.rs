//! Request approval: what pressing the button does. The product's cart (see [`crate::cart`])
//! is stored as a quote; a pre-approved Free or BYOL product is subscribed at once, anything
//! else goes back to the procurement system as a PunchOutOrderMessage, whose envelope is built
//! here too.

use cxml::{Credential, Cxml, DeploymentMode, MessagePayload, PunchOutOrderMessage};
use time::OffsetDateTime;

use crate::cart::{self, CartDecision, Unsupported};
use crate::config::Config;
use crate::ids::{AgreementId, NoRandomness, QuoteId};
use crate::model::{Agreement, AgreementStatus, Product, Quote, QuoteStatus};
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
        cart: Box<Cxml>,
    },
    /// A pre-approved product: the quote is stored as subscribed, with its agreement (none in
    /// test mode, where nothing is subscribed), and no cart is sent.
    Subscribed {
        quote: Quote,
        product: Product,
        agreement: Option<Agreement>,
    },
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
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// The product of the visit's catalog, if the organisation may see it.
pub async fn visible_product(
    deps: &Deps,
    visit: &Visit,
    product_id: &str,
) -> Result<Option<Product>, StoreError> {
    if !visit.may_see(product_id) {
        return Ok(None);
    }
    deps.catalog.get_product(product_id).await
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
    let cart = decision.into_cart();
    let test = visit.test();
    let now = OffsetDateTime::now_utc();
    let mut quote = Quote {
        quote_id: QuoteId::generate()?,
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
    // Quote IDs are drawn at random; on the (vanishingly rare) clash, draw again.
    let mut attempt = 0;
    let agreement = loop {
        attempt += 1;
        // Test mode never creates a subscription: the pre-approved quote is kept, marked
        // test, without its agreement.
        let agreement = (preapproved && !test).then(|| Agreement {
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
        });
        quote.agreement_id = agreement.as_ref().map(|a| a.agreement_id.clone());
        match deps.quotes.create(&quote, agreement.as_ref()).await {
            Ok(()) => break agreement,
            Err(StoreError::Conflict(_)) if attempt < 3 => {
                quote.quote_id = QuoteId::generate()?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    tracing::info!(
        org_id = %quote.org_id,
        quote_id = %quote.quote_id,
        product_id = %quote.product_id,
        status = quote.status.as_str(),
        test,
        "quote created"
    );
    if preapproved {
        return Ok(Approval::Subscribed {
            quote,
            product,
            agreement,
        });
    }
    let cart = cart_document(&deps.config, visit, cart::order_message(&quote, &product));
    Ok(Approval::CartReturned {
        quote,
        product,
        cart: Box::new(cart),
    })
}

/// Back to the procurement system with an empty cart (many procurement systems give a
/// punchout user no other way back).
pub fn empty_cart(deps: &Deps, visit: &Visit) -> Result<Cxml, ApprovalRefused> {
    if !returns_to_the_web(visit) {
        return Err(ApprovalRefused::NoWayBack);
    }
    Ok(cart_document(
        &deps.config,
        visit,
        cart::empty_order_message(&visit.session.buyer_cookie),
    ))
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
