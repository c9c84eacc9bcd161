//! Integration settings as administrators manage them: the settings document (read and
//! validated, every error naming its field), who may read or change them, the conditional
//! write with its retry, the shared secret's rotation, and the purchase information an
//! administrator pastes into Coupa or Ariba.
//!
//! The shared secret is drawn here, shown once and never stored: only its SHA-256 digest is.

use cxml::{FormEncoding, SecretDigest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::ids::{NoRandomness, OrgId, random_hex};
use crate::integration::{
    AribaSettings, BuyerCredentials, CoupaInstance, CoupaSettings, Instance, Integration,
    InvoiceSettings, ProcurementSystem, RemitTo, Settings, SupplierTaxId, SystemSettings,
    TaxSetting,
};
use crate::invoices::{first_invoice_secret_version, invoice_secret_of};
use crate::model::Organization;
use crate::network::{self, AribaNetwork};
use crate::paths;
use crate::ports::{Deps, IntegrationWrite, StoreError};

/// A settings document is a few hundred bytes; anything far larger is a mistake or abuse.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

const NAME_MAX_CHARS: usize = 100;
const DESCRIPTION_MAX_CHARS: usize = 500;
const CREDENTIAL_MAX_CHARS: usize = 256;
const URL_MAX_CHARS: usize = 2048;

/// The settings document an administrator PUTs; a GET's `settings` (the stored [`Settings`],
/// serialized) has the same fields, so it can be edited and PUT again as it is. A PUT replaces
/// every setting: omitted fields take their defaults, which are the safe ones (test mode on).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsDocument {
    pub system: ProcurementSystem,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// On unless switched off: it protects the buyer until they are ready.
    #[serde(default = "default_true")]
    pub test_mode: bool,
    #[serde(default)]
    pub redirect: bool,
    /// The buyer's production Ariba Network ID (ANID); Ariba only.
    #[serde(default)]
    pub ariba_network_id: Option<String>,
    /// The buyer's test account ANID (`AN…-T`); Ariba only, optional.
    #[serde(default)]
    pub ariba_test_network_id: Option<String>,
    /// Order confirmations to the Ariba Network (default on); Ariba only.
    #[serde(default)]
    pub order_confirmations: Option<bool>,
    /// Where invoices go (https only); Coupa only.
    #[serde(default)]
    pub invoice_url: Option<String>,
    /// What invoices say (payment term, tax, remit-to, To credential); Coupa only.
    #[serde(default)]
    pub invoicing: Option<InvoiceSettings>,
    #[serde(default)]
    pub preapprove_free: bool,
    #[serde(default)]
    pub preapprove_byol: bool,
    /// How the cart travels back: default `cxml-base64` for Ariba (the Ariba catalog team's
    /// advice: `cxml-urlencoded` loses extended characters), `cxml-urlencoded` for Coupa.
    #[serde(default)]
    pub form_encoding: Option<FormEncoding>,
    /// Off refuses every cXML request of the buyer but keeps every setting and the secret.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The buyer's From credential; Coupa only (required there).
    #[serde(default)]
    pub buyer_domain: Option<String>,
    #[serde(default)]
    pub buyer_identity: Option<String>,
    /// The Sender credential, when a network sends for the buyer; defaults to the buyer's.
    /// Coupa only.
    #[serde(default)]
    pub sender_domain: Option<String>,
    #[serde(default)]
    pub sender_identity: Option<String>,
    /// The customer's Coupa test instance: its own credential set (and secret) and invoice
    /// URL; its documents always run in test mode. Coupa only, optional.
    #[serde(default)]
    pub test_instance: Option<InstanceDocument>,
}

/// A Coupa test instance's credential set, as in the settings document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceDocument {
    #[serde(default)]
    pub buyer_domain: Option<String>,
    #[serde(default)]
    pub buyer_identity: Option<String>,
    #[serde(default)]
    pub sender_domain: Option<String>,
    #[serde(default)]
    pub sender_identity: Option<String>,
    #[serde(default)]
    pub invoice_url: Option<String>,
}

fn default_true() -> bool {
    true
}

/// A settings document that cannot be accepted, with the reason naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<&str> for Invalid {
    fn from(text: &str) -> Self {
        Self(text.to_string())
    }
}

/// Reads and validates a settings document. Every error names the field at fault, so an
/// administrator knows what to fix without reading our source. `local`: the deployment is a
/// local stack ([`crate::Config::is_local`]), where invoice URLs may be http on loopback.
pub fn parse_document(body: &[u8], local: bool) -> Result<Settings, Invalid> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("the body is empty: send the integration settings as a JSON object".into());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Invalid(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(fields) = &value else {
        return Err("the body must be a JSON object of integration settings".into());
    };
    let document: SettingsDocument =
        serde_json::from_value(value.clone()).map_err(|e| Invalid(name_the_field(&e, fields)))?;
    document.validate(local)
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
        if let Err(e) = serde_json::from_value::<SettingsDocument>(alone) {
            let alone_message = e.to_string();
            if !alone_message.starts_with("missing field") {
                return format!("field `{key}`: {alone_message}");
            }
        }
    }
    message
}

