//! The admin API: a buyer organisation's procurement integration settings.
//!
//! | route                                           | may call                       |
//! |-------------------------------------------------|--------------------------------|
//! | `GET  /admin/orgs/{org_id}/integration`         | management and member accounts |
//! | `PUT  /admin/orgs/{org_id}/integration`         | the management account         |
//! | `POST /admin/orgs/{org_id}/integration/secret`  | the management account         |
//!
//! API Gateway checks the SigV4 signature (AWS_IAM on `ANY /admin/{proxy+}`) and hands us the
//! calling account; the organisation record decides what that account may do. The shared
//! secret is drawn here, shown once and never stored: only its SHA-256 digest is.

use cxml::{FormEncoding, SecretDigest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::http::{HttpReply, WebRequest};
use crate::model::{Integration, Organization, ProcurementSystem};
use crate::ports::{Deps, IntegrationWrite, StoreError};
use crate::punchout::{ORDER_PATH, SETUP_PATH};

pub const ADMIN_PREFIX: &str = "/admin/";
const ORGS_PREFIX: &str = "/admin/orgs/";

/// A settings document is a few hundred bytes; anything far larger is a mistake or abuse.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The credential domain Ariba buyers use by default: the Ariba Network ID.
pub const ARIBA_NETWORK_DOMAIN: &str = "NetworkID";

const NAME_MAX_CHARS: usize = 100;
const DESCRIPTION_MAX_CHARS: usize = 500;
const CREDENTIAL_MAX_CHARS: usize = 256;
const URL_MAX_CHARS: usize = 2048;

/// The settings document an administrator PUTs, and reads back under `settings` from GET
/// (so a GET's `settings` can be edited and PUT again as it is). A PUT replaces every
/// setting: omitted fields take their defaults, which are the safe ones (test mode on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSettings {
    pub system: ProcurementSystem,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// On unless switched off: it protects the buyer until they are ready.
    #[serde(default = "default_true")]
    pub test_mode: bool,
    #[serde(default)]
    pub redirect: bool,
    /// The buyer's Ariba Network ID (ANID); Ariba only.
    #[serde(default)]
    pub ariba_network_id: Option<String>,
    /// Where invoices go (https only); Coupa only.
    #[serde(default)]
    pub invoice_url: Option<String>,
    #[serde(default)]
    pub preapprove_free: bool,
    #[serde(default)]
    pub preapprove_byol: bool,
    #[serde(default)]
    pub form_encoding: FormEncoding,
    /// Off refuses every cXML request of the buyer but keeps every setting and the secret.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The buyer's From credential. Required for Coupa; for Ariba it defaults to
    /// `NetworkID` / the ANID.
    #[serde(default)]
    pub buyer_domain: Option<String>,
    #[serde(default)]
    pub buyer_identity: Option<String>,
    /// The Sender credential, when a network sends for the buyer; defaults to the buyer's.
    #[serde(default)]
    pub sender_domain: Option<String>,
    #[serde(default)]
    pub sender_identity: Option<String>,
}

fn default_true() -> bool {
    true
}

impl From<&Integration> for IntegrationSettings {
    fn from(i: &Integration) -> Self {
        Self {
            system: i.system,
            name: i.name.clone(),
            description: i.description.clone(),
            test_mode: i.test_mode,
            redirect: i.redirect,
            ariba_network_id: i.ariba_network_id.clone(),
            invoice_url: i.invoice_url.clone(),
            preapprove_free: i.preapprove_free,
            preapprove_byol: i.preapprove_byol,
            form_encoding: i.form_encoding,
            enabled: i.enabled,
            buyer_domain: Some(i.buyer_domain.clone()),
            buyer_identity: Some(i.buyer_identity.clone()),
            sender_domain: Some(i.sender_domain.clone()),
            sender_identity: Some(i.sender_identity.clone()),
        }
    }
}

