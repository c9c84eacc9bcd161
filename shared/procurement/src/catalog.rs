//! The catalog pages behind the StartPage URL, Request approval, and the marketplace's
//! subscribe redirect.
//!
//! | route                                   | what it does                                      |
//! |-----------------------------------------|---------------------------------------------------|
//! | `GET /punchout/start?token=`            | the StartPage: the catalog, or the SelectedItem   |
//! | `GET /catalog?token=&q=`                | product list and search                           |
//! | `GET /catalog/products/{id}?token=`     | product detail, pricing, offer terms, the button  |
//! | `POST /catalog/request-approval`        | form `token`, `product_id`: quote + cart back     |
//! | `POST /catalog/return`                  | form `token`: back to the procurement system, empty cart |
//! | `POST /catalog/subscribe`               | form `product_id`, `account_id`: marketplace subscribe attempt |
//!
//! The session token travels in every link and form (no cookies: procurement systems often
//! open the catalog in a frame or a window where third-party cookies are blocked).

use cxml::{Credential, Cxml, DeploymentMode, MessagePayload, PunchOutOrderMessage};
use time::OffsetDateTime;

use crate::cart::{self, CartDecision};
use crate::http::{HttpReply, WebRequest, escape_html};
use crate::model::{
    Agreement, AgreementStatus, Integration, Organization, ProcurementSystem, Product, Quote,
    QuoteStatus, Session,
};
use crate::pages::{self, Frame, encode_segment, money, system_name, with_query};
use crate::ports::{Deps, StoreError};
use crate::punchout::START_PATH;

pub const CATALOG_PATH: &str = "/catalog";
pub const PRODUCTS_PATH: &str = "/catalog/products/";
pub const REQUEST_APPROVAL_PATH: &str = "/catalog/request-approval";
pub const RETURN_PATH: &str = "/catalog/return";
pub const SUBSCRIBE_PATH: &str = "/catalog/subscribe";

/// What the POOM's Sender says it is.
const USER_AGENT: &str = "Software Marketplace procurement punchout 1.0";

/// A page handler's answer: the page, or the error page that replaces it.
type PageResult = Result<HttpReply, HttpReply>;

/// GET/POST under `/catalog` and the StartPage.
pub async fn handle_page(deps: &Deps, request: &WebRequest) -> HttpReply {
    let path = request.path.as_str();
    let method = request.method.as_str();
    let result = if path == START_PATH || path == CATALOG_PATH {
        match method {
            "GET" => catalog_page(deps, request, path == START_PATH).await,
            _ => Err(method_not_allowed("GET")),
        }
    } else if let Some(id) = path.strip_prefix(PRODUCTS_PATH) {
        match method {
            "GET" => product_page(deps, request, id).await,
            _ => Err(method_not_allowed("GET")),
        }
    } else if path == REQUEST_APPROVAL_PATH || path == RETURN_PATH || path == SUBSCRIBE_PATH {
        match (method, path) {
            ("POST", REQUEST_APPROVAL_PATH) => request_approval(deps, request).await,
            ("POST", RETURN_PATH) => return_without_cart(deps, request).await,
            ("POST", _) => subscribe(deps, request).await,
            _ => Err(method_not_allowed("POST")),
        }
    } else {
        Err(pages::message_page(
            404,
            "Page not found",
            &Frame::default(),
            "There is no page at this address. Open the catalog again from your procurement system.",
        ))
    };
    result.unwrap_or_else(|page| page)
}

/// Resolves the StartPage token to its open session.
pub async fn session_for_token(deps: &Deps, token: &str) -> Result<Option<Session>, StoreError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let digest = cxml::SecretDigest::of(token).to_hex();
    let session = deps.store.get_session(&digest).await?;
    Ok(session.filter(|s| s.expires_at > OffsetDateTime::now_utc()))
}

/// Products the organisation may see: all of them, or its private marketplace.
pub fn is_visible(org: Option<&Organization>, product_id: &str) -> bool {
    match org.and_then(|o| o.private_marketplace.as_ref()) {
        Some(ids) => ids.iter().any(|id| id == product_id),
        None => true,
    }
}

