//! From the element tree to typed documents. Lenient where real senders differ from the
//! DTD (element order, timestamp formats, optional wrappers), strict where a wrong reading
//! would cost money (amounts, currencies, quantities, identifiers).

use std::fmt;

use rust_decimal::Decimal;

use crate::auth::SharedSecret;
use crate::datetime::parse_timestamp;
use crate::dom::{self, Limits, Node};
use crate::error::Rejection;
use crate::model::*;
use crate::money::{Currency, Money, parse_amount};

type Result<T> = std::result::Result<T, Rejection>;

/// Reads a cXML document from raw bytes with the default limits.
pub fn parse(bytes: &[u8]) -> Result<Cxml> {
    parse_with(bytes, Limits::default())
}

/// Reads a cXML document from raw bytes with explicit limits.
pub fn parse_with(bytes: &[u8], limits: Limits) -> Result<Cxml> {
    let text = dom::decode(bytes, limits)?;
    let doc = dom::parse_document(&text)?;
    read_cxml(doc.root())
}

/// Attributes the DTD declares on the envelope elements. Anything else there means the
/// document is not what it claims to be, and it is refused like a DTD validator would.
const CXML_ATTRS: &[&str] = &[
    "payloadID",
    "timestamp",
    "version",
    "xml:lang",
    "signatureVersion",
];
const REQUEST_ATTRS: &[&str] = &["deploymentMode", "Id"];
const RESPONSE_ATTRS: &[&str] = &["Id"];
const MESSAGE_ATTRS: &[&str] = &["deploymentMode", "inReplyTo", "Id"];
const STATUS_ATTRS: &[&str] = &["code", "text", "xml:lang"];
const CREDENTIAL_ATTRS: &[&str] = &["domain", "type"];
const MONEY_ATTRS: &[&str] = &["currency", "alternateAmount", "alternateCurrency"];

fn check_attrs(el: Node<'_, '_>, allowed: &[&str]) -> Result<()> {
    for (key, _) in el.attrs() {
        let is_namespace = *key == "xmlns" || key.starts_with("xmlns:");
        if !is_namespace && !allowed.contains(key) {
            return Err(Rejection::bad_request(format!(
                "attribute {key} is not allowed on element {}",
                el.name()
            )));
        }
    }
    Ok(())
}

fn child<'e, 'a>(el: Node<'e, 'a>, name: &str) -> Result<Node<'e, 'a>> {
    el.child(name)
        .ok_or_else(|| Rejection::bad_request(format!("missing element {name} in {}", el.name())))
}

fn attr<'e>(el: Node<'e, '_>, name: &str) -> Result<&'e str> {
    el.attr(name).ok_or_else(|| {
        Rejection::bad_request(format!("missing attribute {name} on element {}", el.name()))
    })
}

fn text(el: Node<'_, '_>) -> String {
    el.trimmed_text().to_string()
}

fn child_text(el: Node<'_, '_>, name: &str) -> Result<String> {
    child(el, name).map(text)
}

fn opt_child_text(el: Node<'_, '_>, name: &str) -> Option<String> {
    el.child(name).map(text)
}

fn opt_attr(el: Node<'_, '_>, name: &str) -> Option<String> {
    el.attr(name).map(|v| v.trim().to_string())
}

fn non_empty(value: String, what: &str, parent: &str) -> Result<String> {
    if value.is_empty() {
        Err(Rejection::bad_request(format!(
            "element {what} in {parent} is empty"
        )))
    } else {
        Ok(value)
    }
}

fn timestamp_attr(el: Node<'_, '_>, name: &str) -> Result<time::OffsetDateTime> {
    let raw = attr(el, name)?;
    parse_timestamp(raw).ok_or_else(|| {
        Rejection::bad_request(format!(
            "attribute {name} on element {} is not a timestamp: '{raw}' (expected ISO 8601, e.g. 2026-01-31T09:30:00+00:00)",
            el.name()
        ))
    })
}

