//! A buyer organisation's procurement system integration: the settings common to every system,
//! and those of its system as one variant, so a combination no system has (an Ariba Network ID
//! on a Coupa integration, a Coupa invoice URL on an Ariba one) cannot be written.
//!
//! The stored record and the settings document of the admin API share one serde shape: the
//! settings serialize flat, with `system` naming the variant, exactly as an administrator PUTs
//! them ([`crate::settings`] reads and validates that document).

use cxml::{CredentialId, FormEncoding};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::OrgId;

/// Which procurement system an organisation buys through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcurementSystem {
    Coupa,
    Ariba,
}

impl ProcurementSystem {
    /// The product's name as buyers know it, for pages and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Coupa => "Coupa",
            Self::Ariba => "SAP Ariba",
        }
    }
}

/// A buyer organisation's integration as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integration {
    pub org_id: OrgId,
    pub settings: Settings,
    /// SHA-256 of the shared secret, hex. The secret itself is shown once and never stored.
    pub secret_digest: String,
    /// The same for a Coupa test instance's credential set: each set has its own secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_secret_digest: Option<String>,
    /// Which derivation of the organisation's invoice secret our invoices present (see
    /// [`crate::invoices::invoice_secret`]): rotating it (`POST .../secret?kind=invoice`)
    /// moves this organisation alone to the next one. Integrations stored before versions
    /// existed are on the first, the derivation they were shown.
    #[serde(
        default = "crate::invoices::first_invoice_secret_version",
        skip_serializing_if = "crate::invoices::is_first_invoice_secret_version"
    )]
    pub invoice_secret_version: u32,
    /// The version a conditional write is checked against (see [`crate::ports::Integrations`]).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What an administrator sets. Serialized flat: `{"system": "coupa", "name": ..., ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub name: String,
    pub description: String,
    /// On until the buyer says they are ready: every flow runs, nothing is subscribed or invoiced.
    pub test_mode: bool,
    /// Marketplace subscribe attempts of this organisation are sent to the procurement system.
    pub redirect: bool,
    pub preapprove_free: bool,
    pub preapprove_byol: bool,
    pub form_encoding: FormEncoding,
    /// Off refuses every cXML request of the buyer but keeps every setting and the secret.
    pub enabled: bool,
    #[serde(flatten)]
    pub system: SystemSettings,
}

/// The settings only one procurement system has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "system", rename_all = "lowercase")]
pub enum SystemSettings {
    Coupa(CoupaSettings),
    Ariba(AribaSettings),
}

/// Coupa sends as the buyer itself: From and Sender are the buyer's credentials. The fields
/// at the top are the production instance's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoupaSettings {
    #[serde(flatten)]
    pub credentials: BuyerCredentials,
    /// Where invoices go (https; http on loopback for the local stand-in buyer).
    pub invoice_url: Option<String>,
    /// The customer's Coupa test instance, a different system with its own credentials and
    /// URLs ("Normally, suppliers provide two sets of information: one set for testing, and
    /// one set for production", Compass "Punchout Catalogs"): its documents always run in
    /// test mode, whatever `test_mode` (which governs the production set) says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_instance: Option<CoupaInstance>,
    /// What the invoices say beyond the charge: payment term, tax, remit-to, the To
    /// credential. Integrations stored before it existed get the defaults (net 30, no tax).
    #[serde(default)]
    pub invoicing: Box<InvoiceSettings>,
}

/// One Coupa instance's credential set (its secret's digest is kept on the integration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoupaInstance {
    #[serde(flatten)]
    pub credentials: BuyerCredentials,
    #[serde(default)]
    pub invoice_url: Option<String>,
}

