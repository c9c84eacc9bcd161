//! The bench documents, shared by the criterion benches (`parse.rs`) and the paired one
//! (`paired.rs`). They are generated here (Coupa- and supplier-shaped), never read from files.

use std::fmt::Write as _;

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
pub fn punchout_setup_request() -> String {
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
pub fn order_request(lines: usize) -> String {
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

/// A supplier's cart with `items` lines, built from the model types (written by `to_xml`).
pub fn punchout_order_message(items: usize) -> Cxml {
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

/// A 2-item PunchOutOrderMessage in the shape 6-mils (a Node cXML library) parses in its own
/// tests: the cXML User's Guide layout, hand-indented, with a `version` attribute, supplier
/// DUNS credentials without a shared secret, an `edit` header with Total, Shipping and Tax,
/// and short items (no line numbers, no extrinsics). Written for this bench, not copied.
pub fn six_mils_punchout_order_message() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.011/cXML.dtd">
<cXML payloadID="1617301202.4417@shop.example.net" timestamp="2026-03-31T21:40:02-05:00" xml:lang="en-US" version="1.2.011">
  <Header>
    <From>
      <Credential domain="DUNS">
        <Identity>987654321</Identity>
      </Credential>
    </From>
    <To>
      <Credential domain="NetworkId">
        <Identity>ACME-BUYER-0042</Identity>
      </Credential>
    </To>
    <Sender>
      <Credential domain="DUNS">
        <Identity>987654321</Identity>
      </Credential>
      <UserAgent>Storefront 3.1</UserAgent>
    </Sender>
  </Header>
  <Message>
    <PunchOutOrderMessage>
      <BuyerCookie>5d2a61f0c3b84e27</BuyerCookie>
      <PunchOutOrderMessageHeader operationAllowed="edit">
        <Total>
          <Money currency="USD">76.47</Money>
        </Total>
        <Shipping>
          <Money currency="USD">5.00</Money>
          <Description xml:lang="en-US">Ground, 3 to 5 days</Description>
        </Shipping>
        <Tax>
          <Money currency="USD">6.31</Money>
          <Description xml:lang="en-US">State sales tax</Description>
        </Tax>
      </PunchOutOrderMessageHeader>
      <ItemIn quantity="3">
        <ItemID>
          <SupplierPartID>TN-4471</SupplierPartID>
          <SupplierPartAuxiliaryID>basket-19/1</SupplierPartAuxiliaryID>
        </ItemID>
        <ItemDetail>
          <UnitPrice>
            <Money currency="USD">12.49</Money>
          </UnitPrice>
          <Description xml:lang="en-US">Toner cartridge, black, high yield</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
          <Classification domain="UNSPSC">44103103</Classification>
          <ManufacturerPartID>TN-4471-BK</ManufacturerPartID>
          <ManufacturerName>Brother</ManufacturerName>
        </ItemDetail>
      </ItemIn>
      <ItemIn quantity="2">
        <ItemID>
          <SupplierPartID>ST-208</SupplierPartID>
          <SupplierPartAuxiliaryID>basket-19/2</SupplierPartAuxiliaryID>
        </ItemID>
        <ItemDetail>
          <UnitPrice>
            <Money currency="USD">19.50</Money>
          </UnitPrice>
          <Description xml:lang="en-US">Desk stapler, full strip, 20 sheets</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
          <Classification domain="UNSPSC">44121615</Classification>
          <ManufacturerName>Swingline</ManufacturerName>
        </ItemDetail>
      </ItemIn>
    </PunchOutOrderMessage>
  </Message>
</cXML>
"#
    .to_string()
}

/// The six bench documents, by name, as bytes the crate reads.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("punchout_setup_request", punchout_setup_request()),
        ("order_request_1_line", order_request(1)),
        ("order_request_500_lines", order_request(500)),
        (
            "punchout_order_message_2_items",
            cxml::to_xml(&punchout_order_message(2)),
        ),
        (
            "punchout_order_message_50_items",
            cxml::to_xml(&punchout_order_message(50)),
        ),
        (
            "punchout_order_message_6_mils",
            six_mils_punchout_order_message(),
        ),
    ]
}

/// Fails fast if a bench document stops being what its name says (so a bench never times
/// an early rejection).
pub fn check(name: &str, xml: &str) {
    let doc = cxml::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let items = match &doc.body {
        Body::Request(r) => match &r.payload {
            RequestPayload::PunchOutSetup(_) => None,
            RequestPayload::Order(o) => Some(o.items.len()),
            other => panic!("{name}: {other:?}"),
        },
        Body::Message(m) => match &m.payload {
            MessagePayload::PunchOutOrder(p) => Some(p.items.len()),
            other => panic!("{name}: {other:?}"),
        },
        _ => panic!("{name}: neither a request nor a message"),
    };
    let want = match name {
        "punchout_setup_request" => None,
        "order_request_1_line" => Some(1),
        "order_request_500_lines" => Some(500),
        "punchout_order_message_2_items" | "punchout_order_message_6_mils" => Some(2),
        "punchout_order_message_50_items" => Some(50),
        other => panic!("unknown bench document {other}"),
    };
    assert_eq!(items, want, "{name}");
}
