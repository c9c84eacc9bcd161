//! The records the product keeps.

use cxml::Money;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{AgreementId, ChargeId, ConfirmationId, OrderId, OrgId, QuoteId};
pub use crate::integration::{
    AribaSettings, BuyerCredentials, CoupaInstance, CoupaSettings, Instance, Integration,
    ProcurementSystem, Settings, SystemSettings,
};

/// An open punchout: what the procurement system told us in its PunchOutSetupRequest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 of the StartPage token; the token itself is only in the URL we returned.
    pub token_digest: String,
    pub org_id: OrgId,
    pub buyer_cookie: String,
    pub browser_form_post: String,
    pub requester_email: Option<String>,
    pub requester_name: Option<String>,
    pub operation: cxml::PunchOutOperation,
    pub test: bool,
    /// Product to open directly (SelectedItem), if any.
    pub selected_product: Option<String>,
    /// Earlier cart lines on edit/inspect: (product, quote) pairs.
    pub earlier_items: Vec<(String, Option<QuoteId>)>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductType {
    Saas,
    Ami,
    Container,
    WafRule,
    MlAlgorithm,
    ProfessionalServices,
}

impl ProductType {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Saas => "SaaS",
            Self::Ami => "Amazon Machine Image",
            Self::Container => "Container",
            Self::WafRule => "WAF rules",
            Self::MlAlgorithm => "Machine learning algorithm",
            Self::ProfessionalServices => "Professional services",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Installment {
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Pricing {
    Free,
    Byol,
    FreeTrial {
        days: u32,
    },
    Upfront {
        amount: Money,
        months: u32,
    },
    FlexiblePaymentSchedule {
        installments: Vec<Installment>,
    },
    PayAsYouGo {
        summary: String,
    },
    ContractWithPayAsYouGo {
        amount: Money,
        months: u32,
        usage_summary: String,
    },
    /// Offer terms the procurement flow cannot carry (AMI or container contracts).
    Contract {
        amount: Money,
        months: u32,
    },
}

impl Pricing {
    pub fn label(&self) -> String {
        match self {
            Self::Free => "Free".into(),
            Self::Byol => "Bring your own license".into(),
            Self::FreeTrial { days } => format!("Free trial, {days} days"),
            Self::Upfront { amount, months } => format!("{amount} upfront for {months} months"),
            Self::FlexiblePaymentSchedule { installments } => {
                format!(
                    "Flexible payment schedule, {} installments",
                    installments.len()
                )
            }
            Self::PayAsYouGo { summary } => format!("Pay as you go: {summary}"),
            Self::ContractWithPayAsYouGo {
                amount,
                months,
                usage_summary,
            } => {
                format!("{amount} for {months} months, plus usage: {usage_summary}")
            }
            Self::Contract { amount, months } => format!("{amount} contract for {months} months"),
        }
    }
}

/// A seller's private offer: negotiated terms for the buyers it was extended to, and for no
/// one else ("An offer is visible only to a specified buyer", AWS Marketplace API Reference,
/// "Work with private offers"; the offer's targeting names its `BuyerAccounts`, API
/// `OfferSummary`). Here the buyers are our organisations. Who may see and order a product
/// is decided in one place, [`crate::catalog::offered_to`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivateOffer {
    pub offer_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The organisations the offer was extended to. An offer stored before this field
    /// existed names no one and is therefore offered to no one until its buyers are named:
    /// showing negotiated terms to every organisation (the earlier behaviour) is the leak this
    /// field closes, so the safe reading of an unknown audience is the empty one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extended_to: Vec<OrgId>,
}

impl PrivateOffer {
    /// Whether the seller extended this offer to `org_id`.
    pub fn is_extended_to(&self, org_id: &OrgId) -> bool {
        self.extended_to.iter().any(|id| id == org_id)
    }

