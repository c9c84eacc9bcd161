//! The catalog pages behind the StartPage URL, Request approval, and the marketplace's
//! subscribe redirect.
//!
//! | route                                   | what it does                                      |
//! |-----------------------------------------|---------------------------------------------------|
//! | `GET /punchout/start?token=`            | the StartPage: the catalog, or the SelectedItem   |
//! | `GET /catalog?token=&q=`                | product list and search                           |
//! | `GET /catalog/products/{id}?token=`     | product detail, pricing, offer terms, the button  |
//! | `POST /catalog/request-approval`        | form `token`, `product_id`: quote + cart back     |
//! | `POST /catalog/return`                  | form `token`: back to the procurement system (empty cart; on `edit` the cart as it was) |
//! | `POST /catalog/subscribe`               | form `product_id`: marketplace subscribe attempt, routed by the IAM-signed account (unsigned: one page for all) |
//!
//! An `edit` or `inspect` session shows the cart it re-opened on the catalog page (see
//! [`procurement::quotes`] for the rules); inspect sessions have no Request approval, and the
//! domain refuses one posted anyway.
//!
//! The session token travels in every link and form (no cookies: procurement systems often
//! open the catalog in a frame or a window where third-party cookies are blocked).

use axum::extract::State;
use axum::http::Uri;
use cxml::PunchOutOperation;
use cxml::{Cxml, Money};
use maud::{Markup, PreEscaped, html};
use procurement::cart::NotReopened;
use procurement::cart::{self, CartDecision};
use procurement::catalog::{SubscribeRefused, SubscribeRoute, route_subscribe, visible_products};
use procurement::model::{Pricing, Product, Quote, QuoteLine};
use procurement::punchout::{Visit, VisitRefused, open_visit, open_visit_for};
use procurement::quotes::{self, Approval, EarlierCart, EarlierItem};
use procurement::{Deps, paths};

use super::{Frame, Page, PageError, WayBack, decode_segment, encode_segment, money, with_query};
use crate::AppState;
use crate::extract::{Form, IamCaller, Query};

impl From<VisitRefused> for PageError {
    fn from(refused: VisitRefused) -> Self {
        match refused {
            VisitRefused::Expired => Self::SessionExpired,
            VisitRefused::TurnedOff => Self::TurnedOff,
            VisitRefused::Storage(e) => Self::Storage(e),
        }
    }
}

/// The frame of a session's pages: search, and the way back without a cart.
fn frame(deps: &Deps, visit: &Visit, query: &str) -> Frame {
    Frame {
        token: Some(visit.token.clone()),
        catalog_url: deps.config.url(paths::CATALOG),
        query: query.to_string(),
        test: visit.test(),
        system: Some(visit.system()),
        return_url: Some(deps.config.url(paths::RETURN)),
        way_back: match visit.session.operation {
            PunchOutOperation::Edit => WayBack::CartUnchanged,
            PunchOutOperation::Inspect => WayBack::DoneInspecting,
            PunchOutOperation::Create | PunchOutOperation::Source => WayBack::WithoutCart,
        },
    }
}

/// The frame of a page shown once the cart is on its way: no search, no links.
fn final_frame(visit: &Visit) -> Frame {
    Frame {
        test: visit.test(),
        system: Some(visit.system()),
        ..Frame::default()
    }
}

fn product_link(deps: &Deps, visit: &Visit, id: &str) -> String {
    with_query(
        &format!("{}{}", deps.config.url(paths::PRODUCTS), encode_segment(id)),
        &[("token", &visit.token)],
    )
}

fn required<'a>(form: &'a Form, name: &'static str) -> Result<&'a str, PageError> {
    form.field(name).ok_or(PageError::MissingField(name))
}