/// Case-insensitive search over title, vendor, summary and product type; every word of the
/// query must match somewhere. An empty query matches everything.
pub fn matches_query(product: &Product, query: &str) -> bool {
    let haystack = format!(
        "{}\n{}\n{}\n{}",
        product.title,
        product.vendor,
        product.summary,
        product.product_type.label()
    )
    .to_lowercase();
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

/// The organisation's catalog, filtered by `query`. An organisation without a record has
/// no private marketplace.
pub async fn visible_products(
    deps: &Deps,
    org_id: &str,
    query: &str,
) -> Result<Vec<Product>, StoreError> {
    let org = deps.store.get_organization(org_id).await?;
    Ok(deps
        .store
        .list_products()
        .await?
        .into_iter()
        .filter(|p| is_visible(org.as_ref(), &p.id) && matches_query(p, query))
        .collect())
}

/// An open punchout, with what every page needs about it.
struct Visit {
    token: String,
    session: Session,
    integration: Integration,
    org: Option<Organization>,
    catalog_url: String,
    return_url: String,
}

impl Visit {
    fn test(&self) -> bool {
        self.session.test || self.integration.test_mode
    }

    fn system(&self) -> &'static str {
        system_name(self.integration.system)
    }

    fn frame<'a>(&'a self, query: &'a str) -> Frame<'a> {
        Frame {
            token: Some(&self.token),
            catalog_url: &self.catalog_url,
            query,
            test: self.test(),
            system: Some(self.integration.system),
            return_url: Some(&self.return_url),
        }
    }

    /// The frame of a page shown once the cart is on its way: no search, no links.
    fn final_frame(&self) -> Frame<'_> {
        Frame {
            test: self.test(),
            system: Some(self.integration.system),
            ..Frame::default()
        }
    }

    fn catalog_link(&self) -> String {
        with_query(&self.catalog_url, &[("token", &self.token)])
    }

    fn product_link(&self, id: &str) -> String {
        with_query(
            &format!(
                "{}{}",
                self_url(&self.catalog_url, PRODUCTS_PATH),
                encode_segment(id)
            ),
            &[("token", &self.token)],
        )
    }

    fn may_request(&self) -> bool {
        self.session.operation != cxml::PunchOutOperation::Inspect
    }

    async fn product(&self, deps: &Deps, id: &str) -> Result<Product, HttpReply> {
        let product = if is_visible(self.org.as_ref(), id) {
            deps.store.get_product(id).await.map_err(unavailable)?
        } else {
            None
        };
        product.ok_or_else(|| {
            pages::message_page(
                404,
                "Product not available",
                &self.frame(""),
                &format!(
                    "This product is not in your organisation's catalog. <a href=\"{}\">Browse the catalog</a>.",
                    escape_html(&self.catalog_link())
                ),
            )
        })
    }
}

/// `catalog_url` is the configured base plus `/catalog`; other catalog paths sit beside it.
fn self_url(catalog_url: &str, path: &str) -> String {
    let base = catalog_url
        .strip_suffix(CATALOG_PATH)
        .unwrap_or(catalog_url);
    format!("{base}{path}")
}

async fn open_visit(deps: &Deps, token: &str) -> Result<Visit, HttpReply> {
    let session = session_for_token(deps, token)
        .await
        .map_err(unavailable)?
        .ok_or_else(expired)?;
    let integration = deps
        .store
        .get_integration(&session.org_id)
        .await
        .map_err(unavailable)?
        .filter(|i| i.enabled)
        .ok_or_else(|| {
            pages::message_page(
                403,
                "Punchout turned off",
                &Frame::default(),
                "Your organisation's administrator has turned off buying through your \
                 procurement system. Ask them to turn it on again, then start from your \
                 procurement system.",
            )
        })?;
    let org = deps
        .store
        .get_organization(&session.org_id)
        .await
        .map_err(unavailable)?;
    Ok(Visit {
        token: token.to_string(),
        session,
        integration,
        org,
        catalog_url: deps.config.url(CATALOG_PATH),
        return_url: deps.config.url(RETURN_PATH),
    })
}

