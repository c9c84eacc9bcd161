//! The procurement system's side: the cXML documents Coupa (or Ariba) sends, written the way
//! they write them (hand-shaped text, not through our own writer, so a writer bug on our side
//! cannot hide a reader bug).

use cxml::{ItemIn, PunchOutOrderMessage};
use procurement::demo;

/// A buyer's credentials as configured in its procurement system.
#[derive(Debug, Clone)]
pub struct Party {
    pub domain: String,
    pub identity: String,
    pub secret: String,
    pub user_agent: String,
    /// Sent through the SAP Ariba Network, as the Network forwards a buyer's documents: From
    /// the buyer's ANID (`identity`) and its own system ID, To the supplier's ANID and the
    /// buyer's private ID for the supplier, Sender the Network itself with the supplier's
    /// Network secret (`secret`). Shape from forwarded documents in public code (Sender
    /// `AribaNetworkUserId`/`sysadmin@ariba.com`, several To credentials, UserAgent "Buyer 14s2").
    pub network: Option<NetworkRoute>,
}

/// What the Network adds when it forwards a document.
#[derive(Debug, Clone)]
pub struct NetworkRoute {
    pub supplier_anid: String,
}

impl Party {
    /// The demo Coupa buyer `make run` seeds.
    pub fn coupa_demo() -> Self {
        Self {
            domain: demo::COUPA_DOMAIN.into(),
            identity: demo::COUPA_IDENTITY.into(),
            secret: demo::COUPA_SECRET.into(),
            user_agent: "Coupa Procurement 1.0".into(),
            network: None,
        }
    }

    /// The demo Ariba buyer, through the local Ariba Network account.
    pub fn ariba_demo() -> Self {
        Self::through_ariba_network(
            demo::ARIBA_IDENTITY,
            demo::ARIBA_SUPPLIER_ANID,
            demo::ARIBA_NETWORK_SECRET,
        )
    }

    /// An Ariba buyer with this ANID, forwarded by the Network with the supplier's secret.
    pub fn through_ariba_network(buyer_anid: &str, supplier_anid: &str, secret: &str) -> Self {
        Self {
            domain: "NetworkId".into(),
            identity: buyer_anid.into(),
            secret: secret.into(),
            user_agent: "Buyer 14s2".into(),
            network: Some(NetworkRoute {
                supplier_anid: supplier_anid.into(),
            }),
        }
    }

    pub fn with_secret(&self, secret: &str) -> Self {
        Self {
            secret: secret.into(),
            ..self.clone()
        }
    }
}

/// Escapes text for XML content and attributes.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn now() -> String {
    cxml::datetime::format_timestamp(time::OffsetDateTime::now_utc())
}

/// A unique payloadID, as the buyer's system makes them.
pub fn payload_id(tag: &str) -> String {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!("{nanos}.{tag}.{}@buyer.e2e", std::process::id())
}

fn envelope(party: &Party, payload_id: &str, body: &str) -> String {
    if let Some(route) = &party.network {
        return format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="{pid}" timestamp="{ts}" xml:lang="en-US">
  <Header>
    <From>
      <Credential domain="{d}"><Identity>{i}</Identity></Credential>
      <Credential domain="SystemID"><Identity>buyer-erp-0001</Identity></Credential>
    </From>
    <To>
      <Credential domain="networkid"><Identity>{supplier}</Identity></Credential>
      <Credential domain="PrivateId"><Identity>vendor-4711</Identity></Credential>
    </To>
    <Sender>
      <Credential domain="AribaNetworkUserId"><Identity>sysadmin@ariba.com</Identity><SharedSecret>{s}</SharedSecret></Credential>
      <UserAgent>{ua}</UserAgent>
    </Sender>
  </Header>
{body}
</cXML>
"#,
            pid = esc(payload_id),
            ts = now(),
            d = esc(&party.domain),
            i = esc(&party.identity),
            supplier = esc(&route.supplier_anid),
            s = esc(&party.secret),
            ua = esc(&party.user_agent),
        );
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<cXML payloadID="{pid}" timestamp="{ts}" xml:lang="en-US">
  <Header>
    <From><Credential domain="{d}"><Identity>{i}</Identity></Credential></From>
    <To><Credential domain="NetworkID"><Identity>marketplace</Identity></Credential></To>
    <Sender>
      <Credential domain="{d}"><Identity>{i}</Identity><SharedSecret>{s}</SharedSecret></Credential>
      <UserAgent>{ua}</UserAgent>
    </Sender>
  </Header>
{body}
</cXML>
"#,
        pid = esc(payload_id),
        ts = now(),
        d = esc(&party.domain),
        i = esc(&party.identity),
        s = esc(&party.secret),
        ua = esc(&party.user_agent),
    )
}

/// What a user opening the punchout brings along.
#[derive(Debug, Clone)]
pub struct Punchout {
    pub buyer_cookie: String,
    pub form_post: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub selected_item: Option<String>,
    pub test: bool,
    /// `create`, or `edit`/`inspect` of a cart the buyer's system holds (`items`).
    pub operation: &'static str,
    pub items: Vec<OrderLine>,
}

