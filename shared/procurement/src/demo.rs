//! The demo organisation and catalog that `make run` seeds and the fixture tests use.
//! Local use only: the shared secrets here are public.

use cxml::{Currency, FormEncoding, Money, SecretDigest};
use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime};

use crate::ids::{OrgId, QuoteId};
use crate::model::*;
use crate::ports::Store;

pub const COUPA_ORG: &str = "demo-coupa-org";
pub const COUPA_DOMAIN: &str = "DUNS";
pub const COUPA_IDENTITY: &str = "coupa-demo-buyer";
pub const COUPA_SECRET: &str = "local-demo-coupa-secret";

pub const ARIBA_ORG: &str = "demo-ariba-org";
/// The demo Ariba buyer as the Network names it in From: its production and test ANIDs.
pub const ARIBA_DOMAIN: &str = "NetworkID";
pub const ARIBA_IDENTITY: &str = "AN01000000001";
pub const ARIBA_TEST_IDENTITY: &str = "AN01000000001-T";
/// The marketplace's own (local) Ariba Network account: its ANID and the one shared secret
/// the Network presents for every buyer.
pub const ARIBA_SUPPLIER_ANID: &str = "AN01000000099";
pub const ARIBA_NETWORK_SECRET: &str = "local-demo-ariba-network-secret";

/// The local stack's Ariba Network account (what `make run` puts in Secrets Manager).
pub fn ariba_network() -> crate::network::AribaNetwork {
    crate::network::AribaNetwork::new(
        ARIBA_SUPPLIER_ANID,
        cxml::SharedSecret::new(ARIBA_NETWORK_SECRET),
        None,
    )
}

/// AWS accounts of the demo organisations (the admin API checks the caller against them).
pub const COUPA_MANAGEMENT_ACCOUNT: &str = "111111111111";
pub const COUPA_MEMBER_ACCOUNT: &str = "222222222222";
pub const ARIBA_MANAGEMENT_ACCOUNT: &str = "333333333333";

/// Products in the Ariba organisation's private marketplace (the Coupa one sees everything).
/// The demo product whose names are not ASCII.
pub const INTERNATIONAL_PRODUCT: &str = "prod-saas-intl";
pub const INTERNATIONAL_TITLE: &str = "Café Übersetzer Straße 日本語";

pub const ARIBA_PRIVATE_MARKETPLACE: [&str; 6] = [
    "prod-saas-upfront",
    INTERNATIONAL_PRODUCT,
    "prod-saas-payg",
    "prod-ami-free",
    "prod-ami-byol",
    PRIVATE_OFFER_PRODUCT,
];

/// The demo private offer (`PRIVATE_OFFER_PRODUCT`) is extended to the two demo
/// organisations and to no one else: any other organisation neither sees nor orders it.
pub const PRIVATE_OFFER_PRODUCT: &str = "prod-saas-private";
pub const PRIVATE_OFFER_BUYERS: [&str; 2] = [COUPA_ORG, ARIBA_ORG];

pub fn organizations() -> Vec<Organization> {
    vec![
        Organization {
            org_id: OrgId::from(COUPA_ORG),
            name: "Demo buyer on Coupa".into(),
            management_account_id: COUPA_MANAGEMENT_ACCOUNT.into(),
            member_account_ids: vec![COUPA_MEMBER_ACCOUNT.into()],
            private_marketplace: None,
        },
        Organization {
            org_id: OrgId::from(ARIBA_ORG),
            name: "Demo buyer on SAP Ariba".into(),
            management_account_id: ARIBA_MANAGEMENT_ACCOUNT.into(),
            member_account_ids: Vec::new(),
            private_marketplace: Some(
                ARIBA_PRIVATE_MARKETPLACE
                    .iter()
                    .map(|id| id.to_string())
                    .collect(),
            ),
        },
    ]
}

