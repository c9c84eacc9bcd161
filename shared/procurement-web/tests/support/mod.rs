//! Helpers for the web layer's tests: the functions' routers on an in-memory world, driven
//! with API Gateway events; open a punchout session the way Coupa or Ariba would, press
//! buttons, and read the cart back out of the page.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use procurement::demo;
use procurement::fakes::FakeWorld;
use procurement::model::Integration;
pub use procurement_web::testing::Reply;
use procurement_web::testing::{self, post_raw};

/// The punchout-setup function's router on this world.
pub fn setup_app(world: &FakeWorld) -> Router {
    procurement_web::punchout_setup(Arc::new(world.deps.clone()))
}

/// The admin-api function's router on this world.
pub fn admin_app(world: &FakeWorld) -> Router {
    procurement_web::admin_api(Arc::new(world.deps.clone()))
}

/// The order-request function's router on this world.
pub fn order_app(world: &FakeWorld) -> Router {
    procurement_web::order_request(Arc::new(world.deps.clone()))
}

/// POSTs a cXML document to the punchout setup URL.
pub async fn handle_setup(world: &FakeWorld, body: &[u8]) -> Reply {
    let body = std::str::from_utf8(body).expect("test documents are UTF-8");
    post_raw(&setup_app(world), "/punchout/setup", "text/xml", body).await
}

/// POSTs a cXML OrderRequest to the order URL.
pub async fn handle_order(world: &FakeWorld, body: &[u8]) -> Reply {
    let body = std::str::from_utf8(body).expect("test documents are UTF-8");
    post_raw(&order_app(world), "/order", "text/xml", body).await
}

/// The official cXML 1.2.069 DTDs (read-only, outside the repository).
pub const DTD_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/cxml/dtd/1.2.069"
);

pub const COUPA_COOKIE: &str = "coupa-cookie-<&>\"1\"";
pub const ARIBA_COOKIE: &str = "ariba-cookie-7f3e";
pub const FORM_POST: &str = "https://buyer.example/punchout/return?x=1&y=2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buyer {
    Coupa,
    Ariba,
}

/// How a session is opened.
#[derive(Debug, Clone)]
pub struct Setup {
    pub buyer: Buyer,
    pub selected: Option<String>,
    pub operation: &'static str,
    pub deployment_mode: &'static str,
    /// The UserEmail extrinsic, as XML text (escaped).
    pub user_email: &'static str,
    /// `ItemOut` lines (XML), as an `edit` or `inspect` request sends the cart back.
    pub items: Vec<String>,
}

impl Setup {
    pub fn coupa() -> Self {
        Self {
            buyer: Buyer::Coupa,
            selected: None,
            operation: "create",
            deployment_mode: "test",
            user_email: "jim.halpert@buyer.example",
            items: Vec::new(),
        }
    }

    pub fn ariba() -> Self {
        Self {
            buyer: Buyer::Ariba,
            ..Self::coupa()
        }
    }

    pub fn selected(mut self, product_id: &str) -> Self {
        self.selected = Some(product_id.into());
        self
    }

    pub fn production(mut self) -> Self {
        self.deployment_mode = "production";
        self
    }

    pub fn user_email(mut self, xml_text: &'static str) -> Self {
        self.user_email = xml_text;
        self
    }

    pub fn operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// Re-opens `cart` the way the procurement system does: `operation` (edit, inspect) with
    /// one `ItemOut` per `ItemIn` of the cart it received (same part, auxiliary ID, quantity,
    /// price).
    pub fn reopening(mut self, operation: &'static str, cart: &cxml::PunchOutOrderMessage) -> Self {
        self.operation = operation;
        self.items = cart
            .items
            .iter()
            .map(|i| {
                item_out(
                    &i.item_id.supplier_part_id,
                    i.item_id.supplier_part_auxiliary_id.as_deref(),
                    &i.quantity.to_string(),
                    &i.detail.unit_price.amount_text(),
                )
            })
            .collect();
        self
    }

    /// One more `ItemOut` line.
    pub fn item(mut self, part: &str, aux: Option<&str>) -> Self {
        self.items.push(item_out(part, aux, "1", "100.00"));
        self
    }