fn decimal_attr(el: Node<'_, '_>, name: &str) -> Result<Decimal> {
    let raw = attr(el, name)?;
    parse_amount(raw).ok_or_else(|| {
        Rejection::bad_request(format!(
            "attribute {name} on element {} is not a number: '{raw}'",
            el.name()
        ))
    })
}

fn uint_attr(el: Node<'_, '_>, name: &str) -> Result<Option<u32>> {
    match el.attr(name) {
        None => Ok(None),
        Some(raw) => raw.trim().parse().map(Some).map_err(|_| {
            Rejection::bad_request(format!(
                "attribute {name} on element {} is not a whole number: '{raw}'",
                el.name()
            ))
        }),
    }
}

/// Reads `<Money currency="USD">12.50</Money>`. `context` names the element holding it.
fn money(el: Node<'_, '_>, context: &str) -> Result<Money> {
    check_attrs(el, MONEY_ATTRS)?;
    let currency = attr(el, "currency")?;
    let currency: Currency = currency
        .parse()
        .map_err(|e| Rejection::bad_request(format!("Money in {context}: {e}")))?;
    let raw = el.trimmed_text();
    if raw.is_empty() {
        return Err(Rejection::bad_request(format!(
            "Money in {context} has no amount"
        )));
    }
    let amount = parse_amount(raw).ok_or_else(|| {
        Rejection::bad_request(format!(
            "Money in {context} is not a decimal amount: '{raw}'"
        ))
    })?;
    Ok(Money::new(amount, currency))
}

/// Reads the Money inside a wrapper such as `<Total>` or `<UnitPrice>`.
fn money_in(el: Node<'_, '_>, wrapper: &str) -> Result<Money> {
    let wrapper_el = child(el, wrapper)?;
    money(child(wrapper_el, "Money")?, wrapper)
}

/// Like [`money_in`], but an absent wrapper or an empty `<Money currency="USD"/>` is `None`.
fn opt_money_in(el: Node<'_, '_>, wrapper: &str) -> Result<Option<Money>> {
    match el.child(wrapper).and_then(|w| w.child("Money")) {
        Some(m) if m.trimmed_text().is_empty() => Ok(None),
        Some(m) => money(m, wrapper).map(Some),
        None => Ok(None),
    }
}

fn read_cxml(root: Node<'_, '_>) -> Result<Cxml> {
    check_attrs(root, CXML_ATTRS)?;
    let payload_id = non_empty(
        attr(root, "payloadID")?.trim().to_string(),
        "payloadID",
        "cXML",
    )?;
    let timestamp = timestamp_attr(root, "timestamp")?;
    let header = root.child("Header").map(read_header).transpose()?;
    let body = if let Some(el) = root.child("Request") {
        Body::Request(read_request(el)?)
    } else if let Some(el) = root.child("Response") {
        Body::Response(read_response(el)?)
    } else if let Some(el) = root.child("Message") {
        Body::Message(read_message(el)?)
    } else {
        return Err(Rejection::bad_request(
            "missing element Request, Response or Message in cXML",
        ));
    };
    if header.is_none() && !matches!(body, Body::Response(_)) {
        return Err(Rejection::bad_request("missing element Header in cXML"));
    }
    Ok(Cxml {
        payload_id,
        timestamp,
        version: opt_attr(root, "version"),
        lang: opt_attr(root, "xml:lang"),
        header,
        body,
    })
}

fn read_credentials(el: Node<'_, '_>) -> Result<Vec<Credential>> {
    let mut out = Vec::with_capacity(1);
    for c in el.children_named("Credential") {
        check_attrs(c, CREDENTIAL_ATTRS)?;
        out.push(Credential {
            domain: attr(c, "domain")?.trim().to_string(),
            identity: child_text(c, "Identity")?,
            shared_secret: c
                .child("SharedSecret")
                .map(|s| SharedSecret::new(s.trimmed_text())),
        });
    }
    if out.is_empty() {
        return Err(Rejection::bad_request(format!(
            "missing element Credential in {}",
            el.name()
        )));
    }
    Ok(out)
}

