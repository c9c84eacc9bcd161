//! Coupa Open Buy: the JSON API the supplier hosts and Coupa calls to search the supplier's
//! catalog from inside Coupa, look at one item, and check it out (Compass / Success Portal,
//! "Open Buy API Reference": `POST /authentication/v1.0.0`, `/search/v1.0.0`,
//! `/detail/v1.0.0`, `/checkout/v1.0.0`, answering 200, 400, 401 or 500).
//!
//! What the reference says, and what we chose where it is silent (the stored copy of the
//! reference ends in the middle of the search answer's first result, and its OpenAPI schema
//! could not be read; every choice below that is not quoted from it is marked "our choice"):
//!
//! - Authentication: `{"credentials": "...", "email": "..."}` → `{"token": "..."}`; the API
//!   "may be authenticated through username and password (similar to cXML identity/secret
//!   pair)". Our choice: `credentials` is the buyer's cXML From credential and shared secret,
//!   `<domain>/<identity>:<shared secret>` (the one the punchout already uses, shown in the
//!   purchase information), or the same text in base64 as HTTP Basic would carry it. `email`
//!   (the Coupa user) is optional and only read.
//! - The token: our choice, 256 random bits, valid [`TOKEN_MINUTES`], stored only as its
//!   SHA-256 digest with a TTL (as punchout sessions are). Later calls present it as
//!   `Authorization: Bearer <token>` (our choice; a `token` field of the body is read too).
//! - Search: `{"query": string (required), "page_number": number (optional)}` → `{"count",
//!   "total_count", "results": [{"source_part_num", ...}]}` (the reference). Our choice:
//!   pages of [`PAGE_SIZE`], numbered from 1; `count` is the number of results on this page,
//!   `total_count` all matches; a page past the end is empty, not an error.
//! - Detail and checkout take the `source_part_num` of a result. Checkout ("retrieve item
//!   data for purchase") answers the item as it would be bought and what Coupa needs to start
//!   the punchout for it: the setup URL and the `SupplierPartID` of the PunchOutSetupRequest's
//!   `SelectedItem`, which opens that product's page.
//!
//! Only what the organisation may buy through its procurement system is offered: what is
//! offered to it (its private marketplace, and private offers extended to it:
//! [`crate::catalog::offered_to`]), no product the cart rules refuse
//! ([`crate::cart::check_supported`]), and no private offer that has lapsed (a purchase order
//! for it would be refused: [`crate::offers::offer_lapsed`]).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::auth::{CredentialRefused, authenticate_credential};
use crate::cart;
use crate::catalog::{matches_query, offered_to};
use crate::ids::{NoRandomness, OrgId, random_hex};
use crate::model::{
    Integration, Organization, PrivateOffer, ProcurementSystem, Product, QuoteLine,
};
use crate::paths;
use crate::ports::{Deps, StoreError};

/// How long a token opens the API. The reference names no lifetime (our choice): short, so a
/// token that leaks from a log is soon worthless, and long enough for one user's searching;
/// Coupa authenticates again when a token is refused with 401.
pub const TOKEN_MINUTES: i64 = 30;

/// Results per search page (our choice: the reference names `page_number` but no page size).
pub const PAGE_SIZE: usize = 20;

/// The longest search query read (our choice: longer ones are refused with 400).
pub const MAX_QUERY_CHARS: usize = 500;

/// The one answer to every credential or token failure: which part was wrong goes to the log
/// only, as for cXML ([`crate::auth::NOT_ACCEPTED`]).
pub const UNAUTHORIZED: &str = "unauthorized: the Open Buy credentials or token are not accepted (authenticate again with the credentials from the purchase information)";

/// A token Coupa received, as we keep it: its digest only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBuyToken {
    /// SHA-256 of the token; the token itself is only in the answer to Coupa.
    pub token_digest: String,
    pub org_id: OrgId,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Why an Open Buy request gets no answer of its own.
#[derive(Debug, thiserror::Error)]
pub enum OpenBuyRefused {
    /// 400: the request is not as the reference describes it; the text names the field.
    #[error("{0}")]
    Invalid(String),
    /// 401: unknown credentials, a wrong secret, a token unknown or expired; one answer.
    #[error("{UNAUTHORIZED}")]
    Unauthorized,
    /// 401 too (the reference has no 403): the credentials hold, the integration is off.
    #[error("this procurement integration is disabled by the organisation's administrator")]
    Disabled,
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
}

impl From<CredentialRefused> for OpenBuyRefused {
    fn from(refused: CredentialRefused) -> Self {
        match refused {
            CredentialRefused::Wrong => Self::Unauthorized,
            CredentialRefused::Disabled => Self::Disabled,
            CredentialRefused::Storage(e) => Self::Storage(e),
        }
    }
}

/// The buyer credential and shared secret in `credentials` (never printed: no Debug).
pub struct Credentials {
    pub domain: String,
    pub identity: String,
    pub secret: String,
}