impl SettingsDocument {
    /// Checks the document and builds the settings it describes (`local`: see
    /// [`parse_document`]).
    pub fn validate(&self, local: bool) -> Result<Settings, Invalid> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err("field `name` must not be empty".into());
        }
        check_text("name", name, NAME_MAX_CHARS)?;
        let description = self.description.trim();
        check_text("description", description, DESCRIPTION_MAX_CHARS)?;

        let ariba_network_id = given("ariba_network_id", self.ariba_network_id.as_deref())?;
        let ariba_test_network_id = given(
            "ariba_test_network_id",
            self.ariba_test_network_id.as_deref(),
        )?;
        let invoice_url = given("invoice_url", self.invoice_url.as_deref())?;
        let buyer_domain = given("buyer_domain", self.buyer_domain.as_deref())?;
        let buyer_identity = given("buyer_identity", self.buyer_identity.as_deref())?;
        let sender_domain = given("sender_domain", self.sender_domain.as_deref())?;
        let sender_identity = given("sender_identity", self.sender_identity.as_deref())?;

        let system = match self.system {
            ProcurementSystem::Coupa => {
                for (field, given) in [
                    ("ariba_network_id", ariba_network_id.is_some()),
                    ("ariba_test_network_id", ariba_test_network_id.is_some()),
                    ("order_confirmations", self.order_confirmations.is_some()),
                ] {
                    if given {
                        return Err(Invalid(format!(
                            "field `{field}` applies to SAP Ariba only: leave it out (or null) for Coupa"
                        )));
                    }
                }
                if let Some(url) = invoice_url {
                    check_https_url("invoice_url", url, local)?;
                }
                let production = coupa_credentials(
                    "",
                    [buyer_domain, buyer_identity, sender_domain, sender_identity],
                )?;
                let test_instance = match &self.test_instance {
                    None => None,
                    Some(test) => {
                        let field = |name: &str| format!("test_instance.{name}");
                        let credentials = coupa_credentials(
                            "test_instance.",
                            [
                                given(&field("buyer_domain"), test.buyer_domain.as_deref())?,
                                given(&field("buyer_identity"), test.buyer_identity.as_deref())?,
                                given(&field("sender_domain"), test.sender_domain.as_deref())?,
                                given(&field("sender_identity"), test.sender_identity.as_deref())?,
                            ],
                        )?;
                        if credentials
                            .buyer_domain
                            .eq_ignore_ascii_case(&production.buyer_domain)
                            && credentials.buyer_identity == production.buyer_identity
                        {
                            return Err("field `test_instance.buyer_identity` must differ from `buyer_identity` (or its domain from `buyer_domain`): the test instance is another system, and its documents are told apart by their From credential".into());
                        }
                        let invoice_url =
                            given(&field("invoice_url"), test.invoice_url.as_deref())?;
                        if let Some(url) = invoice_url {
                            check_https_url(&field("invoice_url"), url, local)?;
                        }
                        Some(CoupaInstance {
                            credentials,
                            invoice_url: invoice_url.map(str::to_string),
                        })
                    }
                };
                SystemSettings::Coupa(CoupaSettings {
                    credentials: production,
                    invoice_url: invoice_url.map(str::to_string),
                    test_instance,
                    invoicing: Box::new(match &self.invoicing {
                        Some(i) => validate_invoicing(i)?,
                        None => InvoiceSettings::default(),
                    }),
                })
            }
            ProcurementSystem::Ariba => {
                // The Network names the buyer by its ANID and sends for it with the supplier's
                // own secret: there is no other credential to configure.
                for (field, given) in [
                    ("invoice_url", invoice_url.is_some()),
                    ("invoicing", self.invoicing.is_some()),
                    ("buyer_domain", buyer_domain.is_some()),
                    ("buyer_identity", buyer_identity.is_some()),
                    ("sender_domain", sender_domain.is_some()),
                    ("sender_identity", sender_identity.is_some()),
                    ("test_instance", self.test_instance.is_some()),
                ] {
                    if given {
                        return Err(Invalid(format!(
                            "field `{field}` applies to Coupa only: SAP Ariba buyers are named by their ANID and their documents come through the Ariba Network; leave it out (or null)"
                        )));
                    }
                }
                let anid = ariba_network_id.ok_or(
                    "field `ariba_network_id` is required for SAP Ariba: the buyer's production Ariba Network ID, AN followed by digits (for example AN01234567890)",
                )?;
                if !network::is_anid(anid) || network::is_test_anid(anid) {
                    return Err(Invalid(format!(
                        "field `ariba_network_id` must be a production ANID, AN followed by digits (for example AN01234567890), not '{anid}'; a test account's ANID (AN…-T) goes in `ariba_test_network_id`"
                    )));
                }
                if let Some(test) = ariba_test_network_id
                    && !network::is_test_anid(test)
                {
                    return Err(Invalid(format!(
                        "field `ariba_test_network_id` must be a test account's ANID, AN followed by digits and -T (for example AN01234567890-T), not '{test}'"
                    )));
                }
                SystemSettings::Ariba(AribaSettings {
                    ariba_network_id: anid.to_string(),
                    ariba_test_network_id: ariba_test_network_id.map(str::to_string),
                    order_confirmations: self.order_confirmations.unwrap_or(true),
                })
            }
        };
        let form_encoding = self.form_encoding.unwrap_or(match self.system {
            ProcurementSystem::Coupa => FormEncoding::UrlEncoded,
            ProcurementSystem::Ariba => FormEncoding::Base64,
        });
        Ok(Settings {
            name: name.to_string(),
            description: description.to_string(),
            test_mode: self.test_mode,
            redirect: self.redirect,
            preapprove_free: self.preapprove_free,
            preapprove_byol: self.preapprove_byol,
            form_encoding,
            enabled: self.enabled,
            system,
        })
    }
}

/// One Coupa instance's credential set from the document's `{prefix}buyer_domain`,
/// `buyer_identity`, `sender_domain` and `sender_identity` (given, trimmed): the Sender
/// defaults to the buyer credential.
fn coupa_credentials(
    prefix: &str,
    [buyer_domain, buyer_identity, sender_domain, sender_identity]: [Option<&str>; 4],
) -> Result<BuyerCredentials, Invalid> {
    let buyer_domain = buyer_domain.ok_or_else(|| Invalid(format!(
        "field `{prefix}buyer_domain` is required for Coupa: the domain of the From credential Coupa sends (for example DUNS)"
    )))?;
    let buyer_identity = buyer_identity.ok_or_else(|| Invalid(format!(
        "field `{prefix}buyer_identity` is required for Coupa: the identity of the From credential Coupa sends"
    )))?;
    check_text(
        &format!("{prefix}buyer_domain"),
        buyer_domain,
        CREDENTIAL_MAX_CHARS,
    )?;
    check_text(
        &format!("{prefix}buyer_identity"),
        buyer_identity,
        CREDENTIAL_MAX_CHARS,
    )?;
    let (sender_domain, sender_identity) = match (sender_domain, sender_identity) {
        (None, None) => (buyer_domain, buyer_identity),
        (Some(domain), Some(identity)) => (domain, identity),
        (Some(_), None) => {
            return Err(Invalid(format!(
                "field `{prefix}sender_identity` is required with `{prefix}sender_domain` (leave both out to use the buyer credential)"
            )));
        }
        (None, Some(_)) => {
            return Err(Invalid(format!(
                "field `{prefix}sender_domain` is required with `{prefix}sender_identity` (leave both out to use the buyer credential)"
            )));
        }
    };
    check_text(
        &format!("{prefix}sender_domain"),
        sender_domain,
        CREDENTIAL_MAX_CHARS,
    )?;
    check_text(
        &format!("{prefix}sender_identity"),
        sender_identity,
        CREDENTIAL_MAX_CHARS,
    )?;
    Ok(BuyerCredentials {
        buyer_domain: buyer_domain.to_string(),
        buyer_identity: buyer_identity.to_string(),
        sender_domain: sender_domain.to_string(),
        sender_identity: sender_identity.to_string(),
    })
}

