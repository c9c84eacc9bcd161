//! Real documents from other projects (see samples/SOURCES.md): every one outside
//! `invalid/` is read, with the facts a careful reader sees in it; the invalid one is refused.
//! The `cxml inspect` CLI is run on each of them too.

mod common;

use std::process::Command;

use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

use common::*;
use cxml::*;

// ---------------------------------------------------------------------------------------
// Accessors that fail loudly when a document is not what the test expects.

fn posr(doc: &Cxml) -> &PunchOutSetupRequest {
    match &doc.body {
        Body::Request(Request {
            payload: RequestPayload::PunchOutSetup(p),
            ..
        }) => p,
        other => panic!("not a PunchOutSetupRequest: {other:?}"),
    }
}

fn order(doc: &Cxml) -> &OrderRequest {
    match &doc.body {
        Body::Request(Request {
            payload: RequestPayload::Order(o),
            ..
        }) => o,
        other => panic!("not an OrderRequest: {other:?}"),
    }
}

fn invoice(doc: &Cxml) -> &InvoiceDetailRequest {
    match &doc.body {
        Body::Request(Request {
            payload: RequestPayload::InvoiceDetail(i),
            ..
        }) => i,
        other => panic!("not an InvoiceDetailRequest: {other:?}"),
    }
}

fn poom(doc: &Cxml) -> &PunchOutOrderMessage {
    match &doc.body {
        Body::Message(Message {
            payload: MessagePayload::PunchOutOrder(p),
            ..
        }) => p,
        other => panic!("not a PunchOutOrderMessage: {other:?}"),
    }
}

fn response(doc: &Cxml) -> &Response {
    match &doc.body {
        Body::Response(r) => r,
        other => panic!("not a Response: {other:?}"),
    }
}

fn start_page(doc: &Cxml) -> &str {
    match &response(doc).payload {
        Some(ResponsePayload::PunchOutSetup(p)) => &p.start_page_url,
        other => panic!("not a PunchOutSetupResponse: {other:?}"),
    }
}

fn hdr(doc: &Cxml) -> &Header {
    doc.header.as_ref().expect("a Header")
}

/// The envelope facts every document has.
fn assert_envelope(doc: &Cxml, message_type: &str, payload_id: &str, utc: OffsetDateTime) {
    assert_eq!(doc.message_type(), message_type);
    assert_eq!(doc.payload_id, payload_id);
    assert_eq!(doc.timestamp, utc, "timestamp in UTC");
}

/// Sender credential domain / identity, whether it carries a secret, and the user agent.
fn assert_sender(doc: &Cxml, domain: &str, identity: &str, secret: Option<&str>, agent: &str) {
    let h = hdr(doc);
    let sender = h.sender_credential().expect("a Sender credential");
    assert_eq!(sender.domain, domain);
    assert_eq!(sender.identity, identity);
    assert_eq!(
        sender.shared_secret.as_ref().map(SharedSecret::expose),
        secret
    );
    assert_eq!(h.user_agent, agent);
}

fn assert_party(credentials: &[Credential], domain: &str, identity: &str) {
    assert_eq!(credentials.len(), 1, "{credentials:?}");
    assert_eq!(credentials[0].domain, domain);
    assert_eq!(credentials[0].identity, identity);
}

/// The amount exactly as written (scale kept) and the currency code.
fn assert_money(m: &Money, amount: &str, currency: &str) {
    assert_eq!(m.amount_text(), amount, "amount of {m}");
    assert_eq!(m.currency.code(), currency, "currency of {m}");
}

// ---------------------------------------------------------------------------------------
// Every file, by message type.

#[test]
fn confirmation_request_officeluv() {
    let doc = parse_sample("ConfirmationRequest/officeluv-cxml__request_doc.xml");
    assert_envelope(
        &doc,
        "ConfirmationRequest",
        "1346769469000.process.162998590@officedepot.com",
        datetime!(2012-09-04 07:37:49 UTC),
    );
    assert_eq!(doc.version.as_deref(), Some("1.2.011"));
    assert_sender(
        &doc,
        "NetworkID",
        "AN01000000147",
        Some("welcome"),
        "BSD 8.12",
    );
    assert_party(&hdr(&doc).from, "NetworkID", "AN01000000147");
    assert_party(&hdr(&doc).to, "NetworkId", "customerID");
    assert_eq!(doc.deployment_mode(), DeploymentMode::Production);
    let Body::Request(Request {
        payload: RequestPayload::Confirmation(confirmation),
        ..
    }) = &doc.body
    else {
        panic!("not a ConfirmationRequest: {:?}", doc.body);
    };
    assert_eq!(confirmation.header.confirmation_type, "detail");
    assert_eq!(confirmation.header.operation, "new");
    assert_eq!(
        confirmation.header.notice_date,
        datetime!(2012-09-04 07:37:49 UTC)
    );
    assert_eq!(
        confirmation.order.order_id.as_deref(),
        Some("400-2591453-0")
    );
    assert_eq!(
        confirmation.order.document_payload_id,
        "20120904023747.cXMLPurchaseOrder.984556224@eprosvcs.com"
    );
}

#[test]
fn invoice_backed_and_unbacked_by_pos() {
    let doc =
        parse_sample("InvoiceDetailRequest/officeluv-cxml__invoice_backed_and_unbacked_by_pos.xml");
    assert_envelope(
        &doc,
        "InvoiceDetailRequest",
        "20101222 190337.2999",
        datetime!(2010-12-22 19:03:37 UTC),
    );
    assert_eq!(doc.version.as_deref(), Some("1.0"));
    assert_sender(
        &doc,
        "TESTDOMAIN",
        "testidentity",
        Some("TESTSECRET"),
        "Coupa Out Wcf Service",
    );
    assert_party(&hdr(&doc).from, "DUNS", "supplier-test");
    assert_party(&hdr(&doc).to, "TESTDOMAIN", "buyer-test");
    let i = invoice(&doc);
    assert_eq!(i.header.invoice_id, "INVOICENUMBER");
    assert_eq!(i.header.purpose, "standard");
    assert_eq!(i.header.operation, "new");
    assert_eq!(
        i.header.invoice_date,
        InvoiceDate::At(datetime!(2010-12-16 00:00:00 UTC))
    );
    assert!(!i.header.is_tax_in_line);
    assert_eq!(i.header.pay_in_number_of_days, Some(30));
    assert_eq!(i.orders.len(), 2);
    let first = &i.orders[0];
    assert_eq!(first.reference.kind, "OrderReference");
    assert_eq!(first.reference.order_id, None);
    assert_eq!(first.reference.document_payload_id, "E14994");
    assert_eq!(first.items.len(), 1);
    let item = &first.items[0];
    assert_eq!(item.invoice_line_number, 1);
    assert_eq!(item.quantity, dec("3"));
    assert_eq!(item.unit_of_measure, "EA");
    assert_money(&item.unit_price, "100", "USD");
    assert_eq!(item.reference_line_number, 1);
    assert_eq!(item.description.as_ref().unwrap().text, "Item1");
    assert_money(item.subtotal.as_ref().unwrap(), "200", "USD");
    assert_eq!(item.tax, None);
    let second = &i.orders[1];
    assert_eq!(second.reference.kind, "MasterAgreementReference");
    assert_eq!(second.reference.document_payload_id, "l");
    assert_eq!(second.items[0].invoice_line_number, 2);
    assert_eq!(
        second.items[0].description.as_ref().unwrap().text,
        "Non PO or Contract Line Item Description"
    );
    let s = &i.summary;
    assert_money(&s.subtotal, "220.00", "USD");
    let tax = s.tax.as_ref().expect("summary tax");
    assert_money(&tax.money, "0", "USD");
    assert_eq!(tax.description.text, "TaxStuff");
    assert_money(s.special_handling.as_ref().unwrap(), "0", "USD");
    assert_money(s.shipping.as_ref().unwrap(), "0", "USD");
    assert_eq!(s.gross, None);
    assert_money(s.net.as_ref().unwrap(), "0", "USD");
    assert_eq!(s.due, None);
}