impl Credentials {
    /// `<domain>/<identity>:<shared secret>`, as written or in base64 (standard alphabet).
    /// The identity may hold `/` and the secret `:`; none of the three may be blank.
    pub fn parse(credentials: &str) -> Option<Self> {
        let credentials = credentials.trim();
        Self::read(credentials).or_else(|| {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials)
                .ok()?;
            Self::read(std::str::from_utf8(&decoded).ok()?)
        })
    }

    fn read(text: &str) -> Option<Self> {
        let (user, secret) = text.split_once(':')?;
        let (domain, identity) = user.split_once('/')?;
        let (domain, identity) = (domain.trim(), identity.trim());
        if domain.is_empty() || identity.is_empty() || secret.is_empty() {
            return None;
        }
        Some(Self {
            domain: domain.to_string(),
            identity: identity.to_string(),
            secret: secret.to_string(),
        })
    }
}

/// A token just issued: shown to Coupa once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

/// `POST /authentication/v1.0.0`: a token for the Coupa integration these credentials name.
pub async fn authenticate(deps: &Deps, credentials: &str) -> Result<Issued, OpenBuyRefused> {
    let Some(credentials) = Credentials::parse(credentials) else {
        tracing::info!("Open Buy credentials refused: not <domain>/<identity>:<shared secret>");
        // Unreadable credentials cost the same digest as readable ones.
        let _ = cxml::SecretDigest::of("").matches(credentials);
        return Err(OpenBuyRefused::Unauthorized);
    };
    let integration = authenticate_credential(
        deps,
        &credentials.domain,
        &credentials.identity,
        &credentials.secret,
    )
    .await?;
    // Open Buy is Coupa's; an Ariba organisation has no secret of its own to present.
    if integration.system() != ProcurementSystem::Coupa {
        tracing::info!(org_id = %integration.org_id, "Open Buy credentials refused: not a Coupa integration");
        return Err(OpenBuyRefused::Unauthorized);
    }
    let token = random_hex::<32>()?;
    let expires_at = OffsetDateTime::now_utc() + Duration::minutes(TOKEN_MINUTES);
    deps.open_buy_tokens
        .put(&OpenBuyToken {
            token_digest: cxml::SecretDigest::of(&token).to_hex(),
            org_id: integration.org_id.clone(),
            expires_at,
        })
        .await?;
    tracing::info!(org_id = %integration.org_id, "Open Buy token issued");
    Ok(Issued { token, expires_at })
}

/// Who holds a token: the integration (still enabled) and its organisation's record.
#[derive(Debug, Clone)]
pub struct Caller {
    pub integration: Integration,
    /// None: no private marketplace.
    pub org: Option<Organization>,
}

/// The caller behind a token, if it is one we issued and it has not expired.
pub async fn caller(deps: &Deps, token: &str) -> Result<Caller, OpenBuyRefused> {
    let token = token.trim();
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(OpenBuyRefused::Unauthorized);
    }
    let digest = cxml::SecretDigest::of(token).to_hex();
    let Some(stored) = deps
        .open_buy_tokens
        .get(&digest)
        .await?
        // DynamoDB's TTL sweeps late: the expiry is checked on every read.
        .filter(|t| t.expires_at > OffsetDateTime::now_utc())
    else {
        tracing::info!("Open Buy token refused: unknown or expired");
        return Err(OpenBuyRefused::Unauthorized);
    };
    tracing::Span::current().record("org_id", stored.org_id.as_str());
    let integration = deps
        .integrations
        .get(&stored.org_id)
        .await?
        .ok_or(OpenBuyRefused::Unauthorized)?;
    if !integration.enabled() {
        return Err(OpenBuyRefused::Disabled);
    }
    let org = deps.organizations.get(&stored.org_id).await?;
    Ok(Caller { integration, org })
}

/// One product as Open Buy shows it: what a requisition line in Coupa would carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub product: Product,
    /// The cart lines Request approval would send (one, or two for contract plus usage).
    pub lines: Vec<QuoteLine>,
    /// The sum of the lines, in their one currency.
    pub price: cxml::Money,
    /// Pre-approved (Free or BYOL under the organisation's settings): subscribed at once.
    pub preapproved: bool,
}

impl Item {
    /// The product's ID: the `SupplierPartID` of its cart lines and of a `SelectedItem`.
    pub fn source_part_num(&self) -> &str {
        &self.product.id
    }

    pub fn private_offer(&self) -> Option<&PrivateOffer> {
        self.product.private_offer.as_ref()
    }
}