fn read_header(el: Node<'_, '_>) -> Result<Header> {
    let sender = child(el, "Sender")?;
    Ok(Header {
        from: read_credentials(child(el, "From")?)?,
        to: read_credentials(child(el, "To")?)?,
        sender: read_credentials(sender)?,
        user_agent: opt_child_text(sender, "UserAgent").unwrap_or_default(),
    })
}

fn deployment_mode(el: Node<'_, '_>) -> Result<DeploymentMode> {
    match el.attr("deploymentMode").map(str::trim) {
        None | Some("") | Some("production") => Ok(DeploymentMode::Production),
        Some("test") => Ok(DeploymentMode::Test),
        Some(other) => Err(Rejection::bad_request(format!(
            "deploymentMode on {} must be production or test, not '{other}'",
            el.name()
        ))),
    }
}

/// The one element inside Request / Message / Response that says what the document is.
fn payload_element<'e, 'a>(el: Node<'e, 'a>, skip: &[&str]) -> Result<Node<'e, 'a>> {
    el.children()
        .find(|c| !skip.contains(&c.name()))
        .ok_or_else(|| {
            Rejection::bad_request(format!(
                "element {} is empty: it carries no request or message",
                el.name()
            ))
        })
}

fn read_request(el: Node<'_, '_>) -> Result<Request> {
    check_attrs(el, REQUEST_ATTRS)?;
    let payload_el = payload_element(el, &[])?;
    let payload = match payload_el.name() {
        "PunchOutSetupRequest" => {
            RequestPayload::PunchOutSetup(read_punchout_setup_request(payload_el)?)
        }
        "OrderRequest" => RequestPayload::Order(read_order_request(payload_el)?),
        "ProfileRequest" => RequestPayload::Profile(ProfileRequest {}),
        "InvoiceDetailRequest" => {
            RequestPayload::InvoiceDetail(read_invoice_detail_request(payload_el)?)
        }
        "ConfirmationRequest" => {
            RequestPayload::Confirmation(read_confirmation_request(payload_el)?)
        }
        other => RequestPayload::Other(other.to_string()),
    };
    Ok(Request {
        deployment_mode: deployment_mode(el)?,
        id: opt_attr(el, "Id"),
        payload,
    })
}

fn read_status(el: Node<'_, '_>) -> Result<Status> {
    check_attrs(el, STATUS_ATTRS)?;
    let raw = attr(el, "code")?;
    let code = raw
        .trim()
        .parse()
        .map_err(|_| Rejection::bad_request(format!("Status code is not a number: '{raw}'")))?;
    Ok(Status {
        code,
        text: attr(el, "text")?.to_string(),
        message: text(el),
        lang: opt_attr(el, "xml:lang"),
    })
}

fn read_response(el: Node<'_, '_>) -> Result<Response> {
    check_attrs(el, RESPONSE_ATTRS)?;
    let status = read_status(child(el, "Status")?)?;
    let payload = match el.children().find(|c| c.name() != "Status") {
        None => None,
        Some(p) if p.name() == "PunchOutSetupResponse" => {
            let start = child(p, "StartPage")?;
            Some(ResponsePayload::PunchOutSetup(PunchOutSetupResponse {
                start_page_url: non_empty(child_text(start, "URL")?, "URL", "StartPage")?,
            }))
        }
        Some(p) if p.name() == "ProfileResponse" => {
            Some(ResponsePayload::Profile(read_profile_response(p)?))
        }
        Some(p) => Some(ResponsePayload::Other(p.name().to_string())),
    };
    Ok(Response {
        id: opt_attr(el, "Id"),
        status,
        payload,
    })
}

fn read_profile_options(el: Node<'_, '_>) -> Result<Vec<ProfileOption>> {
    el.children_named("Option")
        .map(|o| {
            Ok(ProfileOption {
                name: attr(o, "name")?.to_string(),
                value: text(o),
            })
        })
        .collect()
}

