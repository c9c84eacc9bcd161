//! Writing documents that validate against the cXML 1.2.069 DTDs: elements in DTD order,
//! required children always present, timestamps in UTC with the offset written out.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::datetime::format_timestamp;
use crate::model::*;
use crate::money::Money;

/// The cXML version this crate writes and validates against.
pub const CXML_VERSION: &str = "1.2.069";

/// Which DTD a document is declared (and validated) against.
pub fn dtd_for(doc: &Cxml) -> &'static str {
    match &doc.body {
        Body::Request(Request {
            payload: RequestPayload::InvoiceDetail(_),
            ..
        }) => "InvoiceDetail.dtd",
        Body::Request(Request {
            payload: RequestPayload::Confirmation(_),
            ..
        }) => "Fulfill.dtd",
        _ => "cXML.dtd",
    }
}

/// Serializes a document with its XML declaration and DOCTYPE.
pub fn to_xml(doc: &Cxml) -> String {
    let mut w = XmlOut::new();
    w.cxml(doc);
    w.finish()
}

struct XmlOut {
    writer: Writer<Vec<u8>>,
}

type Attrs<'a> = &'a [(&'a str, &'a str)];

impl XmlOut {
    fn new() -> Self {
        Self {
            writer: Writer::new_with_indent(Vec::with_capacity(4096), b' ', 2),
        }
    }

    fn finish(self) -> String {
        // Only &str pieces are ever written, so the buffer is UTF-8.
        String::from_utf8(self.writer.into_inner()).unwrap_or_default()
    }

    fn event(&mut self, event: Event<'_>) {
        // Writing into a Vec cannot fail.
        let _ = self.writer.write_event(event);
    }

    fn open(&mut self, name: &str, attrs: Attrs<'_>) {
        self.event(Event::Start(
            BytesStart::new(name).with_attributes(attrs.iter().copied()),
        ));
    }

