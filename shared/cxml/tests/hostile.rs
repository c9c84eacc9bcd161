//! Hostile and broken input: every refusal has a status code and a text naming the
//! problem, nothing is fetched or read from outside the document, and nothing panics.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use cxml::*;

fn refused(bytes: &[u8]) -> Rejection {
    match cxml::parse(bytes) {
        Ok(doc) => panic!(
            "accepted as {}: {}",
            doc.message_type(),
            String::from_utf8_lossy(bytes)
        ),
        Err(e) => e,
    }
}

/// Refused with `code`, and the text names the problem (contains every `needles`).
fn assert_refused(bytes: &[u8], code: u16, needles: &[&str]) -> Rejection {
    let e = refused(bytes);
    assert_eq!(e.code, code, "{e}");
    assert!(!e.text.trim().is_empty(), "a refusal without a reason");
    for needle in needles {
        assert!(
            e.text.contains(needle),
            "the reason does not name '{needle}': {}",
            e.text
        );
    }
    e
}

const RESPONSE: &str = r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response><Status code="200" text="OK"/></Response></cXML>"#;

// ---------------------------------------------------------------------------------------
// Entities and DOCTYPEs.

#[test]
fn billion_laughs_is_refused_quickly() {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE cXML [\n<!ENTITY lol0 \"lol\">\n");
    for i in 1..=10 {
        let prev = format!("&lol{};", i - 1);
        doc.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
    }
    doc.push_str("]>\n");
    doc.push_str(r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response><Status code="200" text="OK">&lol10;</Status></Response></cXML>"#);
    let started = Instant::now();
    assert_refused(doc.as_bytes(), 400, &["entit"]);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn external_entities_are_refused_and_never_read() {
    let doc = r#"<?xml version="1.0"?>
<!DOCTYPE cXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response><Status code="200" text="OK">&xxe;</Status></Response></cXML>"#;
    let e = assert_refused(doc.as_bytes(), 400, &["entit"]);
    assert!(!e.text.contains("root:"), "{}", e.text);

    // Referenced without a declaration: still only the five XML entities.
    let doc = RESPONSE.replace(r#"text="OK"/>"#, r#"text="OK">&xxe;</Status>"#);
    assert_refused(doc.as_bytes(), 400, &["&xxe;"]);
}

#[cfg(unix)]
#[test]
fn an_external_entity_file_is_never_opened() {
    // A FIFO blocks whoever opens it for reading until a writer appears: a parser that
    // tried to read the entity would hang here instead of returning.
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("secret.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    for doctype in [
        format!(
            r#"<!DOCTYPE cXML [<!ENTITY xxe SYSTEM "file://{}">]>"#,
            fifo.display()
        ),
        format!(
            r#"<!DOCTYPE cXML [<!ENTITY % p SYSTEM "file://{}"> %p;]>"#,
            fifo.display()
        ),
        format!(r#"<!DOCTYPE cXML SYSTEM "file://{}">"#, fifo.display()),
    ] {
        let doc = format!(
            r#"<?xml version="1.0"?>{doctype}<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response><Status code="200" text="OK"/></Response></cXML>"#
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(cxml::parse(doc.as_bytes()).map(|d| d.payload_id));
        });
        let result = rx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("parse blocked: it opened the FIFO named in {doctype}"));
        if doctype.contains("ENTITY") {
            assert_eq!(result.unwrap_err().code, 400, "{doctype}");
        } else {
            assert_eq!(result.unwrap(), "1@x");
        }
    }
}

#[test]
fn a_doctype_url_is_never_fetched() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("address");
    let url = format!("http://{addr}/x.dtd");

    let doc = format!(r#"<?xml version="1.0"?><!DOCTYPE cXML SYSTEM "{url}">{RESPONSE}"#);
    let parsed = cxml::parse(doc.as_bytes()).expect("a DOCTYPE URL alone is fine");
    assert_eq!(parsed.message_type(), "Response");

    // A parameter entity pointing at the same server is refused, and not fetched either.
    let doc = format!(
        r#"<?xml version="1.0"?><!DOCTYPE cXML [<!ENTITY % remote SYSTEM "{url}"> %remote;]>{RESPONSE}"#
    );
    assert_refused(doc.as_bytes(), 400, &["entit"]);
    let doc = format!(r#"<?xml version="1.0"?><!DOCTYPE cXML PUBLIC "-//x//y" "{url}">{RESPONSE}"#);
    cxml::parse(doc.as_bytes()).expect("a PUBLIC DOCTYPE is fine");

    std::thread::sleep(Duration::from_millis(200));
    match listener.accept() {
        Ok((_, peer)) => panic!("the parser connected to {url} from {peer}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
    }
}

// ---------------------------------------------------------------------------------------
// Size and encodings.

#[test]
fn oversize_documents_are_refused_with_413() {
    let doc = format!("{RESPONSE}{}", " ".repeat(2_000));
    let e = cxml::parse_with(doc.as_bytes(), Limits { max_bytes: 1_000 }).unwrap_err();
    assert_eq!(e.code, 413, "{e}");
    assert!(
        e.text.contains("limit") && e.text.contains("1000"),
        "{}",
        e.text
    );
    // Just under the limit is read.
    let doc = format!("{RESPONSE}{}", " ".repeat(10));
    let limit = doc.len();
    assert!(cxml::parse_with(doc.as_bytes(), Limits { max_bytes: limit }).is_ok());
    // The default limit (6 MB) applies to `parse`.
    let big = format!("{RESPONSE}{}", " ".repeat(6 * 1024 * 1024));
    assert_eq!(cxml::parse(big.as_bytes()).unwrap_err().code, 413);
}

#[test]
fn latin1_documents_are_decoded() {
    let mut doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".to_vec();
    doc.extend_from_slice(
        b"<cXML payloadID=\"caf\xE9@x\" timestamp=\"2026-01-01T00:00:00+00:00\"><Response><Status code=\"200\" text=\"OK\">Caf\xE9 cr\xE8me</Status></Response></cXML>",
    );
    let parsed = cxml::parse(&doc).expect("Latin-1");
    assert_eq!(parsed.payload_id, "café@x");
    assert_eq!(parsed.response_status().unwrap().message, "Café crème");
}

#[test]
fn undeclared_non_utf8_is_refused() {
    let doc = b"<cXML payloadID=\"caf\xE9@x\" timestamp=\"2026-01-01T00:00:00+00:00\"><Response><Status code=\"200\" text=\"OK\"/></Response></cXML>";
    assert_refused(doc, 400, &["UTF-8"]);
    // Declared UTF-8 but not UTF-8.
    let mut declared = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_vec();
    declared.extend_from_slice(doc);
    assert_refused(&declared, 400, &["UTF-8"]);
}

#[test]
fn utf16_is_refused_with_406() {
    let utf16le: Vec<u8> = std::iter::once(0xFEFFu16)
        .chain(RESPONSE.encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_refused(&utf16le, 406, &["UTF-16"]);
    let utf16be: Vec<u8> = std::iter::once(0xFEFFu16)
        .chain(RESPONSE.encode_utf16())
        .flat_map(u16::to_be_bytes)
        .collect();
    assert_refused(&utf16be, 406, &["UTF-16"]);
    let other = format!(r#"<?xml version="1.0" encoding="Shift_JIS"?>{RESPONSE}"#);
    assert_refused(
        other.as_bytes(),
        406,
        &["Shift_JIS".to_ascii_lowercase().as_str()],
    );
}

#[test]
fn a_utf8_bom_is_accepted() {
    let mut doc = b"\xEF\xBB\xBF".to_vec();
    doc.extend_from_slice(RESPONSE.as_bytes());
    assert!(cxml::parse(&doc).is_ok());
}

// ---------------------------------------------------------------------------------------
// Broken structure.

#[test]
fn empty_and_truncated_documents_are_refused() {
    assert_refused(b"", 400, &["empty"]);
    assert_refused(b"  \n ", 400, &["empty"]);
    let sample = read_sample("OrderRequest/officeluv-cxml__order_request.xml");
    let text = String::from_utf8(sample).unwrap();
    // Cut between elements: names the element left open.
    let cut = text.find("<ItemOut quantity=\"9\"").unwrap();
    assert_refused(&text.as_bytes()[..cut], 400, &["OrderRequest"]);
    // Cut inside a tag.
    let cut = text.find("orderID=\"3309\"").unwrap() + 4;
    let e = refused(&text.as_bytes()[..cut]);
    assert_eq!(e.code, 400);
    assert!(!e.text.is_empty());
    // Cut inside a text node: the element left open is named.
    let cut = text.find("Yogurt Whips").unwrap() + 3;
    assert_refused(&text.as_bytes()[..cut], 400, &["Description"]);
}

#[test]
fn malformed_xml_is_refused() {
    assert_refused(
        RESPONSE.replace("</Response>", "</Reponse>").as_bytes(),
        400,
        &["malformed"],
    );
    assert_refused(format!("{RESPONSE}<cXML/>").as_bytes(), 400, &["after"]);
    assert_refused(format!("{RESPONSE}trailing").as_bytes(), 400, &["outside"]);
    assert_refused(
        RESPONSE
            .replace(r#"text="OK"/>"#, r#"text="OK">&nbsp;</Status>"#)
            .as_bytes(),
        400,
        &["&nbsp;"],
    );
    assert_refused(
        RESPONSE
            .replace(r#"text="OK"/>"#, r#"text="OK">&#0;</Status>"#)
            .as_bytes(),
        400,
        &["character reference"],
    );
}

#[test]
fn the_root_must_be_cxml() {
    assert_refused(b"<Order/>", 400, &["root element must be cXML", "Order"]);
    assert_refused(
        br#"<?xml version="1.0"?><html><body>cXML</body></html>"#,
        400,
        &["html"],
    );
    assert_refused(b"not xml at all", 400, &["cXML"]);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let depth = 10_000;
    let doc = format!(
        r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response>{}{}</Response></cXML>"#,
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    let unclosed = format!(
        r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00">{}"#,
        "<a>".repeat(depth)
    );
    // A small stack: recursion per level would overflow it long before 10k levels.
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let a = cxml::parse(doc.as_bytes()).unwrap_err();
            let b = cxml::parse(unclosed.as_bytes()).unwrap_err();
            (a, b)
        })
        .expect("spawn");
    let (a, b) = handle.join().expect("no stack overflow or panic");
    for e in [a, b] {
        assert_eq!(e.code, 400, "{e}");
        assert!(e.text.contains("nest deeper"), "{}", e.text);
    }
}

#[test]
fn too_many_elements_or_attributes_are_refused_before_anything_is_read() {
    let envelope = |inner: &str| {
        format!(
            r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response><Status code="200" text="OK"/>{inner}</Response></cXML>"#
        )
    };
    // 1.5 million empty elements fit in 6 MiB.
    let flat = envelope(&"<a/>".repeat(dom::MAX_ELEMENTS + 1));
    assert!(flat.len() < dom::DEFAULT_MAX_BYTES);
    assert_refused(flat.as_bytes(), 400, &["more than", "elements"]);
    // One element with thousands of attributes (quick-xml checks duplicates pairwise).
    let attrs: String = (0..5_000).map(|i| format!(" a{i}=\"\"")).collect();
    let wide = envelope(&format!("<a{attrs}/>"));
    let started = Instant::now();
    assert_refused(wide.as_bytes(), 400, &["element a", "attributes"]);
    assert!(started.elapsed() < Duration::from_secs(2));
    // Many elements with the allowed number of attributes each.
    let per: String = (0..dom::MAX_ATTRIBUTES_PER_ELEMENT)
        .map(|i| format!(" a{i}=\"\""))
        .collect();
    let count = dom::MAX_ATTRIBUTES / dom::MAX_ATTRIBUTES_PER_ELEMENT + 1;
    let many = envelope(&format!("<a{per}/>").repeat(count));
    assert!(many.len() < dom::DEFAULT_MAX_BYTES, "{}", many.len());
    assert_refused(many.as_bytes(), 400, &["more than", "attributes"]);
    // Below the caps, the same shapes read.
    assert!(cxml::parse(envelope(&"<a/>".repeat(10_000)).as_bytes()).is_ok());
    assert!(cxml::parse(envelope(&format!("<a{per}/>")).as_bytes()).is_ok());
}

#[test]
fn a_malformed_shared_secret_never_shows_in_the_refusal() {
    let with_secret = |secret: &str| {
        format!(
            r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Header><From><Credential domain="DUNS"><Identity>a</Identity></Credential></From><To><Credential domain="DUNS"><Identity>b</Identity></Credential></To><Sender><Credential domain="DUNS"><Identity>a</Identity><SharedSecret>{secret}</SharedSecret></Credential><UserAgent>t</UserAgent></Sender></Header><Request><ProfileRequest/></Request></cXML>"#
        )
    };
    for secret in [
        "hunter2<s3cr3t",
        "hunter2<s3cr3t attr",
        "hunter2<s3cr3t x=\"y\"",
        "hunter2&s3cr3t;",
        "hunter2&s3cr3t",
        "hunter2&#s3cr3t;",
        "hunter2</s3cr3t>",
        "hunter2<s3cr3t>",
        "hunter2<!s3cr3t",
        "hunter2<?s3cr3t",
        "hunter2<![CDATA[s3cr3t",
    ] {
        let e = refused(with_secret(secret).as_bytes());
        assert_eq!(e.code, 400, "{secret}: {e}");
        assert!(
            !e.text.contains("s3cr3t") && !e.text.contains("hunter2"),
            "{secret}: {}",
            e.text
        );
        assert!(e.text.contains("SharedSecret"), "{secret}: {}", e.text);
    }
    // Escaped, the same secret reads.
    let doc = cxml::parse(with_secret("hunter2&lt;s3cr3t").as_bytes()).unwrap();
    let sender = doc.header.unwrap().sender_credential().unwrap().clone();
    assert_eq!(sender.shared_secret.unwrap().expose(), "hunter2<s3cr3t");
    // Malformed XML elsewhere still names what is wrong.
    assert_refused(
        b"<cXML payloadID=\"1@x\" timestamp=\"2026-01-01T00:00:00+00:00\"><Header></Wrong></cXML>",
        400,
        &["Header"],
    );
}

// ---------------------------------------------------------------------------------------
// Required parts missing or wrong, per message type. Each case starts from a document that
// parses, changes one thing, and expects a 400 whose text names what is wrong.

const ENVELOPE_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<cXML payloadID="1@buyer.example" timestamp="2026-01-31T09:30:00+00:00">
<Header>
<From><Credential domain="DUNS"><Identity>buyer</Identity></Credential></From>
<To><Credential domain="DUNS"><Identity>supplier</Identity></Credential></To>
<Sender><Credential domain="DUNS"><Identity>buyer</Identity><SharedSecret>s</SharedSecret></Credential><UserAgent>t</UserAgent></Sender>
</Header>
"#;

fn request(body: &str) -> String {
    format!("{ENVELOPE_HEAD}<Request>{body}</Request></cXML>")
}

fn message(body: &str) -> String {
    format!("{ENVELOPE_HEAD}<Message>{body}</Message></cXML>")
}

const ITEM_DETAIL: &str = r#"<ItemDetail><UnitPrice><Money currency="USD">12.50</Money></UnitPrice><Description xml:lang="en">Pen</Description><UnitOfMeasure>EA</UnitOfMeasure><Classification domain="UNSPSC">44121704</Classification></ItemDetail>"#;

fn order_request() -> String {
    request(&format!(
        r#"<OrderRequest><OrderRequestHeader orderID="PO-1" orderDate="2026-01-31T09:00:00+00:00" type="new"><Total><Money currency="USD">25.00</Money></Total><BillTo><Address><Name xml:lang="en">Acme</Name></Address></BillTo></OrderRequestHeader><ItemOut quantity="2" lineNumber="1"><ItemID><SupplierPartID>PEN-1</SupplierPartID></ItemID>{ITEM_DETAIL}</ItemOut></OrderRequest>"#
    ))
}

fn punchout_setup_request() -> String {
    request(
        r#"<PunchOutSetupRequest operation="create"><BuyerCookie>c1</BuyerCookie><BrowserFormPost><URL>https://buyer.example/return</URL></BrowserFormPost></PunchOutSetupRequest>"#,
    )
}

fn punchout_order_message() -> String {
    message(&format!(
        r#"<PunchOutOrderMessage><BuyerCookie>c1</BuyerCookie><PunchOutOrderMessageHeader operationAllowed="edit"><Total><Money currency="USD">25.00</Money></Total></PunchOutOrderMessageHeader><ItemIn quantity="2"><ItemID><SupplierPartID>PEN-1</SupplierPartID></ItemID>{ITEM_DETAIL}</ItemIn></PunchOutOrderMessage>"#
    ))
}

fn invoice() -> String {
    request(
        r#"<InvoiceDetailRequest><InvoiceDetailRequestHeader invoiceID="INV-1" purpose="standard" operation="new" invoiceDate="2026-01-31T00:00:00+00:00"><InvoiceDetailHeaderIndicator/><InvoiceDetailLineIndicator/></InvoiceDetailRequestHeader><InvoiceDetailOrder><InvoiceDetailOrderInfo><OrderReference orderID="PO-1"><DocumentReference payloadID="PO-1"/></OrderReference></InvoiceDetailOrderInfo><InvoiceDetailItem invoiceLineNumber="1" quantity="2"><UnitOfMeasure>EA</UnitOfMeasure><UnitPrice><Money currency="USD">12.50</Money></UnitPrice><InvoiceDetailItemReference lineNumber="1"/></InvoiceDetailItem></InvoiceDetailOrder><InvoiceDetailSummary><SubtotalAmount><Money currency="USD">25.00</Money></SubtotalAmount><Tax><Money currency="USD">0</Money><Description xml:lang="en">none</Description></Tax><NetAmount><Money currency="USD">25.00</Money></NetAmount></InvoiceDetailSummary></InvoiceDetailRequest>"#,
    )
}

fn posr_response() -> String {
    r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response><Status code="200" text="OK"/><PunchOutSetupResponse><StartPage><URL>https://supplier.example/start</URL></StartPage></PunchOutSetupResponse></Response></cXML>"#.to_string()
}

fn profile_response() -> String {
    r#"<cXML payloadID="1@x" timestamp="2026-01-01T00:00:00+00:00"><Response><Status code="200" text="OK"/><ProfileResponse effectiveDate="2026-01-01T00:00:00+00:00"><Transaction requestName="OrderRequest"><URL>https://supplier.example/order</URL></Transaction></ProfileResponse></Response></cXML>"#.to_string()
}

/// (what the case is, the valid base, replacements to make, words the reason must contain)
type Case = (
    &'static str,
    fn() -> String,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

/// Renaming an element (start and end tag) makes it absent for the reader.
macro_rules! rename {
    ($from:literal, $to:literal) => {
        &[
            (concat!("<", $from, ">"), concat!("<", $to, ">")),
            (concat!("<", $from, " "), concat!("<", $to, " ")),
            (concat!("</", $from, ">"), concat!("</", $to, ">")),
        ]
    };
}

const CASES: &[Case] = &[
    // Envelope
    (
        "no payloadID",
        order_request,
        &[(r#"payloadID="1@buyer.example""#, "")],
        &["payloadID"],
    ),
    (
        "empty payloadID",
        order_request,
        &[(r#"payloadID="1@buyer.example""#, r#"payloadID=" ""#)],
        &["payloadID", "empty"],
    ),
    (
        "no timestamp",
        order_request,
        &[(r#"timestamp="2026-01-31T09:30:00+00:00""#, "")],
        &["timestamp"],
    ),
    (
        "bad timestamp",
        order_request,
        &[("2026-01-31T09:30:00+00:00", "yesterday")],
        &["timestamp", "yesterday"],
    ),
    (
        "unknown attribute on cXML",
        order_request,
        &[("<cXML ", r#"<cXML evil="1" "#)],
        &["evil", "cXML"],
    ),
    (
        "request without Header",
        order_request,
        rename!("Header", "Ignored"),
        &["Header"],
    ),
    ("no From", order_request, rename!("From", "Form"), &["From"]),
    (
        "no Identity",
        order_request,
        &[("<Identity>supplier</Identity>", "")],
        &["Identity"],
    ),
    (
        "no Credential",
        order_request,
        &[(
            r#"<To><Credential domain="DUNS"><Identity>supplier</Identity></Credential></To>"#,
            "<To></To>",
        )],
        &["Credential", "To"],
    ),
    (
        "bad deploymentMode",
        order_request,
        &[("<Request>", r#"<Request deploymentMode="staging">"#)],
        &["deploymentMode", "staging"],
    ),
    (
        "unknown attribute on Request",
        order_request,
        &[("<Request>", r#"<Request foo="bar">"#)],
        &["foo", "Request"],
    ),
    // OrderRequest
    (
        "OrderRequest without OrderRequestHeader",
        order_request,
        rename!("OrderRequestHeader", "OrderHeader"),
        &["OrderRequestHeader"],
    ),
    (
        "OrderRequest without orderID",
        order_request,
        &[(r#"orderID="PO-1""#, "")],
        &["orderID"],
    ),
    (
        "OrderRequest with a bad type",
        order_request,
        &[(r#"type="new""#, r#"type="cancel""#)],
        &["type", "cancel"],
    ),
    (
        "OrderRequest without orderDate",
        order_request,
        &[(r#"orderDate="2026-01-31T09:00:00+00:00""#, "")],
        &["orderDate"],
    ),
    (
        "OrderRequest without Total",
        order_request,
        rename!("Total", "Totals"),
        &["Total"],
    ),
    (
        "OrderRequest without lines",
        order_request,
        rename!("ItemOut", "ItemOutX"),
        &["ItemOut"],
    ),
    (
        "ItemOut without quantity",
        order_request,
        &[(r#"quantity="2" lineNumber="1""#, r#"lineNumber="1""#)],
        &["quantity", "ItemOut line 1"],
    ),
    (
        "ItemOut with a negative quantity",
        order_request,
        &[(r#"quantity="2""#, r#"quantity="-2""#)],
        &["quantity", "negative"],
    ),
    (
        "ItemOut with a bad lineNumber",
        order_request,
        &[(r#"lineNumber="1""#, r#"lineNumber="one""#)],
        &["lineNumber", "one"],
    ),
    (
        "ItemOut without ItemID",
        order_request,
        rename!("ItemID", "ItemIdent"),
        &["ItemID"],
    ),
    (
        "ItemOut with an empty SupplierPartID",
        order_request,
        &[(
            "<SupplierPartID>PEN-1</SupplierPartID>",
            "<SupplierPartID> </SupplierPartID>",
        )],
        &["SupplierPartID", "ItemOut line 1"],
    ),
    (
        "ItemOut without UnitPrice",
        order_request,
        rename!("UnitPrice", "Price"),
        &["UnitPrice", "ItemOut line 1"],
    ),
    (
        "Money with a bad currency",
        order_request,
        &[(
            r#"<Money currency="USD">25.00</Money>"#,
            r#"<Money currency="XYZ1!">25.00</Money>"#,
        )],
        &["XYZ1!", "Total"],
    ),
    (
        "Money without a currency",
        order_request,
        &[(
            r#"<Money currency="USD">25.00</Money>"#,
            "<Money>25.00</Money>",
        )],
        &["currency", "Money"],
    ),
    (
        "Money with a comma",
        order_request,
        &[(
            r#"<Money currency="USD">12.50</Money>"#,
            r#"<Money currency="USD">12,50</Money>"#,
        )],
        &["12,50", "UnitPrice"],
    ),
    (
        "Money without an amount",
        order_request,
        &[(
            r#"<Money currency="USD">25.00</Money>"#,
            r#"<Money currency="USD"/>"#,
        )],
        &["Total", "no amount"],
    ),
    (
        "Money in exponent form",
        order_request,
        &[(
            r#"<Money currency="USD">25.00</Money>"#,
            r#"<Money currency="USD">2.5e1</Money>"#,
        )],
        &["2.5e1"],
    ),
    (
        "Money with an undeclared attribute",
        order_request,
        &[(
            r#"<Money currency="USD">25.00</Money>"#,
            r#"<Money currency="USD" rate="2">25.00</Money>"#,
        )],
        &["rate", "Money"],
    ),
    // PunchOutSetupRequest
    (
        "PunchOutSetupRequest without BuyerCookie",
        punchout_setup_request,
        &[("<BuyerCookie>c1</BuyerCookie>", "")],
        &["BuyerCookie"],
    ),
    (
        "PunchOutSetupRequest without operation",
        punchout_setup_request,
        &[(r#" operation="create""#, "")],
        &["operation"],
    ),
    (
        "PunchOutSetupRequest with a bad operation",
        punchout_setup_request,
        &[(r#"operation="create""#, r#"operation="delete""#)],
        &["operation", "delete"],
    ),
    (
        "BrowserFormPost without URL",
        punchout_setup_request,
        &[("<URL>https://buyer.example/return</URL>", "")],
        &["URL", "BrowserFormPost"],
    ),
    // PunchOutOrderMessage
    (
        "PunchOutOrderMessage without header",
        punchout_order_message,
        rename!("PunchOutOrderMessageHeader", "PunchOutHeader"),
        &["PunchOutOrderMessageHeader"],
    ),
    (
        "PunchOutOrderMessage without BuyerCookie",
        punchout_order_message,
        &[("<BuyerCookie>c1</BuyerCookie>", "")],
        &["BuyerCookie"],
    ),
    (
        "PunchOutOrderMessage without operationAllowed",
        punchout_order_message,
        &[(r#" operationAllowed="edit""#, "")],
        &["operationAllowed"],
    ),
    (
        "PunchOutOrderMessage with a bad operationAllowed",
        punchout_order_message,
        &[(r#"operationAllowed="edit""#, r#"operationAllowed="all""#)],
        &["operationAllowed", "all"],
    ),
    (
        "PunchOutOrderMessage without Total",
        punchout_order_message,
        rename!("Total", "Sum"),
        &["Total"],
    ),
    (
        "ItemIn without ItemDetail",
        punchout_order_message,
        &[(ITEM_DETAIL, "")],
        &["ItemDetail", "ItemIn #1"],
    ),
    (
        "ItemIn without quantity",
        punchout_order_message,
        &[(r#"<ItemIn quantity="2">"#, "<ItemIn>")],
        &["quantity", "ItemIn #1"],
    ),
    (
        "ItemIn with a bad quantity",
        punchout_order_message,
        &[(r#"<ItemIn quantity="2">"#, r#"<ItemIn quantity="two">"#)],
        &["quantity", "two"],
    ),
    // InvoiceDetailRequest
    (
        "InvoiceDetailRequest without header",
        invoice,
        rename!("InvoiceDetailRequestHeader", "InvoiceHeader"),
        &["InvoiceDetailRequestHeader"],
    ),
    (
        "InvoiceDetailRequest without invoiceID",
        invoice,
        &[(r#"invoiceID="INV-1""#, "")],
        &["invoiceID"],
    ),
    (
        "InvoiceDetailRequest without invoiceDate",
        invoice,
        &[(r#"invoiceDate="2026-01-31T00:00:00+00:00""#, "")],
        &["invoiceDate"],
    ),
    (
        "InvoiceDetailRequest without orders",
        invoice,
        rename!("InvoiceDetailOrder", "InvoiceOrder"),
        &["InvoiceDetailOrder"],
    ),
    (
        "InvoiceDetailOrder without OrderReference",
        invoice,
        &[(
            r#"<OrderReference orderID="PO-1"><DocumentReference payloadID="PO-1"/></OrderReference>"#,
            "",
        )],
        &["OrderReference"],
    ),
    (
        "OrderReference without DocumentReference",
        invoice,
        &[(r#"<DocumentReference payloadID="PO-1"/>"#, "")],
        &["DocumentReference"],
    ),
    (
        "InvoiceDetailItem without invoiceLineNumber",
        invoice,
        &[(r#"invoiceLineNumber="1" "#, "")],
        &["invoiceLineNumber"],
    ),
    (
        "InvoiceDetailItem without UnitPrice",
        invoice,
        &[(
            r#"<UnitPrice><Money currency="USD">12.50</Money></UnitPrice>"#,
            "",
        )],
        &["UnitPrice"],
    ),
    (
        "InvoiceDetailItem without reference",
        invoice,
        &[(r#"<InvoiceDetailItemReference lineNumber="1"/>"#, "")],
        &["InvoiceDetailItemReference"],
    ),
    (
        "InvoiceDetailRequest without summary",
        invoice,
        rename!("InvoiceDetailSummary", "Summary"),
        &["InvoiceDetailSummary"],
    ),
    (
        "InvoiceDetailSummary without Tax",
        invoice,
        &[(
            r#"<Tax><Money currency="USD">0</Money><Description xml:lang="en">none</Description></Tax>"#,
            "",
        )],
        &["Tax", "InvoiceDetailSummary"],
    ),
    (
        "InvoiceDetailSummary without SubtotalAmount",
        invoice,
        &[(
            r#"<SubtotalAmount><Money currency="USD">25.00</Money></SubtotalAmount>"#,
            "",
        )],
        &["SubtotalAmount"],
    ),
    // Responses
    (
        "Response without Status",
        posr_response,
        &[(r#"<Status code="200" text="OK"/>"#, "")],
        &["Status"],
    ),
    (
        "Status with a bad code",
        posr_response,
        &[(r#"code="200""#, r#"code="OK""#)],
        &["code", "OK"],
    ),
    (
        "Status without text",
        posr_response,
        &[(r#" text="OK""#, "")],
        &["text", "Status"],
    ),
    (
        "PunchOutSetupResponse without StartPage",
        posr_response,
        rename!("StartPage", "Start"),
        &["StartPage"],
    ),
    (
        "StartPage with an empty URL",
        posr_response,
        &[("https://supplier.example/start", "")],
        &["URL", "empty"],
    ),
    (
        "ProfileResponse without effectiveDate",
        profile_response,
        &[(r#" effectiveDate="2026-01-01T00:00:00+00:00""#, "")],
        &["effectiveDate"],
    ),
    (
        "Transaction without requestName",
        profile_response,
        &[(r#" requestName="OrderRequest""#, "")],
        &["requestName"],
    ),
];

#[test]
fn documents_without_a_body_are_refused_by_name() {
    assert_refused(request("").as_bytes(), 400, &["element Request is empty"]);
    assert_refused(
        message(r#"<Status code="200" text="OK"/>"#).as_bytes(),
        400,
        &["element Message is empty"],
    );
    assert_refused(
        format!("{ENVELOPE_HEAD}</cXML>").as_bytes(),
        400,
        &["Request, Response or Message"],
    );
}

#[test]
fn the_bases_of_the_broken_cases_parse() {
    for base in [
        order_request,
        punchout_setup_request,
        punchout_order_message,
        invoice,
        posr_response,
        profile_response,
    ] {
        let doc = base();
        cxml::parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    }
}

#[test]
fn missing_or_wrong_required_parts_are_refused_by_name() {
    let mut failures = Vec::new();
    for (what, base, replacements, needles) in CASES {
        let mut broken = base();
        let mut changed = false;
        for (from, to) in *replacements {
            changed |= broken.contains(from);
            broken = broken.replace(from, to);
        }
        assert!(changed, "{what}: nothing to replace in its base");
        match cxml::parse(broken.as_bytes()) {
            Ok(_) => failures.push(format!("{what}: accepted")),
            Err(e) if e.code != 400 => failures.push(format!("{what}: {e}")),
            Err(e) => {
                for needle in *needles {
                    if !e.text.contains(needle) {
                        failures.push(format!("{what}: reason lacks '{needle}': {}", e.text));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn an_unknown_request_type_is_kept_by_name() {
    let doc = parse_sample("ShipNoticeRequest/FriendsOfCXML-cxml-php__ShipNoticeRequest.xml");
    match &doc.body {
        Body::Request(r) => {
            assert_eq!(r.payload, RequestPayload::Other("ShipNoticeRequest".into()));
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// No input panics.

#[test]
fn no_prefix_of_any_sample_panics() {
    let mut panics = Vec::new();
    let mut calls = 0;
    for rel in all_samples() {
        let bytes = read_sample(&rel);
        let cuts = (0..bytes.len()).step_by(97).chain([bytes.len()]);
        for cut in cuts {
            let prefix = &bytes[..cut];
            calls += 1;
            match std::panic::catch_unwind(|| cxml::parse(prefix)) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    if e.text.trim().is_empty() {
                        panics.push(format!("{rel} cut at {cut}: refusal without a reason"));
                    }
                }
                Err(_) => panics.push(format!("{rel} cut at {cut}: panicked")),
            }
        }
    }
    assert!(calls > 500, "{calls}");
    assert!(panics.is_empty(), "{panics:#?}");
}

#[test]
fn prefixes_short_of_the_root_end_are_refused() {
    // Only a complete document is read: every cut before the closing root tag is a 400.
    for rel in valid_samples() {
        let bytes = read_sample(&rel);
        let text = String::from_utf8_lossy(&bytes);
        let end = text
            .rfind("</cXML>")
            .or_else(|| text.rfind("</cxml>"))
            .expect("closing root tag");
        for cut in (0..end).step_by(97) {
            let e = cxml::parse(&bytes[..cut]).expect_err(&format!("{rel} cut at {cut}"));
            assert!(e.code == 400 || e.code == 406, "{rel} cut at {cut}: {e}");
        }
    }
}

/// Found by fuzzing: a timestamp whose UTC form is past year 9999 used to be accepted and
/// then panic the writer and `cxml inspect`.
#[test]
fn timestamps_without_a_utc_form_are_refused_not_panicked_on() {
    for (stamp, at) in [
        ("9999-12-31T23:59:59-01:00", "timestamp"),
        ("-9999-01-01T00:00:00+01:00", "timestamp"),
    ] {
        let doc = format!(
            r#"<cXML payloadID="1@x" timestamp="{stamp}"><Response><Status code="200" text="OK"/></Response></cXML>"#
        );
        let err = cxml::parse(doc.as_bytes()).unwrap_err();
        assert_eq!(err.code, 400, "{stamp}");
        assert!(err.text.contains(at), "{stamp}: {}", err.text);
    }
    let t = time::macros::datetime!(9999-12-31 23:59:59 -01:00);
    assert!(cxml::format_timestamp(t).starts_with("9999-12-31T23:59:59"));
}