#[test]
fn invoice_backed_by_multiple_pos() {
    let doc =
        parse_sample("InvoiceDetailRequest/officeluv-cxml__invoice_backed_by_multiple_pos.xml");
    assert_envelope(
        &doc,
        "InvoiceDetailRequest",
        "20101222 190337.2999",
        datetime!(2010-12-22 19:03:37 UTC),
    );
    assert_sender(
        &doc,
        "COUPA",
        "SupplierID",
        Some("123456secret"),
        "Coupa Integration V01",
    );
    assert_party(&hdr(&doc).to, "COUPA", "BuyerID");
    let i = invoice(&doc);
    assert_eq!(i.header.invoice_id, "INV00001");
    let refs: Vec<_> = i
        .orders
        .iter()
        .map(|o| {
            (
                o.reference.kind.as_str(),
                o.reference.document_payload_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        refs,
        [("OrderReference", "2252"), ("OrderReference", "2253")]
    );
    let item = &i.orders[0].items[0];
    assert_eq!(item.quantity, dec("2.00"));
    assert_eq!(item.quantity.to_string(), "2.00");
    assert_money(&item.unit_price, "100", "USD");
    let item = &i.orders[1].items[0];
    assert_eq!(item.invoice_line_number, 2);
    assert_eq!(item.reference_line_number, 1);
    assert_money(&item.unit_price, "10", "USD");
    assert_eq!(item.description.as_ref().unwrap().text, "Test Item");
    assert_money(item.subtotal.as_ref().unwrap(), "20", "USD");
    assert_money(&i.summary.subtotal, "220.00", "USD");
    assert_money(i.summary.net.as_ref().unwrap(), "0", "USD");
}

#[test]
fn invoice_taxes_at_line() {
    let doc = parse_sample("InvoiceDetailRequest/officeluv-cxml__invoice_taxes_at_line.xml");
    assert_envelope(
        &doc,
        "InvoiceDetailRequest",
        "1240598937@devtrunk.coupahost.com",
        datetime!(2009-05-04 08:24:51 UTC),
    );
    assert_sender(
        &doc,
        "DUNS",
        "supplierid",
        Some("secret"),
        "Your Very Own Agent 1.23",
    );
    let i = invoice(&doc);
    assert_eq!(i.header.invoice_id, "3495");
    assert_eq!(
        i.header.invoice_date,
        InvoiceDate::At(datetime!(2009-05-01 18:45:51 UTC))
    );
    assert!(i.header.is_tax_in_line);
    assert_eq!(i.orders.len(), 1);
    assert_eq!(i.orders[0].reference.document_payload_id, "123");
    let item = &i.orders[0].items[0];
    assert_eq!(item.quantity, dec("1"));
    assert_money(&item.unit_price, "365", "USD");
    assert_eq!(
        item.description.as_ref().unwrap().text,
        "NEW 1 NINTENDO WII GAME CONSOLE + WII FIT BUNDLE +GAMES"
    );
    assert_money(item.subtotal.as_ref().unwrap(), "365", "USD");
    assert_money(item.tax.as_ref().expect("line tax"), "8", "USD");
    let s = &i.summary;
    assert_money(&s.subtotal, "365", "USD");
    let tax = s.tax.as_ref().unwrap();
    assert_money(&tax.money, "8", "USD");
    assert_eq!(tax.description.text, "total tax");
    assert_money(s.special_handling.as_ref().unwrap(), "5", "USD");
    assert_money(s.shipping.as_ref().unwrap(), "30", "USD");
    assert_eq!(s.net, None, "<Money currency=\"USD\" /> is no amount");
}

#[test]
fn invoice_taxes_at_line_multiple_taxes_with_placeholders() {
    let doc = parse_sample(
        "InvoiceDetailRequest/officeluv-cxml__invoice_taxes_at_line_multiple_taxes.xml",
    );
    assert_envelope(
        &doc,
        "InvoiceDetailRequest",
        "1240598937@SUBDOMAIN.coupahost.com",
        datetime!(2018-05-04 08:24:51 UTC),
    );
    assert_sender(
        &doc,
        "DUNS",
        "Kyle",
        Some("Secret"),
        "Your Very Own Agent 1.23",
    );
    assert_party(&hdr(&doc).to, "DUNS", "Coupa");
    let i = invoice(&doc);
    assert_eq!(i.header.invoice_id, "new_cxml_invoice");
    // A template placeholder, kept as written rather than refused.
    assert_eq!(
        i.header.invoice_date,
        InvoiceDate::Unrecognised("invoice_date".into())
    );
    assert!(i.header.is_tax_in_line);
    assert_eq!(i.header.pay_in_number_of_days, Some(1));
    let order = &i.orders[0];
    assert_eq!(order.reference.kind, "MasterAgreementReference");
    assert_eq!(order.reference.document_payload_id, "id");
    let item = &order.items[0];
    assert_money(&item.unit_price, "10", "currency_code");
    assert!(!item.unit_price.currency.is_iso());
    assert_eq!(item.description.as_ref().unwrap().text, "Goods");
    assert_money(item.subtotal.as_ref().unwrap(), "10", "currency_code");
    assert_money(item.tax.as_ref().unwrap(), "1.3", "currency_code");
    let s = &i.summary;
    assert_money(&s.subtotal, "11.3", "currency_code");
    assert_eq!(s.tax, None, "the header Tax has an empty Money");
    assert_money(s.special_handling.as_ref().unwrap(), "10", "currency_code");
    assert_money(s.shipping.as_ref().unwrap(), "10", "currency_code");
    assert_eq!(s.net, None);
}

#[test]
fn invoice_taxes_at_total() {
    let doc = parse_sample("InvoiceDetailRequest/officeluv-cxml__invoice_taxes_at_total.xml");
    assert_envelope(
        &doc,
        "InvoiceDetailRequest",
        "1240598937@devtrunk.coupahost.com",
        datetime!(2009-05-04 08:24:51 UTC),
    );
    let i = invoice(&doc);
    assert_eq!(i.header.invoice_id, "3492");
    assert!(!i.header.is_tax_in_line);
    let item = &i.orders[0].items[0];
    assert_money(item.subtotal.as_ref().unwrap(), "365", "USD");
    assert_eq!(item.tax, None);
    let tax = i.summary.tax.as_ref().unwrap();
    assert_money(&tax.money, "8", "USD");
    assert_eq!(tax.description.text, "total tax");
    assert_money(i.summary.shipping.as_ref().unwrap(), "30", "USD");
}

#[test]
fn order_request_cxml_php_builder() {
    let doc = parse_sample("OrderRequest/FriendsOfCXML-cxml-php__Builder-order_request.xml");
    assert_envelope(
        &doc,
        "OrderRequest",
        "933695160894",
        datetime!(2021-01-09 07:00:06 UTC),
    );
    assert_sender(
        &doc,
        "NetworkId",
        "inbound@prominate-platform.com",
        None,
        "cxml-php UserAgent",
    );
    assert_party(&hdr(&doc).to, "NetworkId", "supplier@supplier.com");
    assert_eq!(doc.deployment_mode(), DeploymentMode::Production);
    let o = order(&doc);
    let h = &o.header;
    assert_eq!(h.order_id, "myorder-1");
    assert_eq!(h.order_type, OrderType::New);
    assert_eq!(h.order_date, datetime!(2022-09-14 16:12:13 UTC));
    assert_money(&h.total, "3420.60", "USD");
    let ship_to = h.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.name, "Acme");
    let postal = ship_to.postal.as_ref().unwrap();
    assert_eq!(postal.deliver_to, ["Joe Smith", "Mailstop M-543"]);
    assert_eq!(postal.street, ["123 Anystreet"]);
    assert_eq!(postal.city, "Sunnyvale");
    assert_eq!(postal.state.as_deref(), Some("CA"));
    assert_eq!(postal.postal_code.as_deref(), Some("90489"));
    assert_eq!(postal.country_code, "US");
    let bill_to = h.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.name, "name");
    assert_eq!(bill_to.postal, None);
    assert_eq!(o.items.len(), 2);
    let first = &o.items[0];
    assert_eq!(first.item_id.supplier_part_id, "5555");
    assert_eq!(first.item_id.buyer_part_id.as_deref(), Some("KD5555"));
    assert_eq!(first.quantity, dec("3"));
    assert_eq!(first.line_number, Some(1));
    let d = first.detail.as_ref().unwrap();
    assert_money(&d.unit_price, "763.20", "USD");
    assert_eq!(d.description(), "Excelsior Desk Chair");
    assert_eq!(d.unspsc(), None, "classified in domain 'custom' only");
    assert_eq!(d.classifications[0].domain, "custom");
    assert_eq!(o.items[1].item_id.supplier_part_id, "666");
    assert_money(
        &o.items[1].detail.as_ref().unwrap().unit_price,
        "226.20",
        "USD",
    );
}