/// Longest payment term accepted (a year and a half: anything longer is a typo).
const PAYMENT_TERM_MAX_DAYS: u32 = 540;
const INVOICE_TEXT_MAX_CHARS: usize = 255;

/// Checks the invoice settings, trimmed; errors name the field as `invoicing.<field>`.
fn validate_invoicing(i: &InvoiceSettings) -> Result<InvoiceSettings, Invalid> {
    let text = |field: &str, value: Option<&str>| -> Result<Option<String>, Invalid> {
        given(&format!("invoicing.{field}"), value)?
            .map(|v| {
                check_text(&format!("invoicing.{field}"), v, INVOICE_TEXT_MAX_CHARS)
                    .map(|()| v.to_string())
            })
            .transpose()
    };
    let required = |field: &str, value: &str| -> Result<String, Invalid> {
        text(field, Some(value))?
            .ok_or_else(|| Invalid(format!("field `invoicing.{field}` must not be empty")))
    };
    if i.payment_term_days > PAYMENT_TERM_MAX_DAYS {
        return Err(Invalid(format!(
            "field `invoicing.payment_term_days` must be at most {PAYMENT_TERM_MAX_DAYS} days (it is {})",
            i.payment_term_days
        )));
    }
    let tax = match &i.tax {
        None => None,
        Some(t) => {
            let rate = t.rate_percent.normalize();
            if rate.is_sign_negative() || rate > rust_decimal::Decimal::ONE_HUNDRED {
                return Err(Invalid(format!(
                    "field `invoicing.tax.rate_percent` must be a percentage from 0 to 100, not {rate}"
                )));
            }
            if rate.scale() > 4 {
                return Err(Invalid(format!(
                    "field `invoicing.tax.rate_percent` has at most 4 decimals, not {rate}"
                )));
            }
            Some(TaxSetting {
                category: required("tax.category", &t.category)?,
                rate_percent: rate,
                description: text("tax.description", t.description.as_deref())?,
            })
        }
    };
    let remit_to = match &i.remit_to {
        None => None,
        Some(r) => {
            let street = r
                .street
                .iter()
                .map(|s| text("remit_to.street", Some(s)))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
            if street.is_empty() {
                return Err("field `invoicing.remit_to.street` needs at least one line".into());
            }
            let country_code = required("remit_to.country_code", &r.country_code)?;
            if country_code.len() != 2 || !country_code.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(Invalid(format!(
                    "field `invoicing.remit_to.country_code` must be an ISO 3166 two-letter code such as DE, not '{country_code}'"
                )));
            }
            Some(RemitTo {
                name: required("remit_to.name", &r.name)?,
                code: text("remit_to.code", r.code.as_deref())?,
                street,
                city: required("remit_to.city", &r.city)?,
                state: text("remit_to.state", r.state.as_deref())?,
                postal_code: text("remit_to.postal_code", r.postal_code.as_deref())?,
                country_code,
                country: text("remit_to.country", r.country.as_deref())?,
            })
        }
    };
    let supplier_tax_id = match &i.supplier_tax_id {
        None => None,
        Some(t) => {
            // Compass "Selecting Your Remit-To Address": the ids go with the remitTo partner.
            if remit_to.is_none() {
                return Err("field `invoicing.supplier_tax_id` needs `invoicing.remit_to`: Coupa reads the tax id from the remit-to partner".into());
            }
            Some(SupplierTaxId {
                prefix: text("supplier_tax_id.prefix", t.prefix.as_deref())?,
                number: required("supplier_tax_id.number", &t.number)?,
            })
        }
    };
    let to_domain = text("to_domain", i.to_domain.as_deref())?;
    let to_identity = text("to_identity", i.to_identity.as_deref())?;
    if to_domain.is_some() != to_identity.is_some() {
        return Err("fields `invoicing.to_domain` and `invoicing.to_identity` go together (leave both out to address invoices to the buyer credential)".into());
    }
    Ok(InvoiceSettings {
        payment_term_days: i.payment_term_days,
        payment_term_code: text("payment_term_code", i.payment_term_code.as_deref())?,
        tax,
        remit_to,
        supplier_tax_id,
        to_domain,
        to_identity,
    })
}

/// An optional text field, trimmed; blank counts as absent, as a form would send it.
fn given<'a>(field: &str, value: Option<&'a str>) -> Result<Option<&'a str>, Invalid> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    if let Some(v) = value {
        check_text(field, v, usize::MAX)?;
    }
    Ok(value)
}

fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), Invalid> {
    let count = value.chars().count();
    if count > max_chars {
        return Err(Invalid(format!(
            "field `{field}` must be at most {max_chars} characters (it has {count})"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Invalid(format!(
            "field `{field}` must not contain control characters"
        )));
    }
    Ok(())
}

/// Invoices carry prices and purchase order numbers: only over TLS, to a named host, without
/// credentials in the URL ([`crate::urls::buyer_url`]); http to 127.0.0.1 or localhost only on
/// a local stack, where the stand-in buyer listens and nothing leaves the host.
fn check_https_url(field: &str, url: &str, local: bool) -> Result<(), Invalid> {
    check_text(field, url, URL_MAX_CHARS)?;
    crate::urls::buyer_url(url, local)
        .map(|_| ())
        .map_err(|why| Invalid(format!("field `{field}` {why}")))
}

/// What an administrator asks to do with an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Save,
    Rotate,
}

/// Why an admin request is not carried out.
#[derive(Debug, thiserror::Error)]
pub enum SettingsRefused {
    /// No signed caller: API Gateway's IAM authorizer named no account.
    #[error("the request is not signed")]
    Unsigned,
    #[error("no organisation {0}")]
    UnknownOrganization(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("organisation {0} has no procurement integration yet")]
    NoIntegration(OrgId),
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("the buyer credential {0} is already used by another organisation's integration")]
    CredentialTaken(String),
    /// Every conditional write lost to another admin request made at the same moment.
    #[error("the integration kept changing while this request was applied")]
    KeptChanging,
    /// SAP Ariba integrations have no secret of their own to rotate.
    #[error("SAP Ariba integrations use the supplier's Ariba Network secret")]
    NetworkSecret,
    /// The deployment's invoice key was not read (Secrets Manager), so no invoice secret can
    /// be derived or shown; rotating now would hide the new one.
    #[error("the invoice key is not available")]
    NoInvoiceKey,
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// An ID this long or with white space or control characters cannot name an organisation,
/// so it is answered as unknown without a lookup (and never becomes an oversized table key).
fn plausible_org_id(org_id: &str) -> bool {
    (1..=256).contains(&org_id.len())
        && !org_id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The organisation record decides: its management account may do everything, its member
/// accounts may read.
pub async fn authorize(
    deps: &Deps,
    caller_account: Option<&str>,
    org_id: &str,
    action: Action,
) -> Result<Organization, SettingsRefused> {
    let Some(account) = caller_account.map(str::trim).filter(|a| !a.is_empty()) else {
        return Err(SettingsRefused::Unsigned);
    };
    let org = if plausible_org_id(org_id) {
        deps.organizations.get(&OrgId::from(org_id)).await?
    } else {
        None
    };
    let Some(org) = org else {
        return Err(SettingsRefused::UnknownOrganization(org_id.to_string()));
    };
    tracing::Span::current().record("org_id", org_id);
    let management = org.management_account_id == account;
    let member = org.member_account_ids.iter().any(|m| m == account);
    match action {
        _ if management => Ok(org),
        Action::Read if member => Ok(org),
        Action::Save | Action::Rotate if member => {
            tracing::info!(org_id, account, "member account refused a settings change");
            Err(SettingsRefused::Forbidden(format!(
                "only the management account {} of organisation {org_id} may change its procurement integration; account {account} may only read it",
                org.management_account_id
            )))
        }
        _ => {
            tracing::info!(org_id, account, "account outside the organisation refused");
            Err(SettingsRefused::Forbidden(format!(
                "account {account} does not belong to organisation {org_id}: only its management account may change its procurement integration, and its member accounts may read it"
            )))
        }
    }
}

/// The stored integration of an organisation the caller may see.
pub async fn read(deps: &Deps, org: &Organization) -> Result<Integration, SettingsRefused> {
    deps.integrations
        .get(&org.org_id)
        .await?
        .ok_or_else(|| SettingsRefused::NoIntegration(org.org_id.clone()))
}

/// What a PUT did.
#[derive(Debug, Clone)]
pub struct Saved {
    pub integration: Integration,
    /// The integration did not exist before.
    pub created: bool,
    /// Names of the settings that changed (never their values); empty when created.
    pub changed: Vec<String>,
    /// A shared secret drawn by this PUT (a new Coupa integration, or one that had none), shown
    /// this once.
    pub secret: Option<String>,
    /// The same for the Coupa test instance's credential set (added by this PUT).
    pub test_secret: Option<String>,
}

/// Conditional writes tried before giving up: each failure means another admin request won
/// the same moment, so a handful is plenty.
const WRITE_ATTEMPTS: usize = 5;

/// PUT: creates the integration with a new shared secret, or replaces the settings of the
/// existing one and keeps its secret.
///
/// Each write is conditional on the version read (see [`crate::ports::Integrations::replace`]):
/// a PUT racing a rotation or another PUT reads again and reapplies, so it never puts an older
/// secret back.
pub async fn save(
    deps: &Deps,
    org: &Organization,
    settings: Settings,
) -> Result<Saved, SettingsRefused> {
    // One buyer credential, one integration: documents find their integration by the From
    // credential, so a second owner would make the first one unreachable. The write below
    // claims every credential of the integration; this read also finds integrations stored
    // before credentials were claimed.
    for (credential, _) in settings.buyer_credentials() {
        if let Some(other) = deps
            .integrations
            .find_by_buyer(&credential.domain, &credential.identity)
            .await?
            && other.org_id != org.org_id
        {
            return Err(SettingsRefused::CredentialTaken(credential.to_string()));
        }
    }
    let sends_itself = settings.coupa_credentials().is_some();
    for _ in 0..WRITE_ATTEMPTS {
        let existing = deps.integrations.get(&org.org_id).await?;
        let kept = existing
            .as_ref()
            .map(|old| old.secret_digest.clone())
            .filter(|digest| !digest.is_empty());
        // Coupa presents a secret of its own; an Ariba integration has none (the Network's).
        let (secret_digest, secret) = match kept {
            Some(digest) => (digest, None),
            None if sends_itself => {
                let (secret, digest) = new_shared_secret()?;
                (digest, Some(secret))
            }
            None => (String::new(), None),
        };
        // The test instance's set has a secret of its own, kept while the set is configured.
        let has_test_set = settings.coupa_credentials_of(Instance::Test).is_some();
        let kept_test = existing
            .as_ref()
            .and_then(|old| old.test_secret_digest.clone())
            .filter(|digest| has_test_set && !digest.is_empty());
        let (test_secret_digest, test_secret) = match kept_test {
            Some(digest) => (Some(digest), None),
            None if has_test_set => {
                let (secret, digest) = new_shared_secret()?;
                (Some(digest), Some(secret))
            }
            None => (None, None),
        };
        let integration = Integration {
            org_id: org.org_id.clone(),
            settings: settings.clone(),
            secret_digest,
            test_secret_digest,
            // A PUT never changes which invoice secret the organisation's invoices present.
            invoice_secret_version: existing
                .as_ref()
                .map_or_else(first_invoice_secret_version, |old| {
                    old.invoice_secret_version
                }),
            updated_at: next_version(existing.as_ref()),
        };
        match deps
            .integrations
            .replace(&integration, existing.as_ref())
            .await?
        {
            IntegrationWrite::Written => {}
            IntegrationWrite::Stale => continue, // changed since it was read: read again
            IntegrationWrite::CredentialTaken => {
                let credentials: Vec<String> = settings
                    .buyer_credentials()
                    .iter()
                    .map(|(c, _)| c.to_string())
                    .collect();
                return Err(SettingsRefused::CredentialTaken(credentials.join(" or ")));
            }
        }
        return Ok(Saved {
            created: existing.is_none(),
            changed: existing
                .map(|old| changed_settings(&old.settings, &integration.settings))
                .unwrap_or_default(),
            integration,
            secret,
            test_secret,
        });
    }
    Err(SettingsRefused::KeptChanging)
}

/// POST .../secret: a new shared secret of the production credential set replaces the old
/// one at once. The integration as written and the secret, shown this once.
pub async fn rotate(
    deps: &Deps,
    org: &Organization,
) -> Result<(Integration, String), SettingsRefused> {
    rotate_instance(deps, org, Instance::Production).await
}

/// POST .../secret?instance=test|production: a new shared secret of that instance's
/// credential set; the other set's secret is left as it is.
pub async fn rotate_instance(
    deps: &Deps,
    org: &Organization,
    instance: Instance,
) -> Result<(Integration, String), SettingsRefused> {
    for _ in 0..WRITE_ATTEMPTS {
        let previous = read(deps, org).await?;
        if previous.settings.coupa_credentials().is_none() {
            return Err(SettingsRefused::NetworkSecret);
        }
        if previous.settings.coupa_credentials_of(instance).is_none() {
            return Err(SettingsRefused::Invalid(Invalid(
                "the integration has no Coupa test instance: add `test_instance` to its settings (which draws its secret) before rotating that secret".into(),
            )));
        }
        let mut integration = previous.clone();
        let (secret, digest) = new_shared_secret()?;
        match instance {
            Instance::Production => integration.secret_digest = digest,
            Instance::Test => integration.test_secret_digest = Some(digest),
        }
        integration.updated_at = next_version(Some(&previous));
        match deps
            .integrations
            .replace(&integration, Some(&previous))
            .await?
        {
            IntegrationWrite::Written => return Ok((integration, secret)),
            // Changed since it was read: a secret made now would be lost.
            IntegrationWrite::Stale => continue,
            // Only an integration stored before credentials were claimed can meet this.
            IntegrationWrite::CredentialTaken => {
                return Err(SettingsRefused::CredentialTaken(
                    integration.buyer().to_string(),
                ));
            }
        }
    }
    Err(SettingsRefused::KeptChanging)
}

/// POST .../secret?kind=invoice: this organisation's invoices present the next derivation of
/// its invoice secret from now on (see [`crate::invoices::invoice_secret`]); no other
/// organisation's secret and no punchout secret changes. The integration as written and the
/// new invoice secret, shown this once. Ariba organisations are not invoiced by us (their
/// documents go through the Network with the supplier's secret).
pub async fn rotate_invoice_secret(
    deps: &Deps,
    org: &Organization,
) -> Result<(Integration, String), SettingsRefused> {
    for _ in 0..WRITE_ATTEMPTS {
        let previous = read(deps, org).await?;
        if previous.settings.coupa_credentials().is_none() {
            return Err(SettingsRefused::NetworkSecret);
        }
        let mut integration = previous.clone();
        integration.invoice_secret_version = previous
            .invoice_secret_version
            .max(first_invoice_secret_version())
            .checked_add(1)
            .ok_or_else(|| {
                Invalid("the invoice secret cannot be rotated any further".to_string())
            })?;
        let Some(secret) = invoice_secret_of(&deps.config, &integration) else {
            return Err(SettingsRefused::NoInvoiceKey);
        };
        integration.updated_at = next_version(Some(&previous));
        match deps
            .integrations
            .replace(&integration, Some(&previous))
            .await?
        {
            IntegrationWrite::Written => return Ok((integration, secret.expose().to_string())),
            // Changed since it was read (another rotation): read again, rotate once more.
            IntegrationWrite::Stale => continue,
            IntegrationWrite::CredentialTaken => {
                return Err(SettingsRefused::CredentialTaken(
                    integration.buyer().to_string(),
                ));
            }
        }
    }
    Err(SettingsRefused::KeptChanging)
}

/// Lowercase hex of 32 bytes from the OS random source, and its digest.
///
/// The table keeps only `SecretDigest::of(secret)`: plain SHA-256, no salt or stretching,
/// is enough because the secret has 256 bits of entropy: there is nothing to guess, so a
/// leaked table does not reveal it. (Slow hashes protect low-entropy passwords.)
fn new_shared_secret() -> Result<(String, String), NoRandomness> {
    let secret = random_hex::<32>()?;
    let digest = SecretDigest::of(&secret).to_hex();
    Ok((secret, digest))
}

/// A new `updated_at`, later than the one it replaces even if the clock has not moved: it
/// is the version the next conditional write is checked against.
fn next_version(previous: Option<&Integration>) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    match previous {
        Some(p) if p.updated_at >= now => p.updated_at + time::Duration::nanoseconds(1),
        _ => now,
    }
}

/// Names of the settings that differ, by the document's field names (derived from the one
/// serde shape of [`Settings`], so a new setting needs no list kept here).
pub fn changed_settings(old: &Settings, new: &Settings) -> Vec<String> {
    let fields = |s: &Settings| match serde_json::to_value(s) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let (old, new) = (fields(old), fields(new));
    let mut names: Vec<String> = old
        .keys()
        .chain(new.keys())
        .filter(|key| old.get(*key) != new.get(*key))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What the administrator pastes into Coupa or Ariba. The shared secrets only right after
/// they were made (create, rotation): never on a read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseInformation {
    pub punchout_setup_url: String,
    pub order_url: String,
    /// The marketplace's own credential (Coupa's supplier record: Domain and Identity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_identity: Option<String>,
    /// The marketplace's Ariba Network ID (what the buyer's Ariba addresses in `To`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_anid: Option<String>,
    pub buyer_domain: String,
    pub buyer_identity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_test_identity: Option<String>,
    pub sender_domain: String,
    pub sender_identity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_secret: Option<String>,
    /// With a new secret: that it is shown once. For Ariba: whose secret the Network presents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_secret_notice: Option<String>,
    /// What our invoices present as Sender SharedSecret, for Coupa's supplier setup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_shared_secret: Option<String>,
    /// After a rotation of the invoice secret: that it is shown once, and where it goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_shared_secret_notice: Option<String>,
    /// Where invoices of the production set go (Coupa).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_url: Option<String>,
    /// The Coupa test instance's set, entered in that instance (the top-level fields are the
    /// production instance's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_instance: Option<InstanceInformation>,
    /// Coupa Open Buy: the base URL (Coupa appends `/authentication/v1.0.0`, ...) and the
    /// credentials to enter for it, `<buyer domain>/<buyer identity>:<shared secret>` (the
    /// secret itself only right after it was made). See [`crate::openbuy`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_buy_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_buy_credentials: Option<String>,
}

/// What the administrator enters in one Coupa instance (see README: which Coupa field each
/// value goes into). Its documents always run in test mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceInformation {
    pub punchout_setup_url: String,
    pub order_url: String,
    pub supplier_domain: String,
    pub supplier_identity: String,
    pub buyer_domain: String,
    pub buyer_identity: String,
    pub sender_domain: String,
    pub sender_identity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_secret_notice: Option<String>,
    /// Every document from this set runs in test mode: nothing is subscribed or invoiced.
    pub always_test_mode: bool,
}