    /// The header as each system sends it: Coupa as the buyer itself; Ariba through the
    /// Network (From the buyer's ANID, two To credentials, Sender the Network with the
    /// supplier's Network secret).
    pub fn header(&self) -> String {
        match self.buyer {
            Buyer::Coupa => format!(
                r#"<Header>
    <From><Credential domain="{d}"><Identity>{i}</Identity></Credential></From>
    <To><Credential domain="NetworkID"><Identity>marketplace</Identity></Credential></To>
    <Sender><Credential domain="{d}"><Identity>{i}</Identity><SharedSecret>{s}</SharedSecret></Credential><UserAgent>Buyer</UserAgent></Sender>
  </Header>"#,
                d = demo::COUPA_DOMAIN,
                i = demo::COUPA_IDENTITY,
                s = demo::COUPA_SECRET,
            ),
            Buyer::Ariba => format!(
                r#"<Header>
    <From><Credential domain="NetworkId"><Identity>{i}</Identity></Credential><Credential domain="SystemID"><Identity>erp-1</Identity></Credential></From>
    <To><Credential domain="networkid"><Identity>{supplier}</Identity></Credential><Credential domain="PrivateId"><Identity>vendor-4711</Identity></Credential></To>
    <Sender><Credential domain="AribaNetworkUserId"><Identity>sysadmin@ariba.com</Identity><SharedSecret>{s}</SharedSecret></Credential><UserAgent>Buyer 14s2</UserAgent></Sender>
  </Header>"#,
                i = demo::ARIBA_IDENTITY,
                supplier = demo::ARIBA_SUPPLIER_ANID,
                s = demo::ARIBA_NETWORK_SECRET,
            ),
        }
    }

    pub fn xml(&self) -> String {
        let cookie = match self.buyer {
            Buyer::Coupa => "coupa-cookie-&lt;&amp;&gt;&quot;1&quot;",
            Buyer::Ariba => ARIBA_COOKIE,
        };
        let selected = self
            .selected
            .as_ref()
            .map(|id| {
                format!(
                    "<SelectedItem><ItemID><SupplierPartID>{id}</SupplierPartID></ItemID></SelectedItem>"
                )
            })
            .unwrap_or_default();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.069/cXML.dtd">
<cXML payloadID="1795514400.1@buyer.example" timestamp="2026-11-24T10:00:00+00:00" xml:lang="en-US">
  {header}
  <Request deploymentMode="{mode}">
    <PunchOutSetupRequest operation="{operation}">
      <BuyerCookie>{cookie}</BuyerCookie>
      <Extrinsic name="UserEmail">{user_email}</Extrinsic>
      <Extrinsic name="FirstName">Jim</Extrinsic>
      <Extrinsic name="LastName">Halpert</Extrinsic>
      <BrowserFormPost><URL>https://buyer.example/punchout/return?x=1&amp;y=2</URL></BrowserFormPost>
      {selected}
      {items}
    </PunchOutSetupRequest>
  </Request>
</cXML>"#,
            header = self.header(),
            mode = self.deployment_mode,
            operation = self.operation,
            user_email = self.user_email,
            items = self.items.join("\n      "),
        )
    }
}

fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An `ItemOut` line of a setup request.
pub fn item_out(part: &str, aux: Option<&str>, quantity: &str, price: &str) -> String {
    let aux = aux
        .map(|a| {
            format!(
                "<SupplierPartAuxiliaryID>{}</SupplierPartAuxiliaryID>",
                xml_text(a)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<ItemOut quantity="{quantity}"><ItemID><SupplierPartID>{part}</SupplierPartID>{aux}</ItemID><ItemDetail><UnitPrice><Money currency="USD">{price}</Money></UnitPrice><Description xml:lang="en">as in the cart</Description><UnitOfMeasure>EA</UnitOfMeasure><Classification domain="UNSPSC">81162000</Classification></ItemDetail></ItemOut>"#,
        part = xml_text(part),
    )
}

/// Opens a punchout session and returns the StartPage token.
pub async fn open_session(world: &FakeWorld, setup: &Setup) -> String {
    let reply = handle_setup(world, setup.xml().as_bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let doc = cxml::parse(reply.body.as_bytes()).unwrap();
    let Some(cxml::Response {
        payload: Some(cxml::ResponsePayload::PunchOutSetup(setup)),
        ..
    }) = (match doc.body {
        cxml::Body::Response(r) => Some(r),
        _ => None,
    })
    else {
        panic!("not a PunchOutSetupResponse: {}", reply.body);
    };
    let token = setup
        .start_page_url
        .split("token=")
        .nth(1)
        .expect("token in StartPage URL")
        .to_string();
    // 256 random bits in hex, then the organisation.
    assert_eq!(token.as_bytes().get(64), Some(&b'.'), "{token}");
    token
}

pub async fn get(world: &FakeWorld, path: &str, query: &[(&str, &str)]) -> Reply {
    testing::get(&setup_app(world), path, query).await
}

pub async fn post(world: &FakeWorld, path: &str, fields: &[(&str, &str)]) -> Reply {
    testing::post_form(&setup_app(world), path, fields).await
}

/// An admin API call through the admin function (REST API event), signed by `account` when
/// given.
pub async fn admin(
    world: &FakeWorld,
    method: &str,
    path: &str,
    account: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Reply {
    testing::admin(&admin_app(world), method, path, account, body).await
}

pub async fn request_approval(world: &FakeWorld, token: &str, product_id: &str) -> Reply {
    post(
        world,
        "/catalog/request-approval",
        &[("token", token), ("product_id", product_id)],
    )
    .await
}

/// Undoes `escape_html` (and the numeric line-break references the cart page uses).
pub fn unescape(text: &str) -> String {
    text.replace("&#10;", "\n")
        .replace("&#13;", "\r")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the first `attr="..."` after `after` in `html`, unescaped.
pub fn attribute_after(html: &str, after: &str, attr: &str) -> Option<String> {
    let start = html.find(after)?;
    let rest = &html[start..];
    let marker = format!("{attr}=\"");
    let from = rest.find(&marker)? + marker.len();
    let to = rest[from..].find('"')? + from;
    Some(unescape(&rest[from..to]))
}

/// The cart on a cart page: the form's action, the field's encoding and the cXML in it,
/// read back the way the procurement system reads the submitted form.
pub struct PostedCart {
    pub action: String,
    pub encoding: cxml::FormEncoding,
    pub xml: String,
    pub doc: cxml::Cxml,
}

impl PostedCart {
    pub fn message(&self) -> &cxml::Message {
        match &self.doc.body {
            cxml::Body::Message(m) => m,
            other => panic!("not a Message: {other:?}"),
        }
    }

    pub fn poom(&self) -> &cxml::PunchOutOrderMessage {
        match &self.message().payload {
            cxml::MessagePayload::PunchOutOrder(p) => p,
            other => panic!("not a PunchOutOrderMessage: {other:?}"),
        }
    }
}

pub fn posted_cart(html: &str) -> PostedCart {
    let action = attribute_after(html, "<form id=\"cart\"", "action").expect("cart form");
    let field = attribute_after(html, "<form id=\"cart\"", "name").expect("cart field");
    let value = attribute_after(html, &format!("name=\"{field}\""), "value").expect("value");
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair(&field, &value)
        .finish();
    let (encoding, bytes) = cxml::decode_form_body(body.as_bytes()).expect("decodable form");
    let xml = String::from_utf8(bytes).expect("UTF-8 cXML");
    let doc = cxml::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    PostedCart {
        action,
        encoding,
        xml,
        doc,
    }
}

pub async fn integration(world: &FakeWorld, org: &str) -> Integration {
    world
        .deps
        .integrations
        .get(&org.into())
        .await
        .unwrap()
        .expect("demo integration")
}

pub async fn change_integration(
    world: &FakeWorld,
    org: &str,
    change: impl FnOnce(&mut Integration),
) {
    world.change_integration(org, change).await;
}

/// Validates `xml` with xmllint against the cXML 1.2.069 DTD; xmllint's complaint on failure.
pub fn xmllint(xml: &str) -> Result<(), String> {
    cxml::dtd_check::validate_against(xml, "cXML.dtd")
}

/// An ID of any kind from text (tests hold IDs as they read them off pages and documents).
pub fn id<T: From<String>>(text: impl AsRef<str>) -> T {
    T::from(text.as_ref().to_string())
}

/// Stores the quote Request approval would have made for `product_id` in `org`'s catalog.
pub async fn quote_for(
    world: &FakeWorld,
    org: &str,
    product_id: &str,
    quote_id: &str,
) -> procurement::model::Quote {
    use procurement::cart::{self, CartDecision};
    use procurement::model::{Quote, QuoteStatus};
    let product = world
        .deps
        .catalog
        .get_product(product_id)
        .await
        .unwrap()
        .unwrap();
    let integration = integration(world, org).await;
    let CartDecision::SendForApproval(cart) = cart::cart_lines(&product, &integration).unwrap()
    else {
        panic!("{product_id} is sent for approval");
    };
    let quote = Quote {
        quote_id: quote_id.into(),
        org_id: org.into(),
        product_id: product.id.clone(),
        product_title: product.title.clone(),
        lines: cart.lines,
        status: QuoteStatus::PendingApproval,
        test: false,
        never_invoiced: cart.never_invoiced,
        private_offer: product.private_offer.clone(),
        requester_email: Some("jim.halpert@buyer.example".into()),
        requester_name: Some("Jim Halpert".into()),
        buyer_cookie: "cookie".into(),
        created_at: time::OffsetDateTime::now_utc(),
        order_id: None,
        agreement_id: None,
    };
    world.deps.quotes.create(&quote).await.unwrap();
    quote
}

/// The header of a document the demo Coupa buyer sends itself.
pub fn coupa_header() -> cxml::Header {
    let from = cxml::Credential::new(demo::COUPA_DOMAIN, demo::COUPA_IDENTITY);
    let mut sender = from.clone();
    sender.shared_secret = Some(cxml::SharedSecret::new(demo::COUPA_SECRET));
    cxml::Header {
        from: vec![from],
        to: vec![cxml::Credential::new("NetworkID", "marketplace")],
        sender: vec![sender],
        user_agent: "Coupa Procurement 1.0".into(),
    }
}

/// The header the SAP Ariba Network puts on a buyer's document: From the buyer's ANID and its
/// own system ID, To the supplier's ANID and the buyer's private ID for it, Sender the Network
/// with the supplier's Network secret.
pub fn network_header(buyer_anid: &str, secret: &str) -> cxml::Header {
    let mut sender = cxml::Credential::new("AribaNetworkUserId", "sysadmin@ariba.com");
    sender.shared_secret = Some(cxml::SharedSecret::new(secret));
    cxml::Header {
        from: vec![
            cxml::Credential::new("NetworkId", buyer_anid),
            cxml::Credential::new("SystemID", "erp-1"),
        ],
        to: vec![
            cxml::Credential::new("networkid", demo::ARIBA_SUPPLIER_ANID),
            cxml::Credential::new("PrivateId", "vendor-4711"),
        ],
        sender: vec![sender],
        user_agent: "Buyer 14s2".into(),
    }
}

/// An OrderRequest for these quotes' lines, as `header` says who sends it.
pub fn order_request(
    header: cxml::Header,
    order_id: &str,
    payload_id: &str,
    kind: cxml::OrderType,
    quotes: &[&procurement::model::Quote],
) -> Vec<u8> {
    use cxml::{ItemDetail, ItemId, ItemOut, OrderRequest, OrderRequestHeader};
    let items: Vec<ItemOut> = quotes
        .iter()
        .flat_map(|q| {
            q.lines.iter().map(|l| ItemOut {
                quantity: l.quantity,
                line_number: None,
                requested_delivery_date: None,
                item_id: ItemId {
                    supplier_part_id: q.product_id.clone(),
                    supplier_part_auxiliary_id: Some(q.quote_id.to_string()),
                    buyer_part_id: None,
                },
                detail: Some(ItemDetail {
                    unit_price: l.unit_price.clone(),
                    descriptions: vec![cxml::Description {
                        lang: "en".into(),
                        short_name: None,
                        text: l.description.clone(),
                    }],
                    unit_of_measure: l.unit_of_measure.clone(),
                    classifications: Vec::new(),
                    manufacturer_part_id: None,
                    manufacturer_name: None,
                    lead_time: None,
                    extrinsics: Vec::new(),
                }),
                comments: Vec::new(),
            })
        })
        .collect();
    let total = quotes.iter().filter_map(|q| q.total()).next().unwrap();
    let order = OrderRequest {
        header: OrderRequestHeader {
            order_id: order_id.into(),
            order_date: time::OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap(),
            order_type: kind,
            order_version: None,
            total,
            ship_to: None,
            bill_to: None,
            shipping: None,
            tax: None,
            contacts: Vec::new(),
            comments: Vec::new(),
            document_reference: None,
            extrinsics: Vec::new(),
        },
        items,
    };
    let mut doc = cxml::Cxml::request(
        "buyer.example",
        header,
        cxml::DeploymentMode::Production,
        cxml::RequestPayload::Order(order),
    );
    doc.payload_id = payload_id.into();
    cxml::to_xml(&doc).into_bytes()
}

/// The seller stops extending the demo private offer to `org` (its terms unchanged, still
/// extended to the other demo organisation): to `org` it is now as if it did not exist.
pub async fn withdraw_private_offer(world: &FakeWorld, org: &str) {
    let mut product = world
        .deps
        .catalog
        .get_product(demo::PRIVATE_OFFER_PRODUCT)
        .await
        .unwrap()
        .unwrap();
    let offer = product.private_offer.as_mut().unwrap();
    offer.extended_to.retain(|id| id != org);
    assert!(!offer.extended_to.is_empty(), "still extended to someone");
    world.deps.catalog.put_product(&product).await.unwrap();
}