fn expired() -> HttpReply {
    pages::message_page(
        403,
        "Session expired",
        &Frame::default(),
        "This punchout session has expired or is not valid. Please start again from your \
         procurement system (Coupa or SAP Ariba): open the marketplace catalog there.",
    )
}

fn unavailable(e: StoreError) -> HttpReply {
    tracing::error!(error = %e, "storage failed while serving a catalog page");
    pages::message_page(
        503,
        "Try again in a moment",
        &Frame::default(),
        "The catalog is briefly unavailable. Please try again in a moment.",
    )
}

fn method_not_allowed(allowed: &'static str) -> HttpReply {
    let mut reply = pages::message_page(
        405,
        "Not available this way",
        &Frame::default(),
        "This address does not take that kind of request. Open the catalog again from your \
         procurement system.",
    );
    reply.headers.push(("allow", allowed.into()));
    reply
}

/// A required form field, trimmed; a 400 page naming it when it is missing or empty.
fn field<'a>(form: &'a [(String, String)], name: &str) -> Result<&'a str, HttpReply> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            pages::message_page(
                400,
                "Something is missing",
                &Frame::default(),
                &format!(
                    "The form did not include the field <code>{}</code>. Go back and try \
                     again, or start again from your procurement system.",
                    escape_html(name)
                ),
            )
        })
}

/// GET /punchout/start and GET /catalog: the list, searched; the StartPage opens the
/// SelectedItem of the setup request when there is one.
async fn catalog_page(deps: &Deps, request: &WebRequest, start: bool) -> PageResult {
    let visit = open_visit(deps, request.query("token").unwrap_or("")).await?;
    let query = request.query("q").unwrap_or("").trim();
    let mut notice = String::new();
    if start && let Some(selected) = visit.session.selected_product.as_deref() {
        if is_visible(visit.org.as_ref(), selected)
            && let Some(product) = deps
                .store
                .get_product(selected)
                .await
                .map_err(unavailable)?
        {
            return Ok(detail(&visit, &product));
        }
        notice = format!(
            "<div class=\"notice\"><p>The product your procurement system asked for \
             (<code>{}</code>) is not available to your organisation. Here is the catalog \
             instead.</p></div>",
            escape_html(selected)
        );
    }
    let products = visible_products(deps, &visit.session.org_id, query)
        .await
        .map_err(unavailable)?;
    let mut main = notice;
    let title = if query.is_empty() {
        main.push_str("<h1>Catalog</h1>");
        "Catalog".to_string()
    } else {
        main.push_str(&format!("<h1>Results for “{}”</h1>", escape_html(query)));
        format!("Results for “{query}”")
    };
    let private = visit
        .org
        .as_ref()
        .is_some_and(|o| o.private_marketplace.is_some());
    let count = match products.len() {
        1 => "1 product".to_string(),
        n => format!("{n} products"),
    };
    main.push_str(&format!(
        "<p class=\"muted\">{count}{}.</p>",
        if private {
            " in your organisation's private marketplace (approved by your administrators)"
        } else {
            ""
        }
    ));
    if products.is_empty() {
        main.push_str(&format!(
            "<div class=\"notice\"><p>Nothing matches. Try a product name, a vendor or a \
             type such as SaaS. <a href=\"{}\">Show all products</a>.</p></div>",
            escape_html(&visit.catalog_link())
        ));
    } else {
        main.push_str("<ul class=\"cards\">");
        for p in &products {
            main.push_str(&format!(
                "<li class=\"card\"><span class=\"tag\">{ptype}</span>\
                 <h2><a href=\"{href}\">{title}</a></h2>\
                 <p class=\"muted\">by {vendor}</p><p>{summary}</p>\
                 <p class=\"price\">{price}</p></li>",
                ptype = escape_html(p.product_type.label()),
                href = escape_html(&visit.product_link(&p.id)),
                title = escape_html(&p.title),
                vendor = escape_html(&p.vendor),
                summary = escape_html(&p.summary),
                price = escape_html(&p.pricing.label()),
            ));
        }
        main.push_str("</ul>");
    }
    Ok(pages::page(200, &title, &visit.frame(query), &main))
}