impl Punchout {
    pub fn new(buyer_cookie: &str, form_post: &str) -> Self {
        Self {
            buyer_cookie: buyer_cookie.into(),
            form_post: form_post.into(),
            email: "jim.halpert@buyer.example".into(),
            first_name: "Jim".into(),
            last_name: "Halpert".into(),
            selected_item: None,
            test: false,
            operation: "create",
            items: Vec::new(),
        }
    }

    /// Re-opens a cart as Coupa does for an edit or inspect: the same setup request, with the
    /// operation and the cart's lines as `ItemOut` (cXML User's Guide, PunchOutSetupRequest).
    pub fn reopening(mut self, operation: &'static str, cart: &PunchOutOrderMessage) -> Self {
        self.operation = operation;
        self.items = cart.items.iter().map(OrderLine::from_cart_item).collect();
        self
    }
}

fn deployment_mode(test: bool) -> &'static str {
    if test { "test" } else { "production" }
}

/// A Coupa-shaped PunchOutSetupRequest (operation create, or edit/inspect with the cart's lines).
pub fn setup_request(party: &Party, punchout: &Punchout) -> String {
    let selected = punchout
        .selected_item
        .as_ref()
        .map(|id| {
            format!(
                "\n      <SelectedItem><ItemID><SupplierPartID>{}</SupplierPartID></ItemID></SelectedItem>",
                esc(id)
            )
        })
        .unwrap_or_default();
    let items: String = punchout
        .items
        .iter()
        .enumerate()
        .map(|(n, line)| item_out(line, n + 1, false))
        .collect();
    let body = format!(
        r#"  <Request deploymentMode="{mode}">
    <PunchOutSetupRequest operation="{operation}">
      <BuyerCookie>{cookie}</BuyerCookie>
      <Extrinsic name="FirstName">{first}</Extrinsic>
      <Extrinsic name="LastName">{last}</Extrinsic>
      <Extrinsic name="UserEmail">{email}</Extrinsic>
      <BrowserFormPost><URL>{post}</URL></BrowserFormPost>
      <Contact role="endUser"><Name xml:lang="en-US">{first} {last}</Name><Email>{email}</Email></Contact>{selected}
{items}    </PunchOutSetupRequest>
  </Request>"#,
        mode = deployment_mode(punchout.test),
        operation = punchout.operation,
        cookie = esc(&punchout.buyer_cookie),
        first = esc(&punchout.first_name),
        last = esc(&punchout.last_name),
        email = esc(&punchout.email),
        post = esc(&punchout.form_post),
    );
    envelope(party, &payload_id("setup"), &body)
}

pub fn profile_request(party: &Party) -> String {
    envelope(
        party,
        &payload_id("profile"),
        "  <Request>\n    <ProfileRequest/>\n  </Request>",
    )
}

/// One purchase order line, as the procurement system copies it from the approved cart.
#[derive(Debug, Clone)]
pub struct OrderLine {
    pub supplier_part_id: String,
    pub auxiliary_id: Option<String>,
    pub quantity: String,
    pub unit_price: String,
    pub currency: String,
    pub description: String,
    pub unspsc: Option<String>,
}

impl OrderLine {
    /// The PO line Coupa makes from a cart item.
    pub fn from_cart_item(item: &ItemIn) -> Self {
        Self {
            supplier_part_id: item.item_id.supplier_part_id.clone(),
            auxiliary_id: item.item_id.supplier_part_auxiliary_id.clone(),
            quantity: item.quantity.to_string(),
            unit_price: item.detail.unit_price.amount.to_string(),
            currency: item.detail.unit_price.currency.to_string(),
            description: item
                .detail
                .descriptions
                .first()
                .map(|d| d.text.clone())
                .unwrap_or_default(),
            unspsc: item.detail.unspsc().map(str::to_string),
        }
    }
}

/// A purchase order for an approved cart.
#[derive(Debug, Clone)]
pub struct PurchaseOrder {
    pub payload_id: String,
    pub order_id: String,
    pub order_type: String,
    pub lines: Vec<OrderLine>,
    pub test: bool,
    /// For update/delete: the payloadID of the earlier order (DocumentReference).
    pub reference: Option<String>,
}

impl PurchaseOrder {
    pub fn from_cart(order_id: &str, cart: &PunchOutOrderMessage) -> Self {
        Self {
            payload_id: payload_id("order"),
            order_id: order_id.into(),
            order_type: "new".into(),
            lines: cart.items.iter().map(OrderLine::from_cart_item).collect(),
            test: false,
            reference: None,
        }
    }