/// GET /punchout/start: the catalog, or the product the setup request's SelectedItem named.
pub async fn start_page(State(deps): State<AppState>, query: Query) -> Result<Page, PageError> {
    let visit = open_visit(&deps, query.get("token").unwrap_or("")).await?;
    let mut unavailable = None;
    if let Some(selected) = visit.session.selected_product.as_deref() {
        match quotes::visible_product(&deps, &visit, selected).await? {
            Some(product) => return Ok(detail(&deps, &visit, &product)),
            None => unavailable = Some(selected.to_string()),
        }
    }
    let words = query.get("q").unwrap_or("").trim();
    listing(&deps, &visit, words, unavailable.as_deref()).await
}

/// GET /catalog: the list, searched.
pub async fn catalog(State(deps): State<AppState>, query: Query) -> Result<Page, PageError> {
    let visit = open_visit(&deps, query.get("token").unwrap_or("")).await?;
    let words = query.get("q").unwrap_or("").trim();
    listing(&deps, &visit, words, None).await
}

async fn listing(
    deps: &Deps,
    visit: &Visit,
    words: &str,
    unavailable: Option<&str>,
) -> Result<Page, PageError> {
    let products = visible_products(deps, &visit.session.org_id, visit.org.as_ref(), words).await?;
    let earlier = if words.is_empty() {
        quotes::earlier_cart(deps, visit).await?
    } else {
        EarlierCart::default()
    };
    let title = if words.is_empty() {
        "Catalog".to_string()
    } else {
        format!("Results for “{words}”")
    };
    let private = visit
        .org
        .as_ref()
        .is_some_and(|o| o.private_marketplace.is_some());
    let count = match products.len() {
        1 => "1 product".to_string(),
        n => format!("{n} products"),
    };
    let page_frame = frame(deps, visit, words);
    let main = html! {
        @if let Some(selected) = unavailable {
            div class="notice" {
                p {
                    "The product your procurement system asked for (" code { (selected) }
                    ") is not available to your organisation. Here is the catalog instead."
                }
            }
        }
        @if visit.session.requester_email.is_none() {
            div class="notice" id="no-usable-email" {
                p {
                    "Your procurement system sent no email address we can use for you, so we "
                    "cannot email you when your subscription is ready, or if a private offer "
                    "expires before it is approved. Requests still go through; ask your "
                    "procurement administrator to send your email address with the punchout."
                }
            }
        }
        @if !earlier.is_empty() {
            (earlier_cart_panel(deps, visit, &earlier))
        }
        h1 { (title) }
        p class="muted" {
            (count)
            @if private { " in your organisation's private marketplace (approved by your administrators)" }
            "."
        }
        @if products.is_empty() {
            div class="notice" {
                p {
                    "Nothing matches. Try a product name, a vendor or a type such as SaaS. "
                    a href=(page_frame.catalog_link()) { "Show all products" } "."
                }
            }
        } @else {
            ul class="cards" {
                @for p in &products {
                    li class="card" {
                        span class="tag" { (p.product_type.label()) }
                        h2 { a href=(product_link(deps, visit, &p.id)) { (p.title) } }
                        p class="muted" { "by " (p.vendor) }
                        p { (p.summary) }
                        p class="price" { (p.pricing.label()) }
                    }
                }
            }
        }
    };
    Ok(Page::new(title, page_frame, main))
}

