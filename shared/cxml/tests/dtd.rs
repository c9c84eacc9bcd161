//! Every document this crate writes validates against the official cXML 1.2.069 DTD that
//! `dtd_for` names, checked with xmllint (CI installs it; without it these tests fail).

mod common;

use common::*;
use cxml::{Body, Cxml, MessagePayload, RequestPayload, ResponsePayload};

fn xmllint(xml: &str, dtd: &str) -> Result<(), String> {
    cxml::dtd_check::validate_against(xml, dtd)
}

fn validate(name: &str, doc: &Cxml) -> Result<(), String> {
    let xml = cxml::to_xml(doc);
    let dtd = cxml::dtd_for(doc);
    assert!(
        xml.contains(&format!(
            "<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.069/{dtd}\">"
        )),
        "{name}: the DOCTYPE does not name {dtd}:\n{xml}"
    );
    xmllint(&xml, dtd).map_err(|e| format!("--- {name} ({dtd}):\n{e}\n{xml}"))
}

/// Whether the writer models this document's payload (and so can write it in full).
fn is_modeled(doc: &Cxml) -> bool {
    match &doc.body {
        Body::Request(r) => !matches!(r.payload, RequestPayload::Other(_)),
        Body::Response(r) => !matches!(r.payload, Some(ResponsePayload::Other(_))),
        Body::Message(m) => !matches!(m.payload, MessagePayload::Other(_)),
    }
}

#[test]
fn xmllint_is_installed_and_refuses_an_invalid_document() {
    // The checker itself must be able to say no, or every test below proves nothing.
    let bad = r#"<?xml version="1.0" encoding="UTF-8"?>
<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response invalid="x"><Status code="200" text="OK"/></Response></cXML>"#;
    let err = xmllint(bad, "cXML.dtd").expect_err("xmllint accepted an undeclared attribute");
    assert!(err.contains("invalid"), "{err}");
}

#[test]
fn dtd_for_names_invoice_detail_for_invoices_and_fulfill_for_confirmations() {
    assert_eq!(cxml::dtd_for(&invoice_doc()), "InvoiceDetail.dtd");
    assert_eq!(cxml::dtd_for(&confirmation_doc()), "Fulfill.dtd");
    for (name, doc) in built_docs() {
        if name != "InvoiceDetailRequest" && name != "ConfirmationRequest" {
            assert_eq!(cxml::dtd_for(&doc), "cXML.dtd", "{name}");
        }
    }
}

