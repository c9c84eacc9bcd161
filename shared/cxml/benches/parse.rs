//! Parse and write benchmarks, each parse measured against its floor: quick-xml's bare
//! event loop over the very same bytes. The product target is every parse within 3x of
//! its floor; `scripts/bench-report.sh` prints the ratios.
//!
//! Inputs are generated here (Coupa-shaped documents), never read from files.
//!
//! Groups:
//! - `parse/*`  `cxml::parse` (decode, element tree, typed model);
//! - `tree/*`   `cxml::dom::parse_tree` alone (decode + tree, no typed extraction), to see
//!   which half of a parse costs what;
//! - `floor/*`  quick-xml's event loop, nothing kept;
//! - `write/*`  `cxml::to_xml`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quick_xml::Reader;
use quick_xml::events::Event;
use rust_decimal::Decimal;

use cxml::{
    Body, Classification, Credential, Currency, Cxml, DeploymentMode, Description, Extrinsic,
    Header, ItemDetail, ItemId, ItemIn, Message, MessagePayload, Money, OperationAllowed,
    PunchOutOrderMessage, PunchOutOrderMessageHeader, RequestPayload,
};

const ENVELOPE_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML xml:lang="en-US" payloadID="1585687161.003309@stg1565utl2.int.coupahost.com" timestamp="2026-03-31T21:39:21+01:00">
  <Header>
    <From>
      <Credential domain="NetworkID">
        <Identity>ACME-BUYER-0042</Identity>
      </Credential>
    </From>
    <To>
      <Credential domain="DUNS">
        <Identity>123456789</Identity>
      </Credential>
    </To>
    <Sender>
      <Credential domain="NetworkID">
        <Identity>ACME_Coupa</Identity>
        <SharedSecret>q7Zk3tN9wV2pXr5LmB8cYd4F</SharedSecret>
      </Credential>
      <UserAgent>Coupa Procurement 1.0</UserAgent>
    </Sender>
  </Header>
"#;

fn address(wrapper: &str, deliver_to: &str) -> String {
    format!(
        r#"<{wrapper}>
          <Address isoCountryCode="US" addressID="21444">
            <Name xml:lang="en">Acme Corp HQ</Name>
            <PostalAddress name="default">
              <DeliverTo>{deliver_to}</DeliverTo>
              <Street>350 Fifth Avenue</Street>
              <Street>Suite 4200</Street>
              <City>New York</City>
              <State>NY</State>
              <PostalCode>10118</PostalCode>
              <Country isoCountryCode="US">United States</Country>
            </PostalAddress>
            <Email name="default">receiving@acme.example.com</Email>
          </Address>
        </{wrapper}>"#
    )
}

/// A Coupa PunchOutSetupRequest: extrinsics, an endUser Contact (before BrowserFormPost,
/// as Coupa sends it), BrowserFormPost and ShipTo.
fn punchout_setup_request() -> String {
    let mut s = String::from(ENVELOPE_HEAD);
    s.push_str(
        r#"  <Request deploymentMode="production">
    <PunchOutSetupRequest operation="create">
      <BuyerCookie>c64af92dc27e68172e030d3dfd1bc944</BuyerCookie>
      <Extrinsic name="FirstName">Pam</Extrinsic>
      <Extrinsic name="LastName">Beesly</Extrinsic>
      <Extrinsic name="UniqueName">pbeesly</Extrinsic>
      <Extrinsic name="UserEmail">pam.beesly@acme.example.com</Extrinsic>
      <Extrinsic name="User">pbeesly</Extrinsic>
      <Extrinsic name="BusinessUnit">ACME &amp; Co</Extrinsic>
      <Contact role="endUser">
        <Name xml:lang="en-US">Pam Beesly</Name>
        <Email>pam.beesly@acme.example.com</Email>
      </Contact>
      <BrowserFormPost>
        <URL>https://acme.coupahost.com/punchout/checkout/4211</URL>
      </BrowserFormPost>
      "#,
    );
    s.push_str(&address("ShipTo", "Pam Beesly"));
    s.push_str(
        r#"
    </PunchOutSetupRequest>
  </Request>
</cXML>
"#,
    );
    s
}