#[test]
fn order_request_cxml_php_handling_with_custom_payment() {
    let doc = parse_sample("OrderRequest/FriendsOfCXML-cxml-php__Handling-order_request.xml");
    assert_envelope(
        &doc,
        "OrderRequest",
        "1737963337.319.1846511.7249@eu-hub",
        datetime!(2025-01-27 07:35:37 UTC),
    );
    assert_sender(
        &doc,
        "NetworkId",
        "AN00000123",
        Some("Secret!123"),
        "Suppliers Super Order Processor",
    );
    assert_eq!(doc.deployment_mode(), DeploymentMode::Test);
    let o = order(&doc);
    assert_eq!(o.header.order_id, "acme-1-1");
    assert_eq!(o.header.order_date, datetime!(2025-01-27 07:35:36 UTC));
    assert_money(&o.header.total, "10.00", "USD");
    let postal = o.header.ship_to.as_ref().unwrap().postal.as_ref().unwrap();
    assert_eq!(postal.city, "Columbus");
    assert_eq!(postal.postal_code.as_deref(), Some("43201-3551"));
    assert_eq!(o.items.len(), 1);
    let item = &o.items[0];
    assert_eq!(item.item_id.supplier_part_id, "QA-ACME-AUTOTEST");
    assert_eq!(item.quantity, dec("1"));
    let d = item.detail.as_ref().unwrap();
    assert_money(&d.unit_price, "10.00", "USD");
    assert_eq!(d.description(), "Testing");
    assert_eq!(d.classifications[0].domain, "supplier_part_id");
}

#[test]
fn order_request_cxml_php_spec_example() {
    let doc = parse_sample("OrderRequest/FriendsOfCXML-cxml-php__OrderRequest.xml");
    assert_envelope(
        &doc,
        "OrderRequest",
        "1625586002.193314.7293@dev",
        datetime!(2000-10-13 02:39:09 UTC),
    );
    assert_sender(
        &doc,
        "NetworkId",
        "inbound@prominate-platform.com",
        Some("coyote"),
        "Platform Order Fulfillment Hub",
    );
    assert_eq!(doc.deployment_mode(), DeploymentMode::Test);
    let o = order(&doc);
    assert_eq!(o.header.order_id, "DO1234");
    assert_eq!(o.header.order_date, datetime!(2000-10-13 02:41:29 UTC));
    assert_money(&o.header.total, "85.00", "EUR");
    let bill_to = o.header.bill_to.as_ref().unwrap();
    assert_eq!(bill_to.name, "Zinc GmbH");
    let postal = bill_to.postal.as_ref().unwrap();
    assert_eq!(postal.city, "Solingen");
    assert_eq!(postal.state, None);
    assert_eq!(postal.country, "Deutschland");
    assert_eq!(postal.country_code, "DE");
    assert!(
        o.header.comments.is_empty(),
        "a Comments with only an Attachment has no text"
    );
    assert_eq!(o.items.len(), 2);
    let first = &o.items[0];
    assert_eq!(first.item_id.supplier_part_id, "1233244");
    assert_eq!(first.quantity, dec("10"));
    assert_eq!(
        first.requested_delivery_date.as_deref(),
        Some("2020-02-28T00:00:00+00:00")
    );
    let d = first.detail.as_ref().unwrap();
    assert_money(&d.unit_price, "2.10", "EUR");
    assert_eq!(d.description(), "hello from item 1");
    let second = &o.items[1];
    assert_eq!(second.quantity, dec("20"));
    assert_money(&second.detail.as_ref().unwrap().unit_price, "3.20", "EUR");
    assert_eq!(second.comments, ["Test comment"]);
}

