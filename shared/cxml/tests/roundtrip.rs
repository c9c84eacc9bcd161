//! What the crate writes, it reads back as the same document: parse(to_xml(doc)) == doc,
//! for every sample-derived document, every built one, and generated ones.

mod common;

use proptest::prelude::*;
use rust_decimal::Decimal;
use time::OffsetDateTime;

use common::*;
use cxml::*;

fn assert_round_trips(name: &str, doc: &Cxml) {
    let xml = to_xml(doc);
    let back = parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
    assert_eq!(&back, doc, "{name} did not round-trip:\n{xml}");
    // Writing is deterministic: the second write is the first one.
    assert_eq!(to_xml(&back), xml, "{name}: second write differs");
}

#[test]
fn every_sample_round_trips() {
    let mut kinds = Vec::new();
    for rel in valid_samples() {
        let doc = parse_sample(&rel);
        kinds.push(doc.message_type().to_string());
        assert_round_trips(&rel, &doc);
    }
    for kind in [
        "PunchOutSetupRequest",
        "OrderRequest",
        "ProfileRequest",
        "InvoiceDetailRequest",
        "PunchOutOrderMessage",
        "PunchOutSetupResponse",
        "Response",
        "ShipNoticeRequest",
        "StatusUpdateRequest",
        "ConfirmationRequest",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} sample");
    }
}

#[test]
fn every_built_document_round_trips() {
    for (name, doc) in built_docs() {
        assert_round_trips(name, &doc);
    }
}

#[test]
fn shared_secrets_survive_a_round_trip() {
    let doc = order_request_doc(OrderType::New);
    let back = parse(to_xml(&doc).as_bytes()).unwrap();
    let secret = back.header.unwrap().sender[0]
        .shared_secret
        .clone()
        .expect("secret");
    assert_eq!(secret.expose(), "s3cr3t & <sauce>");
}

#[test]
fn timestamps_are_written_in_utc_at_second_precision() {
    let mut doc = punchout_setup_response_doc();
    doc.timestamp = time::macros::datetime!(2026-03-01 01:30:15.75 +02:00);
    let xml = to_xml(&doc);
    assert!(
        xml.contains(r#"timestamp="2026-02-28T23:30:15+00:00""#),
        "{xml}"
    );
    let back = parse(xml.as_bytes()).unwrap();
    assert_eq!(
        back.timestamp,
        time::macros::datetime!(2026-02-28 23:30:15 UTC)
    );
}

#[test]
fn documents_with_empty_optional_parts_round_trip() {
    // What the writer adds only to satisfy the DTD (an empty Street, Description,
    // Classification, BillTo, summary Tax or NetAmount) reads back as absent.
    let mut order = order_request_doc(OrderType::New);
    if let Body::Request(r) = &mut order.body
        && let RequestPayload::Order(o) = &mut r.payload
    {
        o.header.bill_to = None;
        if let Some(a) = &mut o.header.ship_to
            && let Some(p) = &mut a.postal
        {
            p.street.clear();
            p.state = None;
            p.postal_code = None;
        }
        for item in &mut o.items {
            if let Some(d) = &mut item.detail {
                d.descriptions.clear();
                d.classifications.clear();
                d.extrinsics.clear();
            }
        }
        o.items[1].detail = None;
    }
    assert_round_trips("sparse OrderRequest", &order);

    let mut invoice = invoice_doc();
    if let Body::Request(r) = &mut invoice.body
        && let RequestPayload::InvoiceDetail(i) = &mut r.payload
    {
        i.summary.tax = None;
        i.summary.net = None;
        i.summary.due = None;
        i.header.pay_in_number_of_days = None;
        i.header.is_tax_in_line = false;
    }
    assert_round_trips("sparse InvoiceDetailRequest", &invoice);
}

// ---------------------------------------------------------------------------------------
// Generated documents.

/// Text as senders write it: XML special characters, non-ASCII, inner spaces. Leading and
/// trailing white space is not generated: the reader trims it by design (real senders wrap
/// values in indentation, e.g. `<URL>\n  http://...\n</URL>`).
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9<>&\"'éüß中😀ÆØ.:/@#_-][a-zA-Z0-9 <>&\"'éüß中😀ÆØ.:/@#_-]{0,15}"
        .prop_map(|s| s.trim_end().to_string())
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn lang() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["en", "en-US", "de-DE", "fr", "ja"]).prop_map(String::from)
}