/// A Coupa OrderRequest with `lines` ItemOut lines.
fn order_request(lines: usize) -> String {
    let mut s = String::with_capacity(1500 + lines * 2000);
    s.push_str(ENVELOPE_HEAD);
    let mut total = Decimal::ZERO;
    let mut items = String::with_capacity(lines * 2000);
    for n in 1..=lines {
        let quantity = (n % 12) + 1;
        let price = Decimal::new(((n * 731) % 20_000 + 99) as i64, 2);
        let amount = price * Decimal::from(quantity);
        total += amount;
        write!(
            items,
            r#"
      <ItemOut quantity="{quantity}" lineNumber="{n}" requestedDeliveryDate="2026-04-{day:02}">
        <ItemID>
          <SupplierPartID>product:{part}</SupplierPartID>
          <SupplierPartAuxiliaryID>product-requisition:{aux}</SupplierPartAuxiliaryID>
        </ItemID>
        <ItemDetail>
          <UnitPrice>
            <Money currency="USD">{price}</Money>
          </UnitPrice>
          <Description xml:lang="en">Copy paper, letter, 20 lb, 92 bright, 5000 sheets/case &amp; pallet #{n}</Description>
          <UnitOfMeasure>CS</UnitOfMeasure>
          <Classification domain="UNSPSC">14111507</Classification>
          <Extrinsic name="LineType">Quantity</Extrinsic>
        </ItemDetail>
        <Distribution>
          <Accounting name="Office Supplies-HQ Facilities-ACME HQ-Operations">
            <Segment type="Main Account (PL/BS)" id="10012" description="MAccount"/>
            <Segment type="Cost Center" id="c50" description="CCentre"/>
            <Segment type="Profit Center" id="B94641" description="PCenter"/>
            <Segment type="Project Code" id="000384" description="PCode"/>
          </Accounting>
          <Charge>
            <Money currency="USD">{amount}</Money>
          </Charge>
        </Distribution>
        <Comments>Please deliver to the loading dock before noon; call ahead.</Comments>
      </ItemOut>"#,
            day = n % 28 + 1,
            part = 1000 + n,
            aux = 6000 + n,
        )
        .unwrap();
    }
    write!(
        s,
        r#"  <Request deploymentMode="production">
    <OrderRequest>
      <OrderRequestHeader orderID="PO-{lines}-3309" orderDate="2026-03-31T21:39:22+01:00" type="new">
        <Total>
          <Money currency="USD">{total}</Money>
        </Total>
        {ship_to}
        {bill_to}
        <Shipping>
          <Money currency="USD">0.00</Money>
          <Description xml:lang="en-US">Free ground shipping</Description>
        </Shipping>
        <Tax>
          <Money currency="USD">0.00</Money>
          <Description xml:lang="en-US">Exempt</Description>
        </Tax>
        <Contact role="endUser">
          <Name xml:lang="en">Pam Beesly</Name>
          <Email name="default">pam.beesly@acme.example.com</Email>
        </Contact>
        <Comments>Order placed through Coupa.</Comments>
        <Extrinsic name="legacy_po"></Extrinsic>
        <Extrinsic name="CostCenter">c50</Extrinsic>
      </OrderRequestHeader>{items}
    </OrderRequest>
  </Request>
</cXML>
"#,
        ship_to = address("ShipTo", "Pam Beesly"),
        bill_to = address("BillTo", "Accounts Payable"),
    )
    .unwrap();
    s
}

fn usd(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), Currency::USD)
}