/// GET /catalog/products/{id}.
async fn product_page(deps: &Deps, request: &WebRequest, raw_id: &str) -> PageResult {
    let visit = open_visit(deps, request.query("token").unwrap_or("")).await?;
    let id = pages::decode_segment(raw_id).unwrap_or_default();
    let product = visit.product(deps, &id).await?;
    Ok(detail(&visit, &product))
}

fn lines_table(lines: &[crate::model::QuoteLine], caption: &str) -> String {
    let mut html = format!(
        "<table><caption class=\"muted\">{}</caption><thead><tr><th scope=\"col\">Line</th>\
         <th scope=\"col\">Description</th><th scope=\"col\">UNSPSC</th>\
         <th scope=\"col\" class=\"num\">Amount</th></tr></thead><tbody>",
        escape_html(caption)
    );
    for l in lines {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            l.line_number,
            escape_html(&l.description),
            escape_html(&l.unspsc),
            escape_html(&money(&l.unit_price))
        ));
    }
    html.push_str("</tbody>");
    if let Some(first) = lines.first() {
        let total: rust_decimal::Decimal =
            lines.iter().map(|l| l.unit_price.amount * l.quantity).sum();
        let total = cxml::Money::new(total, first.unit_price.currency.clone());
        html.push_str(&format!(
            "<tfoot><tr><th scope=\"row\" colspan=\"3\">Total</th><td class=\"num\">{}</td></tr></tfoot>",
            escape_html(&money(&total))
        ));
    }
    html.push_str("</table>");
    html
}

/// The product detail page: type, pricing, offer terms, and what Request approval does.
fn detail(visit: &Visit, product: &Product) -> HttpReply {
    let mut main = format!(
        "<p><a href=\"{back}\">← Back to the catalog</a></p>\
         <h1>{title}</h1><p class=\"muted\">by {vendor}</p><p>{summary}</p>",
        back = escape_html(&visit.catalog_link()),
        title = escape_html(&product.title),
        vendor = escape_html(&product.vendor),
        summary = escape_html(&product.summary),
    );
    main.push_str(&format!(
        "<section class=\"panel\" aria-labelledby=\"terms\"><h2 id=\"terms\">Pricing and offer terms</h2>\
         <dl class=\"facts\"><dt>Product type</dt><dd>{}</dd><dt>Pricing</dt><dd>{}</dd>",
        escape_html(product.product_type.label()),
        escape_html(&product.pricing.label())
    ));
    if let crate::model::Pricing::FlexiblePaymentSchedule { installments } = &product.pricing {
        main.push_str("<dt>Installments</dt><dd><ul>");
        for i in installments {
            main.push_str(&format!(
                "<li>{} due {}</li>",
                escape_html(&money(&i.amount)),
                escape_html(&cart::utc_date(i.due))
            ));
        }
        main.push_str("</ul></dd>");
    }
    match &product.private_offer {
        Some(offer) => main.push_str(&format!(
            "<dt>Private offer ID</dt><dd><code>{}</code></dd>\
             <dt>Offer expires</dt><dd><time datetime=\"{}\">{}</time></dd>",
            escape_html(&offer.offer_id),
            escape_html(&cxml::format_timestamp(offer.expires_at)),
            escape_html(&cart::utc_date_time(offer.expires_at)),
        )),
        None => {
            main.push_str("<dt>Offer</dt><dd>Public offer: the price shown to every buyer</dd>")
        }
    }
    main.push_str("</dl></section>");

    let system = visit.system();
    main.push_str(
        "<section class=\"panel\" aria-labelledby=\"request\"><h2 id=\"request\">Request approval</h2>",
    );
    if !visit.may_request() {
        main.push_str(&format!(
            "<p>{system} opened this catalog to inspect an existing cart, so nothing can be \
             requested in this session. Start a new purchase from {system} to request this \
             product.</p>"
        ));
    } else {
        match cart::cart_lines(product, &visit.integration) {
            Err(unsupported) => main.push_str(&format!(
                "<div class=\"notice bad\"><p><strong>Not available through {system}.</strong> {}</p></div>",
                escape_html(&unsupported.0)
            )),
            Ok(decision) => {
                match &decision {
                    CartDecision::SendForApproval(cart) => {
                        main.push_str(&format!(
                            "<p>Request approval returns this cart to {system}, where your \
                             organisation's approvers see it. You are subscribed when the \
                             purchase order arrives.</p>"
                        ));
                        let caption = format!("The cart that goes to {system}");
                        main.push_str(&lines_table(&cart.lines, &caption));
                        if cart.never_invoiced {
                            main.push_str(
                                "<p class=\"muted\">The free trial is approved at 0.00 and never invoiced.</p>",
                            );
                        }
                    }
                    CartDecision::SubscribeNow(_) => {
                        main.push_str(&format!(
                            "<p>Your organisation pre-approves products like this one, so no \
                             approval is needed: Request approval subscribes you at once and \
                             sends nothing to {system}.</p>"
                        ));
                    }
                }
                main.push_str(&format!(
                    "<form method=\"post\" action=\"{action}\">\
                     <input type=\"hidden\" name=\"token\" value=\"{token}\">\
                     <input type=\"hidden\" name=\"product_id\" value=\"{id}\">\
                     <button type=\"submit\">Request approval</button></form>",
                    action = escape_html(&self_url(&visit.catalog_url, REQUEST_APPROVAL_PATH)),
                    token = escape_html(&visit.token),
                    id = escape_html(&product.id),
                ));
            }
        }
    }
    main.push_str("</section>");
    pages::page(200, &product.title, &visit.frame(""), &main)
}