impl PurchaseInformation {
    /// `network`: the supplier's Ariba Network account, shown to Ariba organisations.
    /// With the test instance's new secret, shown this once (after a PUT that added the test
    /// set, or a rotation of its secret).
    pub fn with_test_secret(mut self, org_id: &str, secret: Option<&str>) -> Self {
        if let (Some(test), Some(secret)) = (self.test_instance.as_mut(), secret) {
            test.shared_secret = Some(secret.to_string());
            test.shared_secret_notice = Some(format!(
                "shown this once and not stored: enter it in the Coupa test instance now; if it is lost, rotate it with POST {}?instance=test",
                paths::admin_secret(org_id)
            ));
        }
        self
    }

    /// With the organisation's invoice secret, just rotated: shown this once, with where it
    /// goes (the other secrets are not shown).
    pub fn with_invoice_secret(mut self, org_id: &str, secret: Option<&str>) -> Self {
        if let Some(secret) = secret {
            self.invoice_shared_secret = Some(secret.to_string());
            self.invoice_shared_secret_notice = Some(format!(
                "shown this once and not stored: enter it as the invoice shared secret on the Coupa supplier record now (invoices present it from now on); if it is lost, rotate it with POST {}?kind=invoice",
                paths::admin_secret(org_id)
            ));
        }
        self
    }

