//! A stand-in for a Coupa instance's invoice endpoint (`…/cxml/invoices`): it enforces what
//! Coupa's own pages say Coupa enforces, and answers with Coupa's status codes and texts.
//! Sources (Coupa Compass): "cXML Invoices", "Invoice cXML Transmission Error Codes",
//! "cXML Error Handling" (and its pages "Invalid order/document reference", "Invalid
//! attributes in document. Validation failed: Payment Term Must be present on invoice…",
//! "Unexpected server error"), "Sample cXML Invoice with Payment Terms".

use std::collections::{HashMap, HashSet};

use cxml::{Body, RequestPayload};
use rust_decimal::Decimal;

use crate::procurement_system::PurchaseOrder;

/// Compass "Invoice cXML Transmission Error Codes": 401 "Invalid credentials."
pub const INVALID_CREDENTIALS: &str = "Invalid credentials.";
/// Compass "Invalid order/document reference": unknown PO, or a line not on the PO.
pub const INVALID_ORDER_REFERENCE: &str = "Invalid order/document reference.";
/// Compass "Invalid attributes in document. Validation failed: Payment Term Must be present
/// on invoice …" (417), when the supplier record has no default term.
pub const PAYMENT_TERM_MISSING: &str = "Invalid attributes in document. [Validation failed: Payment Term Must be present on invoiceInvoice header: Payment Term Must be present on invoice]";
/// Compass "Invoice cXML Transmission Error Codes": 417 "Invalid attributes in document."
/// (also for an invoice number already used for this supplier).
pub const INVALID_ATTRIBUTES: &str = "Invalid attributes in document.";
/// Compass "Could not parse cXML document" (406).
pub const NOT_PARSED: &str = "Could not parse cXML document.";

/// Coupa's invoice number limit (Compass "cXML Invoices").
const MAX_INVOICE_NUMBER: usize = 40;

/// One PO line as Coupa sent it.
#[derive(Debug, Clone)]
struct PoLine {
    part: String,
    uom: String,
    quantity: Decimal,
    amount: Decimal,
}

/// The credentials configured on Coupa's supplier record for cXML invoicing.
#[derive(Debug, Clone)]
pub struct InvoiceCredentials {
    /// From: the supplier's invoice domain/identity.
    pub supplier: (String, String),
    /// To: the customer's "cXML Invoice Buyer Domain/Identity".
    pub buyer: (String, String),
    /// Sender SharedSecret.
    pub secret: String,
}

/// What the stand-in knows and has taken.
#[derive(Debug, Default)]
pub struct CoupaInvoices {
    credentials: Option<InvoiceCredentials>,
    orders: HashMap<String, HashMap<u32, PoLine>>,
    numbers: HashSet<String>,
    /// Invoiced so far per (PO, PO line): quantity and amount.
    invoiced: HashMap<(String, u32), (Decimal, Decimal)>,
    /// The invoices accepted, as posted.
    pub accepted: Vec<String>,
}

fn dec(text: &str) -> Decimal {
    text.trim().parse().unwrap_or_default()
}

impl CoupaInvoices {
    pub fn set_credentials(&mut self, credentials: InvoiceCredentials) {
        self.credentials = Some(credentials);
    }