/// A decimal with scale 0-4 (the scale survives: `1.50` is written `1.50`).
fn decimal(signed: bool) -> impl Strategy<Value = Decimal> {
    let mantissa = if signed {
        -100_000_000i64..100_000_000
    } else {
        0i64..100_000_000
    };
    (mantissa, 0u32..=4).prop_map(|(m, scale)| Decimal::new(m, scale))
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec![
        "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "BHD", "INR",
    ])
    .prop_map(|c| Currency::iso(c).expect("ISO code"))
}

fn money() -> impl Strategy<Value = Money> {
    (decimal(true), currency()).prop_map(|(a, c)| Money::new(a, c))
}

fn timestamp() -> impl Strategy<Value = OffsetDateTime> {
    // 1990 to 2100, whole seconds, UTC: what the writer keeps.
    (631_152_000i64..4_102_444_800)
        .prop_map(|s| OffsetDateTime::from_unix_timestamp(s).expect("in range"))
}

fn description() -> impl Strategy<Value = Description> {
    (lang(), opt_text(), text()).prop_map(|(lang, short_name, text)| Description {
        lang,
        short_name,
        text,
    })
}

fn extrinsics() -> impl Strategy<Value = Vec<Extrinsic>> {
    prop::collection::vec(
        (text(), prop_oneof![Just(String::new()), text()]).prop_map(|(n, v)| Extrinsic::new(n, v)),
        0..3,
    )
}

fn credentials() -> impl Strategy<Value = Vec<Credential>> {
    prop::collection::vec(
        (text(), text(), opt_text()).prop_map(|(domain, identity, secret)| Credential {
            domain,
            identity,
            shared_secret: secret.map(SharedSecret::new),
        }),
        1..3,
    )
}

fn header() -> impl Strategy<Value = Header> {
    (
        credentials(),
        credentials(),
        credentials(),
        prop_oneof![Just(String::new()), text()],
    )
        .prop_map(|(from, to, sender, user_agent)| Header {
            from,
            to,
            sender,
            user_agent,
        })
}

fn postal_address() -> impl Strategy<Value = PostalAddress> {
    (
        opt_text(),
        prop::collection::vec(text(), 0..3),
        prop::collection::vec(text(), 0..3),
        text(),
        opt_text(),
        opt_text(),
        text(),
        "[A-Z]{2}",
    )
        .prop_map(
            |(name, deliver_to, street, city, state, postal_code, country, country_code)| {
                PostalAddress {
                    name,
                    deliver_to,
                    street,
                    city,
                    state,
                    postal_code,
                    country,
                    country_code,
                }
            },
        )
}

fn invoice_partner() -> impl Strategy<Value = InvoicePartner> {
    (
        text(),
        opt_text(),
        text(),
        lang(),
        proptest::option::of(postal_address()),
        prop::collection::vec(
            (text(), text()).prop_map(|(domain, identifier)| IdReference { domain, identifier }),
            0..3,
        ),
    )
        .prop_map(
            |(role, address_id, name, name_lang, postal, id_references)| InvoicePartner {
                role,
                address_id,
                name,
                name_lang,
                postal,
                id_references,
            },
        )
}

fn tax_detail() -> impl Strategy<Value = TaxDetail> {
    (
        text(),
        proptest::option::of(decimal(false)),
        proptest::option::of(prop::sample::select(vec!["zeroRated", "exempt"])),
        proptest::option::of(money()),
        money(),
        proptest::option::of(description()),
    )
        .prop_map(
            |(category, percentage_rate, exempt, taxable, tax, description)| TaxDetail {
                category,
                percentage_rate,
                exempt_detail: exempt.map(String::from),
                taxable,
                tax,
                description,
            },
        )
}

fn address() -> impl Strategy<Value = Address> {
    let postal = postal_address();
    (
        opt_text(),
        proptest::option::of("[A-Z]{2}"),
        text(),
        lang(),
        proptest::option::of(postal),
        opt_text(),
    )
        .prop_map(
            |(address_id, iso_country_code, name, name_lang, postal, email)| Address {
                address_id,
                iso_country_code,
                name,
                name_lang,
                postal,
                email,
            },
        )
}

fn charge() -> impl Strategy<Value = Charge> {
    (money(), description()).prop_map(|(money, description)| Charge { money, description })
}

fn item_id() -> impl Strategy<Value = ItemId> {
    (text(), opt_text(), opt_text()).prop_map(|(supplier_part_id, aux, buyer)| ItemId {
        supplier_part_id,
        supplier_part_auxiliary_id: aux,
        buyer_part_id: buyer,
    })
}