/// Reads a settings document. Every error names the field at fault, so an administrator
/// knows what to fix without reading our source.
pub fn parse_settings(body: &[u8]) -> Result<IntegrationSettings, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("the body is empty: send the integration settings as a JSON object".into());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let Value::Object(fields) = &value else {
        return Err("the body must be a JSON object of integration settings".into());
    };
    serde_json::from_value(value.clone()).map_err(|e| name_the_field(&e, fields))
}

/// serde names the field in "unknown field" and "missing field" errors but not in type
/// errors ("invalid type: string, expected a boolean"). Deserializing each entry alone finds
/// the culprit: serde checks a value as it meets it, and missing fields only at the end.
fn name_the_field(error: &serde_json::Error, fields: &Map<String, Value>) -> String {
    let message = error.to_string();
    if message.starts_with("unknown field") || message.starts_with("missing field") {
        return message;
    }
    for (key, value) in fields {
        let alone = Value::Object(Map::from_iter([(key.clone(), value.clone())]));
        if let Err(e) = serde_json::from_value::<IntegrationSettings>(alone) {
            let alone_message = e.to_string();
            if !alone_message.starts_with("missing field") {
                return format!("field `{key}`: {alone_message}");
            }
        }
    }
    message
}

impl IntegrationSettings {
    /// Checks the document and builds the integration it describes. The secret digest and
    /// time are the caller's to fill in.
    fn to_integration(&self, org_id: &str) -> Result<Integration, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err("field `name` must not be empty".into());
        }
        check_text("name", name, NAME_MAX_CHARS)?;
        let description = self.description.trim();
        check_text("description", description, DESCRIPTION_MAX_CHARS)?;

        let ariba_network_id = given("ariba_network_id", self.ariba_network_id.as_deref())?;
        let invoice_url = given("invoice_url", self.invoice_url.as_deref())?;
        let buyer_domain = given("buyer_domain", self.buyer_domain.as_deref())?;
        let buyer_identity = given("buyer_identity", self.buyer_identity.as_deref())?;

        let (buyer_domain, buyer_identity) = match self.system {
            ProcurementSystem::Coupa => {
                if ariba_network_id.is_some() {
                    return Err("field `ariba_network_id` applies to SAP Ariba only: leave it out (or null) for Coupa".into());
                }
                if let Some(url) = invoice_url {
                    check_https_url("invoice_url", url)?;
                }
                let domain = buyer_domain.ok_or(
                    "field `buyer_domain` is required for Coupa: the domain of the From credential Coupa sends (for example DUNS)",
                )?;
                let identity = buyer_identity.ok_or(
                    "field `buyer_identity` is required for Coupa: the identity of the From credential Coupa sends",
                )?;
                (domain, identity)
            }
            ProcurementSystem::Ariba => {
                let anid = ariba_network_id.ok_or(
                    "field `ariba_network_id` is required for SAP Ariba: the buyer's Ariba Network ID, AN followed by digits (for example AN01234567890)",
                )?;
                check_anid(anid)?;
                if invoice_url.is_some() {
                    return Err("field `invoice_url` applies to Coupa only: SAP Ariba invoices go through the Ariba Network; leave it out (or null)".into());
                }
                (
                    buyer_domain.unwrap_or(ARIBA_NETWORK_DOMAIN),
                    buyer_identity.unwrap_or(anid),
                )
            }
        };
        check_text("buyer_domain", buyer_domain, CREDENTIAL_MAX_CHARS)?;
        check_text("buyer_identity", buyer_identity, CREDENTIAL_MAX_CHARS)?;

        let sender_domain = given("sender_domain", self.sender_domain.as_deref())?;
        let sender_identity = given("sender_identity", self.sender_identity.as_deref())?;
        let (sender_domain, sender_identity) = match (sender_domain, sender_identity) {
            (None, None) => (buyer_domain, buyer_identity),
            (Some(domain), Some(identity)) => (domain, identity),
            (Some(_), None) => {
                return Err("field `sender_identity` is required with `sender_domain` (leave both out to use the buyer credential)".into());
            }
            (None, Some(_)) => {
                return Err("field `sender_domain` is required with `sender_identity` (leave both out to use the buyer credential)".into());
            }
        };
        check_text("sender_domain", sender_domain, CREDENTIAL_MAX_CHARS)?;
        check_text("sender_identity", sender_identity, CREDENTIAL_MAX_CHARS)?;

        Ok(Integration {
            org_id: org_id.to_string(),
            system: self.system,
            name: name.to_string(),
            description: description.to_string(),
            test_mode: self.test_mode,
            redirect: self.redirect,
            ariba_network_id: ariba_network_id.map(str::to_string),
            invoice_url: invoice_url.map(str::to_string),
            preapprove_free: self.preapprove_free,
            preapprove_byol: self.preapprove_byol,
            form_encoding: self.form_encoding,
            enabled: self.enabled,
            buyer_domain: buyer_domain.to_string(),
            buyer_identity: buyer_identity.to_string(),
            sender_domain: sender_domain.to_string(),
            sender_identity: sender_identity.to_string(),
            secret_digest: String::new(),
            updated_at: OffsetDateTime::UNIX_EPOCH,
        })
    }
}