    fn close(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    fn empty(&mut self, name: &str, attrs: Attrs<'_>) {
        self.event(Event::Empty(
            BytesStart::new(name).with_attributes(attrs.iter().copied()),
        ));
    }

    fn leaf(&mut self, name: &str, attrs: Attrs<'_>, text: &str) {
        if text.is_empty() {
            self.empty(name, attrs);
            return;
        }
        self.open(name, attrs);
        self.event(Event::Text(BytesText::new(text)));
        self.close(name);
    }

    fn opt_leaf(&mut self, name: &str, text: &Option<String>) {
        if let Some(text) = text {
            self.leaf(name, &[], text);
        }
    }

    fn cxml(&mut self, doc: &Cxml) {
        self.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let doctype = format!(
            "cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/{CXML_VERSION}/{}\"",
            dtd_for(doc)
        );
        self.event(Event::DocType(BytesText::from_escaped(doctype)));
        let timestamp = format_timestamp(doc.timestamp);
        let mut attrs = vec![
            ("payloadID", doc.payload_id.as_str()),
            ("timestamp", timestamp.as_str()),
        ];
        // Written as the document says: a document read without a version is written without
        // one (the DTD then defaults it to the DOCTYPE's version). The builders set it.
        if let Some(version) = &doc.version {
            attrs.push(("version", version));
        }
        if let Some(lang) = &doc.lang {
            attrs.push(("xml:lang", lang));
        }
        self.open("cXML", &attrs);
        if let Some(header) = &doc.header {
            self.header(header);
        }
        match &doc.body {
            Body::Request(r) => self.request(r),
            Body::Response(r) => self.response(r),
            Body::Message(m) => self.message(m),
        }
        self.close("cXML");
    }

    fn credentials(&mut self, wrapper: &str, credentials: &[Credential], user_agent: Option<&str>) {
        self.open(wrapper, &[]);
        for c in credentials {
            self.open("Credential", &[("domain", &c.domain)]);
            self.leaf("Identity", &[], &c.identity);
            if let Some(secret) = &c.shared_secret {
                self.leaf("SharedSecret", &[], secret.expose());
            }
            self.close("Credential");
        }
        if let Some(agent) = user_agent {
            self.leaf("UserAgent", &[], agent);
        }
        self.close(wrapper);
    }

    fn header(&mut self, h: &Header) {
        self.open("Header", &[]);
        self.credentials("From", &h.from, None);
        self.credentials("To", &h.to, None);
        self.credentials("Sender", &h.sender, Some(&h.user_agent));
        self.close("Header");
    }

    fn request(&mut self, r: &Request) {
        let mut attrs = vec![("deploymentMode", r.deployment_mode.as_str())];
        if let Some(id) = &r.id {
            attrs.push(("Id", id));
        }
        self.open("Request", &attrs);
        match &r.payload {
            RequestPayload::PunchOutSetup(p) => self.punchout_setup_request(p),
            RequestPayload::Order(o) => self.order_request(o),
            RequestPayload::Profile(_) => self.empty("ProfileRequest", &[]),
            RequestPayload::InvoiceDetail(i) => self.invoice_detail_request(i),
            RequestPayload::Confirmation(c) => self.confirmation_request(c),
            // Unmodelled requests have no content we kept; write them empty.
            RequestPayload::Other(name) => self.empty(name, &[]),
        }
        self.close("Request");
    }

    fn status(&mut self, s: &Status) {
        let code = s.code.to_string();
        let mut attrs = vec![("code", code.as_str()), ("text", s.text.as_str())];
        if let Some(lang) = &s.lang {
            attrs.push(("xml:lang", lang));
        }
        self.leaf("Status", &attrs, &s.message);
    }

    fn response(&mut self, r: &Response) {
        let attrs: Vec<(&str, &str)> = r.id.iter().map(|id| ("Id", id.as_str())).collect();
        self.open("Response", &attrs);
        self.status(&r.status);
        match &r.payload {
            None => {}
            Some(ResponsePayload::PunchOutSetup(p)) => {
                self.open("PunchOutSetupResponse", &[]);
                self.open("StartPage", &[]);
                self.leaf("URL", &[], &p.start_page_url);
                self.close("StartPage");
                self.close("PunchOutSetupResponse");
            }
            Some(ResponsePayload::Profile(p)) => self.profile_response(p),
            Some(ResponsePayload::Other(name)) => self.empty(name, &[]),
        }
        self.close("Response");
    }

    fn profile_options(&mut self, options: &[ProfileOption]) {
        for o in options {
            self.leaf("Option", &[("name", &o.name)], &o.value);
        }
    }

    fn profile_response(&mut self, p: &ProfileResponse) {
        let effective = format_timestamp(p.effective_date);
        self.open("ProfileResponse", &[("effectiveDate", &effective)]);
        self.profile_options(&p.options);
        for t in &p.transactions {
            self.open("Transaction", &[("requestName", &t.request_name)]);
            self.leaf("URL", &[], &t.url);
            self.profile_options(&t.options);
            self.close("Transaction");
        }
        self.close("ProfileResponse");
    }

    fn message(&mut self, m: &Message) {
        let mut attrs = vec![("deploymentMode", m.deployment_mode.as_str())];
        if let Some(reply) = &m.in_reply_to {
            attrs.push(("inReplyTo", reply));
        }
        if let Some(id) = &m.id {
            attrs.push(("Id", id));
        }
        self.open("Message", &attrs);
        if let Some(status) = &m.status {
            self.status(status);
        }
        match &m.payload {
            MessagePayload::PunchOutOrder(p) => self.punchout_order_message(p),
            MessagePayload::Other(name) => self.empty(name, &[]),
        }
        self.close("Message");
    }

    fn money(&mut self, m: &Money) {
        self.leaf(
            "Money",
            &[("currency", m.currency.code())],
            &m.amount_text(),
        );
    }

    fn money_in(&mut self, wrapper: &str, m: &Money) {
        self.open(wrapper, &[]);
        self.money(m);
        self.close(wrapper);
    }

    fn description(&mut self, d: &Description) {
        let attrs = [("xml:lang", d.lang.as_str())];
        match &d.short_name {
            None => self.leaf("Description", &attrs, &d.text),
            Some(short) => {
                self.open("Description", &attrs);
                self.leaf("ShortName", &[], short);
                if !d.text.is_empty() {
                    self.event(Event::Text(BytesText::new(&d.text)));
                }
                self.close("Description");
            }
        }
    }

    fn charge(&mut self, wrapper: &str, c: &Charge) {
        self.open(wrapper, &[]);
        self.money(&c.money);
        self.description(&c.description);
        self.close(wrapper);
    }

    fn extrinsics(&mut self, extrinsics: &[Extrinsic]) {
        for e in extrinsics {
            self.leaf("Extrinsic", &[("name", &e.name)], &e.value);
        }
    }

    fn contact(&mut self, c: &Contact) {
        let mut attrs = Vec::new();
        if let Some(role) = &c.role {
            attrs.push(("role", role.as_str()));
        }
        if let Some(id) = &c.address_id {
            attrs.push(("addressID", id.as_str()));
        }
        self.open("Contact", &attrs);
        self.leaf("Name", &[("xml:lang", &c.name_lang)], &c.name);
        for email in &c.emails {
            self.leaf("Email", &[], email);
        }
        self.close("Contact");
    }

    fn address(&mut self, wrapper: &str, a: &Address) {
        self.open(wrapper, &[]);
        let mut attrs = Vec::new();
        if let Some(code) = &a.iso_country_code {
            attrs.push(("isoCountryCode", code.as_str()));
        }
        if let Some(id) = &a.address_id {
            attrs.push(("addressID", id.as_str()));
        }
        self.open("Address", &attrs);
        self.leaf("Name", &[("xml:lang", &a.name_lang)], &a.name);
        if let Some(p) = &a.postal {
            self.postal_address(p);
        }
        self.opt_leaf("Email", &a.email);
        self.close("Address");
        self.close(wrapper);
    }

    fn postal_address(&mut self, p: &PostalAddress) {
        let attrs: Vec<(&str, &str)> = p.name.iter().map(|n| ("name", n.as_str())).collect();
        self.open("PostalAddress", &attrs);
        for d in &p.deliver_to {
            self.leaf("DeliverTo", &[], d);
        }
        // The DTD needs at least one Street.
        if p.street.is_empty() {
            self.empty("Street", &[]);
        }
        for s in &p.street {
            self.leaf("Street", &[], s);
        }
        self.leaf("City", &[], &p.city);
        self.opt_leaf("State", &p.state);
        self.opt_leaf("PostalCode", &p.postal_code);
        self.leaf(
            "Country",
            &[("isoCountryCode", &p.country_code)],
            &p.country,
        );
        self.close("PostalAddress");
    }

    fn item_id(&mut self, id: &ItemId) {
        self.open("ItemID", &[]);
        self.leaf("SupplierPartID", &[], &id.supplier_part_id);
        self.opt_leaf("SupplierPartAuxiliaryID", &id.supplier_part_auxiliary_id);
        self.opt_leaf("BuyerPartID", &id.buyer_part_id);
        self.close("ItemID");
    }

    fn item_detail(&mut self, d: &ItemDetail) {
        self.open("ItemDetail", &[]);
        self.money_in("UnitPrice", &d.unit_price);
        // Description+ and Classification+ are required by the DTD.
        if d.descriptions.is_empty() {
            self.description(&Description::new("en", ""));
        }
        for desc in &d.descriptions {
            self.description(desc);
        }
        self.leaf("UnitOfMeasure", &[], &d.unit_of_measure);
        if d.classifications.is_empty() {
            self.empty("Classification", &[("domain", "UNSPSC")]);
        }
        for c in &d.classifications {
            self.leaf("Classification", &[("domain", &c.domain)], &c.code);
        }
        self.opt_leaf("ManufacturerPartID", &d.manufacturer_part_id);
        self.opt_leaf("ManufacturerName", &d.manufacturer_name);
        self.opt_leaf("LeadTime", &d.lead_time);
        self.extrinsics(&d.extrinsics);
        self.close("ItemDetail");
    }

    fn item_out(&mut self, item: &ItemOut) {
        let quantity = item.quantity.to_string();
        let line = item.line_number.map(|n| n.to_string());
        let mut attrs = vec![("quantity", quantity.as_str())];
        if let Some(line) = &line {
            attrs.push(("lineNumber", line));
        }
        if let Some(date) = &item.requested_delivery_date {
            attrs.push(("requestedDeliveryDate", date));
        }
        self.open("ItemOut", &attrs);
        self.item_id(&item.item_id);
        if let Some(detail) = &item.detail {
            self.item_detail(detail);
        }
        for c in &item.comments {
            self.leaf("Comments", &[], c);
        }
        self.close("ItemOut");
    }

    fn item_in(&mut self, item: &ItemIn) {
        let quantity = item.quantity.to_string();
        let line = item.line_number.map(|n| n.to_string());
        let mut attrs = vec![("quantity", quantity.as_str())];
        if let Some(line) = &line {
            attrs.push(("lineNumber", line));
        }
        self.open("ItemIn", &attrs);
        self.item_id(&item.item_id);
        self.item_detail(&item.detail);
        self.extrinsics(&item.extrinsics);
        self.close("ItemIn");
    }

    fn punchout_setup_request(&mut self, p: &PunchOutSetupRequest) {
        self.open(
            "PunchOutSetupRequest",
            &[("operation", p.operation.as_str())],
        );
        self.leaf("BuyerCookie", &[], &p.buyer_cookie);
        self.extrinsics(&p.extrinsics);
        if let Some(url) = &p.browser_form_post {
            self.open("BrowserFormPost", &[]);
            self.leaf("URL", &[], url);
            self.close("BrowserFormPost");
        }
        for c in &p.contacts {
            self.contact(c);
        }
        if let Some(url) = &p.supplier_setup {
            self.open("SupplierSetup", &[]);
            self.leaf("URL", &[], url);
            self.close("SupplierSetup");
        }
        if let Some(ship_to) = &p.ship_to {
            self.address("ShipTo", ship_to);
        }
        if let Some(selected) = &p.selected_item {
            self.open("SelectedItem", &[]);
            self.item_id(selected);
            self.close("SelectedItem");
        }
        for item in &p.items {
            self.item_out(item);
        }
        self.close("PunchOutSetupRequest");
    }

    fn punchout_order_message(&mut self, p: &PunchOutOrderMessage) {
        self.open("PunchOutOrderMessage", &[]);
        self.leaf("BuyerCookie", &[], &p.buyer_cookie);
        let h = &p.header;
        self.open(
            "PunchOutOrderMessageHeader",
            &[("operationAllowed", h.operation_allowed.as_str())],
        );
        self.money_in("Total", &h.total);
        if let Some(ship_to) = &h.ship_to {
            self.address("ShipTo", ship_to);
        }
        if let Some(shipping) = &h.shipping {
            self.charge("Shipping", shipping);
        }
        if let Some(tax) = &h.tax {
            self.charge("Tax", tax);
        }
        self.close("PunchOutOrderMessageHeader");
        for item in &p.items {
            self.item_in(item);
        }
        self.close("PunchOutOrderMessage");
    }

    fn order_request(&mut self, o: &OrderRequest) {
        let h = &o.header;
        let date = format_timestamp(h.order_date);
        let mut attrs = vec![
            ("orderID", h.order_id.as_str()),
            ("orderDate", date.as_str()),
            ("type", h.order_type.as_str()),
        ];
        if let Some(v) = &h.order_version {
            attrs.push(("orderVersion", v));
        }
        self.open("OrderRequest", &[]);
        self.open("OrderRequestHeader", &attrs);
        self.money_in("Total", &h.total);
        if let Some(a) = &h.ship_to {
            self.address("ShipTo", a);
        }
        match &h.bill_to {
            Some(a) => self.address("BillTo", a),
            // The DTD requires BillTo; a blank Address reads back as none.
            None => {
                self.open("BillTo", &[]);
                self.open("Address", &[]);
                self.empty("Name", &[("xml:lang", "en")]);
                self.close("Address");
                self.close("BillTo");
            }
        }
        if let Some(c) = &h.shipping {
            self.charge("Shipping", c);
        }
        if let Some(c) = &h.tax {
            self.charge("Tax", c);
        }
        for c in &h.contacts {
            self.contact(c);
        }
        for c in &h.comments {
            self.leaf("Comments", &[], c);
        }
        if let Some(reference) = &h.document_reference {
            self.empty("DocumentReference", &[("payloadID", reference)]);
        }
        self.extrinsics(&h.extrinsics);
        self.close("OrderRequestHeader");
        for item in &o.items {
            self.item_out(item);
        }
        self.close("OrderRequest");
    }

    fn confirmation_request(&mut self, c: &ConfirmationRequest) {
        let h = &c.header;
        let notice = format_timestamp(h.notice_date);
        let mut attrs = vec![
            ("type", h.confirmation_type.as_str()),
            ("noticeDate", notice.as_str()),
            ("operation", h.operation.as_str()),
        ];
        if let Some(id) = &h.confirm_id {
            attrs.push(("confirmID", id.as_str()));
        }
        self.open("ConfirmationRequest", &[]);
        self.empty("ConfirmationHeader", &attrs);
        let order_date = c.order.order_date.map(format_timestamp);
        let mut reference = Vec::new();
        if let Some(id) = &c.order.order_id {
            reference.push(("orderID", id.as_str()));
        }
        if let Some(date) = &order_date {
            reference.push(("orderDate", date.as_str()));
        }
        self.open("OrderReference", &reference);
        self.empty(
            "DocumentReference",
            &[("payloadID", c.order.document_payload_id.as_str())],
        );
        self.close("OrderReference");
        self.close("ConfirmationRequest");
    }

    fn invoice_detail_request(&mut self, i: &InvoiceDetailRequest) {
        let h = &i.header;
        let date = match &h.invoice_date {
            InvoiceDate::At(t) => format_timestamp(*t),
            InvoiceDate::Unrecognised(raw) => raw.clone(),
        };
        self.open("InvoiceDetailRequest", &[]);
        self.open(
            "InvoiceDetailRequestHeader",
            &[
                ("invoiceID", h.invoice_id.as_str()),
                ("purpose", h.purpose.as_str()),
                ("operation", h.operation.as_str()),
                ("invoiceDate", date.as_str()),
            ],
        );
        self.empty("InvoiceDetailHeaderIndicator", &[]);
        if h.is_tax_in_line {
            self.empty("InvoiceDetailLineIndicator", &[("isTaxInLine", "yes")]);
        } else {
            self.empty("InvoiceDetailLineIndicator", &[]);
        }
        // InvoiceDetail.dtd: InvoicePartner* right after the indicators; PaymentTerm* further
        // on; Extrinsic* last, still inside the header (Compass "Sample cXML Invoice with
        // Payment Terms": "PaymentTerm must appear before </InvoiceDetailRequestHeader>").
        for partner in &h.partners {
            self.invoice_partner(partner);
        }
        if let Some(days) = h.pay_in_number_of_days {
            self.empty("PaymentTerm", &[("payInNumberOfDays", &days.to_string())]);
        }
        self.extrinsics(&h.extrinsics);
        self.close("InvoiceDetailRequestHeader");
        for order in &i.orders {
            self.open("InvoiceDetailOrder", &[]);
            self.open("InvoiceDetailOrderInfo", &[]);
            let r = &order.reference;
            let attrs: Vec<(&str, &str)> = r
                .order_id
                .iter()
                .map(|id| ("orderID", id.as_str()))
                .collect();
            let kind = if r.kind == "MasterAgreementReference" {
                "MasterAgreementReference"
            } else {
                "OrderReference"
            };
            self.open(kind, &attrs);
            self.empty(
                "DocumentReference",
                &[("payloadID", &r.document_payload_id)],
            );
            self.close(kind);
            self.close("InvoiceDetailOrderInfo");
            for item in &order.items {
                self.invoice_item(item);
            }
            self.close("InvoiceDetailOrder");
        }
        let s = &i.summary;
        self.open("InvoiceDetailSummary", &[]);
        self.money_in("SubtotalAmount", &s.subtotal);
        // Tax (Money, TaxAdjustmentAmount?, Description, TaxDetail*, ...).
        self.open("Tax", &[]);
        match &s.tax {
            Some(c) => {
                self.money(&c.money);
                self.description(&c.description);
            }
            None => {
                self.empty("Money", &[("currency", s.subtotal.currency.code())]);
                self.description(&Description::new("en", ""));
            }
        }
        for detail in &s.tax_details {
            self.tax_detail(detail);
        }
        self.close("Tax");
        if let Some(m) = &s.special_handling {
            self.money_in("SpecialHandlingAmount", m);
        }
        if let Some(m) = &s.shipping {
            self.money_in("ShippingAmount", m);
        }
        if let Some(m) = &s.gross {
            self.money_in("GrossAmount", m);
        }
        match &s.net {
            Some(m) => self.money_in("NetAmount", m),
            None => {
                self.open("NetAmount", &[]);
                self.empty("Money", &[("currency", s.subtotal.currency.code())]);
                self.close("NetAmount");
            }
        }
        if let Some(m) = &s.due {
            self.money_in("DueAmount", m);
        }
        self.close("InvoiceDetailSummary");
        self.close("InvoiceDetailRequest");
    }

    /// InvoicePartner (Contact, IdReference*); Contact (Name, PostalAddress*, ...).
    fn invoice_partner(&mut self, p: &InvoicePartner) {
        self.open("InvoicePartner", &[]);
        let mut attrs = vec![("role", p.role.as_str())];
        if let Some(id) = &p.address_id {
            attrs.push(("addressID", id.as_str()));
        }
        self.open("Contact", &attrs);
        self.leaf("Name", &[("xml:lang", &p.name_lang)], &p.name);
        if let Some(postal) = &p.postal {
            self.postal_address(postal);
        }
        self.close("Contact");
        for r in &p.id_references {
            self.empty(
                "IdReference",
                &[
                    ("identifier", r.identifier.as_str()),
                    ("domain", r.domain.as_str()),
                ],
            );
        }
        self.close("InvoicePartner");
    }

    /// TaxDetail (TaxableAmount?, TaxAmount, TaxLocation?, TaxAdjustmentAmount?,
    /// Description?, ...), category required.
    fn tax_detail(&mut self, t: &TaxDetail) {
        let rate = t.percentage_rate.map(|r| r.normalize().to_string());
        let mut attrs = vec![("purpose", "tax"), ("category", t.category.as_str())];
        if let Some(rate) = &rate {
            attrs.push(("percentageRate", rate.as_str()));
        }
        if let Some(exempt) = &t.exempt_detail {
            attrs.push(("exemptDetail", exempt.as_str()));
        }
        self.open("TaxDetail", &attrs);
        if let Some(m) = &t.taxable {
            self.money_in("TaxableAmount", m);
        }
        self.money_in("TaxAmount", &t.tax);
        if let Some(d) = &t.description {
            self.description(d);
        }
        self.close("TaxDetail");
    }

    fn invoice_item(&mut self, item: &InvoiceDetailItem) {
        let line = item.invoice_line_number.to_string();
        let quantity = item.quantity.to_string();
        self.open(
            "InvoiceDetailItem",
            &[("invoiceLineNumber", &line), ("quantity", &quantity)],
        );
        self.leaf("UnitOfMeasure", &[], &item.unit_of_measure);
        self.money_in("UnitPrice", &item.unit_price);
        let reference = item.reference_line_number.to_string();
        self.open("InvoiceDetailItemReference", &[("lineNumber", &reference)]);
        if let Some(id) = &item.item_id {
            self.item_id(id);
        }
        if let Some(d) = &item.description {
            self.description(d);
        }
        self.close("InvoiceDetailItemReference");
        if let Some(m) = &item.subtotal {
            self.money_in("SubtotalAmount", m);
        }
        if let Some(m) = &item.tax {
            self.charge(
                "Tax",
                &Charge {
                    money: m.clone(),
                    description: Description::new("en", ""),
                },
            );
        }
        self.close("InvoiceDetailItem");
    }
}