    /// Whether `other` offers the same terms (ID and expiry), whoever else it is extended to.
    pub fn same_terms(&self, other: &PrivateOffer) -> bool {
        self.offer_id == other.offer_id && self.expires_at == other.expires_at
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub title: String,
    pub vendor: String,
    pub product_type: ProductType,
    pub summary: String,
    pub pricing: Pricing,
    pub private_offer: Option<PrivateOffer>,
}

/// A purchase order as received, kept to answer duplicates with the same answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub org_id: OrgId,
    pub order_id: OrderId,
    pub payload_id: String,
    pub order_type: cxml::OrderType,
    pub test: bool,
    pub lines: usize,
    pub total: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The answer given, repeated word for word to a duplicate.
    #[serde(default = "default_answer_code")]
    pub answer_code: u16,
    #[serde(default)]
    pub answer_text: String,
    #[serde(default)]
    pub quote_ids: Vec<QuoteId>,
    #[serde(default)]
    pub agreement_ids: Vec<AgreementId>,
}

fn default_answer_code() -> u16 {
    200
}

/// An email waiting to be sent: written in the same transaction as what it reports, so a
/// failing SES never loses a notice. Removed once SES accepts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEmail {
    /// Stable per notice (e.g. `subscribed#<agreement>`), so a retry never sends it twice.
    pub email_id: String,
    pub email: Email,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An email for SES.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// One charge to invoice, queued on SQS for invoice-dispatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceJob {
    pub org_id: OrgId,
    pub order_id: OrderId,
    pub agreement_id: AgreementId,
    /// Stable per charge so a retry resends the same invoice.
    pub charge_id: ChargeId,
    pub description: String,
    pub amount: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    /// The purchase order line the charge bills against (InvoiceDetailItemReference).
    /// Absent in jobs queued before it was recorded: line 1 is assumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub po_line_number: Option<u32>,
    /// What the invoice line repeats of the PO line it bills. Absent on charges stored
    /// before it was recorded: such an invoice is one unit at the charge's amount, "EA".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<ChargeLine>,
    /// The invoice number, fixed when the charge is created (see
    /// [`crate::invoices::invoice_number`]). Absent on older charges: their charge ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
}

/// The PO line a charge bills, as the order (and the cart before it) named it, and the share
/// of it this charge invoices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeLine {
    /// SupplierPartID that went into the cart (the product).
    pub supplier_part_id: String,
    /// SupplierPartAuxiliaryID (the quote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_part_auxiliary_id: Option<String>,
    pub unit_of_measure: String,
    /// The PO line's description.
    pub description: String,
    /// The PO line's unit price.
    pub unit_price: Money,
    /// The quantity this charge invoices: the line's quantity, or an installment's share of
    /// it (a fraction), so the installments together invoice exactly the line.
    pub quantity: rust_decimal::Decimal,
    /// Which installment of how many (flexible payment schedules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installment: Option<(u32, u32)>,
}

/// Where a charge stands. Stored as the charge item's `status` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    /// Waiting for its due date (indexed under `CHARGE#scheduled`).
    Scheduled,
    /// Handed to the invoice queue.
    Queued,
    /// The buyer accepted the invoice (cXML 2xx).
    Invoiced,
    /// The buyer refused it (4xx) or it could not be built or addressed: not retried.
    Failed,
    /// Not sent because the integration is in test mode.
    Skipped,
    /// The order was deleted before the charge started.
    Cancelled,
}

impl ChargeStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Invoiced => "invoiced",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scheduled" => Self::Scheduled,
            "queued" => Self::Queued,
            "invoiced" => Self::Invoiced,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Nothing more happens to a charge in this status: a redelivered job is acknowledged.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Invoiced | Self::Failed | Self::Skipped | Self::Cancelled
        )
    }
}

/// What became of a charge's invoice, kept on the charge record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeOutcome {
    /// Invoiced, Failed or Skipped.
    pub status: ChargeStatus,
    /// The invoiceID and payloadID sent (the same on every attempt); none if nothing was sent.
    pub invoice_id: Option<String>,
    pub payload_id: Option<String>,
    /// The buyer's cXML Status code (or the HTTP status when the answer was not cXML).
    pub code: Option<u16>,
    /// The buyer's status text, or why nothing was sent.
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A buyer organisation: who may administer its integration, and its private marketplace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub org_id: OrgId,
    pub name: String,
    /// The AWS account that may change the organisation's settings.
    pub management_account_id: String,
    /// Other accounts of the organisation: they may read settings, never change them.
    #[serde(default)]
    pub member_account_ids: Vec<String>,
    /// Pre-approved product IDs. `Some` means a private marketplace: only these are shown.
    #[serde(default)]
    pub private_marketplace: Option<Vec<String>>,
}

/// What a cart line stands for, so orders and invoices can treat it right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeKind {
    /// The contract price (upfront) or the total contract value (payment schedule).
    Contract,
    /// A blanket amount approved for pay-as-you-go usage.
    Usage,
    /// A 0.00 line for Free, BYOL or a free trial.
    NoCharge,
}