#[test]
fn order_request_coupa_officeluv() {
    let doc = parse_sample("OrderRequest/officeluv-cxml__order_request.xml");
    assert_envelope(
        &doc,
        "OrderRequest",
        "1585687161.003309@stg1565utl2.int.coupahost.com",
        datetime!(2020-03-31 20:39:21 UTC),
    );
    assert_eq!(doc.lang.as_deref(), Some("en-US"));
    assert_sender(
        &doc,
        "NetworkID",
        "DAN_Coupa",
        Some("alsdkfjalksdjflaksjdfklj"),
        "Coupa Procurement 1.0",
    );
    assert_party(&hdr(&doc).from, "NetworkID", "kasdflkjasdf");
    assert_party(
        &hdr(&doc).to,
        "alksjflkasjdfasdf",
        "development@officeluv.com",
    );
    let o = order(&doc);
    let h = &o.header;
    assert_eq!(h.order_id, "3309");
    assert_eq!(h.order_date, datetime!(2020-03-31 20:39:22 UTC));
    assert_money(&h.total, "91.71", "USD");
    let ship_to = h.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.address_id.as_deref(), Some("21444"));
    assert_eq!(ship_to.iso_country_code.as_deref(), Some("US"));
    assert_eq!(
        ship_to.email.as_deref(),
        Some("asdfklajsdfkjl@optisconsulting.com")
    );
    let shipping = h.shipping.as_ref().unwrap();
    assert_money(&shipping.money, "0.0", "USD");
    assert_eq!(shipping.description.lang, "en-US");
    assert_eq!(h.tax, None);
    assert_eq!(h.contacts.len(), 1);
    assert_eq!(h.contacts[0].role.as_deref(), Some("endUser"));
    assert_eq!(h.contacts[0].name, "alksdjfalskjf alk sdjflkj");
    assert_eq!(h.contacts[0].emails, ["asdlfkjasdflkj@optisconsulting.com"]);
    assert_eq!(h.extrinsics, [Extrinsic::new("legacy_po", "")]);
    assert_eq!(o.items.len(), 2);
    let first = &o.items[0];
    assert_eq!(first.item_id.supplier_part_id, "product:1861");
    assert_eq!(
        first.item_id.supplier_part_auxiliary_id.as_deref(),
        Some("product-requisition:6236")
    );
    assert_eq!(first.quantity, dec("1"));
    let d = first.detail.as_ref().unwrap();
    assert_money(&d.unit_price, "8.1", "USD");
    assert_eq!(d.description(), "Yogurt Whips, Key Lime Pie, 4oz Cup");
    assert_eq!(d.unspsc(), Some("unknown"));
    assert_eq!(d.extrinsics, [Extrinsic::new("LineType", "Quantity")]);
    let second = &o.items[1];
    assert_eq!(second.quantity, dec("9"));
    let d = second.detail.as_ref().unwrap();
    assert_money(&d.unit_price, "9.29", "USD");
    assert_eq!(d.description(), "Zingerman's Cheese Spreads Pimento Cheese");
}

#[test]
fn order_request_coupa_sample_po() {
    let doc = parse_sample("OrderRequest/officeluv-cxml__purchase_order_request_200.xml");
    assert_envelope(
        &doc,
        "OrderRequest",
        "1452186890.009162@ip-10-7-14-126",
        datetime!(2008-01-07 17:14:50 UTC),
    );
    assert_sender(&doc, "duns", "dell", None, "Coupa Procurement 1.0");
    assert_party(&hdr(&doc).to, "Duns", "128293714");
    let o = order(&doc);
    let h = &o.header;
    assert_eq!(h.order_id, "6112");
    assert_eq!(h.order_type, OrderType::New);
    assert_money(&h.total, "1505.0", "USD");
    assert_eq!(h.bill_to.as_ref().unwrap().name, "SOB1");
    assert_eq!(
        h.bill_to.as_ref().unwrap().address_id.as_deref(),
        Some("142")
    );
    assert_eq!(h.contacts[0].emails, ["jmadden@coupa1.com"]);
    assert_eq!(h.comments, ["header comment goes here if entered by user"]);
    assert_eq!(o.items.len(), 2);
    let first = &o.items[0];
    assert_eq!(first.item_id.supplier_part_id, "223-4511");
    assert_eq!(
        first.item_id.supplier_part_auxiliary_id.as_deref(),
        Some(r"1005379527029\1")
    );
    assert_eq!(first.quantity, dec("1"));
    let d = first.detail.as_ref().unwrap();
    assert_money(&d.unit_price, "1505.0", "USD");
    assert_eq!(d.unspsc(), Some("44000000"));
    assert!(
        d.description()
            .starts_with("OptiPlex 755 Energy Smart Minitower;")
    );
    assert_eq!(
        first.comments,
        ["line item comment goes here if entered by user"]
    );
    assert_eq!(o.items[1].quantity, dec("2"));
    assert_eq!(o.items[1].line_number, Some(2));
}

#[test]
fn profile_request() {
    let doc = parse_sample("ProfileRequest/FriendsOfCXML-cxml-php__simple-profile-request.xml");
    assert_envelope(
        &doc,
        "ProfileRequest",
        "payload-id",
        datetime!(2000-01-01 00:00:00 UTC),
    );
    assert_sender(
        &doc,
        "AribaNetworkUserId",
        "sysadmin@buyer.com",
        Some("abracadabra"),
        "Network Hub 1.1",
    );
    assert_party(&hdr(&doc).from, "AribaNetworkUserId", "admin@acme.com");
    assert_party(&hdr(&doc).to, "DUNS", "012345678");
}

#[test]
fn punchout_order_message_6_mils() {
    let doc = parse_sample("PunchOutOrderMessage/DPassarelli-6-mils__PunchOutOrderMessage.xml");
    assert_envelope(
        &doc,
        "PunchOutOrderMessage",
        "933695160894",
        datetime!(2002-08-15 15:47:00 UTC),
    );
    assert_sender(
        &doc,
        "workchairs.com",
        "website 1",
        None,
        "Workchairs cXML Application",
    );
    assert_party(&hdr(&doc).from, "DUNS", "83528721");
    assert_party(&hdr(&doc).to, "DUNS", "65652314");
    let p = poom(&doc);
    assert_eq!(p.buyer_cookie, "1CX3L4843PPZO");
    assert_eq!(p.header.operation_allowed, OperationAllowed::Edit);
    assert_money(&p.header.total, "763.20", "USD");
    assert_eq!(p.items.len(), 2);
    let first = &p.items[0];
    assert_eq!(first.quantity, dec("1"));
    assert_eq!(first.line_number, None);
    assert_eq!(first.item_id.supplier_part_id, "5555");
    assert_eq!(
        first.item_id.supplier_part_auxiliary_id.as_deref(),
        Some("E000028901")
    );
    let d = &first.detail;
    assert_money(&d.unit_price, "254.40", "USD");
    assert_eq!(
        d.descriptions[0].short_name.as_deref(),
        Some("Excelsior Desk Chair")
    );
    assert_eq!(
        d.descriptions[0].text,
        "Leather Reclining Desk Chair with Padded Arms"
    );
    assert_eq!(d.unit_of_measure, "EA");
    assert_eq!(d.unspsc(), Some("5136030000"));
    assert_eq!(d.lead_time.as_deref(), Some("12"));
    assert_eq!(p.items[1].quantity, dec("2"));
}