/// The cart an `edit` or `inspect` setup request re-opened, as the catalog page shows it.
fn earlier_cart_panel(deps: &Deps, visit: &Visit, earlier: &EarlierCart) -> Markup {
    let system = visit.system().name();
    let edit = visit.may_request();
    html! {
        section class="panel" id="your-cart" aria-labelledby="your-cart-title" {
            h2 id="your-cart-title" { "Your cart in " (system) }
            @if edit {
                p {
                    "You re-opened this cart from " (system) ". "
                    strong { "Return to " (system) " with your cart unchanged" }
                    " sends it back as it is, with the same references. To change it, open a \
                     product and press Request approval: a product already in the cart keeps its \
                     reference if its terms did not change and gets a new quote if they did; \
                     another product is added to the cart."
                }
            } @else {
                p {
                    "You are viewing this cart from " (system) ". Nothing can be changed or \
                     requested in this session."
                }
            }
            @for item in &earlier.items {
                @match item {
                    EarlierItem::Open { quote, .. } => {
                        h3 { a href=(product_link(deps, visit, &quote.product_id)) { (quote.product_title) } }
                        (lines_table(&quote.lines, &format!("Reference {}", quote.quote_id)))
                    }
                    EarlierItem::NotReopened { quote, reason } => {
                        h3 { (quote.product_title) }
                        div class="notice bad" {
                            p {
                                (not_reopened_text(*reason, quote, system))
                                @if edit { " It does not go back with your cart." }
                            }
                        }
                        p class="muted" { "Reference " code { (quote.quote_id) } }
                    }
                    EarlierItem::Unknown { supplier_part_id } => {
                        h3 { "An item this marketplace cannot find" }
                        div class="notice bad" {
                            p {
                                (system) " sent an item (" code { (supplier_part_id) } ") that is not \
                                 a request of your organisation in this marketplace, or no longer \
                                 exists."
                                @if edit { " It does not go back with your cart." }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn not_reopened_text(reason: NotReopened, quote: &Quote, system: &str) -> Markup {
    match reason {
        NotReopened::OfferLapsed => html! {
            "The private offer behind this request has expired or was changed by the seller, \
             so it cannot be approved as it stands. Open the product and press Request approval \
             for a new quote on the current terms."
        },
        NotReopened::Ordered => html! {
            "A purchase order for this request has already arrived"
            @if let Some(order) = &quote.order_id { " (" code { (order) } ")" }
            "; it is not requested again."
        },
        NotReopened::Closed => html! {
            "This request was subscribed at once or cancelled; it is not waiting for approval."
        },
        NotReopened::ProductUnavailable => html! {
            "This product can no longer be requested by your organisation through " (system) "."
        },
    }
}

/// GET /catalog/products/{id}. The ID is read from the raw path: one that is not UTF-8 once
/// decoded names no product.
pub async fn product(
    State(deps): State<AppState>,
    uri: Uri,
    query: Query,
) -> Result<Page, PageError> {
    let raw = uri.path().strip_prefix(paths::PRODUCTS).unwrap_or("");
    let id = decode_segment(raw).unwrap_or_default();
    let visit = open_visit_for(&deps, query.get("token").unwrap_or(""), Some(&id)).await?;
    let product = quotes::visible_product(&deps, &visit, &id)
        .await?
        .ok_or_else(|| PageError::ProductUnavailable(Box::new(frame(&deps, &visit, ""))))?;
    Ok(detail(&deps, &visit, &product))
}

fn lines_table(lines: &[QuoteLine], caption: &str) -> Markup {
    let total = lines.first().map(|first| {
        let amount = lines.iter().map(|l| l.unit_price.amount * l.quantity).sum();
        Money::new(amount, first.unit_price.currency.clone())
    });
    html! {
        table {
            caption class="muted" { (caption) }
            thead {
                tr {
                    th scope="col" { "Line" }
                    th scope="col" { "Description" }
                    th scope="col" { "UNSPSC" }
                    th scope="col" class="num" { "Amount" }
                }
            }
            tbody {
                @for l in lines {
                    tr {
                        td { (l.line_number) }
                        td { (l.description) }
                        td { (l.unspsc) }
                        td class="num" { (money(&l.unit_price)) }
                    }
                }
            }
            @if let Some(total) = total {
                tfoot {
                    tr {
                        th scope="row" colspan="3" { "Total" }
                        td class="num" { (money(&total)) }
                    }
                }
            }
        }
    }
}

/// The product detail page: type, pricing, offer terms, and what Request approval does.
fn detail(deps: &Deps, visit: &Visit, product: &Product) -> Page {
    let system = visit.system().name();
    let page_frame = frame(deps, visit, "");
    let main = html! {
        p { a href=(page_frame.catalog_link()) { "← Back to the catalog" } }
        h1 { (product.title) }
        p class="muted" { "by " (product.vendor) }
        p { (product.summary) }
        section class="panel" aria-labelledby="terms" {
            h2 id="terms" { "Pricing and offer terms" }
            dl class="facts" {
                dt { "Product type" } dd { (product.product_type.label()) }
                dt { "Pricing" } dd { (product.pricing.label()) }
                @if let Pricing::FlexiblePaymentSchedule { installments } = &product.pricing {
                    dt { "Installments" }
                    dd { ul { @for i in installments { li { (money(&i.amount)) " due " (cart::utc_date(i.due)) } } } }
                }
                @match &product.private_offer {
                    Some(offer) => {
                        dt { "Private offer ID" } dd { code { (offer.offer_id) } }
                        dt { "Offer expires" }
                        dd { time datetime=(cxml::format_timestamp(offer.expires_at)) { (cart::utc_date_time(offer.expires_at)) } }
                    }
                    None => { dt { "Offer" } dd { "Public offer: the price shown to every buyer" } }
                }
            }
        }
        section class="panel" aria-labelledby="request" {
            h2 id="request" { "Request approval" }
            @if !visit.may_request() {
                p {
                    (system) " opened this catalog to inspect an existing cart, so nothing can be \
                     requested in this session. Start a new purchase from " (system) " to request this product."
                }
            } @else {
                @match cart::cart_lines(product, &visit.integration) {
                    Err(unsupported) => {
                        div class="notice bad" {
                            p { strong { "Not available through " (system) "." } " " (unsupported.0) }
                        }
                    }
                    Ok(decision) => {
                        @match &decision {
                            CartDecision::SendForApproval(cart) => {
                                p {
                                    "Request approval returns this cart to " (system) ", where your \
                                     organisation's approvers see it. You are subscribed when the \
                                     purchase order arrives."
                                    @if visit.session.operation == PunchOutOperation::Edit {
                                        " The rest of the cart you re-opened goes back with it."
                                    }
                                }
                                (lines_table(&cart.lines, &format!("The cart that goes to {system}")))
                                @if cart.never_invoiced {
                                    p class="muted" { "The free trial is approved at 0.00 and never invoiced." }
                                }
                            }
                            CartDecision::SubscribeNow(_) => {
                                p {
                                    "Your organisation pre-approves products like this one, so no \
                                     approval is needed: Request approval subscribes you at once and \
                                     sends nothing to " (system) "."
                                }
                            }
                        }
                        form method="post" action=(deps.config.url(paths::REQUEST_APPROVAL)) {
                            input type="hidden" name="token" value=(visit.token);
                            input type="hidden" name="product_id" value=(product.id);
                            button type="submit" { "Request approval" }
                        }
                    }
                }
            }
        }
    };
    Page::new(product.title.clone(), page_frame, main)
}

/// POST /catalog/request-approval: stores the quote, then either subscribes at once
/// (pre-approved Free/BYOL) or returns the cart to the procurement system.
pub async fn request_approval(State(deps): State<AppState>, form: Form) -> Result<Page, PageError> {
    // The product is read with the session (one request), its field checked after: an
    // expired session says so first.
    let visit = open_visit_for(&deps, required(&form, "token")?, form.field("product_id")).await?;
    let product_id = required(&form, "product_id")?;
    let system = visit.system();
    let approval = quotes::request_approval(&deps, &visit, product_id)
        .await
        .map_err(|refused| {
            PageError::from_approval(
                refused,
                frame(&deps, &visit, ""),
                final_frame(&visit),
                system,
            )
        })?;
    let system = system.name();
    match approval {
        Approval::Subscribed { quote, product } => {
            let subscribed = !quote.test;
            let heading = if subscribed {
                format!("You are subscribed to {}", product.title)
            } else {
                format!("Test mode: {} was not subscribed", product.title)
            };
            let page_frame = frame(&deps, &visit, "");
            let main = html! {
                h1 { (heading) }
                div class="notice" {
                    p {
                        @if subscribed {
                            "Your organisation pre-approves products like this one, so you are subscribed \
                             now. Nothing was sent to " (system) " for approval. The subscription is \
                             listed with your agreements within a minute."
                        } @else {
                            "Test mode: in production you would be subscribed now, as your organisation \
                             pre-approves products like this one. Nothing was subscribed, and nothing was \
                             sent to " (system) "."
                        }
                    }
                }
                p class="muted" { "Reference: " code { (quote.quote_id) } }
                p { a href=(page_frame.catalog_link()) { "Back to the catalog" } }
            };
            Ok(Page::new(heading, page_frame, main))
        }
        Approval::CartReturned {
            quote,
            product,
            unchanged,
            kept,
            cart,
        } => {
            let intro = html! {
                h1 { "Returning your cart to " (system) }
                p { "Your request for " strong { (product.title) } " goes to " (system) " for approval." }
                @if unchanged {
                    p { "Its terms have not changed, so it goes back as it was, with the same reference." }
                }
                (lines_table(&quote.lines, "Your cart"))
                p class="muted" { "Reference: " code { (quote.quote_id) } }
                @if !kept.is_empty() {
                    p { "The rest of your cart goes back with it, as it was:" }
                    (quotes_tables(&kept))
                }
            };
            Ok(cart_page(&visit, &cart, intro))
        }
    }
}

/// POST /catalog/return: back to the procurement system with an empty cart (a punchout
/// user has no other way back in many procurement systems).
pub async fn return_without_cart(
    State(deps): State<AppState>,
    form: Form,
) -> Result<Page, PageError> {
    let visit = open_visit(&deps, required(&form, "token")?).await?;
    let back = quotes::return_cart(&deps, &visit)
        .await
        .map_err(|refused| {
            PageError::from_approval(
                refused,
                frame(&deps, &visit, ""),
                final_frame(&visit),
                visit.system(),
            )
        })?;
    let system = visit.system().name();
    let intro = match visit.session.operation {
        PunchOutOperation::Edit => html! {
            h1 { "Returning to " (system) }
            @if back.quotes.is_empty() {
                p { "Nothing in the cart you re-opened can still be approved, so it goes back to " (system) " empty." }
            } @else {
                p { "Your cart goes back to " (system) " as it was:" }
                (quotes_tables(&back.quotes))
            }
        },
        PunchOutOperation::Inspect => html! {
            h1 { "Returning to " (system) }
            p { "You are going back to " (system) "; your cart there stays as it is." }
        },
        PunchOutOperation::Create | PunchOutOperation::Source => html! {
            h1 { "Returning to " (system) }
            p { "You are going back to " (system) " without adding anything to your cart." }
        },
    };
    Ok(cart_page(&visit, &back.cart, intro))
}

/// One table per quote, captioned with the product and the reference.
fn quotes_tables(quotes: &[Quote]) -> Markup {
    html! {
        @for q in quotes {
            (lines_table(&q.lines, &format!("{} (reference {})", q.product_title, q.quote_id)))
        }
    }
}

/// An attribute value that keeps its line breaks exactly (the cXML travels verbatim): the
/// browser would turn a raw CR into LF, a character reference it keeps.
fn verbatim_attribute(text: &str) -> PreEscaped<String> {
    let escaped = html! { (text) }.into_string();
    PreEscaped(escaped.replace('\r', "&#13;").replace('\n', "&#10;"))
}

/// The page that posts the cart to BrowserFormPost: submitted by a one-line script, with a
/// visible button for browsers without scripts.
fn cart_page(visit: &Visit, cart: &Cxml, intro: Markup) -> Page {
    let xml = cxml::to_xml(cart);
    let encoding = visit.integration.settings.form_encoding;
    let system = visit.system().name();
    let main = html! {
        (intro)
        form id="cart" method="post" action=(visit.session.browser_form_post.trim()) {
            input type="hidden" name=(encoding.field_name()) value=(verbatim_attribute(&encoding.encode(&xml)));
            button type="submit" { "Return the cart to " (system) }
        }
        p class="muted" { "If " (system) " does not open by itself, press the button." }
    };
    Page {
        script: Some("document.getElementById(\"cart\").submit();"),
        ..Page::new(format!("Returning to {system}"), final_frame(visit), main)
    }
}

/// POST /catalog/subscribe: a subscribe attempt made in the marketplace, outside a
/// punchout. Organisations that buy through a procurement system are sent there.
pub async fn subscribe(
    State(deps): State<AppState>,
    IamCaller(caller): IamCaller,
    form: Form,
) -> Result<Page, PageError> {
    let product_id = required(&form, "product_id")?;
    // Only an IAM-signed caller is routed by its account; the form's `account_id` is only what
    // a page said, and believing it would tell anyone which accounts are customers, in which
    // system and mode. Unsigned, every account gets the same page.
    let route = route_subscribe(&deps, caller.as_deref(), product_id)
        .await
        .map_err(|refused| match refused {
            SubscribeRefused::UnknownProduct => PageError::UnknownProduct,
            SubscribeRefused::Storage(e) => PageError::Storage(e),
        })?;
    match route {
        SubscribeRoute::StartInAriba { product } => Err(PageError::StartInAriba {
            product_title: product.title,
        }),
        SubscribeRoute::ContinueInCoupa { product, test } => {
            let title = &product.title;
            let main = html! {
                h1 { "Continue in Coupa" }
                div class="notice" {
                    p {
                        "Your organisation buys software through Coupa, so " strong { (title) }
                        " is requested there and approved by your approvers. Nothing was subscribed."
                    }
                }
                h2 { "How to request it" }
                ol {
                    li { "Open Coupa and sign in." }
                    li { "Choose the Software Marketplace punchout from Coupa's shopping page." }
                    li { "Find " strong { (title) } " and press " strong { "Request approval" } "." }
                    li { "Coupa routes the request to your approvers; you are subscribed when the purchase order arrives." }
                }
            };
            let page_frame = Frame {
                system: Some(procurement::model::ProcurementSystem::Coupa),
                test,
                ..Frame::default()
            };
            Ok(Page::new("Continue in Coupa", page_frame, main))
        }
        SubscribeRoute::AnyOrganisation { product } => {
            let title = &product.title;
            let main = html! {
                h1 { "Subscribe to " (title) }
                div class="notice" {
                    p { "Nothing was subscribed." }
                }
                p {
                    "If your organisation buys software through a procurement system, request "
                    strong { (title) } " there: open Coupa or SAP Ariba, punch out to the Software \
                     Marketplace, find the product and press " strong { "Request approval" }
                    ". Your approvers approve it, and you are subscribed when the purchase order arrives."
                }
                p {
                    "Otherwise the marketplace's direct subscription applies; it is handled by the \
                     marketplace itself, not by the procurement integration."
                }
            };
            Ok(Page::new(
                format!("Subscribe to {title}"),
                Frame::default(),
                main,
            ))
        }
        SubscribeRoute::Direct { product } => {
            let main = html! {
                h1 { "Subscribe in the marketplace" }
                div class="notice" {
                    p {
                        "Your organisation does not route marketplace purchases through a procurement \
                         system, so the marketplace's direct subscription applies to "
                        strong { (product.title) }
                        ". That flow is handled by the marketplace itself, not by the procurement integration."
                    }
                }
            };
            Ok(Page::new(
                "Subscribe in the marketplace",
                Frame::default(),
                main,
            ))
        }
    }
}
