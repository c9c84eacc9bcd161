//! PunchOutSetupRequest and ProfileRequest: opening a punchout session; and the open session
//! ("visit") behind a StartPage token, which every catalog page starts from.

use cxml::{
    Body, Cxml, ProfileResponse, Rejection, RequestPayload, ResponsePayload, Status, Transaction,
};
use time::{Duration, OffsetDateTime};

use crate::auth::authenticate;
use crate::ids::random_hex;
use crate::message_log::{self, Exchange};
use crate::model::{Integration, Organization, ProcurementSystem, Product, Session};
use crate::paths;
use crate::ports::{Deps, StoreError};
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
            let token = random_hex::<32>()
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

    /// Whether the product is offered to this organisation ([`crate::catalog::offered_to`]).
    pub fn offers(&self, product: &Product) -> bool {
        crate::catalog::offered_to(product, &self.session.org_id, self.org.as_ref())
    }
}

/// Resolves a StartPage token to its open session, integration and organisation.
pub async fn open_visit(deps: &Deps, token: &str) -> Result<Visit, VisitRefused> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(VisitRefused::Expired);
    }
    let digest = cxml::SecretDigest::of(token).to_hex();
    let session = deps
        .sessions
        .get(&digest)
        .await?
        .filter(|s| s.expires_at > OffsetDateTime::now_utc())
        .ok_or(VisitRefused::Expired)?;
    tracing::Span::current().record("org_id", session.org_id.as_str());
    let integration = deps
        .integrations
        .get(&session.org_id)
        .await?
        .filter(Integration::enabled)
        .ok_or(VisitRefused::TurnedOff)?;
    let org = deps.organizations.get(&session.org_id).await?;
    Ok(Visit {
        token: token.to_string(),
        session,
        integration,
        org,
    })
}