#[test]
fn punchout_order_message_cxml_php_reference_guide() {
    let doc = parse_sample("PunchOutOrderMessage/FriendsOfCXML-cxml-php__PunchoutOrderMessage.xml");
    assert_envelope(
        &doc,
        "PunchOutOrderMessage",
        "933695160894",
        datetime!(2021-01-09 07:00:06 UTC),
    );
    let p = poom(&doc);
    assert_eq!(p.buyer_cookie, "1CX3L4843PPZO");
    assert_eq!(p.header.operation_allowed, OperationAllowed::Create);
    assert_money(&p.header.total, "763.20", "USD");
    assert_eq!(p.items.len(), 2);
    let first = &p.items[0];
    assert_eq!(first.quantity, dec("3"));
    assert_eq!(first.item_id.buyer_part_id.as_deref(), Some("KD5555"));
    // ShortName in CDATA, no description text: the label falls back to the short name.
    assert_eq!(first.detail.description(), "Excelsior Desk Chair");
    assert_eq!(first.detail.descriptions[0].text, "");
    assert_eq!(first.detail.unspsc(), Some("ean1234"));
    let second = &p.items[1];
    assert_eq!(second.item_id.supplier_part_id, "666");
    assert_eq!(second.quantity, dec("5"));
    assert_eq!(second.detail.description(), "22Excelsior Desk Chair");
}

#[test]
fn punchout_order_message_advanced_pricing() {
    let doc = parse_sample(
        "PunchOutOrderMessage/FriendsOfCXML-cxml-php__PunchoutOrderMessageAdvancedPricing.xml",
    );
    assert_envelope(
        &doc,
        "PunchOutOrderMessage",
        "933695160894",
        datetime!(2021-01-09 07:00:06 UTC),
    );
    let p = poom(&doc);
    assert_money(&p.header.total, "104.99", "USD");
    assert_eq!(p.items.len(), 1);
    let item = &p.items[0];
    assert_eq!(item.quantity, dec("2"));
    assert_money(&item.detail.unit_price, "104.99", "USD");
    // The UnitOfMeasure of the item, not the one inside PriceBasisQuantity.
    assert_eq!(item.detail.unit_of_measure, "EA");
    assert_eq!(item.detail.unspsc(), Some("ean1234"));
}

#[test]
fn punchout_order_message_cxml_php_builder() {
    let doc = parse_sample("PunchOutOrderMessage/FriendsOfCXML-cxml-php__poom.xml");
    assert_envelope(
        &doc,
        "PunchOutOrderMessage",
        "933695160894",
        datetime!(2021-01-09 07:00:06 UTC),
    );
    let p = poom(&doc);
    assert_money(&p.header.total, "763.20", "USD");
    let ship_to = p.header.ship_to.as_ref().expect("ShipTo");
    assert_eq!(ship_to.name, "Acme");
    assert_eq!(ship_to.postal.as_ref().unwrap().city, "Sunnyvale");
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.items[0].detail.description(), "Excelsior Desk Chair");
    assert_money(&p.items[1].detail.unit_price, "226.20", "USD");
    assert_eq!(p.items[1].detail.unspsc(), Some("ean6666"));
}

#[test]
fn punchout_order_message_with_shipping_and_tax() {
    let doc =
        parse_sample("PunchOutOrderMessage/hscheffknecht-cxml__sample-PunchOutOrderMessage.xml");
    assert_envelope(
        &doc,
        "PunchOutOrderMessage",
        "1539050765.83749@example.com",
        datetime!(2018-04-07 21:16:53 UTC),
    );
    assert_sender(&doc, "", "Unknown", None, "Unknown");
    let p = poom(&doc);
    assert_eq!(p.buyer_cookie, "f5d75ddbc9e75b6346b36ee5c28c5e8b");
    assert_money(&p.header.total, "271.88", "EUR");
    let shipping = p.header.shipping.as_ref().unwrap();
    assert_money(&shipping.money, "0.00", "EUR");
    assert_eq!(shipping.description.lang, "de-DE");
    assert_money(&p.header.tax.as_ref().unwrap().money, "21.88", "EUR");
    assert_eq!(p.items.len(), 1);
    let item = &p.items[0];
    assert_eq!(item.item_id.supplier_part_id, "AM2692");
    assert_eq!(item.quantity, dec("1"));
    let d = &item.detail;
    assert_money(&d.unit_price, "250.00", "EUR");
    assert_eq!(d.description(), "ANTI-RNase (15-30 U/ul)");
    assert_eq!(d.descriptions[0].lang, "de-DE");
    assert_eq!(d.unspsc(), Some("41106104"));
    assert_eq!(d.manufacturer_part_id.as_deref(), Some("MFPART-1"));
    assert_eq!(d.manufacturer_name.as_deref(), Some("Manufacturer X"));
    assert_eq!(d.lead_time.as_deref(), Some("14"));
}

#[test]
fn punchout_order_message_lowercase_root_no_items() {
    let doc = parse_sample("PunchOutOrderMessage/officeluv-cxml__punch_out_order_message_doc.xml");
    assert_envelope(
        &doc,
        "PunchOutOrderMessage",
        "1346769469000.process.162998590@officedepot.com",
        datetime!(2012-09-04 07:37:49 UTC),
    );
    assert_eq!(doc.version.as_deref(), Some("1.2.020"));
    assert_sender(
        &doc,
        "IESAnetworkUserID",
        "{identity in here}",
        Some("{shared secret in here}"),
        "IESAonlinevers1",
    );
    let p = poom(&doc);
    assert_eq!(p.buyer_cookie, "example_buyer_cookie");
    assert_money(&p.header.total, "5.35", "GBP");
    assert!(p.items.is_empty());
}

#[test]
fn punchout_setup_request_cxml_php() {
    let doc = parse_sample("PunchOutSetupRequest/FriendsOfCXML-cxml-php__PunchOutSetupRequest.xml");
    assert_envelope(
        &doc,
        "PunchOutSetupRequest",
        "933695160890",
        datetime!(2023-01-23 17:00:06 UTC),
    );
    assert_eq!(doc.lang.as_deref(), Some("en-US"));
    assert_sender(
        &doc,
        "NetworkId",
        "inbound@prominate-platform.com",
        Some("s3cr3t"),
        "Workchairs cXML Application",
    );
    assert_party(&hdr(&doc).to, "NetworkId", "supplier@supplier.com");
    assert_eq!(doc.deployment_mode(), DeploymentMode::Test);
    let p = posr(&doc);
    assert_eq!(p.operation, PunchOutOperation::Create);
    assert_eq!(p.buyer_cookie, "550bce3e592023b2e7b015307f965133");
    assert_eq!(p.requester_email(), Some("john-doe@domain.com"));
    assert_eq!(p.requester_name(), None);
    assert_eq!(
        p.browser_form_post.as_deref(),
        Some("https://prominate-platform.com/hook-url")
    );
    assert_eq!(
        p.supplier_setup.as_deref(),
        Some("http://workchairs.com/cxml")
    );
    let ship_to = p.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.name, "Acme");
    assert_eq!(
        ship_to.postal.as_ref().unwrap().name.as_deref(),
        Some("default")
    );
    let selected = p.selected_item.as_ref().unwrap();
    assert_eq!(selected.supplier_part_id, "4545321");
    assert_eq!(selected.buyer_part_id.as_deref(), Some("II99825"));
    assert_eq!(p.items.len(), 2);
    let first = &p.items[0];
    assert_eq!(first.item_id.supplier_part_id, "5555");
    assert_eq!(first.quantity, dec("2"));
    assert_eq!(first.line_number, Some(10));
    assert_eq!(
        first.requested_delivery_date.as_deref(),
        Some("2023-01-23T16:00:06-01:00")
    );
    let d = first.detail.as_ref().unwrap();
    assert_money(&d.unit_price, "763.20", "EUR");
    assert_eq!(d.description(), "Excelsior Desk Chair");
    assert_eq!(d.unspsc(), Some("ean1234"));
    assert_eq!(p.items[1].line_number, Some(20));
}

