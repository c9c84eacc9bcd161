//! The demo organisation and catalog that `make run` seeds and the fixture tests use.
//! Local use only: the shared secrets here are public.

use cxml::{Currency, FormEncoding, Money, SecretDigest};
use rust_decimal::Decimal;
use time::{Duration, OffsetDateTime};

use crate::model::*;

pub const COUPA_ORG: &str = "demo-coupa-org";
pub const COUPA_DOMAIN: &str = "DUNS";
pub const COUPA_IDENTITY: &str = "coupa-demo-buyer";
pub const COUPA_SECRET: &str = "local-demo-coupa-secret";

pub const ARIBA_ORG: &str = "demo-ariba-org";
pub const ARIBA_DOMAIN: &str = "NetworkID";
pub const ARIBA_IDENTITY: &str = "AN01000000001";
pub const ARIBA_SECRET: &str = "local-demo-ariba-secret";

pub fn coupa_integration(now: OffsetDateTime) -> Integration {
    Integration {
        org_id: COUPA_ORG.into(),
        system: ProcurementSystem::Coupa,
        name: "Demo Coupa".into(),
        description: "Coupa integration seeded for local runs".into(),
        test_mode: true,
        redirect: false,
        ariba_network_id: None,
        invoice_url: Some("http://127.0.0.1:9100/invoices".into()),
        preapprove_free: false,
        preapprove_byol: false,
        form_encoding: FormEncoding::UrlEncoded,
        enabled: true,
        buyer_domain: COUPA_DOMAIN.into(),
        buyer_identity: COUPA_IDENTITY.into(),
        sender_domain: COUPA_DOMAIN.into(),
        sender_identity: COUPA_IDENTITY.into(),
        secret_digest: SecretDigest::of(COUPA_SECRET).to_hex(),
        updated_at: now,
    }
}

pub fn ariba_integration(now: OffsetDateTime) -> Integration {
    Integration {
        org_id: ARIBA_ORG.into(),
        system: ProcurementSystem::Ariba,
        name: "Demo SAP Ariba".into(),
        description: "Ariba integration seeded for local runs".into(),
        test_mode: true,
        redirect: false,
        ariba_network_id: Some(ARIBA_IDENTITY.into()),
        invoice_url: None,
        preapprove_free: true,
        preapprove_byol: true,
        form_encoding: FormEncoding::Base64,
        enabled: true,
        buyer_domain: ARIBA_DOMAIN.into(),
        buyer_identity: ARIBA_IDENTITY.into(),
        sender_domain: ARIBA_DOMAIN.into(),
        sender_identity: ARIBA_IDENTITY.into(),
        secret_digest: SecretDigest::of(ARIBA_SECRET).to_hex(),
        updated_at: now,
    }
}

fn usd(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), Currency::USD)
}

/// Products of every type and pricing model, one of them behind a private offer.
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
        "prod-saas-private",
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
    });
    list.push(private);
    list
}