/// One line of the cart sent for approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteLine {
    pub line_number: u32,
    pub description: String,
    pub kind: ChargeKind,
    pub quantity: rust_decimal::Decimal,
    pub unit_price: Money,
    pub unit_of_measure: String,
    pub unspsc: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStatus {
    /// The cart went to the procurement system; waiting for its purchase order.
    PendingApproval,
    /// A purchase order arrived and the agreement exists.
    Ordered,
    /// The private offer expired (or its expiry changed) before the order: resend for approval.
    Expired,
    /// Pre-approved (Free or BYOL): subscribed at once, no cart sent. Out of test mode its
    /// agreement is written by the job the catalog queued (see [`Quote::awaits_agreement`]).
    Subscribed,
    /// Cancelled by an OrderRequest of type delete.
    Cancelled,
}

impl QuoteStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::PendingApproval => "pending_approval",
            Self::Ordered => "ordered",
            Self::Expired => "expired",
            Self::Subscribed => "subscribed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What the user asked approval for: the cart's content, kept to match the purchase order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub quote_id: QuoteId,
    pub org_id: OrgId,
    pub product_id: String,
    pub product_title: String,
    pub lines: Vec<QuoteLine>,
    pub status: QuoteStatus,
    pub test: bool,
    /// Free trials: approved at 0.00 and never invoiced.
    pub never_invoiced: bool,
    /// The private offer as it stood when the cart was sent.
    pub private_offer: Option<PrivateOffer>,
    pub requester_email: Option<String>,
    pub requester_name: Option<String>,
    pub buyer_cookie: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The purchase order (orderID) once one arrived.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    #[serde(default)]
    pub agreement_id: Option<AgreementId>,
}

impl Quote {
    /// A pre-approved subscription whose agreement is not written yet: the catalog, which faces
    /// the internet, may not write agreements, so it queues a job that does (issue 14, point 6).
    pub fn awaits_agreement(&self) -> bool {
        self.status == QuoteStatus::Subscribed && !self.test && self.agreement_id.is_none()
    }

    pub fn total(&self) -> Option<Money> {
        let currency = self.lines.first()?.unit_price.currency.clone();
        let amount = self
            .lines
            .iter()
            .map(|l| l.unit_price.amount * l.quantity)
            .sum();
        Some(Money::new(amount, currency))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    Active,
    Cancelled,
}

/// The subscription: made once per quote, tied to the purchase order when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub agreement_id: AgreementId,
    pub org_id: OrgId,
    pub product_id: String,
    pub quote_id: QuoteId,
    /// The purchase order number (cXML orderID); none for pre-approved Free/BYOL products.
    pub po_number: Option<OrderId>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub order_date: Option<OffsetDateTime>,
    pub subscriber_email: Option<String>,
    pub status: AgreementStatus,
    /// The invoice charges of this agreement (none when it is never invoiced).
    #[serde(default)]
    pub charge_ids: Vec<ChargeId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The confirmation an Ariba order's agreements owe the Network: a ConfirmationRequest
/// `type="accept"` of the whole order, written with the order and sent through the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub confirmation_id: ConfirmationId,
    pub org_id: OrgId,
    pub order_id: OrderId,
    /// The OrderRequest's payloadID, referenced by the confirmation (DocumentReference).
    pub order_payload_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub order_date: OffsetDateTime,
    /// The buyer's ANID, as its From credential named it: the confirmation's `To`.
    pub buyer_anid: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Where a confirmation stands. Stored as the confirmation item's `status` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationStatus {
    /// Written with its order, not yet handed to the queue (indexed for the scheduled run).
    Scheduled,
    Queued,
    /// The Network accepted it (cXML 2xx).
    Confirmed,
    /// The Network refused it (4xx): not retried.
    Failed,
}

impl ConfirmationStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scheduled" => Self::Scheduled,
            "queued" => Self::Queued,
            "confirmed" => Self::Confirmed,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    pub fn is_final(&self) -> bool {
        matches!(self, Self::Confirmed | Self::Failed)
    }
}

/// What became of a confirmation, kept on its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationOutcome {
    /// Confirmed or Failed.
    pub status: ConfirmationStatus,
    /// The payloadID sent (the same on every attempt).
    pub payload_id: String,
    /// The Network's cXML status code (or the HTTP status when the answer was not cXML).
    pub code: Option<u16>,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}