#[test]
fn punchout_setup_request_hscheffknecht() {
    let doc =
        parse_sample("PunchOutSetupRequest/hscheffknecht-cxml__sample-PunchOutSetupRequest.xml");
    assert_envelope(
        &doc,
        "PunchOutSetupRequest",
        "1539050765.0492@example.com",
        datetime!(2018-10-09 02:06:05 UTC),
    );
    assert_sender(
        &doc,
        "NetworkId",
        "buyer",
        Some("jd8je3$ndP"),
        "Application Name v1.2.3",
    );
    assert_party(&hdr(&doc).to, "DUNS", "acme");
    let p = posr(&doc);
    assert_eq!(p.buyer_cookie, "550bce3e592023b2e7b015307f965133");
    assert_eq!(p.extrinsics.len(), 4);
    assert_eq!(p.requester_email(), Some("jdoe@example.com"));
    assert_eq!(p.requester_name().as_deref(), Some("John Doe"));
    assert_eq!(
        extrinsic(&p.extrinsics, "PhoneNumber"),
        Some("555-555-5555")
    );
    assert_eq!(
        p.browser_form_post.as_deref(),
        Some("https://example.com/cxml_cart")
    );
    assert_eq!(p.supplier_setup, None);
    let ship_to = p.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.address_id.as_deref(), Some("TEST"));
    assert_eq!(ship_to.name, "My Address");
    let postal = ship_to.postal.as_ref().unwrap();
    assert_eq!(postal.city, "Mountain View");
    assert_eq!(postal.postal_code.as_deref(), Some("94040"));
    assert!(p.items.is_empty());
}

#[test]
fn punchout_setup_request_officeluv_whitespace_in_urls() {
    let doc = parse_sample("PunchOutSetupRequest/officeluv-cxml__punch_out_setup_request_doc.xml");
    assert_envelope(
        &doc,
        "PunchOutSetupRequest",
        "demoSCAWIG@IESAonline",
        datetime!(2007-04-30 15:52:54 UTC),
    );
    assert_eq!(doc.lang.as_deref(), Some("en-UK"));
    assert_sender(
        &doc,
        "IESAnetworkUserID",
        "88888888",
        Some("{shared secret in here}"),
        "IESAonlinevers1",
    );
    assert_party(&hdr(&doc).from, "DUNS", "punchout@test.com");
    let p = posr(&doc);
    assert_eq!(p.operation, PunchOutOperation::Create);
    assert_eq!(p.buyer_cookie, "demoSCAWIGP");
    assert_eq!(
        p.browser_form_post.as_deref(),
        Some("http://return_to_supplier_url.com")
    );
    assert_eq!(p.supplier_setup.as_deref(), Some("http://localhost:3000"));
    assert_eq!(p.ship_to, None);
    assert_eq!(p.requester_email(), None);
    assert_eq!(p.requester_name(), None);
}

#[test]
fn punchout_setup_request_coupa() {
    let doc =
        parse_sample("PunchOutSetupRequest/officeluv-cxml__punch_out_setup_request_doc_coupa.xml");
    // `Mon May 19 18:29:48 +0000 2008`: Coupa's Ruby-style timestamp.
    assert_envelope(
        &doc,
        "PunchOutSetupRequest",
        "1211221788.71299@ip-10-251-122-83",
        datetime!(2008-05-19 18:29:48 UTC),
    );
    assert_sender(
        &doc,
        "DUNS",
        "coupa-t",
        Some("test"),
        "Coupa Procurement 1.0",
    );
    assert_party(&hdr(&doc).from, "DUNS", "coupa-t");
    assert_eq!(doc.deployment_mode(), DeploymentMode::Production);
    let p = posr(&doc);
    assert_eq!(p.operation, PunchOutOperation::Create);
    assert_eq!(p.buyer_cookie, "c64af92dc27e68172e030d3dfd1bc944");
    // Contact comes before BrowserFormPost here (against the DTD order): both are read.
    assert_eq!(p.contacts.len(), 1);
    assert_eq!(p.contacts[0].role.as_deref(), Some("endUser"));
    assert_eq!(p.contacts[0].name, "jim");
    assert_eq!(
        p.browser_form_post.as_deref(),
        Some("https://qa.coupahost.com/punchout/checkout/4")
    );
    assert_eq!(p.requester_email(), Some("noah+jim@coupa.com"));
    assert_eq!(p.requester_name().as_deref(), Some("Jim Halpert"));
    assert_eq!(p.extrinsics.len(), 6);
    assert_eq!(extrinsic(&p.extrinsics, "BusinessUnit"), Some("COUPA"));
    assert!(p.items.is_empty());
}

#[test]
fn punchout_setup_request_with_ship_to() {
    let doc = parse_sample(
        "PunchOutSetupRequest/officeluv-cxml__punch_out_setup_request_doc_with_ship_to.xml",
    );
    assert_envelope(
        &doc,
        "PunchOutSetupRequest",
        "demoSCAWIG@IESAonline",
        datetime!(2007-04-30 15:52:54 UTC),
    );
    let p = posr(&doc);
    assert_eq!(p.buyer_cookie, "demoSCAWIGP");
    let ship_to = p.ship_to.as_ref().expect("ShipTo");
    assert_eq!(ship_to.address_id.as_deref(), Some("3119"));
    assert_eq!(ship_to.iso_country_code.as_deref(), Some("US"));
    assert_eq!(ship_to.name, "jmadden");
    assert_eq!(ship_to.email.as_deref(), Some("jmadden@coupa1.com"));
    let postal = ship_to.postal.as_ref().unwrap();
    assert_eq!(postal.deliver_to, ["j maddedn"]);
    assert_eq!(postal.street, ["333 East Hill Dr"]);
    assert_eq!(postal.city, "san leandro");
    assert_eq!(postal.state.as_deref(), Some("ca"));
    assert_eq!(postal.postal_code.as_deref(), Some("22222"));
    assert_eq!(postal.country, "United States");
}

#[test]
fn punchout_setup_response_6_mils() {
    let doc = parse_sample("PunchOutSetupResponse/DPassarelli-6-mils__PunchOutSetupResponse.xml");
    assert_envelope(
        &doc,
        "PunchOutSetupResponse",
        "933694607739",
        datetime!(2002-08-15 15:46:00 UTC),
    );
    assert_eq!(doc.header, None);
    let r = response(&doc);
    assert_eq!((r.status.code, r.status.text.as_str()), (200, "success"));
    assert!(r.status.is_success());
    assert_eq!(
        start_page(&doc),
        "http://xml.workchairs.com/retrieve?reqUrl=20626;Initial=TRUE"
    );
}

