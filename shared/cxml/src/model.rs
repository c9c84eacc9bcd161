//! Typed cXML documents. Field names follow the cXML elements they come from.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::auth::SharedSecret;
use crate::datetime::serde_utc;
use crate::money::Money;

/// A whole cXML document: the envelope and one of Request, Response or Message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cxml {
    pub payload_id: String,
    #[serde(with = "serde_utc")]
    pub timestamp: OffsetDateTime,
    pub version: Option<String>,
    pub lang: Option<String>,
    /// Present on Request and Message documents; a Response has none.
    pub header: Option<Header>,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub from: Vec<Credential>,
    pub to: Vec<Credential>,
    pub sender: Vec<Credential>,
    pub user_agent: String,
}

impl Header {
    /// The first Sender credential, the one that carries the shared secret.
    pub fn sender_credential(&self) -> Option<&Credential> {
        self.sender.first()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub domain: String,
    pub identity: String,
    #[serde(skip)]
    pub shared_secret: Option<SharedSecret>,
}

impl Credential {
    pub fn new(domain: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            identity: identity.into(),
            shared_secret: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentMode {
    #[default]
    Production,
    Test,
}

impl DeploymentMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Test => "test",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
// One document is in memory at a time; boxing the large variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Body {
    Request(Request),
    Response(Response),
    Message(Message),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub deployment_mode: DeploymentMode,
    pub id: Option<String>,
    pub payload: RequestPayload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// One document is in memory at a time; boxing the large variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum RequestPayload {
    PunchOutSetup(PunchOutSetupRequest),
    Order(OrderRequest),
    Profile(ProfileRequest),
    InvoiceDetail(InvoiceDetailRequest),
    Confirmation(ConfirmationRequest),
    /// A valid cXML request this crate does not model (StatusUpdateRequest, ShipNoticeRequest ...).
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: Option<String>,
    pub status: Status,
    pub payload: Option<ResponsePayload>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// One document is in memory at a time; boxing the large variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum ResponsePayload {
    PunchOutSetup(PunchOutSetupResponse),
    Profile(ProfileResponse),
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub deployment_mode: DeploymentMode,
    pub in_reply_to: Option<String>,
    pub id: Option<String>,
    pub status: Option<Status>,
    pub payload: MessagePayload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// One document is in memory at a time; boxing the large variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum MessagePayload {
    PunchOutOrder(PunchOutOrderMessage),
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub code: u16,
    pub text: String,
    /// The element's content: a longer explanation, if any.
    pub message: String,
    pub lang: Option<String>,
}

impl Status {
    pub fn new(code: u16, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
            message: String::new(),
            lang: None,
        }
    }

    pub fn ok() -> Self {
        Self::new(200, "OK")
    }

    /// 2xx codes are success; cXML carries failures inside HTTP 200 as often as not.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

/// Text with its `xml:lang`, as in Name and Description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    pub lang: String,
    pub short_name: Option<String>,
    pub text: String,
}

impl Description {
    pub fn new(lang: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            lang: lang.into(),
            short_name: None,
            text: text.into(),
        }
    }