    pub fn of(
        deps: &Deps,
        integration: &Integration,
        network: Option<&AribaNetwork>,
        new_secret: Option<&str>,
    ) -> Self {
        let config = &deps.config;
        let org = integration.org_id.as_str();
        let base =
            |buyer: (String, String), sender: (String, String), notice: Option<String>| Self {
                punchout_setup_url: config.url(paths::SETUP),
                order_url: config.url(paths::ORDER),
                supplier_domain: None,
                supplier_identity: None,
                supplier_anid: None,
                buyer_domain: buyer.0,
                buyer_identity: buyer.1,
                buyer_test_identity: None,
                sender_domain: sender.0,
                sender_identity: sender.1,
                shared_secret: None,
                shared_secret_notice: notice,
                invoice_shared_secret: None,
                invoice_shared_secret_notice: None,
                invoice_url: None,
                test_instance: None,
                open_buy_url: None,
                open_buy_credentials: None,
            };
        match &integration.settings.system {
            SystemSettings::Coupa(coupa) => {
                let c = &coupa.credentials;
                let notice = new_secret.map(|_| format!(
                    "shown this once and not stored: enter it in the procurement system now; if it is lost, rotate it with POST {}",
                    paths::admin_secret(org)
                ));
                let mut info = base(
                    (c.buyer_domain.clone(), c.buyer_identity.clone()),
                    (c.sender_domain.clone(), c.sender_identity.clone()),
                    notice,
                );
                info.supplier_domain = Some(config.supplier_domain.clone());
                info.supplier_identity = Some(config.supplier_identity.clone());
                info.invoice_url = coupa.invoice_url.clone();
                info.test_instance = coupa.test_instance.as_ref().map(|t| InstanceInformation {
                    punchout_setup_url: config.url(paths::SETUP),
                    order_url: config.url(paths::ORDER),
                    supplier_domain: config.supplier_domain.clone(),
                    supplier_identity: config.supplier_identity.clone(),
                    buyer_domain: t.credentials.buyer_domain.clone(),
                    buyer_identity: t.credentials.buyer_identity.clone(),
                    sender_domain: t.credentials.sender_domain.clone(),
                    sender_identity: t.credentials.sender_identity.clone(),
                    invoice_url: t.invoice_url.clone(),
                    shared_secret: None,
                    shared_secret_notice: None,
                    always_test_mode: true,
                });
                info.open_buy_url = Some(config.url(paths::OPEN_BUY));
                info.open_buy_credentials = Some(format!(
                    "{}/{}:{}",
                    c.buyer_domain,
                    c.buyer_identity,
                    new_secret.unwrap_or("<shared secret>")
                ));
                if let Some(secret) = new_secret {
                    info.shared_secret = Some(secret.to_string());
                    // Derived from the invoice key (never stored) and shown with the
                    // punchout secret only, so read-only member accounts never see it; a
                    // rotation of the punchout secret shows it again (unchanged).
                    info.invoice_shared_secret =
                        invoice_secret_of(config, integration).map(|s| s.expose().to_string());
                }
                info
            }
            SystemSettings::Ariba(ariba) => {
                let mut info = base(
                    (
                        network::NETWORK_ID_DOMAIN.to_string(),
                        ariba.ariba_network_id.clone(),
                    ),
                    (
                        network::SENDER_DOMAIN.to_string(),
                        network::SENDER_IDENTITY.to_string(),
                    ),
                    Some("the SAP Ariba Network presents the supplier's own shared secret for every buyer: it is the one set in the supplier's Ariba account (Configure cXML Integration) and held by this deployment in Secrets Manager, never per organisation".into()),
                );
                info.buyer_test_identity = ariba.ariba_test_network_id.clone();
                info.supplier_anid = network.map(|n| n.supplier_anid.clone());
                info
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Integrations;
    use serde_json::json;

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
        let world = crate::fakes::FakeWorld::demo().await;
        let store = world.store.as_ref();
        let org = OrgId::from(crate::demo::COUPA_ORG);
        let read = Integrations::get(store, &org).await.unwrap().unwrap();
        let mut rotated = read.clone();
        rotated.secret_digest = "ab".repeat(32);
        rotated.updated_at = next_version(Some(&read));
        assert_eq!(
            store.replace(&rotated, Some(&read)).await.unwrap(),
            IntegrationWrite::Written
        );
        // A PUT that read before the rotation must not put the old digest back.
        let mut stale = read.clone();
        stale.updated_at = next_version(Some(&read));
        for previous in [Some(&read), None] {
            assert_eq!(
                store.replace(&stale, previous).await.unwrap(),
                IntegrationWrite::Stale
            );
        }
        let now = Integrations::get(store, &org).await.unwrap().unwrap();
        assert_eq!(now.secret_digest, rotated.secret_digest);
    }

    #[tokio::test]
    async fn a_buyer_credential_another_organisation_holds_is_not_written() {
        let world = crate::fakes::FakeWorld::demo().await;
        let store = world.store.as_ref();
        let holder = Integrations::get(store, &OrgId::from(crate::demo::COUPA_ORG))
            .await
            .unwrap()
            .unwrap();
        let mut newcomer = holder.clone();
        newcomer.org_id = OrgId::from("another-org");
        let SystemSettings::Coupa(coupa) = &mut newcomer.settings.system else {
            panic!("the demo Coupa integration is Coupa's");
        };
        coupa.credentials.buyer_domain = coupa.credentials.buyer_domain.to_ascii_uppercase();
        assert_eq!(
            store.replace(&newcomer, None).await.unwrap(),
            IntegrationWrite::CredentialTaken
        );
        assert_eq!(
            Integrations::get(store, &newcomer.org_id).await.unwrap(),
            None
        );
        if let SystemSettings::Coupa(coupa) = &mut newcomer.settings.system {
            coupa.credentials.buyer_identity = format!("{}-2", coupa.credentials.buyer_identity);
        }
        assert_eq!(
            store.replace(&newcomer, None).await.unwrap(),
            IntegrationWrite::Written
        );
    }

    fn coupa() -> Value {
        json!({"system": "coupa", "name": "Acme Coupa", "buyer_domain": "DUNS", "buyer_identity": "acme"})
    }

    fn parse(value: &Value) -> Result<Settings, Invalid> {
        parse_document(value.to_string().as_bytes(), false)
    }

    fn error(value: &Value) -> String {
        parse(value).unwrap_err().0
    }

    #[test]
    fn defaults_protect_the_buyer() {
        let s = parse(&coupa()).unwrap();
        assert!(s.test_mode && s.enabled);
        assert!(!s.redirect && !s.preapprove_free && !s.preapprove_byol);
        assert_eq!(s.form_encoding, FormEncoding::UrlEncoded);
        let sender = s.coupa_credentials().unwrap().sender();
        assert_eq!(
            (sender.domain.as_str(), sender.identity.as_str()),
            ("DUNS", "acme")
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let mut doc = coupa();
        doc["test_mode"] = json!("yes");
        assert!(error(&doc).contains("`test_mode`"));
        let mut doc = coupa();
        doc["system"] = json!("sap");
        assert!(error(&doc).contains("`system`"));
        let mut doc = coupa();
        doc["form_encoding"] = json!("cxml-base64");
        assert_eq!(parse(&doc).unwrap().form_encoding, FormEncoding::Base64);
        doc["form_encoding"] = json!("base64");
        assert!(error(&doc).contains("`form_encoding`"));
        assert!(error(&json!({"name": "x"})).contains("`system`"));
        assert!(
            parse_document(b"[1]", false)
                .unwrap_err()
                .0
                .contains("JSON object")
        );
        assert!(
            parse_document(b"{", false)
                .unwrap_err()
                .0
                .contains("not valid JSON")
        );
        assert!(parse_document(b" ", false).unwrap_err().0.contains("empty"));
    }

    #[test]
    fn values_are_checked_by_field() {
        let check = |patch: Value| {
            let mut doc = coupa();
            for (k, v) in patch.as_object().unwrap() {
                doc[k] = v.clone();
            }
            parse(&doc).map(|_| ()).map_err(|e| e.0)
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
        // http and loopback on a local stack only.
        assert!(check(json!({"invoice_url": "http://127.0.0.1:9100/invoices"})).is_err());
        assert!(check(json!({"invoice_url": "https://user:pw@buyer.example/inv"})).is_err());
        let mut local = coupa();
        local["invoice_url"] = json!("http://127.0.0.1:9100/invoices");
        assert!(parse_document(local.to_string().as_bytes(), true).is_ok());
        local["invoice_url"] = json!("http://127.0.0.1.evil.example/inv");
        assert!(parse_document(local.to_string().as_bytes(), true).is_err());
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
    fn ariba_takes_a_production_and_a_test_anid_and_nothing_of_coupas() {
        let ariba = |patch: Value| {
            let mut doc = json!({"system": "ariba", "name": "Acme Ariba", "ariba_network_id": "AN01000000001"});
            for (k, v) in patch.as_object().unwrap() {
                doc[k] = v.clone();
            }
            parse(&doc)
        };
        let s = ariba(json!({"ariba_test_network_id": "AN01000000001-T"})).unwrap();
        assert_eq!(s.form_encoding, FormEncoding::Base64, "Ariba's default");
        let SystemSettings::Ariba(a) = &s.system else {
            panic!("not Ariba")
        };
        assert_eq!(a.ariba_test_network_id.as_deref(), Some("AN01000000001-T"));
        assert!(a.order_confirmations, "on unless switched off");
        assert!(ariba(json!({"order_confirmations": false})).is_ok());
        let refused = |patch: Value, field: &str| {
            let e = ariba(patch.clone()).unwrap_err().0;
            assert!(e.contains(&format!("`{field}`")), "{patch}: {e}");
        };
        refused(
            json!({"ariba_network_id": "AN01000000001-T"}),
            "ariba_network_id",
        );
        refused(json!({"ariba_network_id": "AN0100x"}), "ariba_network_id");
        refused(json!({"ariba_network_id": null}), "ariba_network_id");
        refused(
            json!({"ariba_test_network_id": "AN01000000001"}),
            "ariba_test_network_id",
        );
        refused(json!({"buyer_domain": "NetworkID"}), "buyer_domain");
        refused(
            json!({"sender_identity": "sysadmin@ariba.com"}),
            "sender_identity",
        );
        refused(
            json!({"invoice_url": "https://x.example/inv"}),
            "invoice_url",
        );
        let mut coupa_doc = coupa();
        coupa_doc["order_confirmations"] = json!(true);
        assert!(error(&coupa_doc).contains("`order_confirmations`"));
        let mut coupa_doc = coupa();
        coupa_doc["ariba_test_network_id"] = json!("AN01-T");
        assert!(error(&coupa_doc).contains("`ariba_test_network_id`"));
    }

    #[test]
    fn stored_settings_read_back_as_the_same_document() {
        let settings = parse(&json!({
            "system": "ariba", "name": "Acme Ariba", "ariba_network_id": "AN0100000002",
            "ariba_test_network_id": "AN0100000002-T", "preapprove_free": true,
            "form_encoding": "cxml-urlencoded"
        }))
        .unwrap();
        let document = serde_json::to_vec(&settings).unwrap();
        assert_eq!(parse_document(&document, false).unwrap(), settings);
    }

    #[test]
    fn a_coupa_test_instance_reads_back_as_the_same_document() {
        let mut doc = coupa();
        doc["test_instance"] = json!({"buyer_domain": "DUNS", "buyer_identity": "acme-test",
            "invoice_url": "https://acme-test.coupahost.com/cxml/invoices"});
        let settings = parse(&doc).unwrap();
        let test = settings.coupa_credentials_of(Instance::Test).unwrap();
        assert_eq!(
            test.sender(),
            test.buyer(),
            "the Sender defaults to the buyer"
        );
        assert_eq!(
            settings.instance_of("duns", "acme-test"),
            Some(Instance::Test)
        );
        let document = serde_json::to_vec(&settings).unwrap();
        assert_eq!(parse_document(&document, false).unwrap(), settings);
        doc["test_instance"]["sender_domain"] = json!("NetworkID");
        assert!(error(&doc).contains("`test_instance.sender_identity`"));
    }

    #[test]
    fn changes_are_named_by_field() {
        let old = parse(&coupa()).unwrap();
        let mut doc = coupa();
        doc["test_mode"] = json!(false);
        doc["invoice_url"] = json!("https://acme.example/inv");
        let new = parse(&doc).unwrap();
        assert_eq!(changed_settings(&old, &new), ["invoice_url", "test_mode"]);
        assert!(changed_settings(&old, &old).is_empty());
    }

    #[test]
    fn invoice_settings_default_to_net_30_and_are_checked_by_field() {
        let s = parse(&coupa()).unwrap();
        let invoicing = s.invoicing().unwrap();
        assert_eq!(invoicing.payment_term_days, 30);
        assert!(invoicing.tax.is_none() && invoicing.remit_to.is_none());

        let mut doc = coupa();
        doc["invoicing"] = json!({
            "payment_term_days": 45,
            "payment_term_code": " Net 45 ",
            "tax": {"category": "vat", "rate_percent": "19.00", "description": "VAT"},
            "remit_to": {"name": "Marketplace GmbH", "code": "R1", "street": ["Hauptstr. 1", " "],
                         "city": "Berlin", "postal_code": "10115", "country_code": "DE"},
            "supplier_tax_id": {"prefix": "DE", "number": "123456789"},
            "to_domain": "DUNS", "to_identity": "coupa-inv"
        });
        let s = parse(&doc).unwrap();
        let i = s.invoicing().unwrap();
        assert_eq!(i.payment_term_days, 45);
        assert_eq!(i.payment_term_code.as_deref(), Some("Net 45"));
        assert_eq!(i.tax.as_ref().unwrap().rate_percent.to_string(), "19");
        assert_eq!(i.remit_to.as_ref().unwrap().street, ["Hauptstr. 1"]);
        // Stored and shown in the shape the admin API takes: it can be PUT again as it is.
        let shown = serde_json::to_value(&s).unwrap();
        let mut again = shown.clone();
        again
            .as_object_mut()
            .unwrap()
            .retain(|k, _| !matches!(k.as_str(), "form_encoding" | "enabled" | "test_mode"));
        assert_eq!(parse(&again).unwrap().invoicing(), s.invoicing());

        let field_error = |patch: Value, field: &str| {
            let mut doc = coupa();
            doc["invoicing"] = patch;
            let e = error(&doc);
            assert!(e.contains(field), "{field}: {e}");
        };
        field_error(
            json!({"payment_term_days": 1000}),
            "`invoicing.payment_term_days`",
        );
        field_error(json!({"payment_term_days": -1}), "invoicing");
        field_error(
            json!({"tax": {"category": "vat", "rate_percent": "101"}}),
            "`invoicing.tax.rate_percent`",
        );
        field_error(
            json!({"tax": {"category": "vat", "rate_percent": "-1"}}),
            "`invoicing.tax.rate_percent`",
        );
        field_error(
            json!({"tax": {"category": " ", "rate_percent": "5"}}),
            "`invoicing.tax.category`",
        );
        field_error(json!({"tax": {"category": "vat"}}), "rate_percent");
        field_error(
            json!({"remit_to": {"name": "X", "street": [], "city": "B", "country_code": "DE"}}),
            "`invoicing.remit_to.street`",
        );
        field_error(
            json!({"remit_to": {"name": "X", "street": ["1"], "city": "B", "country_code": "Germany"}}),
            "`invoicing.remit_to.country_code`",
        );
        field_error(
            json!({"supplier_tax_id": {"number": "1"}}),
            "`invoicing.supplier_tax_id`",
        );
        field_error(json!({"to_domain": "DUNS"}), "`invoicing.to_identity`");
        field_error(json!({"payment_term": 30}), "payment_term");
        let mut ariba =
            json!({"system": "ariba", "name": "A", "ariba_network_id": "AN01000000001"});
        ariba["invoicing"] = json!({});
        assert!(error(&ariba).contains("`invoicing`"));
    }
}