#[test]
fn every_modeled_sample_rewritten_validates() {
    let mut failures = Vec::new();
    let mut checked = Vec::new();
    for rel in valid_samples() {
        let doc = parse_sample(&rel);
        if !is_modeled(&doc) {
            continue;
        }
        checked.push(doc.message_type().to_string());
        if let Err(e) = validate(&rel, &doc) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for kind in [
        "PunchOutSetupRequest",
        "OrderRequest",
        "ProfileRequest",
        "PunchOutOrderMessage",
        "Response",
        "PunchOutSetupResponse",
        "InvoiceDetailRequest",
        "ConfirmationRequest",
    ] {
        assert!(
            checked.iter().any(|c| c == kind),
            "no {kind} sample was re-written"
        );
    }
    assert_eq!(checked.len(), 30, "{checked:?}");
}

#[test]
fn custom_payment_order_request_validates_once_rewritten() {
    // The Handling sample declares a custom DTD for its Payment/PaymentReference; the crate
    // does not model Payment, so what it writes is stock cXML and must validate.
    let rel = "OrderRequest/FriendsOfCXML-cxml-php__Handling-order_request.xml";
    let doc = parse_sample(rel);
    let xml = cxml::to_xml(&doc);
    assert!(!xml.contains("PaymentReference"), "{xml}");
    xmllint(&xml, "cXML.dtd").unwrap_or_else(|e| panic!("{e}\n{xml}"));
}

#[test]
fn the_handling_sample_itself_fails_the_stock_dtd() {
    // Guards the test above: the original really is outside the stock DTD.
    let original = String::from_utf8(read_sample(
        "OrderRequest/FriendsOfCXML-cxml-php__Handling-order_request.xml",
    ))
    .expect("UTF-8");
    assert!(xmllint(&original, "cXML.dtd").is_err());
}

#[test]
fn every_built_document_validates() {
    let mut failures = Vec::new();
    for (name, doc) in built_docs() {
        if let Err(e) = validate(name, &doc) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn built_documents_say_what_they_should() {
    let xml = cxml::to_xml(&rejection_doc());
    assert!(xml.contains(r#"<Status code="400" text="missing element OrderRequestHeader in OrderRequest" xml:lang="en-US"/>"#), "{xml}");
    assert!(!xml.contains("<Header>"), "{xml}");

    let xml = cxml::to_xml(&order_request_doc(cxml::OrderType::Update));
    assert!(xml.contains(r#"type="update""#), "{xml}");
    assert!(
        xml.contains(r#"<DocumentReference payloadID="1769765690000.order@buyer.example"/>"#),
        "{xml}"
    );

    let xml = cxml::to_xml(&order_request_doc(cxml::OrderType::Delete));
    assert!(xml.contains(r#"type="delete""#), "{xml}");

    let xml = cxml::to_xml(&invoice_doc());
    assert!(
        xml.contains(r#"<OrderReference orderID="PO-6112">"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<DocumentReference payloadID="PO-6112"/>"#),
        "{xml}"
    );
    for element in ["SubtotalAmount", "Tax", "NetAmount", "DueAmount"] {
        assert!(xml.contains(&format!("<{element}>")), "{element}: {xml}");
    }

    let xml = cxml::to_xml(&punchout_order_message_doc());
    assert_eq!(xml.matches("<ItemIn ").count(), 3, "{xml}");
    assert!(xml.contains("<Shipping>") && xml.contains("<Tax>"), "{xml}");
}

#[test]
fn documents_with_optional_parts_left_out_still_validate() {
    // The writer fills in what the DTD requires when the model leaves it empty.
    let mut poom = punchout_order_message_doc();
    if let Body::Message(m) = &mut poom.body
        && let MessagePayload::PunchOutOrder(p) = &mut m.payload
    {
        p.header.ship_to = None;
        p.header.shipping = None;
        p.header.tax = None;
        for item in &mut p.items {
            item.detail.descriptions.clear();
            item.detail.classifications.clear();
            item.detail.unit_of_measure.clear();
            item.line_number = None;
        }
    }
    let mut invoice = invoice_doc();
    if let Body::Request(r) = &mut invoice.body
        && let RequestPayload::InvoiceDetail(i) = &mut r.payload
    {
        i.summary.tax = None;
        i.summary.net = None;
        i.summary.due = None;
        i.summary.gross = None;
        i.summary.shipping = None;
        i.header.pay_in_number_of_days = None;
        i.header.is_tax_in_line = false;
        for item in &mut i.orders[0].items {
            item.description = None;
            item.subtotal = None;
            item.tax = None;
        }
    }
    let mut order = order_request_doc(cxml::OrderType::New);
    if let Body::Request(r) = &mut order.body
        && let RequestPayload::Order(o) = &mut r.payload
    {
        o.header.ship_to = None;
        o.header.bill_to = None;
        o.header.shipping = None;
        o.header.tax = None;
        o.header.contacts.clear();
        o.header.comments.clear();
        o.header.extrinsics.clear();
        for item in &mut o.items {
            item.detail = None;
        }
    }
    let mut failures = Vec::new();
    for (name, doc) in [
        ("minimal PunchOutOrderMessage", poom),
        ("minimal InvoiceDetailRequest", invoice),
        ("minimal OrderRequest", order),
    ] {
        if let Err(e) = validate(name, &doc) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