/// An organisation's invoice settings, as the admin API takes and shows them (`invoicing`).
/// Sources (Coupa Compass): "Sample cXML Invoice with Payment Terms", "Sample cXML Invoices
/// with Taxes (PO-backed)", "Selecting Your Remit-To Address", "cXML Invoices".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceSettings {
    /// `PaymentTerm payInNumberOfDays`: required by Coupa since R12 (default 30).
    #[serde(default = "net_30")]
    pub payment_term_days: u32,
    /// Coupa's payment-term code (R30+), sent as the header extrinsic `PaymentTermCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_term_code: Option<String>,
    /// The tax every invoice carries; none: a 0.00 tax without TaxDetail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<TaxSetting>,
    /// The supplier's remit-to address (InvoicePartner role remitTo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remit_to: Option<RemitTo>,
    /// The supplier's tax id, sent as IdReference `taxPrefix` / `taxNumber` on the remit-to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_tax_id: Option<SupplierTaxId>,
    /// Coupa's "cXML Invoice Buyer Domain/Identity" (the invoice's To); defaults to the
    /// punchout buyer credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_identity: Option<String>,
}

fn net_30() -> u32 {
    30
}

impl Default for InvoiceSettings {
    fn default() -> Self {
        Self {
            payment_term_days: net_30(),
            payment_term_code: None,
            tax: None,
            remit_to: None,
            supplier_tax_id: None,
            to_domain: None,
            to_identity: None,
        }
    }
}

/// A tax as Coupa maps it to a tax code: category and percentage rate must match one set up
/// in Coupa. A 0 rate is zero-rated and still written as a TaxDetail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxSetting {
    /// `sales`, `vat`, `gst`, ... (TaxDetail category).
    pub category: String,
    /// Percent, e.g. "19" or "7.25".
    pub rate_percent: rust_decimal::Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The remit-to address; `code` is Coupa's remit-to code (Contact addressID), which overrides
/// the address in Coupa.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemitTo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub street: Vec<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166 alpha-2.
    pub country_code: String,
    /// The country's name (defaults to the code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Coupa reads a supplier's VAT number from IdReference `taxPrefix` and `taxNumber`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierTaxId {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub number: String,
}

/// SAP Ariba buyers reach the marketplace through the Ariba Network, which names the buyer by
/// its Ariba Network ID (ANID) in `From` and authenticates itself with the supplier's one
/// Network secret ([`crate::network`]): no per-organisation credential or secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AribaSettings {
    /// The buyer's production ANID (`AN` and digits).
    pub ariba_network_id: String,
    /// The buyer's test account ANID (`AN…-T`): its documents always run in test mode.
    #[serde(default)]
    pub ariba_test_network_id: Option<String>,
    /// Send a ConfirmationRequest to the Network once an order's agreements exist.
    #[serde(default = "yes")]
    pub order_confirmations: bool,
}

fn yes() -> bool {
    true
}

/// Which of a buyer's procurement systems a document came from: its production instance, or
/// its test instance (a Coupa test instance, an Ariba test account), whose documents always run
/// in test mode whatever the integration's switch says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instance {
    Production,
    Test,
}

/// The From credential that names the buyer, and the Sender credential of the system that
/// sends for it (the same unless a network sends on the buyer's behalf).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerCredentials {
    pub buyer_domain: String,
    pub buyer_identity: String,
    pub sender_domain: String,
    pub sender_identity: String,
}

impl BuyerCredentials {
    pub fn buyer(&self) -> CredentialId {
        CredentialId::new(&self.buyer_domain, &self.buyer_identity)
    }

    pub fn sender(&self) -> CredentialId {
        CredentialId::new(&self.sender_domain, &self.sender_identity)
    }
}

impl Settings {
    pub fn system(&self) -> ProcurementSystem {
        match self.system {
            SystemSettings::Coupa(_) => ProcurementSystem::Coupa,
            SystemSettings::Ariba(_) => ProcurementSystem::Ariba,
        }
    }

    /// The buyer credentials documents of this integration name in `From`, each with the
    /// instance it stands for: Coupa's buyer credential; Ariba's ANIDs under NetworkID.
    pub fn buyer_credentials(&self) -> Vec<(CredentialId, Instance)> {
        match &self.system {
            SystemSettings::Coupa(c) => {
                std::iter::once((c.credentials.buyer(), Instance::Production))
                    .chain(
                        c.test_instance
                            .iter()
                            .map(|t| (t.credentials.buyer(), Instance::Test)),
                    )
                    .collect()
            }
            SystemSettings::Ariba(a) => {
                std::iter::once((&a.ariba_network_id, Instance::Production))
                    .chain(a.ariba_test_network_id.iter().map(|t| (t, Instance::Test)))
                    .map(|(anid, instance)| {
                        (
                            CredentialId::new(crate::network::NETWORK_ID_DOMAIN, anid),
                            instance,
                        )
                    })
                    .collect()
            }
        }
    }

