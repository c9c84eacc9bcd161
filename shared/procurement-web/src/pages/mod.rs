//! The HTML surface: the catalog pages behind the StartPage URL. One layout (a small inline
//! stylesheet, no external assets, no JavaScript needed: one inline script only auto-submits
//! the cart), rendered with maud, which escapes everything it is given unless told otherwise;
//! one error type whose answer is a page; the CSP nonce and the security headers set in one
//! place ([`Page`]'s `IntoResponse`).

pub mod catalog;

use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use cxml::Money;
use maud::{Markup, PreEscaped, html};
use procurement::StoreError;
use procurement::ids::NoRandomness;
use procurement::model::ProcurementSystem;
use procurement::quotes::ApprovalRefused;

use crate::AppState;

const STYLE: &str = r#"
:root{color-scheme:light;--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa;--brand:#0b5cad;--brand-dark:#084a8c;--warn-bg:#fff8c5;--warn-ink:#3b2e00;--bad:#a40e26}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--brand)}
a:hover{color:var(--brand-dark)}
:focus-visible{outline:3px solid var(--brand);outline-offset:2px}
.skip{position:absolute;left:.5rem;top:-3rem;background:#fff;padding:.5rem .75rem;border:2px solid var(--brand);border-radius:6px;z-index:10}
.skip:focus{top:.5rem}
header.site{background:#fff;border-bottom:1px solid var(--line)}
.bar{max-width:64rem;margin:0 auto;padding:.75rem 1rem;display:flex;flex-wrap:wrap;gap:.75rem 1.5rem;align-items:center;justify-content:space-between}
.brand{font-weight:700;font-size:1.125rem;color:var(--ink);text-decoration:none}
.from{color:var(--muted);font-size:.875rem}
form.search{display:flex;gap:.5rem;align-items:center;flex:1 1 20rem;max-width:32rem}
form.search label{font-size:.875rem;color:var(--muted);white-space:nowrap}
input[type=search]{flex:1;min-width:0;font:inherit;padding:.45rem .6rem;border:1px solid #8c959f;border-radius:6px;background:#fff;color:var(--ink)}
button,.button{font:inherit;font-weight:600;cursor:pointer;border-radius:6px;padding:.5rem 1rem;border:1px solid var(--brand);background:var(--brand);color:#fff;text-decoration:none;display:inline-block}
button:hover,.button:hover{background:var(--brand-dark);color:#fff}
button.secondary{background:#fff;color:var(--brand)}
button.secondary:hover{background:#eef4fb;color:var(--brand-dark)}
.test-banner{margin:0;background:var(--warn-bg);color:var(--warn-ink);border-bottom:1px solid #d4a72c;padding:.5rem 1rem;text-align:center}
main{max-width:64rem;margin:0 auto;padding:1.5rem 1rem 3rem}
main:focus{outline:none}
h1{font-size:1.75rem;line-height:1.25;margin:.25rem 0 1rem}
h2{font-size:1.2rem;margin:0 0 .25rem}
.muted{color:var(--muted)}
ul.cards{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:1rem}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1rem 1.1rem;display:flex;flex-direction:column;gap:.35rem}
.card h2 a{color:var(--ink);text-decoration:none}
.card h2 a:hover{text-decoration:underline}
.tag{display:inline-block;font-size:.8rem;font-weight:600;color:#0a3069;background:#ddf4ff;border-radius:999px;padding:.05rem .6rem}
.price{font-weight:600;margin-top:auto}
.panel{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1.25rem;margin:0 0 1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}
.notice{border-left:4px solid var(--brand);background:#fff;padding:.75rem 1rem;margin:0 0 1rem;border-radius:0 6px 6px 0}
.notice.bad{border-left-color:var(--bad)}
footer{max-width:64rem;margin:0 auto;padding:0 1rem 2rem;color:var(--muted);font-size:.875rem}
"#;

/// What the page frame shows around the content.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The session token, when there is a session: the search form carries it.
    pub token: Option<String>,
    /// The catalog URL the search form goes to.
    pub catalog_url: String,
    /// The query to show back in the search box.
    pub query: String,
    /// A test-mode session: the banner says nothing is subscribed or invoiced.
    pub test: bool,
    /// The procurement system the user came from, named in the header.
    pub system: Option<ProcurementSystem>,
    /// Where "Return to <system>" posts, when there is a session.
    pub return_url: Option<String>,
    /// What that way back carries, which its button says.
    pub way_back: WayBack,
}

/// What the "Return to <system>" button of a session sends back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WayBack {
    /// A `create` session: an empty cart.
    #[default]
    WithoutCart,
    /// An `edit` session: the re-opened cart as it was.
    CartUnchanged,
    /// An `inspect` session: nothing to change, so nothing to send.
    DoneInspecting,
}

impl WayBack {
    fn label(self, system: &str) -> String {
        match self {
            Self::WithoutCart => format!("Return to {system} without a cart"),
            Self::CartUnchanged => format!("Return to {system} with your cart unchanged"),
            Self::DoneInspecting => format!("Return to {system}"),
        }
    }
}

impl Frame {
    /// The catalog link of this session (the brand link, and "Back to the catalog").
    pub fn catalog_link(&self) -> String {
        match &self.token {
            Some(token) => with_query(&self.catalog_url, &[("token", token)]),
            None => "#".into(),
        }
    }
}

/// A whole HTML page: a title, the frame around it, the content, and an optional trusted
/// inline script (a constant, never built from data).
pub struct Page {
    pub status: StatusCode,
    pub title: String,
    pub frame: Frame,
    pub main: Markup,
    pub script: Option<&'static str>,
}

impl Page {
    pub fn new(title: impl Into<String>, frame: Frame, main: Markup) -> Self {
        Self {
            status: StatusCode::OK,
            title: title.into(),
            frame,
            main,
            script: None,
        }
    }

    /// A page that explains something: a heading and one paragraph.
    pub fn message(status: StatusCode, title: &str, frame: Frame, paragraph: Markup) -> Self {
        let bad = status.is_client_error() || status.is_server_error();
        let main = html! {
            h1 { (title) }
            div class=(if bad { "notice bad" } else { "notice" }) { p { (paragraph) } }
        };
        Self {
            status,
            ..Self::new(title, frame, main)
        }
    }

    fn render(&self, nonce: &str) -> Markup {
        let frame = &self.frame;
        html! {
            (PreEscaped("<!doctype html>"))
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="referrer" content="no-referrer";
                    title { (self.title) " · Software Marketplace" }
                    style nonce=(nonce) { (PreEscaped(STYLE)) }
                }
                body {
                    a class="skip" href="#main" { "Skip to main content" }
                    header class="site" {
                        div class="bar" {
                            div {
                                a class="brand" href=(frame.catalog_link()) { "Software Marketplace" }
                                @if let Some(system) = frame.system {
                                    div class="from" { "Buying through " (system.name()) }
                                }
                            }
                            @if let Some(token) = &frame.token {
                                form class="search" role="search" method="get" action=(frame.catalog_url) {
                                    input type="hidden" name="token" value=(token);
                                    label for="q" { "Search the catalog" }
                                    input id="q" name="q" type="search" value=(frame.query) placeholder="Product, vendor or type";
                                    button type="submit" { "Search" }
                                }
                                @if let (Some(url), Some(system)) = (&frame.return_url, frame.system) {
                                    form method="post" action=(url) {
                                        input type="hidden" name="token" value=(token);
                                        button type="submit" class="secondary" { (frame.way_back.label(system.name())) }
                                    }
                                }
                            }
                        }
                        @if frame.test {
                            p class="test-banner" {
                                strong { "Test mode." }
                                " Everything works as usual, but nothing you request here is subscribed or invoiced."
                            }
                        }
                    }
                    main id="main" tabindex="-1" { (self.main) }
                    footer { p { "Prices are in the currency shown. Offer expiry times are in UTC." } }
                    @if let Some(js) = self.script {
                        script nonce=(nonce) { (PreEscaped(js)) }
                    }
                }
            }
        }
    }
}

/// Who may show our pages in a frame (CSP `frame-ancestors`; it does not fall back to
/// `default-src`, and browsers honour it over `X-Frame-Options`, which can't say this).
///
/// Procurement systems show a punchout catalog in their own window or inside their page: SAP
/// Ariba can open it in a frame of the buying page, and a Coupa instance can embed it in an
/// iframe. Those pages are served from each customer's own host (`<customer>.coupahost.com`,
/// its test instance, Coupa's other regions and vanity domains, the Ariba data centres), which
/// this deployment does not know, so any https origin may frame us: `'self'` plus `https:`.
/// Never `*`, which would also let plain-http pages (readable and changeable on the way) and
/// `data:`/`blob:` documents frame the catalog. Framing gives a foreign site nothing: every
/// page of a session needs its unguessable StartPage token, so a site can only frame a
/// session it opened itself.
pub const FRAME_ANCESTORS: &str = "'self' https:";

impl IntoResponse for Page {
    /// The page with headers that keep the session token out of caches and other sites'
    /// logs, and a content security policy that allows only the page's own inline style and
    /// script (by a nonce drawn for this page).
    fn into_response(self) -> Response {
        let nonce = procurement::ids::random_hex::<16>().unwrap_or_else(|_| {
            // Escaping is the defence against injection; the nonce only backs it up.
            cxml::new_payload_id("nonce").replace(['.', '@'], "")
        });
        let body = self.render(&nonce).into_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(csp) = HeaderValue::from_str(&format!(
            "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; base-uri 'none'; frame-ancestors {FRAME_ANCESTORS}"
        )) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        response
    }
}

/// Why a page could not be shown as asked: answered with a page that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("the session has expired or is not valid")]
    SessionExpired,
    #[error("the integration is turned off")]
    TurnedOff,
    #[error("no page at this address")]
    NotFound,
    #[error("method not allowed (allowed: {0})")]
    MethodNotAllowed(&'static str),
    #[error("form field {0} missing")]
    MissingField(&'static str),
    #[error("product not in the organisation's catalog")]
    ProductUnavailable(Box<Frame>),
    #[error("no such product")]
    UnknownProduct,
    #[error("{reason}")]
    CannotRequest { frame: Box<Frame>, reason: String },
    #[error("the session only inspects a cart")]
    InspectOnly {
        frame: Box<Frame>,
        system: ProcurementSystem,
    },
    #[error("no web address to return the cart to")]
    NoWayBack {
        frame: Box<Frame>,
        system: ProcurementSystem,
    },
    #[error("the organisation buys through SAP Ariba")]
    StartInAriba { product_title: String },
    #[error("this session already requested {product_title} ({quote_id})")]
    AlreadyRequested {
        frame: Box<Frame>,
        system: ProcurementSystem,
        product_title: String,
        quote_id: String,
    },
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
}

impl PageError {
    /// The refusal of Request approval (or of the empty cart), on the visit's frame.
    pub fn from_approval(
        refused: ApprovalRefused,
        frame: Frame,
        final_frame: Frame,
        system: ProcurementSystem,
    ) -> Self {
        match refused {
            ApprovalRefused::InspectOnly => Self::InspectOnly {
                frame: Box::new(frame),
                system,
            },
            ApprovalRefused::NotAvailable(_) => Self::ProductUnavailable(Box::new(frame)),
            ApprovalRefused::Unsupported(unsupported) => Self::CannotRequest {
                frame: Box::new(frame),
                reason: unsupported.0,
            },
            ApprovalRefused::NoWayBack => Self::NoWayBack {
                frame: Box::new(final_frame),
                system,
            },
            ApprovalRefused::AlreadyRequested(quote) => Self::AlreadyRequested {
                frame: Box::new(frame),
                system,
                product_title: quote.product_title,
                quote_id: quote.quote_id.to_string(),
            },
            ApprovalRefused::NoRandomness(e) => Self::NoRandomness(e),
            ApprovalRefused::Storage(e) => Self::Storage(e),
        }
    }

    fn page(self) -> Page {
        let none = Frame::default;
        match self {
            Self::SessionExpired => Page::message(
                StatusCode::FORBIDDEN,
                "Session expired",
                none(),
                html! {
                    "This punchout session has expired or is not valid. Please start again from your \
                     procurement system (Coupa or SAP Ariba): open the marketplace catalog there."
                },
            ),
            Self::TurnedOff => Page::message(
                StatusCode::FORBIDDEN,
                "Punchout turned off",
                none(),
                html! {
                    "Your organisation's administrator has turned off buying through your \
                     procurement system. Ask them to turn it on again, then start from your \
                     procurement system."
                },
            ),
            Self::NotFound => Page::message(
                StatusCode::NOT_FOUND,
                "Page not found",
                none(),
                html! {
                    "There is no page at this address. Open the catalog again from your procurement system."
                },
            ),
            Self::MethodNotAllowed(_) => Page::message(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not available this way",
                none(),
                html! {
                    "This address does not take that kind of request. Open the catalog again from your \
                     procurement system."
                },
            ),
            Self::MissingField(name) => Page::message(
                StatusCode::BAD_REQUEST,
                "Something is missing",
                none(),
                html! {
                    "The form did not include the field " code { (name) } ". Go back and try \
                     again, or start again from your procurement system."
                },
            ),
            Self::ProductUnavailable(frame) => {
                let link = frame.catalog_link();
                Page::message(
                    StatusCode::NOT_FOUND,
                    "Product not available",
                    *frame,
                    html! {
                        "This product is not in your organisation's catalog. "
                        a href=(link) { "Browse the catalog" } "."
                    },
                )
            }
            Self::UnknownProduct => Page::message(
                StatusCode::NOT_FOUND,
                "Product not found",
                none(),
                html! { "There is no such product in the marketplace." },
            ),
            Self::CannotRequest { frame, reason } => Page::message(
                StatusCode::BAD_REQUEST,
                "This product cannot be requested here",
                *frame,
                html! { (reason) },
            ),
            Self::InspectOnly { frame, system } => {
                let system = system.name();
                Page::message(
                    StatusCode::BAD_REQUEST,
                    "Inspection only",
                    *frame,
                    html! {
                        (system) " opened this catalog to inspect an existing cart, so nothing can be \
                         requested in this session. Start a new purchase from " (system) "."
                    },
                )
            }
            Self::NoWayBack { frame, system } => {
                let system = system.name();
                Page::message(
                    StatusCode::BAD_REQUEST,
                    "No way back to your procurement system",
                    *frame,
                    html! {
                        (system) " gave no web address to return the cart to. Ask your administrator to check \
                         the punchout settings, then start again from " (system) "."
                    },
                )
            }
            Self::AlreadyRequested {
                frame,
                system,
                product_title,
                quote_id,
            } => {
                let system = system.name();
                Page::message(
                    StatusCode::CONFLICT,
                    "Already requested",
                    *frame,
                    html! {
                        "Your request for " strong { (product_title) } " was sent to " (system)
                        " from this session already (reference " code { (quote_id) } "), and it is \
                         no longer waiting for approval. To request it again, start a new purchase from "
                        (system) "."
                    },
                )
            }
            Self::StartInAriba { product_title } => Page::message(
                StatusCode::FORBIDDEN,
                "Start from SAP Ariba",
                none(),
                html! {
                    "Your organisation buys through SAP Ariba, so subscriptions start there: \
                     open SAP Ariba and punch out to the marketplace, then find "
                    strong { (product_title) }
                    " and press Request approval. Nothing was subscribed."
                },
            ),
            Self::Storage(_) | Self::NoRandomness(_) => Page::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a moment",
                none(),
                html! { "The catalog is briefly unavailable. Please try again in a moment." },
            ),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self {
            Self::Storage(e) => {
                tracing::error!(error = %e, "storage failed while serving a catalog page")
            }
            Self::NoRandomness(e) => tracing::error!(error = %e, "the OS refused random bytes"),
            _ => {}
        }
        let allow = match &self {
            Self::MethodNotAllowed(allow) => Some(*allow),
            _ => None,
        };
        let mut response = self.page().into_response();
        if let Some(allow) = allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// A page route answering GET only (other methods get the 405 page).
pub fn get_only<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    get(handler).fallback(|| async { PageError::MethodNotAllowed("GET") })
}

/// A page route answering POST only (other methods get the 405 page).
pub fn post_only<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler).fallback(|| async { PageError::MethodNotAllowed("POST") })
}

/// Any other address under `/catalog`.
pub async fn not_found() -> PageError {
    PageError::NotFound
}

/// `url?name=value&...`, values form-encoded (maud escapes it again in an attribute).
pub fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    let query = query.finish();
    if query.is_empty() {
        url.to_string()
    } else {
        format!("{url}?{query}")
    }
}

/// Percent-encodes one path segment (product IDs in `/catalog/products/{id}`).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a percent-encoded path segment; `None` if it is not valid UTF-8 once decoded.
pub fn decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `12,000.00 USD`: rounded to the currency's minor units, thousands grouped.
pub fn money(m: &Money) -> String {
    let text = m.rounded().amount_text();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f} {}", m.currency),
        None => format!("{sign}{grouped} {}", m.currency),
    }
}

/// The nonce a page's inline script must carry: the one in its CSP header.
pub fn script_nonce(response: &Response) -> Option<String> {
    response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)?
        .to_str()
        .ok()?
        .split("script-src 'nonce-")
        .nth(1)?
        .split('\'')
        .next()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxml::Currency;
    use rust_decimal::Decimal;

    fn usd(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::USD)
    }

    #[test]
    fn money_is_grouped_and_rounded() {
        assert_eq!(money(&usd(1_200_000)), "12,000.00 USD");
        assert_eq!(
            money(&Money::new(Decimal::new(999_995, 3), Currency::USD)),
            "1,000.00 USD"
        );
        assert_eq!(
            money(&Money::new(Decimal::new(-12_345_675, 1), Currency::EUR)),
            "-1,234,567.50 EUR"
        );
        assert_eq!(money(&usd(0)), "0.00 USD");
    }

    #[test]
    fn segments_round_trip() {
        let id = "prod a/b%é";
        let encoded = encode_segment(id);
        assert_eq!(encoded, "prod%20a%2Fb%25%C3%A9");
        assert_eq!(decode_segment(&encoded).as_deref(), Some(id));
        assert_eq!(decode_segment("%zz").as_deref(), Some("%zz"));
        assert_eq!(decode_segment("%FF"), None);
    }

    #[test]
    fn pages_are_accessible_and_escape_their_input() {
        let frame = Frame {
            token: Some("t\"<".into()),
            catalog_url: "https://x/catalog".into(),
            query: "<script>".into(),
            test: true,
            system: Some(ProcurementSystem::Ariba),
            return_url: Some("https://x/catalog/return".into()),
            way_back: WayBack::WithoutCart,
        };
        let page = Page::new("A & B", frame, html! { p { "hi" } });
        let html = page.render("n0nce").into_string();
        assert!(
            html.starts_with("<!doctype html><html lang=\"en\">"),
            "{html}"
        );
        assert!(html.contains("<title>A &amp; B · Software Marketplace</title>"));
        assert!(html.contains("href=\"#main\">Skip to main content</a>"));
        assert!(html.contains("<main id=\"main\""));
        assert!(html.contains("role=\"search\""));
        assert!(html.contains("<label for=\"q\">"));
        assert!(html.contains("value=\"&lt;script&gt;\""));
        assert!(!html.contains("t\"<"));
        assert!(html.contains("Test mode."));
        assert!(html.contains("Return to SAP Ariba without a cart"));
        assert!(html.contains(":focus-visible"));
        assert!(
            html.contains("font:16px/1.5 system-ui,-apple-system,\"Segoe UI\""),
            "the stylesheet is not escaped"
        );
        assert!(html.contains("<style nonce=\"n0nce\">"));

        let response = Page::new("x", Frame::default(), html! {}).into_response();
        let nonce = script_nonce(&response).unwrap();
        assert_eq!(nonce.len(), 32);
    }
}