/// An optional text field, trimmed; blank counts as absent, as a form would send it.
fn given<'a>(field: &str, value: Option<&'a str>) -> Result<Option<&'a str>, String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    if let Some(v) = value {
        check_text(field, v, usize::MAX)?;
    }
    Ok(value)
}

fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), String> {
    let count = value.chars().count();
    if count > max_chars {
        return Err(format!(
            "field `{field}` must be at most {max_chars} characters (it has {count})"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "field `{field}` must not contain control characters"
        ));
    }
    Ok(())
}

/// Ariba Network IDs are `AN` followed by digits (AN01234567890).
fn check_anid(anid: &str) -> Result<(), String> {
    let digits = anid.strip_prefix("AN").unwrap_or("");
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "field `ariba_network_id` must be AN followed by digits (for example AN01234567890), not '{anid}'"
        ));
    }
    Ok(())
}

/// Invoices carry prices and purchase order numbers: only over TLS. The one exception is
/// the machine itself (127.0.0.1, localhost), where a local stack's stand-in buyer listens:
/// nothing leaves the host there, and no deployed buyer can be reached that way.
fn check_https_url(field: &str, url: &str) -> Result<(), String> {
    check_text(field, url, URL_MAX_CHARS)?;
    let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let loopback = matches!(host, "127.0.0.1" | "localhost");
    let usable = !host.is_empty() && !authority.contains(char::is_whitespace);
    if usable
        && (scheme.eq_ignore_ascii_case("https")
            || (scheme.eq_ignore_ascii_case("http") && loopback))
    {
        Ok(())
    } else {
        Err(format!(
            "field `{field}` must be an https:// URL with a host, not '{url}'"
        ))
    }
}

/// Lowercase hex of 32 bytes from the OS random source (getrandom).
///
/// The table keeps only `SecretDigest::of(secret)`: plain SHA-256, no salt or stretching,
/// is enough because the secret has 256 bits of entropy: there is nothing to guess, so a
/// leaked table does not reveal it. (Slow hashes protect low-entropy passwords.)
fn new_shared_secret() -> Result<(String, String), HttpReply> {
    let secret = cxml::payload::random_hex::<32>().map_err(|e| {
        tracing::error!(error = %e, "the OS random source failed while drawing a shared secret");
        HttpReply::json_error(503, "could not draw a random shared secret; please retry")
    })?;
    let digest = SecretDigest::of(&secret).to_hex();
    Ok((secret, digest))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Read,
    Save,
    Rotate,
}