    /// Which instance a From credential of this integration stands for.
    pub fn instance_of(&self, domain: &str, identity: &str) -> Option<Instance> {
        self.buyer_credentials()
            .into_iter()
            .find(|(c, _)| {
                c.domain.eq_ignore_ascii_case(domain.trim()) && c.identity == identity.trim()
            })
            .map(|(_, instance)| instance)
    }

    /// Coupa's (production) buyer and sender credentials (Ariba has none of its own).
    pub fn coupa_credentials(&self) -> Option<&BuyerCredentials> {
        match &self.system {
            SystemSettings::Coupa(c) => Some(&c.credentials),
            SystemSettings::Ariba(_) => None,
        }
    }

    /// The buyer and sender credentials of one Coupa instance, if it is configured.
    pub fn coupa_credentials_of(&self, instance: Instance) -> Option<&BuyerCredentials> {
        match (&self.system, instance) {
            (SystemSettings::Coupa(c), Instance::Production) => Some(&c.credentials),
            (SystemSettings::Coupa(c), Instance::Test) => {
                c.test_instance.as_ref().map(|t| &t.credentials)
            }
            (SystemSettings::Ariba(_), _) => None,
        }
    }

    pub fn coupa_credentials_mut(&mut self) -> Option<&mut BuyerCredentials> {
        match &mut self.system {
            SystemSettings::Coupa(c) => Some(&mut c.credentials),
            SystemSettings::Ariba(_) => None,
        }
    }

    /// Whether the Network confirms this organisation's orders (Ariba with confirmations on).
    pub fn confirms_orders(&self) -> bool {
        matches!(&self.system, SystemSettings::Ariba(a) if a.order_confirmations)
    }

    /// The invoice settings (Coupa; Ariba organisations are not invoiced by cXML).
    pub fn invoicing(&self) -> Option<&InvoiceSettings> {
        match &self.system {
            SystemSettings::Coupa(c) => Some(c.invoicing.as_ref()),
            SystemSettings::Ariba(_) => None,
        }
    }

    /// Where this organisation's invoices go: Coupa integrations with an invoice URL only.
    pub fn invoice_url(&self) -> Option<&str> {
        match &self.system {
            SystemSettings::Coupa(c) => c.invoice_url.as_deref(),
            SystemSettings::Ariba(_) => None,
        }
    }
}

impl Integration {
    pub fn system(&self) -> ProcurementSystem {
        self.settings.system()
    }

    /// The buyer's production From credential: what documents sent to it are addressed to.
    pub fn buyer(&self) -> CredentialId {
        self.settings
            .buyer_credentials()
            .into_iter()
            .next()
            .map(|(credential, _)| credential)
            .unwrap_or_else(|| CredentialId::new("", ""))
    }

    /// What a request of this buyer's instance must present, when it sends itself (Coupa):
    /// that instance's credential set and secret. None for Ariba (the Network sends), an
    /// instance not configured, or a stored digest that is unreadable.
    pub fn expected_sender(&self, instance: Instance) -> Option<cxml::ExpectedSender> {
        let credentials = self.settings.coupa_credentials_of(instance)?;
        Some(cxml::ExpectedSender {
            from: credentials.buyer(),
            sender: credentials.sender(),
            secret: cxml::SecretDigest::from_hex(self.secret_digest_of(instance)?)?,
        })
    }

    /// The stored digest of one instance's shared secret.
    pub fn secret_digest_of(&self, instance: Instance) -> Option<&str> {
        match instance {
            Instance::Production => Some(self.secret_digest.as_str()),
            Instance::Test => self.test_secret_digest.as_deref(),
        }
    }