#[test]
fn punchout_setup_response_hscheffknecht() {
    let doc =
        parse_sample("PunchOutSetupResponse/hscheffknecht-cxml__sample-PunchOutSetupResponse.xml");
    assert_envelope(
        &doc,
        "PunchOutSetupResponse",
        "1539050765.83749@example.com",
        datetime!(2018-04-07 21:16:53 UTC),
    );
    let r = response(&doc);
    assert_eq!((r.status.code, r.status.text.as_str()), (200, "OK"));
    assert_eq!(
        start_page(&doc),
        "https://www.example.com/punchout?sid=76857247543634381"
    );
}

#[test]
fn punchout_setup_response_officeluv() {
    let doc = parse_sample("PunchOutSetupResponse/officeluv-cxml__response_status_200.xml");
    assert_envelope(
        &doc,
        "PunchOutSetupResponse",
        "1346769469000.process.162998590@officedepot.com",
        datetime!(2012-09-04 07:37:49 UTC),
    );
    assert_eq!(doc.version.as_deref(), Some("1.2.020"));
    assert_eq!(response(&doc).status.code, 200);
    assert_eq!(start_page(&doc), "http://localhost:3000/products");
}

#[test]
fn response_order_400() {
    let doc = parse_sample("Response/DPassarelli-6-mils__OrderResponse-400.xml");
    assert_envelope(
        &doc,
        "Response",
        "9949494",
        datetime!(1999-03-13 02:39:09 UTC),
    );
    let r = response(&doc);
    assert_eq!((r.status.code, r.status.text.as_str()), (400, "Failure"));
    assert_eq!(
        r.status.message,
        "XML document contained a doctype but failed validation."
    );
    assert!(!r.status.is_success());
    assert_eq!(r.payload, None);
}

#[test]
fn response_order_200() {
    let doc = parse_sample("Response/DPassarelli-6-mils__OrderResponse.xml");
    assert_envelope(
        &doc,
        "Response",
        "successful.order@test.com",
        datetime!(2019-03-13 02:39:09 UTC),
    );
    let r = response(&doc);
    assert_eq!((r.status.code, r.status.text.as_str()), (200, "OK"));
    assert_eq!(r.status.message, "");
    assert_eq!(r.payload, None);
}

#[test]
fn response_punchout_setup_400() {
    let doc = parse_sample("Response/DPassarelli-6-mils__PunchOutSetupResponse-400.xml");
    assert_envelope(
        &doc,
        "Response",
        "933634634590",
        datetime!(2002-08-15 15:48:00 UTC),
    );
    let r = response(&doc);
    assert_eq!((r.status.code, r.status.text.as_str()), (400, "Failure"));
    assert_eq!(r.payload, None);
}

#[test]
fn response_400_without_xml_declaration() {
    let doc = parse_sample("Response/officeluv-cxml__response_status_400.xml");
    assert_envelope(
        &doc,
        "Response",
        "1352382581000.process.454701738@domain.com",
        datetime!(2012-11-08 06:49:41 UTC),
    );
    let r = response(&doc);
    assert_eq!(r.status.code, 400);
    assert_eq!(
        r.status.text,
        "java.lang.Exception: missing required parameter 'document'"
    );
}

#[test]
fn ship_notice_request_is_an_unmodelled_request() {
    let doc = parse_sample("ShipNoticeRequest/FriendsOfCXML-cxml-php__ShipNoticeRequest.xml");
    assert_envelope(
        &doc,
        "ShipNoticeRequest",
        "0c30050@supplierorg.com",
        datetime!(2021-01-09 07:00:06 UTC),
    );
    assert_sender(
        &doc,
        "NetworkId",
        "AN00000123",
        Some("abracadabra"),
        "Supplier\u{2019}s Super Order Processor",
    );
    assert!(matches!(
        &doc.body,
        Body::Request(Request { payload: RequestPayload::Other(name), .. }) if name == "ShipNoticeRequest"
    ));
}

#[test]
fn status_update_request_is_an_unmodelled_request() {
    let doc = parse_sample("StatusUpdateRequest/FriendsOfCXML-cxml-php__StatusUpdateRequest.xml");
    assert_envelope(
        &doc,
        "StatusUpdateRequest",
        "0c30050@supplierorg.com",
        datetime!(2021-01-09 07:00:06 UTC),
    );
    assert_party(&hdr(&doc).to, "NetworkId", "AN00000456");
    assert!(matches!(
        &doc.body,
        Body::Request(Request { payload: RequestPayload::Other(name), .. }) if name == "StatusUpdateRequest"
    ));
}

#[test]
fn invalid_response_with_unknown_attribute_is_refused() {
    let err = cxml::parse(&read_sample(
        "invalid/officeluv-cxml__document_node_with_unknown_attribute.xml",
    ))
    .expect_err("an undeclared attribute on Response");
    assert_eq!(err.code, 400);
    assert!(err.text.contains("invalid"), "{}", err.text);
    assert!(err.text.contains("Response"), "{}", err.text);
}

// ---------------------------------------------------------------------------------------
// The whole directory, so new samples are covered without a new test.