/// Routes under `/admin/` (IAM-protected in the template).
pub async fn handle_admin(deps: &Deps, request: &WebRequest) -> HttpReply {
    let Some((org_id, secret_route)) = route(&request.path) else {
        return HttpReply::not_found(&request.path);
    };
    let action = match (secret_route, request.method.as_str()) {
        (false, "GET") => Action::Read,
        (false, "PUT") => Action::Save,
        (true, "POST") => Action::Rotate,
        (false, method) => {
            return method_not_allowed(
                "GET, PUT",
                format!(
                    "{method} is not allowed here: GET reads the integration settings, PUT creates or replaces them"
                ),
            );
        }
        (true, method) => {
            return method_not_allowed(
                "POST",
                format!("{method} is not allowed here: POST rotates the shared secret"),
            );
        }
    };
    let outcome = match authorize(deps, request, org_id, action).await {
        Ok(org) => match action {
            Action::Read => read(deps, &org).await,
            Action::Save => save(deps, &org, request).await,
            Action::Rotate => rotate(deps, &org, request).await,
        },
        Err(reply) => Err(reply),
    };
    outcome.unwrap_or_else(|reply| reply)
}

/// `(org_id, is the secret route)` for the two paths we serve.
fn route(path: &str) -> Option<(&str, bool)> {
    let (org_id, tail) = path.strip_prefix(ORGS_PREFIX)?.split_once('/')?;
    if org_id.is_empty() {
        return None;
    }
    match tail {
        "integration" => Some((org_id, false)),
        "integration/secret" => Some((org_id, true)),
        _ => None,
    }
}

fn method_not_allowed(allow: &'static str, message: String) -> HttpReply {
    let mut reply = HttpReply::json_error(405, message);
    reply.headers.push(("allow", allow.to_string()));
    reply
}

fn storage_failed(e: StoreError) -> HttpReply {
    tracing::error!(error = %e, "storage failed in the admin API");
    match e {
        StoreError::Unavailable(_) | StoreError::Conflict(_) => {
            HttpReply::json_error(503, "storage is briefly unavailable; please retry")
        }
        StoreError::Corrupt { .. } => {
            HttpReply::json_error(500, "a stored record could not be read")
        }
    }
}