    pub fn test_mode(&self) -> bool {
        self.settings.test_mode
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_serialize_flat_as_the_admin_document() {
        let settings = Settings {
            name: "Acme".into(),
            description: String::new(),
            test_mode: true,
            redirect: false,
            preapprove_free: false,
            preapprove_byol: false,
            form_encoding: FormEncoding::UrlEncoded,
            enabled: true,
            system: SystemSettings::Ariba(AribaSettings {
                ariba_network_id: "AN01".into(),
                ariba_test_network_id: Some("AN01-T".into()),
                order_confirmations: true,
            }),
        };
        let value = serde_json::to_value(&settings).unwrap();
        assert_eq!(value["system"], json!("ariba"));
        assert_eq!(value["ariba_network_id"], json!("AN01"));
        assert_eq!(value["ariba_test_network_id"], json!("AN01-T"));
        assert_eq!(value.get("invoice_url"), None, "Coupa's field is not there");
        assert_eq!(value.get("buyer_domain"), None, "nor Coupa's credentials");
        let back: Settings = serde_json::from_value(value).unwrap();
        assert_eq!(back, settings);
        assert_eq!(
            settings.buyer_credentials(),
            [
                (CredentialId::new("NetworkID", "AN01"), Instance::Production),
                (CredentialId::new("NetworkID", "AN01-T"), Instance::Test),
            ]
        );
        assert_eq!(
            settings.instance_of("networkid", " AN01-T"),
            Some(Instance::Test)
        );
        assert_eq!(settings.instance_of("DUNS", "AN01"), None);
    }

    #[test]
    fn a_coupa_test_instance_is_a_second_credential_set_and_old_records_still_load() {
        // An integration stored before test instances existed.
        let stored = json!({
            "org_id": "acme",
            "settings": {
                "system": "coupa", "name": "Acme", "description": "", "test_mode": false,
                "redirect": false, "preapprove_free": false, "preapprove_byol": false,
                "form_encoding": "cxml-urlencoded", "enabled": true,
                "buyer_domain": "DUNS", "buyer_identity": "acme",
                "sender_domain": "DUNS", "sender_identity": "acme",
                "invoice_url": null
            },
            "secret_digest": "ab".repeat(32),
            "updated_at": "2026-11-24T10:00:00Z"
        });
        let mut integration: Integration = serde_json::from_value(stored).unwrap();
        assert_eq!(integration.test_secret_digest, None);
        assert!(integration.expected_sender(Instance::Test).is_none());
        assert!(integration.expected_sender(Instance::Production).is_some());
        let back = serde_json::to_value(&integration).unwrap();
        assert_eq!(back.get("test_secret_digest"), None);
        assert_eq!(back["settings"].get("test_instance"), None);

        let SystemSettings::Coupa(coupa) = &mut integration.settings.system else {
            unreachable!()
        };
        let mut test = coupa.credentials.clone();
        test.buyer_identity = "acme-test".into();
        test.sender_identity = "acme-test".into();
        coupa.test_instance = Some(CoupaInstance {
            credentials: test,
            invoice_url: Some("https://acme-test.coupahost.com/cxml/invoices".into()),
        });
        integration.test_secret_digest = Some("cd".repeat(32));
        assert_eq!(
            integration.settings.buyer_credentials(),
            [
                (CredentialId::new("DUNS", "acme"), Instance::Production),
                (CredentialId::new("DUNS", "acme-test"), Instance::Test),
            ]
        );
        assert_eq!(integration.buyer(), CredentialId::new("DUNS", "acme"));
        let expected = integration.expected_sender(Instance::Test).unwrap();
        assert_eq!(expected.from, CredentialId::new("DUNS", "acme-test"));
        assert_eq!(expected.secret.to_hex(), "cd".repeat(32));
        let value = serde_json::to_value(&integration).unwrap();
        assert_eq!(
            value["settings"]["test_instance"]["buyer_identity"],
            json!("acme-test")
        );
        let back: Integration = serde_json::from_value(value).unwrap();
        assert_eq!(back, integration);
    }
}