    /// The most useful one-line label: the text, or the short name when there is no text.
    pub fn label(&self) -> &str {
        if self.text.is_empty() {
            self.short_name.as_deref().unwrap_or("")
        } else {
            &self.text
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extrinsic {
    pub name: String,
    pub value: String,
}

impl Extrinsic {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Finds an extrinsic by name, ignoring case (senders vary `UserEmail` / `userEmail`).
pub fn extrinsic<'a>(extrinsics: &'a [Extrinsic], name: &str) -> Option<&'a str> {
    extrinsics
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .map(|e| e.value.as_str())
        .filter(|v| !v.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub role: Option<String>,
    pub address_id: Option<String>,
    pub name: String,
    pub name_lang: String,
    pub emails: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub address_id: Option<String>,
    pub iso_country_code: Option<String>,
    pub name: String,
    pub name_lang: String,
    pub postal: Option<PostalAddress>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub name: Option<String>,
    pub deliver_to: Vec<String>,
    pub street: Vec<String>,
    pub city: String,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub country_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemId {
    pub supplier_part_id: String,
    pub supplier_part_auxiliary_id: Option<String>,
    pub buyer_part_id: Option<String>,
}

impl ItemId {
    pub fn new(supplier_part_id: impl Into<String>) -> Self {
        Self {
            supplier_part_id: supplier_part_id.into(),
            supplier_part_auxiliary_id: None,
            buyer_part_id: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub domain: String,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemDetail {
    pub unit_price: Money,
    pub descriptions: Vec<Description>,
    pub unit_of_measure: String,
    pub classifications: Vec<Classification>,
    pub manufacturer_part_id: Option<String>,
    pub manufacturer_name: Option<String>,
    pub lead_time: Option<String>,
    pub extrinsics: Vec<Extrinsic>,
}

impl ItemDetail {
    /// The UNSPSC code, if the item is classified in that domain.
    pub fn unspsc(&self) -> Option<&str> {
        self.classifications
            .iter()
            .find(|c| c.domain.eq_ignore_ascii_case("UNSPSC"))
            .map(|c| c.code.as_str())
    }

    pub fn description(&self) -> &str {
        self.descriptions
            .first()
            .map(Description::label)
            .unwrap_or("")
    }
}

/// A line the buyer sends to the supplier (purchase order or an earlier cart on edit/inspect).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemOut {
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    pub line_number: Option<u32>,
    pub requested_delivery_date: Option<String>,
    pub item_id: ItemId,
    pub detail: Option<ItemDetail>,
    pub comments: Vec<String>,
}

/// A line the supplier returns in the cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemIn {
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    pub line_number: Option<u32>,
    pub item_id: ItemId,
    pub detail: ItemDetail,
    pub extrinsics: Vec<Extrinsic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PunchOutOperation {
    Create,
    Edit,
    Inspect,
    Source,
}

impl PunchOutOperation {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Edit => "edit",
            Self::Inspect => "inspect",
            Self::Source => "source",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PunchOutSetupRequest {
    pub operation: PunchOutOperation,
    pub buyer_cookie: String,
    pub extrinsics: Vec<Extrinsic>,
    pub browser_form_post: Option<String>,
    pub contacts: Vec<Contact>,
    pub supplier_setup: Option<String>,
    pub ship_to: Option<Address>,
    pub selected_item: Option<ItemId>,
    pub items: Vec<ItemOut>,
}

impl PunchOutSetupRequest {
    /// The requester's email: the endUser Contact, then Coupa/Ariba's `UserEmail` extrinsic.
    pub fn requester_email(&self) -> Option<&str> {
        self.requester_emails().next()
    }

    /// Every non-empty address the request gives for the requester, in that order of
    /// preference: for a caller that must skip the unusable ones.
    pub fn requester_emails(&self) -> impl Iterator<Item = &str> {
        self.contacts
            .iter()
            .flat_map(|c| c.emails.iter())
            .map(String::as_str)
            .chain(extrinsic(&self.extrinsics, "UserEmail"))
            .filter(|e| !e.is_empty())
    }

    /// The requester's name: FirstName + LastName extrinsics, then the Contact name.
    pub fn requester_name(&self) -> Option<String> {
        let first = extrinsic(&self.extrinsics, "FirstName");
        let last = extrinsic(&self.extrinsics, "LastName");
        match (first, last) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.to_string()),
            (None, None) => self
                .contacts
                .first()
                .map(|c| c.name.clone())
                .filter(|n| !n.is_empty()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PunchOutSetupResponse {
    pub start_page_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProfileRequest {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileResponse {
    #[serde(with = "serde_utc")]
    pub effective_date: OffsetDateTime,
    pub options: Vec<ProfileOption>,
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileOption {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub request_name: String,
    pub url: String,
    pub options: Vec<ProfileOption>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationAllowed {
    Create,
    Inspect,
    Edit,
}

impl OperationAllowed {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Inspect => "inspect",
            Self::Edit => "edit",
        }
    }
}

/// An amount with the description cXML requires beside it (Shipping, Tax).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub money: Money,
    pub description: Description,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PunchOutOrderMessageHeader {
    pub operation_allowed: OperationAllowed,
    pub total: Money,
    pub ship_to: Option<Address>,
    pub shipping: Option<Charge>,
    pub tax: Option<Charge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PunchOutOrderMessage {
    pub buyer_cookie: String,
    pub header: PunchOutOrderMessageHeader,
    pub items: Vec<ItemIn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderType {
    New,
    Update,
    Delete,
}

impl OrderType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequestHeader {
    pub order_id: String,
    #[serde(with = "serde_utc")]
    pub order_date: OffsetDateTime,
    pub order_type: OrderType,
    pub order_version: Option<String>,
    pub total: Money,
    pub ship_to: Option<Address>,
    pub bill_to: Option<Address>,
    pub shipping: Option<Charge>,
    pub tax: Option<Charge>,
    pub contacts: Vec<Contact>,
    pub comments: Vec<String>,
    /// For update and delete: the payloadID of the order being changed.
    pub document_reference: Option<String>,
    pub extrinsics: Vec<Extrinsic>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub header: OrderRequestHeader,
    pub items: Vec<ItemOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDetailRequestHeader {
    pub invoice_id: String,
    pub purpose: String,
    pub operation: String,
    /// Parsed when it is a timestamp; kept as written otherwise (some sample senders
    /// put placeholders here).
    pub invoice_date: InvoiceDate,
    pub is_tax_in_line: bool,
    pub pay_in_number_of_days: Option<u32>,
    /// The parties invoicing (InvoicePartner), e.g. the supplier's `remitTo` address.
    #[serde(default)]
    pub partners: Vec<InvoicePartner>,
    /// Header extrinsics, written last in the header (Coupa's `PaymentTermCode`).
    #[serde(default)]
    pub extrinsics: Vec<Extrinsic>,
}

/// One InvoicePartner: a Contact (role, addressID, name, postal address) and the ids that go
/// with it (IdReference, e.g. Coupa's `taxPrefix` and `taxNumber`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePartner {
    pub role: String,
    pub address_id: Option<String>,
    pub name: String,
    pub name_lang: String,
    pub postal: Option<PostalAddress>,
    pub id_references: Vec<IdReference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdReference {
    pub domain: String,
    pub identifier: String,
}

/// One tax of an invoice (TaxDetail in the summary's Tax): its category and rate, which the
/// buyer maps to a tax code, the amounts, and whether it is zero-rated or exempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxDetail {
    pub category: String,
    pub percentage_rate: Option<Decimal>,
    /// `zeroRated` or `exempt` (the DTD's exemptDetail).
    pub exempt_detail: Option<String>,
    pub taxable: Option<Money>,
    pub tax: Money,
    pub description: Option<Description>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InvoiceDate {
    #[serde(with = "serde_utc")]
    At(OffsetDateTime),
    Unrecognised(String),
}

/// A supplier's confirmation of a purchase order (Fulfill.dtd): `type="accept"` accepts the
/// whole order as the referenced OrderRequest describes it, so no items need to follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationRequest {
    pub header: ConfirmationHeader,
    pub order: ConfirmedOrder,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationHeader {
    /// `accept`, `reject`, `detail`, ...
    pub confirmation_type: String,
    /// `new`, or `update` of an earlier confirmation.
    pub operation: String,
    pub confirm_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub notice_date: time::OffsetDateTime,
}

/// The OrderRequest a confirmation answers: its orderID and orderDate copied from the order's
/// header, and its payloadID (DocumentReference, required by the DTD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedOrder {
    pub order_id: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub order_date: Option<time::OffsetDateTime>,
    pub document_payload_id: String,
}

/// What an invoice line is billed against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReference {
    /// `OrderReference` or `MasterAgreementReference`.
    pub kind: String,
    pub order_id: Option<String>,
    pub document_payload_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDetailOrder {
    pub reference: OrderReference,
    pub items: Vec<InvoiceDetailItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDetailItem {
    pub invoice_line_number: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    pub unit_of_measure: String,
    pub unit_price: Money,
    pub reference_line_number: u32,
    /// The PO line's part (InvoiceDetailItemReference/ItemID), as the order named it.
    #[serde(default)]
    pub item_id: Option<ItemId>,
    pub description: Option<Description>,
    pub subtotal: Option<Money>,
    pub tax: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDetailSummary {
    pub subtotal: Money,
    /// Optional only because real senders leave `<Money/>` empty here (the tax is then in
    /// the TaxDetails); we always write the element.
    pub tax: Option<Charge>,
    /// The taxes that make up `tax` (TaxDetail inside the summary's Tax).
    #[serde(default)]
    pub tax_details: Vec<TaxDetail>,
    pub special_handling: Option<Money>,
    pub shipping: Option<Money>,
    pub gross: Option<Money>,
    /// Optional only because real senders leave `<Money/>` empty here; we always write it.
    pub net: Option<Money>,
    pub due: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDetailRequest {
    pub header: InvoiceDetailRequestHeader,
    pub orders: Vec<InvoiceDetailOrder>,
    pub summary: InvoiceDetailSummary,
}

impl Cxml {
    /// The message type, as the element inside Request/Response/Message is named.
    pub fn message_type(&self) -> &str {
        match &self.body {
            Body::Request(r) => match &r.payload {
                RequestPayload::PunchOutSetup(_) => "PunchOutSetupRequest",
                RequestPayload::Order(_) => "OrderRequest",
                RequestPayload::Profile(_) => "ProfileRequest",
                RequestPayload::InvoiceDetail(_) => "InvoiceDetailRequest",
                RequestPayload::Confirmation(_) => "ConfirmationRequest",
                RequestPayload::Other(name) => name,
            },
            Body::Response(r) => match &r.payload {
                Some(ResponsePayload::PunchOutSetup(_)) => "PunchOutSetupResponse",
                Some(ResponsePayload::Profile(_)) => "ProfileResponse",
                Some(ResponsePayload::Other(name)) => name,
                None => "Response",
            },
            Body::Message(m) => match &m.payload {
                MessagePayload::PunchOutOrder(_) => "PunchOutOrderMessage",
                MessagePayload::Other(name) => name,
            },
        }
    }

    /// The deployment mode of a Request or Message (Responses carry none).
    pub fn deployment_mode(&self) -> DeploymentMode {
        match &self.body {
            Body::Request(r) => r.deployment_mode,
            Body::Message(m) => m.deployment_mode,
            Body::Response(_) => DeploymentMode::Production,
        }
    }
}
