//! PunchOutSetupRequest and ProfileRequest: opening a punchout session; and the open session
//! ("visit") behind a StartPage token, which every catalog page starts from.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cxml::{
    Body, Cxml, ProfileResponse, Rejection, RequestPayload, ResponsePayload, Status, Transaction,
};
use time::{Duration, OffsetDateTime};

use crate::auth::authenticate;
use crate::ids::{OrgId, random_hex};
use crate::message_log::{self, Exchange};
use crate::model::{Integration, Organization, ProcurementSystem, Product, Session};
use crate::paths;
use crate::ports::{Deps, StoreError, VisitReads};
use crate::refusal::Refusal;

/// At most this many `ItemOut` lines of an `edit`/`inspect` request are kept in the session
/// (a cart of ours has one or two lines per quote; see [`crate::quotes::MAX_EARLIER_QUOTES`]).
pub const MAX_EARLIER_LINES: usize = 100;

/// Handles a POSTed cXML document at the punchout setup URL: the answer to send back. A
/// document that authenticated is logged with the answer ([`message_log`]).
pub async fn setup(deps: &Deps, body: &[u8]) -> Result<Cxml, Refusal> {
    let received = OffsetDateTime::now_utc();
    let mut exchange = None;
    let outcome = answer_setup(deps, body, &mut exchange).await;
    let status = match &outcome {
        Ok(answer) => message_log::response_status(answer),
        Err(refusal) => message_log::answer_status(refusal),
    };
    message_log::record_inbound(deps, exchange, received, body, status).await;
    outcome
}

/// The answer to a setup or profile request; `exchange` is set once the sender authenticated.
async fn answer_setup(
    deps: &Deps,
    body: &[u8],
    exchange: &mut Option<Exchange>,
) -> Result<Cxml, Refusal> {
    let doc = cxml::parse(body)?;
    crate::limits::check(&doc)?;
    tracing::Span::current().record("payload_id", doc.payload_id.as_str());
    let (Some(header), Body::Request(request)) = (&doc.header, &doc.body) else {
        return Err(Rejection::bad_request(format!(
            "expected a cXML Request at the punchout setup URL, got {}",
            doc.message_type()
        ))
        .into());
    };
    let authenticated = authenticate(deps, header).await?;
    *exchange = Some(Exchange::inbound(&authenticated.integration.org_id, &doc));
    let test = authenticated.test(request.deployment_mode);
    let integration = authenticated.integration;
    let host = deps.config.payload_host();
    match &request.payload {
        RequestPayload::PunchOutSetup(setup) => {
            let Some(form_post) = setup.browser_form_post.clone().filter(|u| !u.is_empty()) else {
                return Err(Rejection::bad_request(
                    "missing element BrowserFormPost in PunchOutSetupRequest: the cart would have nowhere to go",
                )
                .into());
            };
            // The cart goes there from the buyer's browser: over TLS to the procurement system
            // (Coupa and SAP Ariba are https), plain http only to a local stand-in.
            if let Err(why) = crate::urls::buyer_url(&form_post, deps.config.is_local()) {
                return Err(Rejection::bad_request(format!(
                    "element URL of BrowserFormPost in PunchOutSetupRequest {why}"
                ))
                .into());
            }
            let token = session_token(&integration.org_id)
                .map_err(|_| Rejection::internal("could not draw a session token; please retry"))?;
            let session = Session {
                token_digest: cxml::SecretDigest::of(&token).to_hex(),
                org_id: integration.org_id.clone(),
                buyer_cookie: setup.buyer_cookie.clone(),
                browser_form_post: form_post,
                // An address SES would refuse would sit in the outbox; the catalog page says
                // so when none is usable.
                requester_email: setup
                    .requester_emails()
                    .find_map(crate::emails::usable_address),
                requester_name: setup.requester_name(),
                operation: setup.operation,
                test,
                selected_product: setup
                    .selected_item
                    .as_ref()
                    .map(|i| i.supplier_part_id.clone()),
                // The cart an edit or inspect request re-opens; read against the stored
                // quotes on each page (quotes::earlier_cart). Bounded, so a huge request
                // cannot make the session too large to store.
                earlier_items: setup
                    .items
                    .iter()
                    .take(MAX_EARLIER_LINES)
                    .map(|i| {
                        (
                            i.item_id.supplier_part_id.clone(),
                            i.item_id.supplier_part_auxiliary_id.clone().map(Into::into),
                        )
                    })
                    .collect(),
                expires_at: OffsetDateTime::now_utc()
                    + Duration::minutes(deps.config.session_minutes),
            };
            deps.sessions.put(&session).await?;
            tracing::info!(
                org_id = %session.org_id,
                requester_email_usable = session.requester_email.is_some(),
                operation = session.operation.as_str(),
                test = session.test,
                "punchout session opened"
            );
            let start_page_url = format!("{}?token={token}", deps.config.url(paths::START));
            Ok(Cxml::response(
                host,
                Status::ok(),
                Some(ResponsePayload::PunchOutSetup(
                    cxml::PunchOutSetupResponse { start_page_url },
                )),
            ))
        }
        RequestPayload::Profile(_) => {
            let transaction = |name: &str, path: &str| Transaction {
                request_name: name.into(),
                url: deps.config.url(path),
                options: Vec::new(),
            };
            let profile = ProfileResponse {
                effective_date: OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                options: Vec::new(),
                transactions: vec![
                    transaction("PunchOutSetupRequest", paths::SETUP),
                    transaction("OrderRequest", paths::ORDER),
                ],
            };
            Ok(Cxml::response(
                host,
                Status::ok(),
                Some(ResponsePayload::Profile(profile)),
            ))
        }
        RequestPayload::Order(_) => Err(Rejection::not_implemented(format!(
            "OrderRequest is not accepted at the punchout setup URL; send purchase orders to {}",
            deps.config.url(paths::ORDER)
        ))
        .into()),
        RequestPayload::InvoiceDetail(_)
        | RequestPayload::Confirmation(_)
        | RequestPayload::Other(_) => Err(Rejection::not_implemented(format!(
            "{} is not implemented by this marketplace",
            doc.message_type()
        ))
        .into()),
    }
}