fn item_detail() -> impl Strategy<Value = ItemDetail> {
    (
        money(),
        prop::collection::vec(description(), 0..3),
        prop_oneof![Just(String::new()), text()],
        prop::collection::vec(
            (text(), text()).prop_map(|(domain, code)| Classification { domain, code }),
            0..3,
        ),
        opt_text(),
        opt_text(),
        opt_text(),
        extrinsics(),
    )
        .prop_map(
            |(
                unit_price,
                descriptions,
                unit_of_measure,
                classifications,
                manufacturer_part_id,
                manufacturer_name,
                lead_time,
                extrinsics,
            )| ItemDetail {
                unit_price,
                descriptions,
                unit_of_measure,
                classifications,
                manufacturer_part_id,
                manufacturer_name,
                lead_time,
                extrinsics,
            },
        )
}

fn item_in() -> impl Strategy<Value = ItemIn> {
    (
        decimal(false),
        proptest::option::of(1u32..100_000),
        item_id(),
        item_detail(),
        extrinsics(),
    )
        .prop_map(
            |(quantity, line_number, item_id, detail, extrinsics)| ItemIn {
                quantity,
                line_number,
                item_id,
                detail,
                extrinsics,
            },
        )
}

fn item_out() -> impl Strategy<Value = ItemOut> {
    (
        decimal(false),
        proptest::option::of(1u32..100_000),
        proptest::option::of("20[0-9]{2}-[01][0-9]-[0-2][0-9]"),
        item_id(),
        proptest::option::of(item_detail()),
        prop::collection::vec(text(), 0..2),
    )
        .prop_map(
            |(quantity, line_number, requested_delivery_date, item_id, detail, comments)| ItemOut {
                quantity,
                line_number,
                requested_delivery_date,
                item_id,
                detail,
                comments,
            },
        )
}

fn contact() -> impl Strategy<Value = Contact> {
    (
        proptest::option::of("[a-zA-Z]{1,10}"),
        opt_text(),
        text(),
        lang(),
        prop::collection::vec(text(), 0..2),
    )
        .prop_map(|(role, address_id, name, name_lang, emails)| Contact {
            role,
            address_id,
            name,
            name_lang,
            emails,
        })
}

fn envelope(header: Header, body: Body) -> impl Strategy<Value = Cxml> {
    (
        text(),
        timestamp(),
        proptest::option::of(Just(CXML_VERSION.to_string())),
        proptest::option::of(lang()),
    )
        .prop_map(move |(payload_id, timestamp, version, lang)| Cxml {
            payload_id,
            timestamp,
            version,
            lang,
            header: Some(header.clone()),
            body: body.clone(),
        })
}

fn mode() -> impl Strategy<Value = DeploymentMode> {
    prop_oneof![Just(DeploymentMode::Production), Just(DeploymentMode::Test)]
}

fn punchout_order_message() -> impl Strategy<Value = Cxml> {
    let poom = (
        text(),
        prop::sample::select(vec![
            OperationAllowed::Create,
            OperationAllowed::Inspect,
            OperationAllowed::Edit,
        ]),
        money(),
        proptest::option::of(address()),
        proptest::option::of(charge()),
        proptest::option::of(charge()),
        prop::collection::vec(item_in(), 1..=20),
    )
        .prop_map(
            |(buyer_cookie, operation_allowed, total, ship_to, shipping, tax, items)| {
                PunchOutOrderMessage {
                    buyer_cookie,
                    header: PunchOutOrderMessageHeader {
                        operation_allowed,
                        total,
                        ship_to,
                        shipping,
                        tax,
                    },
                    items,
                }
            },
        );
    (header(), mode(), opt_text(), opt_text(), poom).prop_flat_map(
        |(header, deployment_mode, in_reply_to, id, poom)| {
            let body = Body::Message(Message {
                deployment_mode,
                in_reply_to,
                id,
                status: None,
                payload: MessagePayload::PunchOutOrder(poom),
            });
            envelope(header, body)
        },
    )
}

fn order_request() -> impl Strategy<Value = Cxml> {
    let order_header = (
        (
            text(),
            timestamp(),
            prop::sample::select(vec![OrderType::New, OrderType::Update, OrderType::Delete]),
            proptest::option::of("[0-9]{1,3}"),
            money(),
            proptest::option::of(address()),
            proptest::option::of(address()),
        ),
        (
            proptest::option::of(charge()),
            proptest::option::of(charge()),
            prop::collection::vec(contact(), 0..3),
            prop::collection::vec(text(), 0..3),
            opt_text(),
            extrinsics(),
        ),
    )
        .prop_map(
            |(
                (order_id, order_date, order_type, order_version, total, ship_to, bill_to),
                (shipping, tax, contacts, comments, document_reference, extrinsics),
            )| OrderRequestHeader {
                order_id,
                order_date,
                order_type,
                order_version,
                total,
                ship_to,
                bill_to,
                shipping,
                tax,
                contacts,
                comments,
                document_reference,
                extrinsics,
            },
        );
    let order = (order_header, prop::collection::vec(item_out(), 1..=20))
        .prop_map(|(header, items)| OrderRequest { header, items });
    (header(), mode(), opt_text(), order).prop_flat_map(|(header, deployment_mode, id, order)| {
        let body = Body::Request(Request {
            deployment_mode,
            id,
            payload: RequestPayload::Order(order),
        });
        envelope(header, body)
    })
}