/// The item of `product` for this caller at `now`, if the caller may buy it through Coupa.
fn item(caller: &Caller, product: Product, now: OffsetDateTime) -> Option<Item> {
    if !offered_to(&product, &caller.integration.org_id, caller.org.as_ref()) {
        return None;
    }
    // A lapsed private offer would be refused on the purchase order (409): not offered.
    if product
        .private_offer
        .as_ref()
        .is_some_and(|o| o.expires_at <= now)
    {
        return None;
    }
    let decision = cart::cart_lines(&product, &caller.integration).ok()?;
    let preapproved = matches!(decision, cart::CartDecision::SubscribeNow(_));
    let lines = decision.into_cart().lines;
    let first = lines.first()?;
    let currency = first.unit_price.currency.clone();
    let total = lines
        .iter()
        .map(|l| l.unit_price.amount * l.quantity)
        .sum::<rust_decimal::Decimal>();
    Some(Item {
        price: cxml::Money::new(total, currency).rounded(),
        product,
        lines,
        preapproved,
    })
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub page_number: u32,
    /// Every match, on all pages.
    pub total_count: usize,
    pub items: Vec<Item>,
}

/// `POST /search/v1.0.0`: page `page_number` (from 1) of what the caller may buy that
/// matches every word of `query` ([`crate::catalog::matches_query`]; empty: everything),
/// ordered by name, then ID, so pages never overlap.
pub async fn search(
    deps: &Deps,
    caller: &Caller,
    query: &str,
    page_number: u32,
) -> Result<SearchPage, OpenBuyRefused> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(OpenBuyRefused::Invalid(format!(
            "field `query` is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    if page_number == 0 {
        return Err(OpenBuyRefused::Invalid(
            "field `page_number` counts from 1".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let query = query.trim();
    let mut items: Vec<Item> = deps
        .catalog
        .list_products()
        .await?
        .into_iter()
        .filter(|p| matches_query(p, query))
        .filter_map(|p| item(caller, p, now))
        .collect();
    items.sort_by(|a, b| {
        (a.product.title.to_lowercase(), &a.product.id)
            .cmp(&(b.product.title.to_lowercase(), &b.product.id))
    });
    let total_count = items.len();
    let skip = (page_number as usize - 1).saturating_mul(PAGE_SIZE);
    let items = items.into_iter().skip(skip).take(PAGE_SIZE).collect();
    Ok(SearchPage {
        page_number,
        total_count,
        items,
    })
}

/// `POST /detail/v1.0.0`: one item the caller may buy. An item outside the caller's catalog
/// gets the same 400 as one that does not exist, so nothing tells which products others see.
pub async fn detail(
    deps: &Deps,
    caller: &Caller,
    source_part_num: &str,
) -> Result<Item, OpenBuyRefused> {
    let unknown = || {
        OpenBuyRefused::Invalid(format!(
            "field `source_part_num`: no item {source_part_num:?} is offered to this organisation"
        ))
    };
    if !crate::limits::may_name_a_record(source_part_num.trim()) {
        return Err(OpenBuyRefused::Invalid(format!(
            "field `source_part_num`: at most {} bytes",
            crate::limits::MAX_ID_BYTES
        )));
    }
    let product = deps
        .catalog
        .get_product(source_part_num.trim())
        .await?
        .ok_or_else(unknown)?;
    item(caller, product, OffsetDateTime::now_utc()).ok_or_else(unknown)
}

/// What checkout hands Coupa: the item, and the punchout that buys it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkout {
    pub item: Item,
    /// Where Coupa sends its PunchOutSetupRequest (operation `create`).
    pub punchout_setup_url: String,
    /// For `<SelectedItem><ItemID><SupplierPartID>`: the StartPage then opens this product.
    pub selected_supplier_part_id: String,
}

/// `POST /checkout/v1.0.0`. Each line is one unit (the price is the whole contract or
/// allowance for its term: [`crate::cart::UNIT_OF_MEASURE`]), so a `quantity`, when given,
/// must be 1.
pub async fn checkout(
    deps: &Deps,
    caller: &Caller,
    source_part_num: &str,
    quantity: Option<rust_decimal::Decimal>,
) -> Result<Checkout, OpenBuyRefused> {
    if let Some(quantity) = quantity
        && quantity != rust_decimal::Decimal::ONE
    {
        return Err(OpenBuyRefused::Invalid(format!(
            "field `quantity` must be 1, not {quantity}: one line is the whole contract for its term"
        )));
    }
    let item = detail(deps, caller, source_part_num).await?;
    Ok(Checkout {
        selected_supplier_part_id: item.source_part_num().to_string(),
        punchout_setup_url: deps.config.url(paths::SETUP),
        item,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_as_written_or_in_base64() {
        let read = |s: &str| Credentials::parse(s).map(|c| (c.domain, c.identity, c.secret));
        let expected = Some(("DUNS".into(), "buyer-1".into(), "s3cr:et".into()));
        assert_eq!(read("DUNS/buyer-1:s3cr:et"), expected);
        assert_eq!(read(" DUNS/buyer-1:s3cr:et\n"), expected);
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode("DUNS/buyer-1:s3cr:et");
        assert_eq!(read(&encoded), expected);
        assert_eq!(
            read("NetworkID/AN01/x:s"),
            Some(("NetworkID".into(), "AN01/x".into(), "s".into()))
        );
        for unreadable in ["", "no-slash:secret", "DUNS/id:", "/id:s", "DUNS/:s", "%%%"] {
            assert!(read(unreadable).is_none(), "{unreadable:?}");
        }
    }
}