fn read_profile_response(el: Node<'_, '_>) -> Result<ProfileResponse> {
    let transactions = el
        .children_named("Transaction")
        .map(|t| {
            Ok(Transaction {
                request_name: attr(t, "requestName")?.to_string(),
                url: child_text(t, "URL")?,
                options: read_profile_options(t)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ProfileResponse {
        effective_date: timestamp_attr(el, "effectiveDate")?,
        options: read_profile_options(el)?,
        transactions,
    })
}

fn read_message(el: Node<'_, '_>) -> Result<Message> {
    check_attrs(el, MESSAGE_ATTRS)?;
    let status = el.child("Status").map(read_status).transpose()?;
    let payload_el = payload_element(el, &["Status"])?;
    let payload = match payload_el.name() {
        "PunchOutOrderMessage" => {
            MessagePayload::PunchOutOrder(read_punchout_order_message(payload_el)?)
        }
        other => MessagePayload::Other(other.to_string()),
    };
    Ok(Message {
        deployment_mode: deployment_mode(el)?,
        in_reply_to: opt_attr(el, "inReplyTo"),
        id: opt_attr(el, "Id"),
        status,
        payload,
    })
}

fn read_extrinsics(el: Node<'_, '_>) -> Result<Vec<Extrinsic>> {
    el.children_named("Extrinsic")
        .map(|e| {
            Ok(Extrinsic {
                name: attr(e, "name")?.to_string(),
                value: text(e),
            })
        })
        .collect()
}

fn read_description(el: Node<'_, '_>) -> Description {
    Description {
        lang: el.attr("xml:lang").unwrap_or("en").to_string(),
        short_name: opt_child_text(el, "ShortName"),
        text: text(el),
    }
}

fn read_contact(el: Node<'_, '_>) -> Result<Contact> {
    let name = child(el, "Name")?;
    Ok(Contact {
        role: opt_attr(el, "role"),
        address_id: opt_attr(el, "addressID"),
        name: text(name),
        name_lang: name.attr("xml:lang").unwrap_or("en").to_string(),
        emails: el.children_named("Email").map(text).collect(),
    })
}

fn read_postal_address(p: Node<'_, '_>) -> Result<PostalAddress> {
    let country = child(p, "Country")?;
    Ok(PostalAddress {
        name: opt_attr(p, "name"),
        deliver_to: p.children_named("DeliverTo").map(text).collect(),
        // An empty Street is the placeholder the DTD makes writers put in.
        street: p
            .children_named("Street")
            .map(text)
            .filter(|s| !s.is_empty())
            .collect(),
        city: opt_child_text(p, "City").unwrap_or_default(),
        state: opt_child_text(p, "State"),
        postal_code: opt_child_text(p, "PostalCode"),
        country: text(country),
        country_code: attr(country, "isoCountryCode")?.to_string(),
    })
}

fn read_invoice_partner(el: Node<'_, '_>) -> Result<InvoicePartner> {
    let contact = child(el, "Contact")?;
    let name = child(contact, "Name")?;
    Ok(InvoicePartner {
        role: opt_attr(contact, "role").unwrap_or_default(),
        address_id: opt_attr(contact, "addressID"),
        name: text(name),
        name_lang: name.attr("xml:lang").unwrap_or("en").to_string(),
        postal: contact
            .child("PostalAddress")
            .map(read_postal_address)
            .transpose()?,
        id_references: el
            .children_named("IdReference")
            .map(|r| {
                Ok(IdReference {
                    domain: attr(r, "domain")?.to_string(),
                    identifier: attr(r, "identifier")?.to_string(),
                })
            })
            .collect::<Result<_>>()?,
    })
}

fn read_tax_detail(el: Node<'_, '_>) -> Result<TaxDetail> {
    Ok(TaxDetail {
        category: attr(el, "category")?.to_string(),
        percentage_rate: el
            .attr("percentageRate")
            .map(|_| decimal_attr(el, "percentageRate"))
            .transpose()?,
        exempt_detail: opt_attr(el, "exemptDetail"),
        taxable: opt_money_in(el, "TaxableAmount")?,
        tax: money_in(el, "TaxAmount")?,
        description: el.child("Description").map(read_description),
    })
}

fn read_address(wrapper: Node<'_, '_>) -> Result<Address> {
    let el = child(wrapper, "Address")?;
    let name = child(el, "Name")?;
    let postal = el
        .child("PostalAddress")
        .map(read_postal_address)
        .transpose()?;
    Ok(Address {
        address_id: opt_attr(el, "addressID"),
        iso_country_code: opt_attr(el, "isoCountryCode"),
        name: text(name),
        name_lang: name.attr("xml:lang").unwrap_or("en").to_string(),
        postal,
        email: opt_child_text(el, "Email"),
    })
}

fn is_blank_address(a: &Address) -> bool {
    a.name.is_empty()
        && a.address_id.is_none()
        && a.iso_country_code.is_none()
        && a.postal.is_none()
        && a.email.is_none()
}

fn read_item_id(el: Node<'_, '_>, context: &dyn fmt::Display) -> Result<ItemId> {
    let id = child(el, "ItemID")?;
    let supplier_part_id = child_text(id, "SupplierPartID")?;
    if supplier_part_id.is_empty() {
        return Err(Rejection::bad_request(format!(
            "{context}: SupplierPartID is empty"
        )));
    }
    Ok(ItemId {
        supplier_part_id,
        supplier_part_auxiliary_id: opt_child_text(id, "SupplierPartAuxiliaryID")
            .filter(|s| !s.is_empty()),
        buyer_part_id: opt_child_text(id, "BuyerPartID").filter(|s| !s.is_empty()),
    })
}

fn read_item_detail(el: Node<'_, '_>, context: &dyn fmt::Display) -> Result<ItemDetail> {
    let unit_price = child(el, "UnitPrice")
        .and_then(|p| child(p, "Money"))
        .and_then(|m| money(m, "UnitPrice"))
        .map_err(|e| Rejection::bad_request(format!("{context}: {}", e.text)))?;
    // Empty Description and Classification elements are the placeholders the DTD's
    // `Description+` and `Classification+` make writers put in; they say nothing.
    let mut classifications = el
        .children_named("Classification")
        .map(|c| {
            Ok(Classification {
                domain: attr(c, "domain")?.to_string(),
                code: text(c),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    classifications.retain(|c| !c.code.is_empty());
    Ok(ItemDetail {
        unit_price,
        descriptions: el
            .children_named("Description")
            .map(read_description)
            .filter(|d| !d.text.is_empty() || d.short_name.is_some())
            .collect(),
        unit_of_measure: opt_child_text(el, "UnitOfMeasure").unwrap_or_default(),
        classifications,
        manufacturer_part_id: opt_child_text(el, "ManufacturerPartID"),
        manufacturer_name: opt_child_text(el, "ManufacturerName"),
        lead_time: opt_child_text(el, "LeadTime"),
        extrinsics: read_extrinsics(el)?,
    })
}

/// Names a line in error messages ("ItemOut line 3", "ItemIn #2"); formatted only when a
/// message is, not once per line read.
struct LineContext {
    kind: &'static str,
    line_number: Option<u32>,
    index: usize,
}

impl fmt::Display for LineContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_number {
            Some(n) => write!(f, "{} line {n}", self.kind),
            None => write!(f, "{} #{}", self.kind, self.index + 1),
        }
    }
}

fn line_context(kind: &'static str, line_number: Option<u32>, index: usize) -> LineContext {
    LineContext {
        kind,
        line_number,
        index,
    }
}

fn read_quantity(el: Node<'_, '_>, context: &dyn fmt::Display) -> Result<Decimal> {
    let q = decimal_attr(el, "quantity")
        .map_err(|e| Rejection::bad_request(format!("{context}: {}", e.text)))?;
    if q.is_sign_negative() {
        return Err(Rejection::bad_request(format!(
            "{context}: quantity must not be negative"
        )));
    }
    Ok(q)
}

/// Reads each `name` child (the lines of an order or a cart) into a vector sized once: a
/// 500-line order's items would otherwise be copied at every doubling.
fn read_lines<'d, 'a, T>(
    el: Node<'d, 'a>,
    name: &str,
    read: fn(Node<'d, 'a>, usize) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(el.children_named(name).count());
    for (i, line) in el.children_named(name).enumerate() {
        out.push(read(line, i)?);
    }
    Ok(out)
}

fn read_item_out(el: Node<'_, '_>, index: usize) -> Result<ItemOut> {
    let line_number = uint_attr(el, "lineNumber")?;
    let context = line_context("ItemOut", line_number, index);
    Ok(ItemOut {
        quantity: read_quantity(el, &context)?,
        line_number,
        requested_delivery_date: opt_attr(el, "requestedDeliveryDate"),
        item_id: read_item_id(el, &context)?,
        detail: el
            .child("ItemDetail")
            .map(|d| read_item_detail(d, &context))
            .transpose()?,
        comments: el
            .children_named("Comments")
            .map(text)
            .filter(|c| !c.is_empty())
            .collect(),
    })
}

fn read_item_in(el: Node<'_, '_>, index: usize) -> Result<ItemIn> {
    let line_number = uint_attr(el, "lineNumber")?;
    let context = line_context("ItemIn", line_number, index);
    let detail = el
        .child("ItemDetail")
        .ok_or_else(|| Rejection::bad_request(format!("{context}: missing element ItemDetail")))?;
    Ok(ItemIn {
        quantity: read_quantity(el, &context)?,
        line_number,
        item_id: read_item_id(el, &context)?,
        detail: read_item_detail(detail, &context)?,
        extrinsics: read_extrinsics(el)?,
    })
}

fn read_punchout_setup_request(el: Node<'_, '_>) -> Result<PunchOutSetupRequest> {
    check_attrs(el, &["operation"])?;
    let operation = match attr(el, "operation")?.trim() {
        "create" => PunchOutOperation::Create,
        "edit" => PunchOutOperation::Edit,
        "inspect" => PunchOutOperation::Inspect,
        "source" => PunchOutOperation::Source,
        other => {
            return Err(Rejection::bad_request(format!(
                "operation on PunchOutSetupRequest must be create, edit, inspect or source, not '{other}'"
            )));
        }
    };
    let buyer_cookie = child_text(el, "BuyerCookie")?;
    let url_of = |name: &str| -> Result<Option<String>> {
        el.child(name).map(|w| child_text(w, "URL")).transpose()
    };
    Ok(PunchOutSetupRequest {
        operation,
        buyer_cookie,
        extrinsics: read_extrinsics(el)?,
        browser_form_post: url_of("BrowserFormPost")?,
        contacts: el
            .children_named("Contact")
            .map(read_contact)
            .collect::<Result<_>>()?,
        supplier_setup: url_of("SupplierSetup")?,
        ship_to: el.child("ShipTo").map(read_address).transpose()?,
        selected_item: el
            .child("SelectedItem")
            .map(|s| read_item_id(s, &"SelectedItem"))
            .transpose()?,
        items: read_lines(el, "ItemOut", read_item_out)?,
    })
}

fn read_charge(el: Node<'_, '_>, name: &str) -> Result<Option<Charge>> {
    let Some(c) = el.child(name) else {
        return Ok(None);
    };
    let Some(m) = c.child("Money") else {
        return Err(Rejection::bad_request(format!(
            "missing element Money in {name}"
        )));
    };
    if m.trimmed_text().is_empty() {
        return Ok(None);
    }
    Ok(Some(Charge {
        money: money(m, name)?,
        description: c
            .child("Description")
            .map(read_description)
            .unwrap_or_else(|| Description::new("en", "")),
    }))
}

fn read_punchout_order_message(el: Node<'_, '_>) -> Result<PunchOutOrderMessage> {
    let header = child(el, "PunchOutOrderMessageHeader")?;
    check_attrs(header, &["operationAllowed", "quoteStatus"])?;
    let operation_allowed = match attr(header, "operationAllowed")?.trim() {
        "create" => OperationAllowed::Create,
        "inspect" => OperationAllowed::Inspect,
        "edit" => OperationAllowed::Edit,
        other => {
            return Err(Rejection::bad_request(format!(
                "operationAllowed must be create, inspect or edit, not '{other}'"
            )));
        }
    };
    Ok(PunchOutOrderMessage {
        buyer_cookie: child_text(el, "BuyerCookie")?,
        header: PunchOutOrderMessageHeader {
            operation_allowed,
            total: money_in(header, "Total")?,
            ship_to: header.child("ShipTo").map(read_address).transpose()?,
            shipping: read_charge(header, "Shipping")?,
            tax: read_charge(header, "Tax")?,
        },
        items: read_lines(el, "ItemIn", read_item_in)?,
    })
}

fn read_order_request(el: Node<'_, '_>) -> Result<OrderRequest> {
    let h = child(el, "OrderRequestHeader")?;
    let order_type = match h.attr("type").map(str::trim) {
        None | Some("new") => OrderType::New,
        Some("update") => OrderType::Update,
        Some("delete") => OrderType::Delete,
        Some(other) => {
            return Err(Rejection::bad_request(format!(
                "type on OrderRequestHeader must be new, update or delete, not '{other}'"
            )));
        }
    };
    let order_id = non_empty(
        attr(h, "orderID")?.trim().to_string(),
        "orderID",
        "OrderRequestHeader",
    )?;
    let items: Vec<ItemOut> = read_lines(el, "ItemOut", read_item_out)?;
    if items.is_empty() {
        return Err(Rejection::bad_request(
            "missing element ItemOut in OrderRequest: an order needs at least one line",
        ));
    }
    Ok(OrderRequest {
        header: OrderRequestHeader {
            order_id,
            order_date: timestamp_attr(h, "orderDate")?,
            order_type,
            order_version: opt_attr(h, "orderVersion"),
            total: money_in(h, "Total")?,
            ship_to: h.child("ShipTo").map(read_address).transpose()?,
            // The DTD requires BillTo; a blank one is the writer's placeholder for none.
            bill_to: h
                .child("BillTo")
                .map(read_address)
                .transpose()?
                .filter(|a| !is_blank_address(a)),
            shipping: read_charge(h, "Shipping")?,
            tax: read_charge(h, "Tax")?,
            contacts: h
                .children_named("Contact")
                .map(read_contact)
                .collect::<Result<_>>()?,
            comments: h
                .children_named("Comments")
                .map(text)
                .filter(|c| !c.is_empty())
                .collect(),
            document_reference: h
                .child("DocumentReference")
                .map(|d| attr(d, "payloadID").map(str::to_string))
                .transpose()?,
            extrinsics: read_extrinsics(h)?,
        },
        items,
    })
}

fn read_confirmation_request(el: Node<'_, '_>) -> Result<ConfirmationRequest> {
    let h = child(el, "ConfirmationHeader")?;
    let reference = child(el, "OrderReference")?;
    Ok(ConfirmationRequest {
        header: ConfirmationHeader {
            confirmation_type: attr(h, "type")?.trim().to_string(),
            operation: h.attr("operation").unwrap_or("new").trim().to_string(),
            confirm_id: opt_attr(h, "confirmID"),
            notice_date: timestamp_attr(h, "noticeDate")?,
        },
        order: ConfirmedOrder {
            order_id: opt_attr(reference, "orderID"),
            order_date: reference
                .attr("orderDate")
                .map(|_| timestamp_attr(reference, "orderDate"))
                .transpose()?,
            document_payload_id: attr(child(reference, "DocumentReference")?, "payloadID")?
                .trim()
                .to_string(),
        },
    })
}

fn read_invoice_detail_request(el: Node<'_, '_>) -> Result<InvoiceDetailRequest> {
    let h = child(el, "InvoiceDetailRequestHeader")?;
    let raw_date = attr(h, "invoiceDate")?;
    let invoice_date = match parse_timestamp(raw_date) {
        Some(t) => InvoiceDate::At(t),
        None => InvoiceDate::Unrecognised(raw_date.to_string()),
    };
    let header = InvoiceDetailRequestHeader {
        invoice_id: non_empty(
            attr(h, "invoiceID")?.trim().to_string(),
            "invoiceID",
            "InvoiceDetailRequestHeader",
        )?,
        purpose: h.attr("purpose").unwrap_or("standard").to_string(),
        operation: h.attr("operation").unwrap_or("new").to_string(),
        invoice_date,
        is_tax_in_line: h
            .child("InvoiceDetailLineIndicator")
            .and_then(|i| i.attr("isTaxInLine"))
            == Some("yes"),
        pay_in_number_of_days: h
            .child("PaymentTerm")
            .map(|p| uint_attr(p, "payInNumberOfDays"))
            .transpose()?
            .flatten(),
        partners: h
            .children_named("InvoicePartner")
            .map(read_invoice_partner)
            .collect::<Result<_>>()?,
        extrinsics: read_extrinsics(h)?,
    };
    let mut orders = Vec::new();
    for order in el.children_named("InvoiceDetailOrder") {
        let info = child(order, "InvoiceDetailOrderInfo")?;
        let reference = info
            .children()
            .find(|c| c.name() == "OrderReference" || c.name() == "MasterAgreementReference")
            .map(|r| -> Result<OrderReference> {
                Ok(OrderReference {
                    kind: r.name().to_string(),
                    order_id: opt_attr(r, "orderID"),
                    document_payload_id: attr(child(r, "DocumentReference")?, "payloadID")?
                        .to_string(),
                })
            })
            .transpose()?
            .ok_or_else(|| {
                Rejection::bad_request("missing element OrderReference in InvoiceDetailOrderInfo")
            })?;
        let mut items = Vec::new();
        for item in order.children_named("InvoiceDetailItem") {
            let line = uint_attr(item, "invoiceLineNumber")?.ok_or_else(|| {
                Rejection::bad_request("missing attribute invoiceLineNumber on InvoiceDetailItem")
            })?;
            let context = line_context("InvoiceDetailItem", Some(line), 0);
            let reference_el = child(item, "InvoiceDetailItemReference")?;
            items.push(InvoiceDetailItem {
                invoice_line_number: line,
                quantity: read_quantity(item, &context)?,
                unit_of_measure: opt_child_text(item, "UnitOfMeasure").unwrap_or_default(),
                unit_price: money_in(item, "UnitPrice")?,
                reference_line_number: uint_attr(reference_el, "lineNumber")?.unwrap_or(line),
                item_id: reference_el
                    .child("ItemID")
                    .map(|_| read_item_id(reference_el, &context))
                    .transpose()?,
                description: reference_el.child("Description").map(read_description),
                subtotal: opt_money_in(item, "SubtotalAmount")?,
                tax: opt_money_in(item, "Tax")?,
            });
        }
        orders.push(InvoiceDetailOrder { reference, items });
    }
    if orders.is_empty() {
        return Err(Rejection::bad_request(
            "missing element InvoiceDetailOrder in InvoiceDetailRequest",
        ));
    }
    let s = child(el, "InvoiceDetailSummary")?;
    if s.child("Tax").is_none() {
        return Err(Rejection::bad_request(
            "missing element Tax in InvoiceDetailSummary",
        ));
    }
    let tax = read_charge(s, "Tax")?;
    let tax_details = match s.child("Tax") {
        Some(t) => t
            .children_named("TaxDetail")
            .map(read_tax_detail)
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let summary = InvoiceDetailSummary {
        subtotal: money_in(s, "SubtotalAmount")?,
        tax,
        tax_details,
        special_handling: opt_money_in(s, "SpecialHandlingAmount")?,
        shipping: opt_money_in(s, "ShippingAmount")?,
        gross: opt_money_in(s, "GrossAmount")?,
        net: opt_money_in(s, "NetAmount")?,
        due: opt_money_in(s, "DueAmount")?,
    };
    Ok(InvoiceDetailRequest {
        header,
        orders,
        summary,
    })
}