/// POST /catalog/request-approval: stores the quote, then either subscribes at once
/// (pre-approved Free/BYOL) or returns the cart to the procurement system.
async fn request_approval(deps: &Deps, request: &WebRequest) -> PageResult {
    let form = request.form();
    let visit = open_visit(deps, field(&form, "token")?).await?;
    let product_id = field(&form, "product_id")?;
    let system = visit.system();
    if !visit.may_request() {
        return Err(pages::message_page(
            400,
            "Inspection only",
            &visit.frame(""),
            &format!(
                "{system} opened this catalog to inspect an existing cart, so nothing can be \
                 requested in this session. Start a new purchase from {system}."
            ),
        ));
    }
    let product = visit.product(deps, product_id).await?;
    let decision = cart::cart_lines(&product, &visit.integration).map_err(|unsupported| {
        pages::message_page(
            400,
            "This product cannot be requested here",
            &visit.frame(""),
            &escape_html(&unsupported.0),
        )
    })?;
    let preapproved = matches!(decision, CartDecision::SubscribeNow(_));
    if !preapproved {
        check_form_post(&visit)?;
    }
    let cart = decision.into_cart();
    let test = visit.test();
    let now = OffsetDateTime::now_utc();
    let mut quote = Quote {
        quote_id: String::new(),
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
        quote.quote_id = format!("q-{}", random_id()?);
        // Test mode never creates a subscription: the pre-approved quote is kept, marked
        // test, without its agreement.
        let agreement = if preapproved && !test {
            let agreement = Agreement {
                agreement_id: format!("a-{}", random_id()?),
                org_id: quote.org_id.clone(),
                product_id: quote.product_id.clone(),
                quote_id: quote.quote_id.clone(),
                po_number: None,
                order_date: None,
                subscriber_email: quote.requester_email.clone(),
                status: AgreementStatus::Active,
                charge_ids: Vec::new(),
                created_at: now,
            };
            quote.agreement_id = Some(agreement.agreement_id.clone());
            Some(agreement)
        } else {
            None
        };
        match deps.store.create_quote(&quote, agreement.as_ref()).await {
            Ok(()) => break agreement,
            Err(StoreError::Conflict(_)) if attempt < 3 => continue,
            Err(e) => return Err(unavailable(e)),
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
        let heading = if agreement.is_some() {
            format!("You are subscribed to {}", product.title)
        } else {
            format!("Test mode: {} was not subscribed", product.title)
        };
        let mut main = format!(
            "<h1>{}</h1><div class=\"notice\"><p>",
            escape_html(&heading)
        );
        if agreement.is_some() {
            main.push_str(&format!(
                "Your organisation pre-approves products like this one, so you are subscribed \
                 now. Nothing was sent to {system} for approval.",
            ));
        } else {
            main.push_str(&format!(
                "Test mode: in production you would be subscribed now, as your organisation \
                 pre-approves products like this one. Nothing was subscribed, and nothing was \
                 sent to {system}.",
            ));
        }
        main.push_str(&format!(
            "</p></div><p class=\"muted\">Reference: <code>{}</code></p>\
             <p><a href=\"{}\">Back to the catalog</a></p>",
            escape_html(&quote.quote_id),
            escape_html(&visit.catalog_link())
        ));
        return Ok(pages::page(200, &heading, &visit.frame(""), &main));
    }
    let message = cart::order_message(&quote, &product);
    let intro = format!(
        "<h1>Returning your cart to {system}</h1>\
         <p>Your request for <strong>{}</strong> goes to {system} for approval.</p>{}\
         <p class=\"muted\">Reference: <code>{}</code></p>",
        escape_html(&product.title),
        lines_table(&quote.lines, "Your cart"),
        escape_html(&quote.quote_id),
    );
    Ok(cart_page(deps, &visit, message, &intro))
}

/// POST /catalog/return: back to the procurement system with an empty cart (a punchout
/// user has no other way back in many procurement systems).
async fn return_without_cart(deps: &Deps, request: &WebRequest) -> PageResult {
    let form = request.form();
    let visit = open_visit(deps, field(&form, "token")?).await?;
    check_form_post(&visit)?;
    let system = visit.system();
    let intro = format!(
        "<h1>Returning to {system}</h1><p>You are going back to {system} without adding \
         anything to your cart.</p>"
    );
    Ok(cart_page(
        deps,
        &visit,
        cart::empty_order_message(&visit.session.buyer_cookie),
        &intro,
    ))
}

fn random_id() -> Result<String, HttpReply> {
    cxml::payload::random_hex::<16>().map_err(|e| {
        tracing::error!(error = %e, "the OS refused random bytes");
        pages::message_page(
            503,
            "Try again in a moment",
            &Frame::default(),
            "The request could not be completed. Please try again in a moment.",
        )
    })
}

/// The cart goes back through the user's browser: only to a web address.
fn check_form_post(visit: &Visit) -> Result<(), HttpReply> {
    let url = visit.session.browser_form_post.trim();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Ok(());
    }
    tracing::warn!(org_id = %visit.session.org_id, "BrowserFormPost is not an http(s) URL");
    Err(pages::message_page(
        400,
        "No way back to your procurement system",
        &visit.final_frame(),
        &format!(
            "{} gave no web address to return the cart to. Ask your administrator to check \
             the punchout settings, then start again from {}.",
            visit.system(),
            visit.system()
        ),
    ))
}