fn invoice_item() -> impl Strategy<Value = InvoiceDetailItem> {
    (
        1u32..10_000,
        decimal(false),
        prop_oneof![Just(String::new()), text()],
        money(),
        1u32..10_000,
        proptest::option::of(item_id()),
        proptest::option::of(description()),
        proptest::option::of(money()),
        proptest::option::of(money()),
    )
        .prop_map(
            |(
                invoice_line_number,
                quantity,
                unit_of_measure,
                unit_price,
                reference_line_number,
                item_id,
                description,
                subtotal,
                tax,
            )| InvoiceDetailItem {
                invoice_line_number,
                quantity,
                unit_of_measure,
                unit_price,
                reference_line_number,
                item_id,
                description,
                subtotal,
                tax,
            },
        )
}

fn invoice_detail_request() -> impl Strategy<Value = Cxml> {
    let invoice_header = (
        text(),
        prop::sample::select(vec![
            "standard",
            "creditMemo",
            "debitMemo",
            "lineLevelCreditMemo",
        ]),
        prop::sample::select(vec!["new", "delete"]),
        timestamp(),
        any::<bool>(),
        proptest::option::of(0u32..365),
        prop::collection::vec(invoice_partner(), 0..3),
        extrinsics(),
    )
        .prop_map(
            |(
                invoice_id,
                purpose,
                operation,
                date,
                is_tax_in_line,
                pay_in_number_of_days,
                partners,
                extrinsics,
            )| {
                InvoiceDetailRequestHeader {
                    invoice_id,
                    purpose: purpose.into(),
                    operation: operation.into(),
                    invoice_date: InvoiceDate::At(date),
                    is_tax_in_line,
                    pay_in_number_of_days,
                    partners,
                    extrinsics,
                }
            },
        );
    let order = (
        prop::sample::select(vec!["OrderReference", "MasterAgreementReference"]),
        opt_text(),
        text(),
        prop::collection::vec(invoice_item(), 1..=20),
    )
        .prop_map(
            |(kind, order_id, document_payload_id, items)| InvoiceDetailOrder {
                reference: OrderReference {
                    kind: kind.into(),
                    order_id,
                    document_payload_id,
                },
                items,
            },
        );
    let summary = (
        money(),
        proptest::option::of(charge()),
        prop::collection::vec(tax_detail(), 0..3),
        proptest::option::of(money()),
        proptest::option::of(money()),
        proptest::option::of(money()),
        proptest::option::of(money()),
        proptest::option::of(money()),
    )
        .prop_map(
            |(subtotal, tax, tax_details, special_handling, shipping, gross, net, due)| {
                InvoiceDetailSummary {
                    subtotal,
                    tax,
                    tax_details,
                    special_handling,
                    shipping,
                    gross,
                    net,
                    due,
                }
            },
        );
    let invoice = (invoice_header, prop::collection::vec(order, 1..3), summary).prop_map(
        |(header, orders, summary)| InvoiceDetailRequest {
            header,
            orders,
            summary,
        },
    );
    (header(), mode(), opt_text(), invoice).prop_flat_map(
        |(header, deployment_mode, id, invoice)| {
            let body = Body::Request(Request {
                deployment_mode,
                id,
                payload: RequestPayload::InvoiceDetail(invoice),
            });
            envelope(header, body)
        },
    )
}

fn check(doc: &Cxml) -> Result<(), TestCaseError> {
    let xml = to_xml(doc);
    let back = parse(xml.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
    prop_assert_eq!(&back, doc, "{}", xml);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_punchout_order_messages_round_trip(doc in punchout_order_message()) {
        check(&doc)?;
    }

    #[test]
    fn generated_order_requests_round_trip(doc in order_request()) {
        check(&doc)?;
    }

    #[test]
    fn generated_invoices_round_trip(doc in invoice_detail_request()) {
        check(&doc)?;
    }
}