#[test]
fn every_sample_outside_invalid_parses() {
    let samples = valid_samples();
    assert!(samples.len() >= 32, "{samples:?}");
    let failures: Vec<String> = samples
        .iter()
        .filter_map(|rel| {
            cxml::parse(&read_sample(rel))
                .err()
                .map(|e| format!("{rel}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_sample_in_invalid_is_refused_with_a_reason() {
    let samples = invalid_samples();
    assert!(!samples.is_empty());
    for rel in samples {
        match cxml::parse(&read_sample(&rel)) {
            Ok(doc) => panic!("{rel} was accepted as {}", doc.message_type()),
            Err(e) => {
                assert_eq!(e.code, 400, "{rel}: {e}");
                assert!(
                    e.text.contains("invalid") && e.text.contains("Response"),
                    "{rel}: the reason does not name the problem: {}",
                    e.text
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The `cxml inspect` CLI.

fn inspect(rel: &str) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cxml"))
        .arg("inspect")
        .arg(sample_path(rel))
        .output()
        .expect("run cxml");
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    )
}

fn string_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| string_values(v, out)),
        Value::Object(o) => o.values().for_each(|v| string_values(v, out)),
        _ => {}
    }
}

#[test]
fn inspect_summarises_every_sample_without_its_secret() {
    for rel in valid_samples() {
        let (code, stdout, stderr) = inspect(&rel);
        assert_eq!(code, Some(0), "{rel}: {stdout}{stderr}");
        let json: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{rel}: not JSON ({e}): {stdout}"));
        let doc = parse_sample(&rel);
        assert_eq!(
            json["message_type"].as_str(),
            Some(doc.message_type()),
            "{rel}"
        );
        assert_eq!(json["payload_id"].as_str(), Some(doc.payload_id.as_str()));
        let bytes = read_sample(&rel);
        let secrets = shared_secrets_in(&bytes);
        if let Some(h) = &doc.header {
            let has_secret = h.sender_credential().unwrap().shared_secret.is_some();
            assert_eq!(
                json["sender"]["has_shared_secret"].as_bool(),
                Some(has_secret),
                "{rel}"
            );
        }
        let mut values = Vec::new();
        string_values(&json, &mut values);
        for secret in &secrets {
            assert!(
                !values.iter().any(|v| v.contains(secret.as_str())),
                "{rel}: the shared secret appears in the summary: {stdout}"
            );
            // The raw text too, unless the secret is a plain word of the JSON keys
            // (a secret of `secret` is inside `has_shared_secret`).
            if !stdout.contains(&format!("\"has_shared_{secret}\"")) {
                assert!(!stdout.contains(secret.as_str()), "{rel}: {stdout}");
            }
        }
    }
}

#[test]
fn inspect_finds_the_secrets_it_must_hide() {
    // Guards the test above: the scan does find secrets in the samples.
    let secrets = shared_secrets_in(&read_sample(
        "PunchOutSetupRequest/officeluv-cxml__punch_out_setup_request_doc_coupa.xml",
    ));
    assert_eq!(secrets, ["test"]);
    let total: usize = valid_samples()
        .iter()
        .map(|rel| shared_secrets_in(&read_sample(rel)).len())
        .sum();
    assert!(total >= 15, "{total}");
}

#[test]
fn inspect_shows_the_coupa_requester() {
    let (code, stdout, _) =
        inspect("PunchOutSetupRequest/officeluv-cxml__punch_out_setup_request_doc_coupa.xml");
    assert_eq!(code, Some(0));
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["requester_email"], "noah+jim@coupa.com");
    assert_eq!(json["requester_name"], "Jim Halpert");
    assert_eq!(json["timestamp_utc"], "2008-05-19T18:29:48+00:00");
    assert_eq!(json["sender"]["identity"], "coupa-t");
}

#[test]
fn inspect_refuses_the_invalid_sample_with_its_status() {
    for rel in invalid_samples() {
        let (code, stdout, stderr) = inspect(&rel);
        assert_eq!(code, Some(1), "{rel}: {stdout}{stderr}");
        assert!(stdout.contains("400"), "{rel}: {stdout}");
        let json: Value = serde_json::from_str(stdout.trim()).expect("JSON");
        assert_eq!(json["accepted"], false);
        assert_eq!(json["status"]["code"], 400);
        assert!(stderr.contains("400"), "{stderr}");
    }
}

/// Runs `cxml inspect -` on `xml`.
fn inspect_text(xml: &str) -> (Option<i32>, String, String) {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cxml"))
        .args(["inspect", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cxml");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let output = child.wait_with_output().expect("cxml finishes");
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    )
}

const HEADER: &str = r#"<Header><From><Credential domain="DUNS"><Identity>a</Identity></Credential></From><To><Credential domain="DUNS"><Identity>b</Identity></Credential></To><Sender><Credential domain="DUNS"><Identity>a</Identity></Credential><UserAgent>t</UserAgent></Sender></Header>"#;

#[test]
fn inspect_refuses_request_message_and_response_types_cxml_does_not_declare() {
    let envelope = |inner: &str| {
        format!(r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00">{inner}</cXML>"#)
    };
    let cases = [
        (
            envelope(&format!("{HEADER}<Request><GarbageRequest/></Request>")),
            "GarbageRequest",
        ),
        (
            envelope(&format!("{HEADER}<Message><GarbageMessage/></Message>")),
            "GarbageMessage",
        ),
        (
            envelope(r#"<Response><Status code="200" text="OK"/><GarbageResponse/></Response>"#),
            "GarbageResponse",
        ),
    ];
    for (xml, name) in &cases {
        let (code, stdout, stderr) = inspect_text(xml);
        assert_eq!(code, Some(1), "{name}: {stdout}{stderr}");
        let json: Value = serde_json::from_str(stdout.trim()).expect("JSON");
        assert_eq!(json["accepted"], false, "{stdout}");
        assert_eq!(json["status"]["code"], 400, "{stdout}");
        let reason = json["status"]["reason"].as_str().unwrap();
        assert!(
            reason.contains(name) && reason.contains("not a cXML"),
            "{reason}"
        );
        assert!(stderr.contains(name), "{stderr}");
    }
    // A type cXML declares but this crate does not model is still summarised.
    let known = envelope(&format!(
        "{HEADER}<Request><GetPendingRequest maxMessages=\"1\"/></Request>"
    ));
    let (code, stdout, stderr) = inspect_text(&known);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("GetPendingRequest"), "{stdout}");
}

#[test]
fn inspect_knows_the_types_the_dtds_declare() {
    // The lists in inspect.rs are the DTDs' `cxml.requests` / `cxml.responses` /
    // `cxml.messages` entities: read them again from the DTDs and compare.
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(cxml::dtd_check::dtd_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "dtd") {
            texts.push(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned());
        }
    }
    for (entity, list) in [
        ("requests", cxml::inspect::CXML_REQUESTS),
        ("responses", cxml::inspect::CXML_RESPONSES),
        ("messages", cxml::inspect::CXML_MESSAGES),
    ] {
        let mut declared = std::collections::BTreeSet::new();
        let opening = format!("<!ENTITY % cxml.{entity} \"");
        for text in &texts {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(&opening) {
                let value = &rest[at + opening.len()..];
                let end = value.find('"').unwrap();
                declared.extend(
                    value[..end]
                        .split(|c: char| !c.is_ascii_alphabetic())
                        .filter(|n| n.len() > 1)
                        .map(str::to_string),
                );
                rest = &value[end..];
            }
        }
        let listed: std::collections::BTreeSet<String> =
            list.iter().map(|s| s.to_string()).collect();
        assert!(declared.contains("PunchOutSetupRequest") || entity != "requests");
        assert_eq!(listed, declared, "cxml.{entity}");
    }
}

// ---------------------------------------------------------------------------------------
// The `cxml catalog` CLI: the Level 1 punchout item for the SAP Ariba Network.

#[test]
fn catalog_writes_the_cif_punchout_item_and_refuses_bad_options() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cxml"))
            .arg("catalog")
            .args(args)
            .output()
            .expect("run cxml")
    };
    let out = run(&[
        "--supplier-id",
        "AN01000000099",
        "--punchout-url",
        "https://punchout.example.com/punchout/setup",
        "--unspsc",
        "81162000",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let cif = String::from_utf8(out.stdout).unwrap();
    assert!(cif.starts_with("CIF_I_V3.0\r\n"), "{cif}");
    assert!(cif.ends_with("ENDOFDATA\r\n"), "{cif}");
    assert!(
        cif.contains(",81162000,")
            && cif.contains("https://punchout.example.com/punchout/setup,,,TRUE,store"),
        "{cif}"
    );
    let refused = run(&["--supplier-id", "AN01", "--punchout-url", "http://x"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("https"));
    assert_eq!(run(&["--nonsense", "x"]).status.code(), Some(2));
    assert_eq!(run(&["--supplier-id"]).status.code(), Some(2));
}