    /// A PO Coupa sent the supplier: invoices must reference it and its lines.
    pub fn add_order(&mut self, po: &PurchaseOrder) {
        let lines = po
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                let quantity = dec(&l.quantity);
                (
                    u32::try_from(n + 1).unwrap_or(u32::MAX),
                    PoLine {
                        part: l.supplier_part_id.clone(),
                        uom: "EA".into(),
                        quantity,
                        amount: quantity * dec(&l.unit_price),
                    },
                )
            })
            .collect();
        self.orders.insert(po.order_id.clone(), lines);
    }

    /// Takes one posted invoice: (HTTP status = cXML status, Coupa's text).
    pub fn receive(&mut self, xml: &str) -> (u16, String) {
        match self.check(xml) {
            Ok(()) => {
                self.accepted.push(xml.to_string());
                (200, "OK".into())
            }
            Err(answer) => answer,
        }
    }

    fn check(&mut self, xml: &str) -> Result<(), (u16, String)> {
        let refuse = |code: u16, text: &str| (code, text.to_string());
        let doc = cxml::parse(xml.as_bytes()).map_err(|_| refuse(406, NOT_PARSED))?;
        let tree = cxml::dom::parse_tree(xml).map_err(|_| refuse(406, NOT_PARSED))?;
        // Credentials: From, To and the Sender's SharedSecret as on the supplier record.
        if let Some(expected) = &self.credentials {
            let header = doc
                .header
                .as_ref()
                .ok_or(refuse(401, INVALID_CREDENTIALS))?;
            let has = |creds: &[cxml::Credential], (domain, identity): &(String, String)| {
                creds
                    .iter()
                    .any(|c| c.domain.eq_ignore_ascii_case(domain) && &c.identity == identity)
            };
            let secret_ok = header.sender.iter().any(|c| {
                c.shared_secret
                    .as_ref()
                    .is_some_and(|s| s.expose() == expected.secret)
            });
            if !has(&header.from, &expected.supplier)
                || !has(&header.to, &expected.buyer)
                || !secret_ok
            {
                return Err(refuse(401, INVALID_CREDENTIALS));
            }
        }
        let Body::Request(request) = &doc.body else {
            return Err(refuse(406, NOT_PARSED));
        };
        let RequestPayload::InvoiceDetail(invoice) = &request.payload else {
            return Err(refuse(406, NOT_PARSED));
        };
        // PaymentTerm (or, from R30, the PaymentTermCode extrinsic) inside the header:
        // "PaymentTerm must appear before </InvoiceDetailRequestHeader>".
        let header_el = tree
            .child("Request")
            .and_then(|r| r.child("InvoiceDetailRequest"))
            .and_then(|i| i.child("InvoiceDetailRequestHeader"))
            .ok_or(refuse(406, NOT_PARSED))?;
        let term = header_el.child("PaymentTerm").is_some()
            || header_el
                .children_named("Extrinsic")
                .any(|e| e.attr("name") == Some("PaymentTermCode"));
        if !term {
            return Err(refuse(417, PAYMENT_TERM_MISSING));
        }
        // Invoice numbers: at most 40 characters, unique per supplier.
        let number = invoice.header.invoice_id.clone();
        if number.chars().count() > MAX_INVOICE_NUMBER || self.numbers.contains(&number) {
            return Err(refuse(
                417,
                &format!(
                    "{INVALID_ATTRIBUTES} Invoice number {number} has already been used or is longer than {MAX_INVOICE_NUMBER} characters"
                ),
            ));
        }
        // The PO and its lines, each with its part number and UOM; amounts that add up and
        // never exceed the PO line.
        let mut lines_total = Decimal::ZERO;
        let mut adds: Vec<((String, u32), Decimal, Decimal)> = Vec::new();
        for order in &invoice.orders {
            let po = order.reference.document_payload_id.trim().to_string();
            let Some(po_lines) = self.orders.get(&po) else {
                return Err(refuse(417, INVALID_ORDER_REFERENCE));
            };
            for item in &order.items {
                let Some(line) = po_lines.get(&item.reference_line_number) else {
                    return Err(refuse(417, INVALID_ORDER_REFERENCE));
                };
                let part = item.item_id.as_ref().map(|i| i.supplier_part_id.as_str());
                if part != Some(line.part.as_str()) {
                    return Err(refuse(417, INVALID_ORDER_REFERENCE));
                }
                // Compass "Unexpected server error": an invalid UOM answers 500.
                if item.unit_of_measure != line.uom {
                    return Err(refuse(500, "Unexpected server error."));
                }
                let subtotal = item
                    .subtotal
                    .as_ref()
                    .map(|m| m.amount)
                    .ok_or(refuse(417, INVALID_ATTRIBUTES))?;
                let priced = (item.quantity * item.unit_price.amount).round_dp(2);
                if (priced - subtotal).abs() > Decimal::new(1, 2) {
                    return Err(refuse(417, INVALID_ATTRIBUTES));
                }
                lines_total += subtotal;
                let key = (po.clone(), item.reference_line_number);
                let (q, a) = self.invoiced.get(&key).copied().unwrap_or_default();
                let already: (Decimal, Decimal) = adds
                    .iter()
                    .filter(|(k, _, _)| *k == key)
                    .fold((q, a), |(q, a), (_, dq, da)| (q + dq, a + da));
                if already.0 + item.quantity > line.quantity || already.1 + subtotal > line.amount {
                    return Err(refuse(
                        417,
                        &format!(
                            "{INVALID_ATTRIBUTES} Invoice line exceeds the order line {}",
                            item.reference_line_number
                        ),
                    ));
                }
                adds.push((key, item.quantity, subtotal));
            }
        }
        let s = &invoice.summary;
        let tax = s.tax.as_ref().map(|t| t.money.amount).unwrap_or_default();
        let net = s.net.as_ref().map(|m| m.amount);
        let due = s.due.as_ref().map(|m| m.amount).or(net);
        if s.subtotal.amount != lines_total
            || net != Some(s.subtotal.amount + tax)
            || due != net
            || s.tax_details.iter().map(|t| t.tax.amount).sum::<Decimal>()
                != if s.tax_details.is_empty() {
                    Decimal::ZERO
                } else {
                    tax
                }
        {
            return Err(refuse(
                417,
                &format!("{INVALID_ATTRIBUTES} The invoice totals do not add up"),
            ));
        }
        self.numbers.insert(number);
        for (key, q, a) in adds {
            let entry = self.invoiced.entry(key).or_default();
            entry.0 += q;
            entry.1 += a;
        }
        Ok(())
    }
}