    /// The OrderRequest document, shaped like Coupa's (ShipTo, BillTo, Distribution, Comments).
    pub fn to_xml(&self, party: &Party) -> String {
        let currency = self
            .lines
            .first()
            .map(|l| l.currency.clone())
            .unwrap_or_else(|| "USD".into());
        let total: rust_decimal::Decimal = self
            .lines
            .iter()
            .map(|l| {
                l.unit_price
                    .parse::<rust_decimal::Decimal>()
                    .unwrap_or_default()
                    * l.quantity
                        .parse::<rust_decimal::Decimal>()
                        .unwrap_or_default()
            })
            .sum();
        let items: String = self
            .lines
            .iter()
            .enumerate()
            .map(|(n, line)| item_out(line, n + 1, true))
            .collect();
        let reference = self
            .reference
            .as_ref()
            .map(|r| format!("\n        <DocumentReference payloadID=\"{}\"/>", esc(r)))
            .unwrap_or_default();
        let body = format!(
            r#"  <Request deploymentMode="{mode}">
    <OrderRequest>
      <OrderRequestHeader orderID="{id}" orderDate="{date}" type="{kind}">
        <Total><Money currency="{currency}">{total}</Money></Total>
        <ShipTo><Address isoCountryCode="US" addressID="3119"><Name xml:lang="en">Buyer HQ</Name><PostalAddress name="default"><DeliverTo>Jim Halpert</DeliverTo><Street>1725 Slough Avenue</Street><City>Scranton</City><State>PA</State><PostalCode>18505</PostalCode><Country isoCountryCode="US">United States</Country></PostalAddress></Address></ShipTo>
        <BillTo><Address isoCountryCode="US" addressID="142"><Name xml:lang="en">Buyer Inc.</Name><PostalAddress name="default"><Street>1725 Slough Avenue</Street><City>Scranton</City><State>PA</State><PostalCode>18505</PostalCode><Country isoCountryCode="US">United States</Country></PostalAddress></Address></BillTo>
        <Contact role="endUser"><Name xml:lang="en">Jim Halpert</Name><Email name="default">jim.halpert@buyer.example</Email></Contact>{reference}
      </OrderRequestHeader>
{items}    </OrderRequest>
  </Request>"#,
            mode = deployment_mode(self.test),
            id = esc(&self.order_id),
            date = now(),
            kind = esc(&self.order_type),
        );
        envelope(party, &self.payload_id, &body)
    }
}

/// One `ItemOut` line as Coupa writes it, in a PO (with its Distribution) or in an edit or
/// inspect setup request (the cart line as the buyer's system holds it).
fn item_out(line: &OrderLine, number: usize, distribution: bool) -> String {
    let aux = line
        .auxiliary_id
        .as_ref()
        .map(|a| {
            format!(
                "<SupplierPartAuxiliaryID>{}</SupplierPartAuxiliaryID>",
                esc(a)
            )
        })
        .unwrap_or_default();
    let class = line
        .unspsc
        .as_ref()
        .map(|c| {
            format!(
                "\n          <Classification domain=\"UNSPSC\">{}</Classification>",
                esc(c)
            )
        })
        .unwrap_or_default();
    let distribution = if distribution {
        format!(
            "\n        <Distribution><Accounting name=\"IT\"><Segment id=\"4100\" description=\"Software\" type=\"GL\"/></Accounting><Charge><Money currency=\"{cur}\">{price}</Money></Charge></Distribution>",
            cur = esc(&line.currency),
            price = esc(&line.unit_price),
        )
    } else {
        String::new()
    };
    format!(
        r#"      <ItemOut quantity="{q}" lineNumber="{number}">
        <ItemID><SupplierPartID>{part}</SupplierPartID>{aux}</ItemID>
        <ItemDetail>
          <UnitPrice><Money currency="{cur}">{price}</Money></UnitPrice>
          <Description xml:lang="en">{desc}</Description>
          <UnitOfMeasure>EA</UnitOfMeasure>{class}
        </ItemDetail>{distribution}
      </ItemOut>
"#,
        q = esc(&line.quantity),
        part = esc(&line.supplier_part_id),
        cur = esc(&line.currency),
        price = esc(&line.unit_price),
        desc = esc(&line.description),
    )
}

/// A cart as delivered to the BrowserFormPost URL.
pub struct DeliveredCart {
    pub encoding: cxml::FormEncoding,
    pub xml: String,
    pub doc: cxml::Cxml,
}

/// Decodes the form body a browser posted to the BrowserFormPost URL.
pub fn decode_cart(form_body: &[u8]) -> Result<DeliveredCart, crate::Error> {
    let (encoding, xml) = cxml::decode_form_body(form_body).map_err(|r| r.text)?;
    let doc = cxml::parse(&xml).map_err(|r| r.text)?;
    Ok(DeliveredCart {
        encoding,
        xml: String::from_utf8_lossy(&xml).into_owned(),
        doc,
    })
}

/// The PunchOutOrderMessage of a decoded cart document.
pub fn cart_message(doc: &cxml::Cxml) -> Option<&PunchOutOrderMessage> {
    match &doc.body {
        cxml::Body::Message(m) => match &m.payload {
            cxml::MessagePayload::PunchOutOrder(poom) => Some(poom),
            _ => None,
        },
        _ => None,
    }
}