/// The cXML envelope of a cart: From and Sender are the marketplace, To is the buyer.
fn order_message_document(deps: &Deps, visit: &Visit, message: PunchOutOrderMessage) -> Cxml {
    let config = &deps.config;
    let supplier = || Credential::new(&config.supplier_domain, &config.supplier_identity);
    let header = cxml::Header {
        from: vec![supplier()],
        to: vec![Credential::new(
            &visit.integration.buyer_domain,
            &visit.integration.buyer_identity,
        )],
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

/// An attribute value that keeps its line breaks exactly (the cXML travels verbatim).
fn escape_attribute(text: &str) -> String {
    escape_html(text)
        .replace('\r', "&#13;")
        .replace('\n', "&#10;")
}

/// The page that posts the cart to BrowserFormPost: submitted by a one-line script, with a
/// visible button for browsers without scripts.
fn cart_page(deps: &Deps, visit: &Visit, message: PunchOutOrderMessage, intro: &str) -> HttpReply {
    let xml = cxml::to_xml(&order_message_document(deps, visit, message));
    let encoding = visit.integration.form_encoding;
    let system = visit.system();
    let main = format!(
        "{intro}<form id=\"cart\" method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"{field}\" value=\"{value}\">\
         <button type=\"submit\">Return the cart to {system}</button></form>\
         <p class=\"muted\">If {system} does not open by itself, press the button.</p>",
        action = escape_html(visit.session.browser_form_post.trim()),
        field = encoding.field_name(),
        value = escape_attribute(&encoding.encode(&xml)),
    );
    pages::page_with_script(
        200,
        &format!("Returning to {system}"),
        &visit.final_frame(),
        &main,
        Some("document.getElementById(\"cart\").submit();"),
    )
}

/// POST /catalog/subscribe: a subscribe attempt made in the marketplace, outside a
/// punchout. Organisations that buy through a procurement system are sent there.
async fn subscribe(deps: &Deps, request: &WebRequest) -> PageResult {
    let form = request.form();
    let product_id = field(&form, "product_id")?;
    // The IAM-signed caller wins over the form: the form is only what the page said.
    let account_id = match request.caller_account.as_deref().map(str::trim) {
        Some(account) if !account.is_empty() => account,
        _ => field(&form, "account_id")?,
    };
    let frame = Frame::default();
    let product = deps
        .store
        .get_product(product_id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            pages::message_page(
                404,
                "Product not found",
                &frame,
                "There is no such product in the marketplace.",
            )
        })?;
    let org = deps
        .store
        .find_organization_by_account(account_id)
        .await
        .map_err(unavailable)?;
    let integration = match &org {
        Some(o) => deps
            .store
            .get_integration(&o.org_id)
            .await
            .map_err(unavailable)?
            .filter(|i| i.enabled),
        None => None,
    };
    let title = escape_html(&product.title);
    match integration {
        Some(i) if i.system == ProcurementSystem::Ariba => Err(pages::message_page(
            403,
            "Start from SAP Ariba",
            &frame,
            &format!(
                "Your organisation buys through SAP Ariba, so subscriptions start there: \
                 open SAP Ariba and punch out to the marketplace, then find <strong>{title}</strong> \
                 and press Request approval. Nothing was subscribed."
            ),
        )),
        Some(i) if i.redirect => Ok(pages::page(
            200,
            "Continue in Coupa",
            &Frame {
                system: Some(i.system),
                test: i.test_mode,
                ..Frame::default()
            },
            &format!(
                "<h1>Continue in Coupa</h1><div class=\"notice\"><p>Your organisation buys \
                 software through Coupa, so <strong>{title}</strong> is requested there and \
                 approved by your approvers. Nothing was subscribed.</p></div>\
                 <h2>How to request it</h2><ol><li>Open Coupa and sign in.</li>\
                 <li>Choose the Software Marketplace punchout from Coupa's shopping page.</li>\
                 <li>Find <strong>{title}</strong> and press <strong>Request approval</strong>.</li>\
                 <li>Coupa routes the request to your approvers; you are subscribed when the \
                 purchase order arrives.</li></ol>"
            ),
        )),
        _ => Ok(pages::page(
            200,
            "Subscribe in the marketplace",
            &frame,
            &format!(
                "<h1>Subscribe in the marketplace</h1><div class=\"notice\"><p>Your \
                 organisation does not route marketplace purchases through a procurement \
                 system, so the marketplace's direct subscription applies to \
                 <strong>{title}</strong>. That flow is handled by the marketplace itself, \
                 not by the procurement integration.</p></div>"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A store that fails every call would have to follow every change to the Store trait;
    // the handlers all map storage errors through this one function instead.
    #[test]
    fn storage_failures_become_a_503_page() {
        let reply = unavailable(StoreError::Unavailable("down".into()));
        assert_eq!(reply.status, 503);
        assert!(reply.body.contains("Try again in a moment"));
        assert!(!reply.body.contains("down"));
    }

    #[test]
    fn catalog_urls_sit_beside_the_catalog() {
        assert_eq!(
            self_url("https://x.example/base/catalog", REQUEST_APPROVAL_PATH),
            "https://x.example/base/catalog/request-approval"
        );
    }

    #[test]
    fn search_needs_every_word() {
        let product = crate::demo::products(OffsetDateTime::now_utc())
            .into_iter()
            .find(|p| p.id == "prod-saas-fps")
            .unwrap();
        assert!(matches_query(&product, ""));
        assert!(matches_query(&product, "ORBIT saas"));
        assert!(matches_query(&product, "payment schedule"));
        assert!(!matches_query(&product, "orbit ami"));
    }
}