/// A supplier's cart with `items` lines, built from the model types.
fn punchout_order_message(items: usize) -> Cxml {
    let lines: Vec<ItemIn> = (1..=items)
        .map(|n| ItemIn {
            quantity: Decimal::from((n % 7 + 1) as u32),
            line_number: Some(n as u32),
            item_id: ItemId {
                supplier_part_id: format!("product:{}", 1000 + n),
                supplier_part_auxiliary_id: Some(format!("cart:{n}")),
                buyer_part_id: None,
            },
            detail: ItemDetail {
                unit_price: usd(((n * 731) % 20_000 + 99) as i64),
                descriptions: vec![Description {
                    lang: "en".into(),
                    short_name: Some(format!("Paper #{n}")),
                    text: "Copy paper, letter, 20 lb, 92 bright, 5000 sheets/case & \"pallet\""
                        .into(),
                }],
                unit_of_measure: "CS".into(),
                classifications: vec![Classification {
                    domain: "UNSPSC".into(),
                    code: "14111507".into(),
                }],
                manufacturer_part_id: Some(format!("HP-{n:06}")),
                manufacturer_name: Some("Hewlett <Packard>".into()),
                lead_time: Some("2".into()),
                extrinsics: vec![Extrinsic::new("LineType", "Quantity")],
            },
            extrinsics: vec![],
        })
        .collect();
    let header = Header {
        from: vec![Credential::new("DUNS", "123456789")],
        to: vec![Credential::new("NetworkID", "ACME-BUYER-0042")],
        sender: vec![Credential::new("DUNS", "123456789")],
        user_agent: "Supplier PunchOut 1.0".into(),
    };
    let mut doc = Cxml::message(
        "supplier.example.com",
        header,
        DeploymentMode::Production,
        MessagePayload::PunchOutOrder(PunchOutOrderMessage {
            buyer_cookie: "c64af92dc27e68172e030d3dfd1bc944".into(),
            header: PunchOutOrderMessageHeader {
                operation_allowed: OperationAllowed::Create,
                total: usd(123_456),
                ship_to: None,
                shipping: None,
                tax: None,
            },
            items: lines,
        }),
    );
    if let Body::Message(Message { in_reply_to, .. }) = &mut doc.body {
        *in_reply_to = Some("1585687161.003309@stg1565utl2.int.coupahost.com".into());
    }
    doc
}

/// quick-xml's bare event loop: the least any parse of these bytes can cost.
fn floor(s: &str) {
    let mut r = Reader::from_str(s);
    loop {
        match r.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => {
                black_box(e);
            }
            Err(e) => panic!("floor: malformed input at {}: {e}", r.error_position()),
        }
    }
}

fn bench_parse(c: &mut Criterion) {
    let inputs = [
        ("punchout_setup_request", punchout_setup_request()),
        ("order_request_1_line", order_request(1)),
        ("order_request_500_lines", order_request(500)),
    ];
    for (name, xml) in &inputs {
        // Fail fast if a generated input stops being a document the crate reads.
        let doc = cxml::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        match (&doc.body, *name) {
            (Body::Request(r), "punchout_setup_request") => {
                assert!(matches!(r.payload, RequestPayload::PunchOutSetup(_)))
            }
            (Body::Request(r), _) => match &r.payload {
                RequestPayload::Order(o) => {
                    let want = if *name == "order_request_1_line" {
                        1
                    } else {
                        500
                    };
                    assert_eq!(o.items.len(), want, "{name}");
                }
                other => panic!("{name}: {other:?}"),
            },
            _ => panic!("{name}: not a request"),
        }
    }

    let mut group = c.benchmark_group("parse");
    for (name, xml) in &inputs {
        group.throughput(Throughput::Bytes(xml.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| cxml::parse(black_box(xml.as_bytes())).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("tree");
    for (name, xml) in &inputs {
        group.throughput(Throughput::Bytes(xml.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let text =
                    cxml::dom::decode(black_box(xml.as_bytes()), cxml::Limits::default()).unwrap();
                let root = cxml::dom::parse_tree(&text).unwrap();
                black_box(root.children.len());
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("floor");
    for (name, xml) in &inputs {
        group.throughput(Throughput::Bytes(xml.len() as u64));
        group.bench_function(*name, |b| b.iter(|| floor(black_box(xml))));
    }
    group.finish();
}

fn bench_write(c: &mut Criterion) {
    let doc = punchout_order_message(50);
    let xml = cxml::to_xml(&doc);
    // The written document must read back as what was written.
    let back = cxml::parse(xml.as_bytes()).expect("written PunchOutOrderMessage reads back");
    assert_eq!(back.message_type(), "PunchOutOrderMessage");

    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Bytes(xml.len() as u64));
    group.bench_function("punchout_order_message_50_items", |b| {
        b.iter(|| cxml::to_xml(black_box(&doc)))
    });
    group.finish();
}

fn config() -> Criterion {
    // The machine is shared: short runs by default (override on the command line).
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_parse, bench_write
}
criterion_main!(benches);