/// An open punchout, with what every catalog page needs to know about it.
#[derive(Debug, Clone)]
pub struct Visit {
    /// The StartPage token: every link and form of the session carries it.
    pub token: String,
    pub session: Session,
    pub integration: Integration,
    /// The organisation's record; none means no private marketplace.
    pub org: Option<Organization>,
    /// The products read with the session ([`open_visit_for`]), as stored: whether one is
    /// offered to the organisation is [`Visit::offers`]'s to say.
    pub products: Vec<(String, Option<Product>)>,
}

/// Why a StartPage token opens no visit.
#[derive(Debug, thiserror::Error)]
pub enum VisitRefused {
    #[error("the session has expired or never existed")]
    Expired,
    #[error("the organisation's integration is turned off")]
    TurnedOff,
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl Visit {
    /// Test mode: the session's own (the setup request said so) or the integration's.
    pub fn test(&self) -> bool {
        self.session.test || self.integration.test_mode()
    }

    pub fn system(&self) -> ProcurementSystem {
        self.integration.system()
    }

    /// Inspect sessions only look: nothing can be requested in them.
    pub fn may_request(&self) -> bool {
        self.session.operation != cxml::PunchOutOperation::Inspect
    }

    /// The product as read with the session: `Some(None)` when it was read and is not there,
    /// None when it was not read.
    pub fn read_product(&self, product_id: &str) -> Option<Option<Product>> {
        self.products
            .iter()
            .find(|(id, _)| id == product_id)
            .map(|(_, p)| p.clone())
    }

    /// Whether the product is offered to this organisation ([`crate::catalog::offered_to`]).
    pub fn offers(&self, product: &Product) -> bool {
        crate::catalog::offered_to(product, &self.session.org_id, self.org.as_ref())
    }
}

/// A StartPage token: 256 random bits (hex), then `.` and the organisation's ID (base64url),
/// so a page reads the session, its integration and organisation at once
/// ([`Sessions::visit`]). The whole token is the secret: the session is stored under its
/// digest, so a token whose organisation part was changed names no session.
///
/// [`Sessions::visit`]: crate::ports::Sessions::visit
fn session_token(org_id: &OrgId) -> Result<String, crate::ids::NoRandomness> {
    Ok(format!(
        "{}.{}",
        random_hex::<32>()?,
        URL_SAFE_NO_PAD.encode(org_id.as_str())
    ))
}

/// The random part of a token is this long (hex).
const TOKEN_RANDOM_HEX: usize = 64;

/// The organisation a StartPage token names: `Some(None)` for a token of before tokens named
/// one (the random part alone: its session names the organisation), None for no token of ours.
fn token_org(token: &str) -> Option<Option<OrgId>> {
    if token.len() > TOKEN_RANDOM_HEX + 1 + crate::limits::MAX_ID_BYTES.div_ceil(3) * 4 {
        return None;
    }
    let (random, rest) = token.split_at_checked(TOKEN_RANDOM_HEX)?;
    if !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if rest.is_empty() {
        return Some(None);
    }
    let encoded = rest.strip_prefix('.')?;
    let org = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
    (!org.is_empty() && crate::limits::may_name_a_record(&org)).then(|| Some(OrgId::from(org)))
}

/// Resolves a StartPage token to its open session, integration and organisation.
pub async fn open_visit(deps: &Deps, token: &str) -> Result<Visit, VisitRefused> {
    open_visit_for(deps, token, None).await
}

/// As [`open_visit`], reading the product the page names with the rest (kept in the visit
/// for [`crate::quotes::visible_product`]): one request for the session, its integration,
/// organisation and the product.
pub async fn open_visit_for(
    deps: &Deps,
    token: &str,
    product_id: Option<&str>,
) -> Result<Visit, VisitRefused> {
    let named = token_org(token).ok_or(VisitRefused::Expired)?;
    let digest = cxml::SecretDigest::of(token).to_hex();
    let org_id = match named {
        Some(org_id) => org_id,
        // A token of before: its session names the organisation (one more read).
        None => {
            deps.sessions
                .get(&digest)
                .await?
                .ok_or(VisitRefused::Expired)?
                .org_id
        }
    };
    let product_ids: Vec<String> = product_id
        .filter(|id| crate::limits::may_name_a_record(id))
        .map(str::to_string)
        .into_iter()
        .collect();
    let records = deps
        .sessions
        .visit(&VisitReads {
            token_digest: digest,
            org_id: org_id.clone(),
            product_ids,
        })
        .await?;
    // The stored session decides: the organisation read with it must be the session's own.
    let session = records
        .session
        .filter(|s| s.expires_at > OffsetDateTime::now_utc())
        .ok_or(VisitRefused::Expired)?;
    if session.org_id != org_id {
        tracing::warn!(
            org_id = %session.org_id,
            "a StartPage token names another organisation than its session's"
        );
        return Err(VisitRefused::Expired);
    }
    tracing::Span::current().record("org_id", session.org_id.as_str());
    let integration = records
        .integration
        .filter(Integration::enabled)
        .ok_or(VisitRefused::TurnedOff)?;
    Ok(Visit {
        token: token.to_string(),
        session,
        integration,
        org: records.org,
        products: records.products,
    })
}