/// An ID this long or with white space or control characters cannot name an organisation,
/// so it is answered with 404 without a lookup (and never becomes an oversized table key).
fn plausible_org_id(org_id: &str) -> bool {
    (1..=256).contains(&org_id.len())
        && !org_id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The organisation record decides: its management account may do everything, its member
/// accounts may read.
async fn authorize(
    deps: &Deps,
    request: &WebRequest,
    org_id: &str,
    action: Action,
) -> Result<Organization, HttpReply> {
    let Some(account) = request
        .caller_account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    else {
        return Err(HttpReply::json_error(
            401,
            "sign the request with AWS SigV4 (IAM): the admin API needs to know the calling AWS account",
        ));
    };
    let org = if plausible_org_id(org_id) {
        deps.store
            .get_organization(org_id)
            .await
            .map_err(storage_failed)?
    } else {
        None
    };
    let Some(org) = org else {
        return Err(HttpReply::json_error(
            404,
            format!("no organisation {org_id}"),
        ));
    };
    let management = org.management_account_id == account;
    let member = org.member_account_ids.iter().any(|m| m == account);
    match action {
        _ if management => Ok(org),
        Action::Read if member => Ok(org),
        Action::Save | Action::Rotate if member => {
            tracing::info!(org_id, account, "member account refused a settings change");
            Err(HttpReply::json_error(
                403,
                format!(
                    "only the management account {} of organisation {org_id} may change its procurement integration; account {account} may only read it",
                    org.management_account_id
                ),
            ))
        }
        _ => {
            tracing::info!(org_id, account, "account outside the organisation refused");
            Err(HttpReply::json_error(
                403,
                format!(
                    "account {account} does not belong to organisation {org_id}: only its management account may change its procurement integration, and its member accounts may read it"
                ),
            ))
        }
    }
}

async fn read(deps: &Deps, org: &Organization) -> Result<HttpReply, HttpReply> {
    let integration = existing_integration(deps, org).await?;
    Ok(HttpReply::json(200, &document(deps, &integration, None)))
}

async fn existing_integration(deps: &Deps, org: &Organization) -> Result<Integration, HttpReply> {
    deps.store
        .get_integration(&org.org_id)
        .await
        .map_err(storage_failed)?
        .ok_or_else(|| {
            HttpReply::json_error(
                404,
                format!(
                    "organisation {0} has no procurement integration yet: PUT its settings to /admin/orgs/{0}/integration",
                    org.org_id
                ),
            )
        })
}

/// PUT: creates the integration with a new shared secret, or replaces the settings of the
/// existing one and keeps its secret.
///
/// Each write is conditional on the version read (see [`Store::replace_integration`]): a PUT
/// racing a rotation or another PUT reads again and reapplies, so it never puts an older
/// secret back.
async fn save(
    deps: &Deps,
    org: &Organization,
    request: &WebRequest,
) -> Result<HttpReply, HttpReply> {
    if request.body.len() > MAX_BODY_BYTES {
        return Err(HttpReply::json_error(
            413,
            format!("the settings document must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let settings = parse_settings(&request.body).map_err(|m| HttpReply::json_error(400, m))?;
    let mut integration = settings
        .to_integration(&org.org_id)
        .map_err(|m| HttpReply::json_error(400, m))?;

    // One buyer credential, one integration: the setup and order URLs find the integration
    // by the From credential, so a second owner would make the first one unreachable. The
    // write below claims the credential; this read also finds integrations stored before
    // credentials were claimed.
    if let Some(other) = deps
        .store
        .find_integration_by_buyer(&integration.buyer_domain, &integration.buyer_identity)
        .await
        .map_err(storage_failed)?
        && other.org_id != org.org_id
    {
        return Err(credential_taken(&integration));
    }

    let account = request.caller_account.as_deref().unwrap_or_default();
    for _ in 0..WRITE_ATTEMPTS {
        let existing = deps
            .store
            .get_integration(&org.org_id)
            .await
            .map_err(storage_failed)?;
        integration.updated_at = next_version(existing.as_ref());
        let saved = match &existing {
            Some(old) => {
                integration.secret_digest = old.secret_digest.clone();
                Saved::Updated(old)
            }
            None => {
                let (secret, digest) = new_shared_secret()?;
                integration.secret_digest = digest;
                Saved::Created(secret)
            }
        };
        match deps
            .store
            .replace_integration(&integration, existing.as_ref())
            .await
            .map_err(storage_failed)?
        {
            IntegrationWrite::Written => {}
            IntegrationWrite::Stale => continue, // changed since it was read: read again
            IntegrationWrite::CredentialTaken => return Err(credential_taken(&integration)),
        }
        return Ok(match saved {
            Saved::Updated(old) => {
                let changed = changed_fields(old, &integration);
                tracing::info!(
                    org_id = %org.org_id,
                    account,
                    changed = ?changed,
                    enabled = integration.enabled,
                    test_mode = integration.test_mode,
                    "procurement integration updated"
                );
                HttpReply::json(200, &document(deps, &integration, None))
            }
            Saved::Created(secret) => {
                tracing::info!(
                    org_id = %org.org_id,
                    account,
                    system = ?integration.system,
                    enabled = integration.enabled,
                    test_mode = integration.test_mode,
                    "procurement integration created with a new shared secret"
                );
                with_secret(201, deps, &integration, &secret)
            }
        });
    }
    Err(kept_changing())
}

/// POST .../secret: a new shared secret replaces the old one at once.
async fn rotate(
    deps: &Deps,
    org: &Organization,
    request: &WebRequest,
) -> Result<HttpReply, HttpReply> {
    for _ in 0..WRITE_ATTEMPTS {
        let previous = existing_integration(deps, org).await?;
        let mut integration = previous.clone();
        let (secret, digest) = new_shared_secret()?;
        integration.secret_digest = digest;
        integration.updated_at = next_version(Some(&previous));
        match deps
            .store
            .replace_integration(&integration, Some(&previous))
            .await
            .map_err(storage_failed)?
        {
            IntegrationWrite::Written => {}
            // Changed since it was read: a secret made now would be lost.
            IntegrationWrite::Stale => continue,
            // Only an integration stored before credentials were claimed can meet this.
            IntegrationWrite::CredentialTaken => return Err(credential_taken(&integration)),
        }
        tracing::info!(
            org_id = %org.org_id,
            account = request.caller_account.as_deref().unwrap_or_default(),
            "shared secret rotated"
        );
        return Ok(with_secret(200, deps, &integration, &secret));
    }
    Err(kept_changing())
}

fn credential_taken(integration: &Integration) -> HttpReply {
    HttpReply::json_error(
        409,
        format!(
            "the buyer credential {}/{} is already used by another organisation's integration; check buyer_domain and buyer_identity",
            integration.buyer_domain, integration.buyer_identity
        ),
    )
}

/// What a PUT did: made the integration (with its first secret) or changed this one.
enum Saved<'a> {
    Created(String),
    Updated(&'a Integration),
}

/// Conditional writes tried before giving up: each failure means another admin request won
/// the same moment, so a handful is plenty.
const WRITE_ATTEMPTS: usize = 5;

/// A new `updated_at`, later than the one it replaces even if the clock has not moved: it
/// is the version the next conditional write is checked against.
fn next_version(previous: Option<&Integration>) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    match previous {
        Some(p) if p.updated_at >= now => p.updated_at + time::Duration::nanoseconds(1),
        _ => now,
    }
}

fn kept_changing() -> HttpReply {
    HttpReply::json_error(
        409,
        "the integration kept changing while this request was applied (other admin requests at the same moment); read it again and retry",
    )
}

/// A reply that carries the secret: shown this once, and never kept by a cache.
fn with_secret(status: u16, deps: &Deps, integration: &Integration, secret: &str) -> HttpReply {
    let mut reply = HttpReply::json(status, &document(deps, integration, Some(secret)));
    reply.headers.push(("cache-control", "no-store".into()));
    reply
}

/// The settings and what the administrator pastes into Coupa or Ariba. Never the digest;
/// the secret only when it was just made.
fn document(deps: &Deps, integration: &Integration, new_secret: Option<&str>) -> Value {
    let config = &deps.config;
    let mut purchase = json!({
        "punchout_setup_url": config.url(SETUP_PATH),
        "order_url": config.url(ORDER_PATH),
        "supplier_domain": config.supplier_domain,
        "supplier_identity": config.supplier_identity,
        "buyer_domain": integration.buyer_domain,
        "buyer_identity": integration.buyer_identity,
        "sender_domain": integration.sender_domain,
        "sender_identity": integration.sender_identity,
    });
    if let (Some(secret), Some(fields)) = (new_secret, purchase.as_object_mut()) {
        fields.insert("shared_secret".into(), secret.into());
        fields.insert(
            "shared_secret_notice".into(),
            format!(
                "shown this once and not stored: enter it in the procurement system now; if it is lost, rotate it with POST /admin/orgs/{}/integration/secret",
                integration.org_id
            )
            .into(),
        );
        // What our invoices present as Sender SharedSecret, for Coupa's supplier setup. Derived
        // from INVOICE_SECRET_KEY (never stored) and shown with the punchout secret only, so
        // read-only member accounts never see it; a rotation shows it again (unchanged).
        if integration.system == ProcurementSystem::Coupa
            && let Some(invoice) = crate::invoices::invoice_secret(config, &integration.org_id)
        {
            fields.insert("invoice_shared_secret".into(), invoice.expose().into());
        }
    }
    json!({
        "org_id": integration.org_id,
        "settings": IntegrationSettings::from(integration),
        "updated_at": integration.updated_at.format(&Rfc3339).unwrap_or_default(),
        "purchase_information": purchase,
    })
}

/// Names of the settings a PUT changed, for the log (never their values).
fn changed_fields(old: &Integration, new: &Integration) -> Vec<&'static str> {
    let mut changed = Vec::new();
    macro_rules! compare {
        ($($field:ident),*) => {
            $(if old.$field != new.$field {
                changed.push(stringify!($field));
            })*
        };
    }
    compare!(
        system,
        name,
        description,
        test_mode,
        redirect,
        ariba_network_id,
        invoice_url,
        preapprove_free,
        preapprove_byol,
        form_encoding,
        enabled,
        buyer_domain,
        buyer_identity,
        sender_domain,
        sender_identity
    );
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_write_gets_a_later_version_even_when_the_clock_lags() {
        let ahead = OffsetDateTime::now_utc() + time::Duration::minutes(5);
        let stored = crate::demo::coupa_integration(ahead);
        assert!(next_version(Some(&stored)) > stored.updated_at);
        let past = crate::demo::coupa_integration(OffsetDateTime::UNIX_EPOCH);
        assert!(next_version(Some(&past)) > past.updated_at);
    }

    #[tokio::test]
    async fn a_write_based_on_a_version_since_replaced_is_refused() {
        use crate::Store;
        let world = crate::fakes::FakeWorld::demo().await;
        let store = &world.store;
        let read = store
            .get_integration(crate::demo::COUPA_ORG)
            .await
            .unwrap()
            .unwrap();
        let mut rotated = read.clone();
        rotated.secret_digest = "ab".repeat(32);
        rotated.updated_at = next_version(Some(&read));
        assert_eq!(
            store
                .replace_integration(&rotated, Some(&read))
                .await
                .unwrap(),
            IntegrationWrite::Written
        );
        // A PUT that read before the rotation must not put the old digest back.
        let mut stale = read.clone();
        stale.updated_at = next_version(Some(&read));
        for previous in [Some(&read), None] {
            assert_eq!(
                store.replace_integration(&stale, previous).await.unwrap(),
                IntegrationWrite::Stale
            );
        }
        let now = store
            .get_integration(crate::demo::COUPA_ORG)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.secret_digest, rotated.secret_digest);
    }

    #[tokio::test]
    async fn a_buyer_credential_another_organisation_holds_is_not_written() {
        use crate::Store;
        let world = crate::fakes::FakeWorld::demo().await;
        let store = &world.store;
        let holder = store
            .get_integration(crate::demo::COUPA_ORG)
            .await
            .unwrap()
            .unwrap();
        let mut newcomer = holder.clone();
        newcomer.org_id = "another-org".into();
        newcomer.buyer_domain = holder.buyer_domain.to_ascii_uppercase();
        assert_eq!(
            store.replace_integration(&newcomer, None).await.unwrap(),
            IntegrationWrite::CredentialTaken
        );
        assert_eq!(store.get_integration("another-org").await.unwrap(), None);
        newcomer.buyer_identity = format!("{}-2", holder.buyer_identity);
        assert_eq!(
            store.replace_integration(&newcomer, None).await.unwrap(),
            IntegrationWrite::Written
        );
    }

    fn coupa() -> Value {
        json!({"system": "coupa", "name": "Acme Coupa", "buyer_domain": "DUNS", "buyer_identity": "acme"})
    }

    fn parse(value: &Value) -> Result<IntegrationSettings, String> {
        parse_settings(value.to_string().as_bytes())
    }

    #[test]
    fn defaults_protect_the_buyer() {
        let s = parse(&coupa()).unwrap();
        assert!(s.test_mode && s.enabled);
        assert!(!s.redirect && !s.preapprove_free && !s.preapprove_byol);
        assert_eq!(s.form_encoding, FormEncoding::UrlEncoded);
        let i = s.to_integration("acme").unwrap();
        assert_eq!(
            (i.sender_domain.as_str(), i.sender_identity.as_str()),
            ("DUNS", "acme")
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let mut doc = coupa();
        doc["test_mode"] = json!("yes");
        assert!(parse(&doc).unwrap_err().contains("`test_mode`"));
        let mut doc = coupa();
        doc["system"] = json!("sap");
        assert!(parse(&doc).unwrap_err().contains("`system`"));
        let mut doc = coupa();
        doc["form_encoding"] = json!("cxml-base64");
        assert_eq!(parse(&doc).unwrap().form_encoding, FormEncoding::Base64);
        doc["form_encoding"] = json!("base64");
        assert!(parse(&doc).unwrap_err().contains("`form_encoding`"));
        assert!(
            parse(&json!({"name": "x"}))
                .unwrap_err()
                .contains("`system`")
        );
        assert!(parse_settings(b"[1]").unwrap_err().contains("JSON object"));
        assert!(parse_settings(b"{").unwrap_err().contains("not valid JSON"));
        assert!(parse_settings(b" ").unwrap_err().contains("empty"));
    }

    #[test]
    fn values_are_checked_by_field() {
        let check = |patch: Value| {
            let mut doc = coupa();
            for (k, v) in patch.as_object().unwrap() {
                doc[k] = v.clone();
            }
            parse(&doc).unwrap().to_integration("acme").map(|_| ())
        };
        assert!(check(json!({"name": "  "})).unwrap_err().contains("`name`"));
        assert!(
            check(json!({"name": "n".repeat(101)}))
                .unwrap_err()
                .contains("at most 100")
        );
        assert!(check(json!({"name": "n".repeat(100)})).is_ok());
        assert!(
            check(json!({"description": "d".repeat(501)}))
                .unwrap_err()
                .contains("`description`")
        );
        assert!(
            check(json!({"ariba_network_id": "AN0100"}))
                .unwrap_err()
                .contains("`ariba_network_id`")
        );
        assert!(check(json!({"ariba_network_id": null})).is_ok());
        for bad in [
            "ftp://x",
            "https://",
            "https:// x",
            "http://buyer.example/inv",
        ] {
            assert!(
                check(json!({ "invoice_url": bad }))
                    .unwrap_err()
                    .contains("`invoice_url`"),
                "{bad}"
            );
        }
        assert!(check(json!({"invoice_url": "HTTPS://buyer.example/inv"})).is_ok());
        assert!(check(json!({"invoice_url": "http://127.0.0.1:9100/invoices"})).is_ok());
        assert!(check(json!({"invoice_url": "http://127.0.0.1.evil.example/inv"})).is_err());
        assert!(
            check(json!({"buyer_identity": null}))
                .unwrap_err()
                .contains("`buyer_identity`")
        );
        assert!(
            check(json!({"sender_domain": "NetworkID"}))
                .unwrap_err()
                .contains("`sender_identity`")
        );
    }

    #[test]
    fn anids_are_an_and_digits() {
        assert!(check_anid("AN01000000001").is_ok());
        for bad in ["AN", "an0100", "AN01x", "01000000001", "ANN1"] {
            assert!(check_anid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn routes() {
        assert_eq!(route("/admin/orgs/a/integration"), Some(("a", false)));
        assert_eq!(route("/admin/orgs/a/integration/secret"), Some(("a", true)));
        assert_eq!(route("/admin/orgs//integration"), None);
        assert_eq!(route("/admin/orgs/a/integration/"), None);
        assert_eq!(route("/admin/orgs/a"), None);
        assert_eq!(route("/admin/other"), None);
    }
}