/// Writes the demo organisations, integrations and catalog: what `make run` and
/// [`crate::fakes::FakeWorld::demo`] start from.
pub async fn seed<S: Store + ?Sized>(
    store: &S,
    now: OffsetDateTime,
) -> Result<(), crate::StoreError> {
    for product in products(now) {
        store.put_product(&product).await?;
    }
    for org in organizations() {
        crate::ports::Organizations::put(store, &org).await?;
    }
    crate::ports::Integrations::put(store, &coupa_integration(now)).await?;
    crate::ports::Integrations::put(store, &ariba_integration(now)).await?;
    for quote in quotes(now) {
        match crate::ports::Quotes::create(store, &quote).await {
            // Seeding twice keeps the first quote (and whatever happened to it).
            Ok(()) | Err(crate::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Quotes pending approval that the order fixtures in `events/order-request` refer to
/// (`quote-0001` for the Coupa buyer, `quote-0002` for the Ariba buyer).
pub fn quotes(now: OffsetDateTime) -> Vec<Quote> {
    let product = products(now)
        .into_iter()
        .find(|p| p.id == "prod-saas-upfront")
        .expect("the demo catalog has prod-saas-upfront");
    [
        ("quote-0001", coupa_integration(now)),
        ("quote-0002", ariba_integration(now)),
    ]
    .into_iter()
    .map(|(quote_id, integration)| {
        let lines = crate::cart::cart_lines(&product, &integration)
            .expect("an upfront SaaS product is supported")
            .into_cart()
            .lines;
        Quote {
            quote_id: QuoteId::from(quote_id),
            org_id: integration.org_id.clone(),
            product_id: product.id.clone(),
            product_title: product.title.clone(),
            lines,
            status: QuoteStatus::PendingApproval,
            test: integration.test_mode(),
            never_invoiced: false,
            private_offer: None,
            requester_email: Some("jim.halpert@buyer.example".into()),
            requester_name: Some("Jim Halpert".into()),
            buyer_cookie: "c64af92dc27e68172e030d3dfd1bc944".into(),
            created_at: now,
            order_id: None,
            agreement_id: None,
        }
    })
    .collect()
}

pub fn coupa_integration(now: OffsetDateTime) -> Integration {
    Integration {
        org_id: OrgId::from(COUPA_ORG),
        settings: Settings {
            name: "Demo Coupa".into(),
            description: "Coupa integration seeded for local runs".into(),
            test_mode: true,
            redirect: false,
            preapprove_free: false,
            preapprove_byol: false,
            form_encoding: FormEncoding::UrlEncoded,
            enabled: true,
            system: SystemSettings::Coupa(CoupaSettings {
                credentials: same_sender(COUPA_DOMAIN, COUPA_IDENTITY),
                invoice_url: Some("http://127.0.0.1:9100/invoices".into()),
                test_instance: None,
                invoicing: Box::new(demo_invoicing()),
            }),
        },
        secret_digest: SecretDigest::of(COUPA_SECRET).to_hex(),
        test_secret_digest: None,
        invoice_secret_version: crate::invoices::first_invoice_secret_version(),
        updated_at: now,
    }
}

/// Net 30 with Coupa's code, a zero-rated sales tax (written as a TaxDetail all the same).
pub fn demo_invoicing() -> crate::integration::InvoiceSettings {
    crate::integration::InvoiceSettings {
        payment_term_code: Some("Net 30".into()),
        tax: Some(crate::integration::TaxSetting {
            category: "sales".into(),
            rate_percent: rust_decimal::Decimal::ZERO,
            description: Some("Zero-rated digital service".into()),
        }),
        ..Default::default()
    }
}

pub fn ariba_integration(now: OffsetDateTime) -> Integration {
    Integration {
        org_id: OrgId::from(ARIBA_ORG),
        settings: Settings {
            name: "Demo SAP Ariba".into(),
            description: "Ariba integration seeded for local runs".into(),
            test_mode: true,
            redirect: false,
            preapprove_free: true,
            preapprove_byol: true,
            form_encoding: FormEncoding::Base64,
            enabled: true,
            system: SystemSettings::Ariba(AribaSettings {
                ariba_network_id: ARIBA_IDENTITY.into(),
                ariba_test_network_id: Some(ARIBA_TEST_IDENTITY.into()),
                order_confirmations: true,
            }),
        },
        // No secret of its own: the Network's.
        secret_digest: String::new(),
        test_secret_digest: None,
        invoice_secret_version: crate::invoices::first_invoice_secret_version(),
        updated_at: now,
    }
}

/// A buyer that sends as itself (Sender = From).
fn same_sender(domain: &str, identity: &str) -> BuyerCredentials {
    BuyerCredentials {
        buyer_domain: domain.into(),
        buyer_identity: identity.into(),
        sender_domain: domain.into(),
        sender_identity: identity.into(),
    }
}

fn usd(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), Currency::USD)
}

/// Products of every type and pricing model, one of them behind a private offer extended to
/// the demo organisations ([`PRIVATE_OFFER_BUYERS`]).
pub fn products(now: OffsetDateTime) -> Vec<Product> {
    let product =
        |id: &str, title: &str, vendor: &str, product_type, summary: &str, pricing| Product {
            id: id.into(),
            title: title.into(),
            vendor: vendor.into(),
            product_type,
            summary: summary.into(),
            pricing,
            private_offer: None,
        };
    let mut list = vec![
        product(
            "prod-saas-upfront",
            "Ledgerly Analytics",
            "Ledgerly",
            ProductType::Saas,
            "Finance analytics for mid-size teams.",
            Pricing::Upfront {
                amount: usd(1_200_000),
                months: 12,
            },
        ),
        // Non-ASCII in the title, vendor and summary: carts must carry it intact through both
        // form encodings (Ariba's cxml-base64, Coupa's cxml-urlencoded) and every page.
        product(
            INTERNATIONAL_PRODUCT,
            INTERNATIONAL_TITLE,
            "Müller & Söhne 株式会社",
            ProductType::Saas,
            "Übersetzungen für Straße und Café: 日本語, Français, Deutsch.",
            Pricing::Upfront {
                amount: usd(240_000),
                months: 12,
            },
        ),
        product(
            "prod-saas-fps",
            "Orbit CRM Enterprise",
            "Orbit",
            ProductType::Saas,
            "CRM with a flexible payment schedule.",
            Pricing::FlexiblePaymentSchedule {
                installments: vec![
                    Installment {
                        due: now,
                        amount: usd(500_000),
                    },
                    Installment {
                        due: now + Duration::days(180),
                        amount: usd(500_000),
                    },
                ],
            },
        ),
        product(
            "prod-saas-payg",
            "Streamline Logs",
            "Streamline",
            ProductType::Saas,
            "Log search billed by volume.",
            Pricing::PayAsYouGo {
                summary: "$0.10 per GB ingested".into(),
            },
        ),
        product(
            "prod-saas-contract-payg",
            "Vault Secrets Pro",
            "Vaultworks",
            ProductType::Saas,
            "Secrets management: yearly contract plus usage.",
            Pricing::ContractWithPayAsYouGo {
                amount: usd(600_000),
                months: 12,
                usage_summary: "$0.01 per API call over quota".into(),
            },
        ),
        product(
            "prod-ami-free",
            "Hardened Linux Base",
            "OpenBase",
            ProductType::Ami,
            "A CIS-hardened Linux image.",
            Pricing::Free,
        ),
        product(
            "prod-ami-byol",
            "Gateway Appliance",
            "NetEdge",
            ProductType::Ami,
            "Bring your own NetEdge license.",
            Pricing::Byol,
        ),
        product(
            "prod-container-trial",
            "Queue Operator",
            "Kubeworks",
            ProductType::Container,
            "Message queue operator for Kubernetes.",
            Pricing::FreeTrial { days: 30 },
        ),
        product(
            "prod-waf-payg",
            "Bot Shield Rules",
            "ShieldCo",
            ProductType::WafRule,
            "Managed WAF rules against bots.",
            Pricing::PayAsYouGo {
                summary: "$20 per month per web ACL".into(),
            },
        ),
        product(
            "prod-ml-payg",
            "Invoice OCR Model",
            "Vision Labs",
            ProductType::MlAlgorithm,
            "Reads invoices into structured data.",
            Pricing::PayAsYouGo {
                summary: "$0.50 per inference hour".into(),
            },
        ),
        product(
            "prod-ami-contract",
            "Database Appliance",
            "DataCorp",
            ProductType::Ami,
            "AMI sold on an annual contract.",
            Pricing::Contract {
                amount: usd(300_000),
                months: 12,
            },
        ),
        product(
            "prod-proserv",
            "Migration Assessment",
            "CloudPartners",
            ProductType::ProfessionalServices,
            "Two-week migration assessment.",
            Pricing::Upfront {
                amount: usd(2_500_000),
                months: 1,
            },
        ),
    ];
    let mut private = product(
        PRIVATE_OFFER_PRODUCT,
        "Sentinel SIEM (private offer)",
        "Sentinel",
        ProductType::Saas,
        "Negotiated price for your organisation.",
        Pricing::Upfront {
            amount: usd(4_800_000),
            months: 24,
        },
    );
    private.private_offer = Some(PrivateOffer {
        offer_id: "offer-sentinel-2026".into(),
        expires_at: now + Duration::days(14),
        extended_to: PRIVATE_OFFER_BUYERS
            .iter()
            .map(|id| OrgId::from(*id))
            .collect(),
    });
    list.push(private);
    list
}
