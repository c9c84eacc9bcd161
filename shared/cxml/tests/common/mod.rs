//! Shared helpers for the integration tests: where the reference samples and DTDs live,
//! and documents built from scratch for the writer tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::macros::datetime;

use cxml::*;

/// The reference samples (read-only, outside the repository).
pub const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/cxml/samples");
/// The official cXML 1.2.069 DTDs (read-only, outside the repository).
pub const DTD_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/cxml/dtd/1.2.069"
);

pub fn sample_path(rel: &str) -> PathBuf {
    Path::new(SAMPLES).join(rel)
}

pub fn read_sample(rel: &str) -> Vec<u8> {
    let path = sample_path(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn parse_sample(rel: &str) -> Cxml {
    cxml::parse(&read_sample(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every `*.xml` under the samples directory, as paths relative to it, sorted.
pub fn all_samples() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "xml") {
                out.push(path);
            }
        }
    }
    let root = Path::new(SAMPLES);
    let mut found = Vec::new();
    walk(root, &mut found);
    let mut rel: Vec<String> = found
        .iter()
        .map(|p| {
            p.strip_prefix(root)
                .expect("under the samples dir")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    rel.sort();
    assert!(
        rel.len() >= 30,
        "expected the reference samples under {SAMPLES}, found {}",
        rel.len()
    );
    rel
}

pub fn valid_samples() -> Vec<String> {
    all_samples()
        .into_iter()
        .filter(|p| !p.starts_with("invalid/"))
        .collect()
}

pub fn invalid_samples() -> Vec<String> {
    all_samples()
        .into_iter()
        .filter(|p| p.starts_with("invalid/"))
        .collect()
}

/// Every SharedSecret value written in a document (plain text scan, no parser involved).
pub fn shared_secrets_in(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("<SharedSecret>") {
        rest = &rest[at + "<SharedSecret>".len()..];
        if let Some(end) = rest.find("</SharedSecret>") {
            let secret = rest[..end].trim();
            if !secret.is_empty() {
                out.push(secret.to_string());
            }
            rest = &rest[end..];
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Documents built from scratch. Timestamps are whole seconds in UTC, as the writer keeps them.

pub const T0: OffsetDateTime = datetime!(2026-01-31 09:30:00 UTC);

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

pub fn usd(amount: &str) -> Money {
    Money::new(dec(amount), Currency::USD)
}

pub fn money(amount: &str, currency: &str) -> Money {
    Money::new(dec(amount), Currency::from_str(currency).expect("currency"))
}

pub fn charge(amount: &str, text: &str) -> Charge {
    Charge {
        money: usd(amount),
        description: Description::new("en", text),
    }
}

pub fn header() -> Header {
    let mut sender = Credential::new("NetworkID", "AN01000000001");
    sender.shared_secret = Some(SharedSecret::new("s3cr3t & <sauce>"));
    Header {
        from: vec![Credential::new("DUNS", "123456789")],
        to: vec![Credential::new("NetworkID", "AN09999999999")],
        sender: vec![sender],
        user_agent: "cxml tests 1.0".into(),
    }
}

pub fn address(name: &str) -> Address {
    Address {
        address_id: Some("HQ-1".into()),
        iso_country_code: Some("US".into()),
        name: name.into(),
        name_lang: "en".into(),
        postal: Some(PostalAddress {
            name: Some("default".into()),
            deliver_to: vec!["Pam Beesly".into(), "Reception".into()],
            street: vec!["1725 Slough Avenue".into()],
            city: "Scranton".into(),
            state: Some("PA".into()),
            postal_code: Some("18505".into()),
            country: "United States".into(),
            country_code: "US".into(),
        }),
        email: Some("reception@dundermifflin.example".into()),
    }
}

pub fn detail(price: Money, text: &str, unspsc: &str) -> ItemDetail {
    ItemDetail {
        unit_price: price,
        descriptions: vec![Description {
            lang: "en".into(),
            short_name: Some(format!("{text} (short)")),
            text: text.into(),
        }],
        unit_of_measure: "EA".into(),
        classifications: vec![Classification {
            domain: "UNSPSC".into(),
            code: unspsc.into(),
        }],
        manufacturer_part_id: Some("MPN-1".into()),
        manufacturer_name: Some("Acme".into()),
        lead_time: Some("3".into()),
        extrinsics: vec![Extrinsic::new("Color", "Blue")],
    }
}

pub fn item_in(line: u32, part: &str, quantity: &str, price: &str) -> ItemIn {
    ItemIn {
        quantity: dec(quantity),
        line_number: Some(line),
        item_id: ItemId {
            supplier_part_id: part.into(),
            supplier_part_auxiliary_id: Some(format!("aux-{line}")),
            buyer_part_id: None,
        },
        detail: detail(usd(price), &format!("Paper & pens #{line}"), "44121600"),
        extrinsics: vec![Extrinsic::new("CartLine", line.to_string())],
    }
}

pub fn item_out(line: u32, part: &str, quantity: &str, price: &str) -> ItemOut {
    ItemOut {
        quantity: dec(quantity),
        line_number: Some(line),
        requested_delivery_date: Some("2026-02-15".into()),
        item_id: ItemId {
            supplier_part_id: part.into(),
            supplier_part_auxiliary_id: Some(format!("cart-7:{line}")),
            buyer_part_id: Some(format!("B-{line}")),
        },
        detail: Some(detail(usd(price), "Copy paper, 500 sheets", "14111507")),
        comments: vec![format!("line {line} comment")],
    }
}

fn with_fixed_envelope(mut doc: Cxml, payload_id: &str) -> Cxml {
    doc.payload_id = payload_id.into();
    doc.timestamp = T0;
    doc
}

pub fn profile_response_doc() -> Cxml {
    let payload = ResponsePayload::Profile(ProfileResponse {
        effective_date: datetime!(2026-01-01 00:00:00 UTC),
        options: vec![ProfileOption {
            name: "Locale".into(),
            value: "en-US".into(),
        }],
        transactions: ["ProfileRequest", "PunchOutSetupRequest", "OrderRequest"]
            .iter()
            .map(|r| Transaction {
                request_name: (*r).into(),
                url: format!("https://supplier.example/cxml/{r}"),
                options: vec![],
            })
            .collect(),
    });
    with_fixed_envelope(
        Cxml::response("supplier.example", Status::ok(), Some(payload)),
        "1769851800000.profile@supplier.example",
    )
}

pub fn rejection_doc() -> Cxml {
    let rejection = Rejection::bad_request("missing element OrderRequestHeader in OrderRequest");
    with_fixed_envelope(
        Cxml::rejection("supplier.example", &rejection),
        "1769851800000.reject@supplier.example",
    )
}

pub fn punchout_setup_response_doc() -> Cxml {
    let payload = ResponsePayload::PunchOutSetup(PunchOutSetupResponse {
        start_page_url: "https://supplier.example/punchout/start?session=abc&lang=en".into(),
    });
    with_fixed_envelope(
        Cxml::response("supplier.example", Status::ok(), Some(payload)),
        "1769851800000.posr@supplier.example",
    )
}

pub fn punchout_order_message_doc() -> Cxml {
    let poom = PunchOutOrderMessage {
        buyer_cookie: "c64af92dc27e68172e030d3dfd1bc944".into(),
        header: PunchOutOrderMessageHeader {
            operation_allowed: OperationAllowed::Edit,
            total: usd("118.45"),
            ship_to: Some(address("Dunder Mifflin")),
            shipping: Some(charge("7.50", "Ground shipping")),
            tax: Some(charge("8.95", "Sales tax (PA 6%)")),
        },
        items: vec![
            item_in(1, "PAPER-500", "2", "25.00"),
            item_in(2, "PEN-BLUE", "10", "1.5000"),
            item_in(3, "CAFÉ-MUG", "3", "12.00"),
        ],
    };
    let mut doc = Cxml::message(
        "supplier.example",
        header(),
        DeploymentMode::Test,
        MessagePayload::PunchOutOrder(poom),
    );
    if let Body::Message(m) = &mut doc.body {
        m.in_reply_to = Some("1211221788.71299@ip-10-251-122-83".into());
    }
    with_fixed_envelope(doc, "1769851800000.poom@supplier.example")
}

pub fn order_request_doc(order_type: OrderType) -> Cxml {
    let order = OrderRequest {
        header: OrderRequestHeader {
            order_id: "PO-6112".into(),
            order_date: datetime!(2026-01-30 17:14:50 UTC),
            order_type,
            order_version: match order_type {
                OrderType::New => None,
                _ => Some("2".into()),
            },
            total: usd("113.00"),
            ship_to: Some(address("Dunder Mifflin Scranton")),
            bill_to: Some(address("Dunder Mifflin Accounts Payable")),
            shipping: Some(charge("5.00", "Ground")),
            tax: Some(charge("8.00", "Sales tax")),
            contacts: vec![Contact {
                role: Some("endUser".into()),
                address_id: None,
                name: "Jim Halpert".into(),
                name_lang: "en-US".into(),
                emails: vec!["jim@dundermifflin.example".into()],
            }],
            comments: vec!["Deliver to the loading dock".into()],
            document_reference: match order_type {
                OrderType::New => None,
                _ => Some("1769765690000.order@buyer.example".into()),
            },
            extrinsics: vec![Extrinsic::new("CostCenter", "CC-42")],
        },
        items: vec![
            item_out(1, "PAPER-500", "4", "25.00"),
            item_out(2, "TONER-K", "1", "0.0000"),
        ],
    };
    let doc = Cxml::request(
        "buyer.example",
        header(),
        DeploymentMode::Production,
        RequestPayload::Order(order),
    );
    with_fixed_envelope(doc, "1769851800000.order@buyer.example")
}

pub fn invoice_doc() -> Cxml {
    let item =
        |line: u32, quantity: &str, price: &str, subtotal: &str, tax: &str| InvoiceDetailItem {
            invoice_line_number: line,
            quantity: dec(quantity),
            unit_of_measure: "EA".into(),
            unit_price: usd(price),
            reference_line_number: line,
            item_id: Some(ItemId {
                supplier_part_id: format!("PART-{line}"),
                supplier_part_auxiliary_id: Some(format!("quote-{line}")),
                buyer_part_id: None,
            }),
            description: Some(Description::new("en", format!("Line {line} & more"))),
            subtotal: Some(usd(subtotal)),
            tax: Some(usd(tax)),
        };
    let invoice = InvoiceDetailRequest {
        header: InvoiceDetailRequestHeader {
            invoice_id: "INV-2026-0001".into(),
            purpose: "standard".into(),
            operation: "new".into(),
            invoice_date: InvoiceDate::At(datetime!(2026-01-31 00:00:00 UTC)),
            is_tax_in_line: true,
            pay_in_number_of_days: Some(30),
            partners: vec![InvoicePartner {
                role: "remitTo".into(),
                address_id: Some("REMIT-1".into()),
                name: "Supplier & Co".into(),
                name_lang: "en".into(),
                postal: Some(PostalAddress {
                    name: Some("default".into()),
                    deliver_to: Vec::new(),
                    street: vec!["1 Main Street".into()],
                    city: "Zurich".into(),
                    state: None,
                    postal_code: Some("8048".into()),
                    country: "Switzerland".into(),
                    country_code: "CH".into(),
                }),
                id_references: vec![
                    IdReference {
                        domain: "taxPrefix".into(),
                        identifier: "CHE".into(),
                    },
                    IdReference {
                        domain: "taxNumber".into(),
                        identifier: "123.456.789 MWST".into(),
                    },
                ],
            }],
            extrinsics: vec![Extrinsic::new("PaymentTermCode", "NET30")],
        },
        orders: vec![InvoiceDetailOrder {
            reference: OrderReference {
                kind: "OrderReference".into(),
                order_id: Some("PO-6112".into()),
                document_payload_id: "PO-6112".into(),
            },
            items: vec![
                item(1, "4", "25.00", "100.00", "6.00"),
                item(2, "1", "13.00", "13.00", "0.78"),
            ],
        }],
        summary: InvoiceDetailSummary {
            subtotal: usd("113.00"),
            tax: Some(charge("6.78", "Sales tax")),
            tax_details: vec![TaxDetail {
                category: "sales".into(),
                percentage_rate: Some("6".parse().unwrap()),
                exempt_detail: None,
                taxable: Some(usd("113.00")),
                tax: usd("6.78"),
                description: Some(Description::new("en", "Sales tax")),
            }],
            special_handling: None,
            shipping: Some(usd("5.00")),
            gross: Some(usd("124.78")),
            net: Some(usd("124.78")),
            due: Some(usd("124.78")),
        },
    };
    let doc = Cxml::request(
        "supplier.example",
        header(),
        DeploymentMode::Production,
        RequestPayload::InvoiceDetail(invoice),
    );
    with_fixed_envelope(doc, "1769851800000.invoice@supplier.example")
}

pub fn punchout_setup_request_doc() -> Cxml {
    let request = PunchOutSetupRequest {
        operation: PunchOutOperation::Edit,
        buyer_cookie: "cookie-1".into(),
        extrinsics: vec![
            Extrinsic::new("FirstName", "Jim"),
            Extrinsic::new("LastName", "Halpert"),
            Extrinsic::new("UserEmail", "jim@dundermifflin.example"),
        ],
        browser_form_post: Some("https://buyer.example/punchout/checkout/4".into()),
        contacts: vec![Contact {
            role: Some("endUser".into()),
            address_id: None,
            name: "Jim Halpert".into(),
            name_lang: "en-US".into(),
            emails: vec!["jim@dundermifflin.example".into()],
        }],
        supplier_setup: Some("https://supplier.example/cxml/setup".into()),
        ship_to: Some(address("Dunder Mifflin")),
        selected_item: Some(ItemId::new("PAPER-500")),
        items: vec![item_out(1, "PAPER-500", "2", "25.00")],
    };
    let doc = Cxml::request(
        "buyer.example",
        header(),
        DeploymentMode::Test,
        RequestPayload::PunchOutSetup(request),
    );
    with_fixed_envelope(doc, "1769851800000.setup@buyer.example")
}

pub fn profile_request_doc() -> Cxml {
    let doc = Cxml::request(
        "buyer.example",
        header(),
        DeploymentMode::Production,
        RequestPayload::Profile(ProfileRequest {}),
    );
    with_fixed_envelope(doc, "1769851800000.profile-req@buyer.example")
}

/// Every document built from scratch, named.
/// A supplier's acceptance of a whole purchase order, as sent to the Ariba Network.
pub fn confirmation_doc() -> Cxml {
    let mut doc = Cxml::request(
        "marketplace.example",
        header(),
        DeploymentMode::Production,
        RequestPayload::Confirmation(ConfirmationRequest {
            header: ConfirmationHeader {
                confirmation_type: "accept".into(),
                operation: "new".into(),
                confirm_id: Some("PO-4711-accept".into()),
                notice_date: datetime!(2026-11-24 10:05 UTC),
            },
            order: ConfirmedOrder {
                order_id: Some("PO-4711".into()),
                order_date: Some(datetime!(2026-11-24 10:00 UTC)),
                document_payload_id: "1795514400.1@ariba.example".into(),
            },
        }),
    );
    doc.timestamp = datetime!(2026-11-24 10:05 UTC);
    doc
}

pub fn built_docs() -> Vec<(&'static str, Cxml)> {
    vec![
        ("ConfirmationRequest", confirmation_doc()),
        ("ProfileResponse", profile_response_doc()),
        ("rejection", rejection_doc()),
        ("PunchOutSetupResponse", punchout_setup_response_doc()),
        ("PunchOutOrderMessage", punchout_order_message_doc()),
        ("OrderRequest new", order_request_doc(OrderType::New)),
        ("OrderRequest update", order_request_doc(OrderType::Update)),
        ("OrderRequest delete", order_request_doc(OrderType::Delete)),
        ("InvoiceDetailRequest", invoice_doc()),
        ("PunchOutSetupRequest", punchout_setup_request_doc()),
        ("ProfileRequest", profile_request_doc()),
    ]
}
