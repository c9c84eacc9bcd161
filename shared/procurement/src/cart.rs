//! The cart rules: what a product turns into when the user presses Request approval.
//! Pure functions, no I/O, so every rule is unit-tested on its own; [`crate::quotes`] stores
//! the quote and builds the cart message.

use cxml::{
    Classification, Currency, Description, Extrinsic, ItemDetail, ItemId, ItemIn, Money,
    OperationAllowed, PunchOutOrderMessage, PunchOutOrderMessageHeader,
};
use rust_decimal::Decimal;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::model::{
    ChargeKind, Integration, Pricing, Product, ProductType, Quote, QuoteLine, QuoteStatus,
};

/// UNSPSC 81162000: cloud-based software as a service.
pub const UNSPSC_SAAS: &str = "81162000";
/// UNSPSC 43232701: application server software (machine images).
pub const UNSPSC_SERVER_SOFTWARE: &str = "43232701";
/// UNSPSC 43230000: software, for everything else we sell (containers, WAF rules, ML).
pub const UNSPSC_SOFTWARE: &str = "43230000";

/// Each line is one unit: the price is the whole contract (or allowance) for the term.
pub const UNIT_OF_MEASURE: &str = "EA";

/// The amount approved up front for pay-as-you-go usage: usage has no price until it
/// happens, and procurement systems need one to route the approval.
pub fn usage_allowance() -> Money {
    Money::new(Decimal::new(1_000_000, 2), Currency::USD)
}

/// The UNSPSC code procurement systems file the product under (for spend reports and
/// approval routing).
pub fn unspsc(product_type: ProductType) -> &'static str {
    match product_type {
        ProductType::Saas => UNSPSC_SAAS,
        ProductType::Ami => UNSPSC_SERVER_SOFTWARE,
        ProductType::Container
        | ProductType::WafRule
        | ProductType::MlAlgorithm
        | ProductType::ProfessionalServices => UNSPSC_SOFTWARE,
    }
}

/// Why a product cannot go through the procurement system; shown to the user as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// The lines of a cart, ready to be stored in a [`Quote`].
#[derive(Debug, Clone, PartialEq)]
pub struct Cart {
    pub lines: Vec<QuoteLine>,
    /// Free trials: approved at 0.00 and never invoiced.
    pub never_invoiced: bool,
}

/// What Request approval does with a product.
#[derive(Debug, Clone, PartialEq)]
pub enum CartDecision {
    /// Send the cart to the procurement system for approval.
    SendForApproval(Cart),
    /// The organisation pre-approves this kind of product: subscribe at once, send no cart.
    SubscribeNow(Cart),
}

impl CartDecision {
    pub fn cart(&self) -> &Cart {
        match self {
            Self::SendForApproval(c) | Self::SubscribeNow(c) => c,
        }
    }

    pub fn into_cart(self) -> Cart {
        match self {
            Self::SendForApproval(c) | Self::SubscribeNow(c) => c,
        }
    }
}

/// Refuses what the punchout flow cannot carry, with the reason to show the user.
pub fn check_supported(product: &Product) -> Result<(), Unsupported> {
    if product.product_type == ProductType::ProfessionalServices {
        return Err(Unsupported(
            "Professional services are agreed with the vendor on a private offer for each \
             engagement, which a procurement cart cannot carry. Contact the vendor or buy \
             them in the marketplace."
                .into(),
        ));
    }
    if let Pricing::Contract { .. } = product.pricing {
        return Err(contract_unsupported(product));
    }
    Ok(())
}

fn contract_unsupported(product: &Product) -> Unsupported {
    Unsupported(format!(
        "{} contracts are not available through your procurement system: their terms \
         are accepted in the marketplace itself. Subscribe there, or ask the vendor for a \
         SaaS or pay-as-you-go offer.",
        product.product_type.label()
    ))
}

/// The cart for `product` under the organisation's `integration` settings.
pub fn cart_lines(
    product: &Product,
    integration: &Integration,
) -> Result<CartDecision, Unsupported> {
    check_supported(product)?;
    let code = unspsc(product.product_type);
    let line = |number: u32, kind: ChargeKind, price: Money, term: String| QuoteLine {
        line_number: number,
        description: line_description(product, &term),
        kind,
        quantity: Decimal::ONE,
        unit_price: price.rounded(),
        unit_of_measure: UNIT_OF_MEASURE.into(),
        unspsc: code.into(),
    };
    let no_charge = || Money::zero(Currency::USD);
    let cart = |lines: Vec<QuoteLine>| -> Result<Cart, Unsupported> {
        one_currency(&lines)?;
        Ok(Cart {
            lines,
            never_invoiced: false,
        })
    };
    let decision = match &product.pricing {
        Pricing::Free => {
            let c = cart(vec![line(
                1,
                ChargeKind::NoCharge,
                no_charge(),
                "free product, no charge".into(),
            )])?;
            if integration.settings.preapprove_free {
                CartDecision::SubscribeNow(c)
            } else {
                CartDecision::SendForApproval(c)
            }
        }
        Pricing::Byol => {
            let c = cart(vec![line(
                1,
                ChargeKind::NoCharge,
                no_charge(),
                "bring your own license, no charge from the marketplace".into(),
            )])?;
            if integration.settings.preapprove_byol {
                CartDecision::SubscribeNow(c)
            } else {
                CartDecision::SendForApproval(c)
            }
        }
        Pricing::FreeTrial { days } => {
            let mut c = cart(vec![line(
                1,
                ChargeKind::NoCharge,
                no_charge(),
                format!("{days}-day free trial, never invoiced"),
            )])?;
            c.never_invoiced = true;
            CartDecision::SendForApproval(c)
        }
        Pricing::Upfront { amount, months } => CartDecision::SendForApproval(cart(vec![line(
            1,
            ChargeKind::Contract,
            amount.clone(),
            format!("{months}-month contract, paid upfront"),
        )])?),
        Pricing::FlexiblePaymentSchedule { installments } => {
            let Some(first) = installments.first() else {
                return Err(Unsupported(
                    "This offer's payment schedule has no installments; ask the vendor to \
                     correct the offer."
                        .into(),
                ));
            };
            let currency = first.amount.currency.clone();
            if installments.iter().any(|i| i.amount.currency != currency) {
                return Err(Unsupported(
                    "This offer's installments are in more than one currency, which one cart \
                     cannot carry; ask the vendor to correct the offer."
                        .into(),
                ));
            }
            let total: Decimal = installments.iter().map(|i| i.amount.amount).sum();
            let last = installments
                .iter()
                .map(|i| i.due)
                .max()
                .unwrap_or(first.due);
            let first_due = installments
                .iter()
                .map(|i| i.due)
                .min()
                .unwrap_or(first.due);
            CartDecision::SendForApproval(cart(vec![line(
                1,
                ChargeKind::Contract,
                Money::new(total, currency),
                format!(
                    "total contract value, {} installments due {} to {}",
                    installments.len(),
                    utc_date(first_due),
                    utc_date(last)
                ),
            )])?)
        }
        Pricing::PayAsYouGo { summary } => CartDecision::SendForApproval(cart(vec![line(
            1,
            ChargeKind::Usage,
            usage_allowance(),
            format!("pay-as-you-go usage allowance ({summary})"),
        )])?),
        Pricing::ContractWithPayAsYouGo {
            amount,
            months,
            usage_summary,
        } => CartDecision::SendForApproval(cart(vec![
            line(
                1,
                ChargeKind::Contract,
                amount.clone(),
                format!("{months}-month contract"),
            ),
            line(
                2,
                ChargeKind::Usage,
                usage_allowance(),
                format!("usage beyond the contract, allowance ({usage_summary})"),
            ),
        ])?),
        // Refused by check_supported already; named so a new pricing model is a compile
        // error here rather than a silent cart.
        Pricing::Contract { .. } => return Err(contract_unsupported(product)),
    };
    Ok(decision)
}

/// A cart's Total needs one currency; a contract priced in EUR plus a USD usage allowance
/// would need two.
fn one_currency(lines: &[QuoteLine]) -> Result<(), Unsupported> {
    let mut currencies = lines.iter().map(|l| &l.unit_price.currency);
    if let Some(first) = currencies.next()
        && currencies.any(|c| c != first)
    {
        return Err(Unsupported(
            "This offer is priced in a currency other than the usage allowance (USD), and a \
             cart carries one currency. Ask the vendor for a USD offer."
                .into(),
        ));
    }
    Ok(())
}

/// A cart line's description, the words an approver decides on first: the product, the term,
/// and when a private offer expires; then the vendor and the offer's ID. Procurement systems cut
/// long descriptions in their approval lists and line tables (Ariba's requisition view shows the
/// first line or so), so what follows the term is what may be cut.
fn line_description(product: &Product, term: &str) -> String {
    let title = &product.title;
    let vendor = &product.vendor;
    match &product.private_offer {
        Some(offer) => format!(
            "{title}: {term}; private offer expires {}; by {vendor}; offer {}",
            utc_date_time(offer.expires_at),
            offer.offer_id,
        ),
        None => format!("{title}: {term}; by {vendor}"),
    }
}

/// `2026-06-15` in UTC.
pub fn utc_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// `2026-06-15 14:30 UTC`: expiry times are shown in UTC so nobody guesses the zone.
pub fn utc_date_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

fn kind_name(kind: ChargeKind) -> &'static str {
    match kind {
        ChargeKind::Contract => "contract",
        ChargeKind::Usage => "usage",
        ChargeKind::NoCharge => "no_charge",
    }
}

fn pricing_model(pricing: &Pricing) -> &'static str {
    match pricing {
        Pricing::Free => "free",
        Pricing::Byol => "byol",
        Pricing::FreeTrial { .. } => "free_trial",
        Pricing::Upfront { .. } => "upfront",
        Pricing::FlexiblePaymentSchedule { .. } => "flexible_payment_schedule",
        Pricing::PayAsYouGo { .. } => "pay_as_you_go",
        Pricing::ContractWithPayAsYouGo { .. } => "contract_with_pay_as_you_go",
        Pricing::Contract { .. } => "contract",
    }
}

/// The PunchOutOrderMessage body for the stored quotes of one cart: one ItemIn per quote
/// line, SupplierPartID the product and SupplierPartAuxiliaryID the quote, so the purchase
/// order matches back (by quote, product and price: the ItemIn line numbers only number the
/// cart, 1, 2, ... across its quotes). The BuyerCookie is the current session's: on `edit`
/// the procurement system matches the cart to the session it opened, not to the first one.
pub fn cart_message(
    buyer_cookie: &str,
    quotes: &[(&Quote, &Product)],
) -> Result<PunchOutOrderMessage, Unsupported> {
    let currency = cart_currency(quotes.iter().flat_map(|(q, _)| q.lines.iter()))?;
    let amount: Decimal = quotes
        .iter()
        .flat_map(|(q, _)| q.lines.iter())
        .map(|l| l.unit_price.amount * l.quantity)
        .sum();
    let mut number = 0;
    let items = quotes
        .iter()
        .flat_map(|(quote, product)| quote.lines.iter().map(move |l| (*quote, *product, l)))
        .map(|(quote, product, line)| {
            number += 1;
            item_in(quote, product, line, number)
        })
        .collect();
    Ok(PunchOutOrderMessage {
        buyer_cookie: buyer_cookie.to_string(),
        header: PunchOutOrderMessageHeader {
            operation_allowed: OperationAllowed::Edit,
            total: Money::new(amount, currency).rounded(),
            ship_to: None,
            shipping: None,
            tax: None,
        },
        items,
    })
}

/// Refuses a cart of several quotes whose lines are in more than one currency: the header
/// has one Total (cXML.dtd: PunchOutOrderMessageHeader). Checked before a quote is stored.
pub fn check_one_currency(lines: &[QuoteLine]) -> Result<(), Unsupported> {
    cart_currency(lines.iter()).map(|_| ())
}

fn cart_currency<'a>(
    mut lines: impl Iterator<Item = &'a QuoteLine>,
) -> Result<Currency, Unsupported> {
    let Some(first) = lines.next() else {
        return Ok(Currency::USD);
    };
    let currency = first.unit_price.currency.clone();
    match lines.find(|l| l.unit_price.currency != currency) {
        None => Ok(currency),
        Some(other) => Err(Unsupported(format!(
            "Your cart holds items priced in {currency} and this one is priced in {}, and a \
             cart carries one currency. Return the cart as it is, then request this product \
             in a new cart.",
            other.unit_price.currency
        ))),
    }
}

fn item_in(quote: &Quote, product: &Product, line: &QuoteLine, number: u32) -> ItemIn {
    let mut extrinsics = vec![
        Extrinsic::new("ChargeKind", kind_name(line.kind)),
        Extrinsic::new("PricingModel", pricing_model(&product.pricing)),
        Extrinsic::new("ProductType", product.product_type.label()),
    ];
    if let Some(offer) = &quote.private_offer {
        extrinsics.push(Extrinsic::new("PrivateOfferID", offer.offer_id.clone()));
        extrinsics.push(Extrinsic::new(
            "PrivateOfferExpiresAt",
            cxml::format_timestamp(offer.expires_at),
        ));
    }
    ItemIn {
        quantity: line.quantity,
        line_number: Some(number),
        item_id: ItemId {
            supplier_part_id: quote.product_id.clone(),
            supplier_part_auxiliary_id: Some(quote.quote_id.to_string()),
            buyer_part_id: None,
        },
        detail: ItemDetail {
            unit_price: line.unit_price.clone(),
            descriptions: vec![Description {
                lang: "en".into(),
                short_name: Some(quote.product_title.clone()),
                text: line.description.clone(),
            }],
            unit_of_measure: line.unit_of_measure.clone(),
            classifications: vec![Classification {
                domain: "UNSPSC".into(),
                code: line.unspsc.clone(),
            }],
            manufacturer_part_id: None,
            manufacturer_name: Some(product.vendor.clone()),
            lead_time: None,
            extrinsics,
        },
        extrinsics: Vec::new(),
    }
}

/// Why a quote that the procurement system sent back (`edit`, `inspect`) cannot go back in
/// the cart as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReopened {
    /// The private offer expired, or the seller changed it, since the cart was sent: a
    /// purchase order for it would be refused, so it must not return as if it were valid.
    OfferLapsed,
    /// A purchase order for it already arrived.
    Ordered,
    /// Subscribed at once (pre-approved) or cancelled: not a line waiting for approval.
    Closed,
    /// The product left the organisation's catalog, or can no longer be requested.
    ProductUnavailable,
}

/// Whether one of the organisation's own quotes, sent back in an `edit` or `inspect` setup
/// request, still stands as a cart line: pending approval, its product still requestable
/// (`product` is `None` when the organisation may no longer see it), its private offer
/// unchanged and not expired ([`crate::offers::offer_lapsed`], the rule purchase orders
/// follow).
pub fn reopen(
    quote: &Quote,
    product: Option<&Product>,
    now: OffsetDateTime,
) -> Result<(), NotReopened> {
    match quote.status {
        QuoteStatus::PendingApproval => {}
        QuoteStatus::Expired => return Err(NotReopened::OfferLapsed),
        QuoteStatus::Ordered => return Err(NotReopened::Ordered),
        QuoteStatus::Subscribed | QuoteStatus::Cancelled => return Err(NotReopened::Closed),
    }
    let Some(product) = product.filter(|p| check_supported(p).is_ok()) else {
        return Err(NotReopened::ProductUnavailable);
    };
    if crate::offers::offer_lapsed(quote, Some(product), now) {
        return Err(NotReopened::OfferLapsed);
    }
    Ok(())
}

/// Whether Request approval on `product` would ask for exactly what `quote` already asks:
/// the same lines (price, term, description), the same private offer terms (ID and expiry;
/// whom else the seller extends it to changes nothing), the same test mode.
/// Then the quote itself goes back, with its SupplierPartAuxiliaryID; otherwise a new quote
/// replaces it.
pub fn unchanged(quote: &Quote, product: &Product, fresh: &Cart, test: bool) -> bool {
    quote.product_id == product.id
        && quote.lines == fresh.lines
        && quote.never_invoiced == fresh.never_invoiced
        && match (&quote.private_offer, &product.private_offer) {
            (Some(quoted), Some(current)) => quoted.same_terms(current),
            (None, None) => true,
            _ => false,
        }
        && quote.test == test
}

/// An empty cart: how the user goes back to the procurement system with nothing to approve.
pub fn empty_order_message(buyer_cookie: &str) -> PunchOutOrderMessage {
    PunchOutOrderMessage {
        buyer_cookie: buyer_cookie.to_string(),
        header: PunchOutOrderMessageHeader {
            operation_allowed: OperationAllowed::Edit,
            total: Money::zero(Currency::USD).rounded(),
            ship_to: None,
            shipping: None,
            tax: None,
        },
        items: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use crate::model::{Installment, PrivateOffer, QuoteStatus};
    use rust_decimal_macros::dec;
    use time::Duration;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-03-01 12:00 UTC)
    }

    fn product(id: &str) -> Product {
        demo::products(now())
            .into_iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("demo product {id}"))
    }

    fn coupa() -> Integration {
        demo::coupa_integration(now())
    }

    fn approval(decision: CartDecision) -> Cart {
        match decision {
            CartDecision::SendForApproval(c) => c,
            other => panic!("expected SendForApproval, got {other:?}"),
        }
    }

    fn usd(amount: Decimal) -> Money {
        Money::new(amount, Currency::USD)
    }

    #[test]
    fn unspsc_follows_the_product_type() {
        assert_eq!(unspsc(ProductType::Saas), "81162000");
        assert_eq!(unspsc(ProductType::Ami), "43232701");
        for t in [
            ProductType::Container,
            ProductType::WafRule,
            ProductType::MlAlgorithm,
        ] {
            assert_eq!(unspsc(t), "43230000", "{t:?}");
        }
        let lines = approval(cart_lines(&product("prod-waf-payg"), &coupa()).unwrap()).lines;
        assert_eq!(lines[0].unspsc, "43230000");
        let lines = approval(cart_lines(&product("prod-ami-free"), &coupa()).unwrap()).lines;
        assert_eq!(lines[0].unspsc, "43232701");
    }

    #[test]
    fn upfront_contract_is_the_contract_price() {
        let cart = approval(cart_lines(&product("prod-saas-upfront"), &coupa()).unwrap());
        assert_eq!(cart.lines.len(), 1);
        let line = &cart.lines[0];
        assert_eq!(line.kind, ChargeKind::Contract);
        assert_eq!(line.unit_price, usd(dec!(12000.00)));
        assert_eq!(line.quantity, Decimal::ONE);
        assert_eq!(line.unspsc, UNSPSC_SAAS);
        assert!(
            line.description.contains("12-month contract"),
            "{}",
            line.description
        );
        assert!(!cart.never_invoiced);
    }

    #[test]
    fn flexible_payment_schedule_is_the_total_contract_value() {
        let cart = approval(cart_lines(&product("prod-saas-fps"), &coupa()).unwrap());
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(cart.lines[0].kind, ChargeKind::Contract);
        assert_eq!(cart.lines[0].unit_price, usd(dec!(10000.00)));
        assert!(cart.lines[0].description.contains("2 installments"));
    }

    #[test]
    fn flexible_payment_schedule_without_installments_or_in_two_currencies_is_refused() {
        let mut p = product("prod-saas-fps");
        p.pricing = Pricing::FlexiblePaymentSchedule {
            installments: Vec::new(),
        };
        assert!(cart_lines(&p, &coupa()).is_err());
        p.pricing = Pricing::FlexiblePaymentSchedule {
            installments: vec![
                Installment {
                    due: now(),
                    amount: usd(dec!(1)),
                },
                Installment {
                    due: now(),
                    amount: Money::new(dec!(1), Currency::EUR),
                },
            ],
        };
        assert!(cart_lines(&p, &coupa()).unwrap_err().0.contains("currency"));
    }

    #[test]
    fn pay_as_you_go_is_a_10000_usd_allowance() {
        for id in ["prod-saas-payg", "prod-waf-payg", "prod-ml-payg"] {
            let cart = approval(cart_lines(&product(id), &coupa()).unwrap());
            assert_eq!(cart.lines.len(), 1, "{id}");
            assert_eq!(cart.lines[0].kind, ChargeKind::Usage);
            assert_eq!(cart.lines[0].unit_price, usd(dec!(10000.00)));
            assert_eq!(cart.lines[0].unit_price.amount_text(), "10000.00");
        }
    }

    #[test]
    fn contract_plus_pay_as_you_go_is_two_lines() {
        let cart = approval(cart_lines(&product("prod-saas-contract-payg"), &coupa()).unwrap());
        let kinds: Vec<_> = cart.lines.iter().map(|l| (l.line_number, l.kind)).collect();
        assert_eq!(
            kinds,
            vec![(1, ChargeKind::Contract), (2, ChargeKind::Usage)]
        );
        assert_eq!(cart.lines[0].unit_price, usd(dec!(6000.00)));
        assert_eq!(cart.lines[1].unit_price, usd(dec!(10000.00)));
    }

    #[test]
    fn contract_in_another_currency_plus_usd_usage_is_refused() {
        let mut p = product("prod-saas-contract-payg");
        p.pricing = Pricing::ContractWithPayAsYouGo {
            amount: Money::new(dec!(100), Currency::EUR),
            months: 12,
            usage_summary: "x".into(),
        };
        assert!(cart_lines(&p, &coupa()).unwrap_err().0.contains("USD"));
    }

    #[test]
    fn free_and_byol_go_for_approval_at_zero_without_pre_approval() {
        let integration = coupa();
        assert!(!integration.settings.preapprove_free && !integration.settings.preapprove_byol);
        for id in ["prod-ami-free", "prod-ami-byol"] {
            let cart = approval(cart_lines(&product(id), &integration).unwrap());
            assert_eq!(cart.lines.len(), 1);
            assert_eq!(cart.lines[0].kind, ChargeKind::NoCharge);
            assert_eq!(cart.lines[0].unit_price.amount_text(), "0.00");
            assert!(!cart.never_invoiced);
        }
    }

    #[test]
    fn free_and_byol_subscribe_at_once_with_their_own_pre_approval() {
        let mut integration = coupa();
        integration.settings.preapprove_free = true;
        assert!(matches!(
            cart_lines(&product("prod-ami-free"), &integration).unwrap(),
            CartDecision::SubscribeNow(_)
        ));
        // Pre-approving free products does not pre-approve BYOL, and the other way round.
        assert!(matches!(
            cart_lines(&product("prod-ami-byol"), &integration).unwrap(),
            CartDecision::SendForApproval(_)
        ));
        integration.settings.preapprove_free = false;
        integration.settings.preapprove_byol = true;
        assert!(matches!(
            cart_lines(&product("prod-ami-byol"), &integration).unwrap(),
            CartDecision::SubscribeNow(_)
        ));
        assert!(matches!(
            cart_lines(&product("prod-ami-free"), &integration).unwrap(),
            CartDecision::SendForApproval(_)
        ));
    }

    #[test]
    fn free_trial_is_zero_and_never_invoiced_even_with_pre_approval() {
        let mut integration = coupa();
        integration.settings.preapprove_free = true;
        let cart = approval(cart_lines(&product("prod-container-trial"), &integration).unwrap());
        assert!(cart.never_invoiced);
        assert_eq!(cart.lines[0].unit_price.amount_text(), "0.00");
        assert_eq!(cart.lines[0].kind, ChargeKind::NoCharge);
        assert_eq!(cart.lines[0].unspsc, UNSPSC_SOFTWARE);
    }

    #[test]
    fn professional_services_and_ami_contracts_are_unsupported() {
        let proserv = cart_lines(&product("prod-proserv"), &coupa()).unwrap_err();
        assert!(proserv.0.contains("Professional services"), "{proserv}");
        let contract = cart_lines(&product("prod-ami-contract"), &coupa()).unwrap_err();
        assert!(
            contract.0.contains("Amazon Machine Image contracts"),
            "{contract}"
        );
        let mut container = product("prod-ami-contract");
        container.product_type = ProductType::Container;
        assert!(check_supported(&container).is_err());
        assert!(check_supported(&product("prod-saas-upfront")).is_ok());
    }

    #[test]
    fn private_offer_terms_are_written_on_each_line_in_utc() {
        let mut p = product("prod-saas-private");
        p.private_offer = Some(PrivateOffer {
            offer_id: "offer-1".into(),
            expires_at: time::macros::datetime!(2026-06-15 16:30 +02:00),
            extended_to: Vec::new(),
        });
        let cart = approval(cart_lines(&p, &coupa()).unwrap());
        let description = &cart.lines[0].description;
        assert!(
            description.ends_with("; by Sentinel; offer offer-1"),
            "{description}"
        );
        assert!(
            description.contains("; private offer expires 2026-06-15 14:30 UTC;"),
            "{description}"
        );
    }

    #[test]
    fn descriptions_lead_with_the_product_the_term_and_the_offer_expiry() {
        let mut p = product("prod-saas-upfront");
        p.private_offer = Some(PrivateOffer {
            offer_id: "offer-1".into(),
            expires_at: time::macros::datetime!(2026-06-15 14:30 UTC),
            extended_to: Vec::new(),
        });
        let description = approval(cart_lines(&p, &coupa()).unwrap()).lines[0]
            .description
            .clone();
        let at = |words: &str| {
            description
                .find(words)
                .unwrap_or_else(|| panic!("{words:?} in {description:?}"))
        };
        assert_eq!(at(&p.title), 0, "the product comes first");
        assert!(at(&p.title) < at("12-month contract"));
        assert!(at("12-month contract") < at("expires 2026-06-15 14:30 UTC"));
        assert!(at("expires 2026-06-15 14:30 UTC") < at(&format!("; by {}", p.vendor)));
    }

    fn quote_for(p: &Product, cart: Cart) -> Quote {
        Quote {
            quote_id: "q-0123".into(),
            org_id: demo::COUPA_ORG.into(),
            product_id: p.id.clone(),
            product_title: p.title.clone(),
            lines: cart.lines,
            status: QuoteStatus::PendingApproval,
            test: true,
            never_invoiced: cart.never_invoiced,
            private_offer: p.private_offer.clone(),
            requester_email: None,
            requester_name: None,
            buyer_cookie: "cookie-1".into(),
            created_at: now(),
            order_id: None,
            agreement_id: None,
        }
    }

    #[test]
    fn order_message_matches_back_to_the_quote() {
        let p = product("prod-saas-contract-payg");
        let quote = quote_for(&p, cart_lines(&p, &coupa()).unwrap().into_cart());
        let poom = cart_message("cookie-2", &[(&quote, &p)]).unwrap();
        assert_eq!(
            poom.buyer_cookie, "cookie-2",
            "the session's cookie, not the quote's"
        );
        assert_eq!(poom.header.total, usd(dec!(16000.00)));
        assert_eq!(poom.items.len(), 2);
        for item in &poom.items {
            assert_eq!(item.item_id.supplier_part_id, "prod-saas-contract-payg");
            assert_eq!(
                item.item_id.supplier_part_auxiliary_id.as_deref(),
                Some("q-0123")
            );
            assert_eq!(item.detail.unspsc(), Some(UNSPSC_SAAS));
        }
        assert_eq!(poom.items[1].detail.unit_price.amount_text(), "10000.00");
    }

    #[test]
    fn order_message_carries_the_private_offer() {
        let p = product("prod-saas-private");
        let quote = quote_for(&p, cart_lines(&p, &coupa()).unwrap().into_cart());
        let poom = cart_message("c", &[(&quote, &p)]).unwrap();
        let extrinsics = &poom.items[0].detail.extrinsics;
        assert_eq!(
            cxml::extrinsic(extrinsics, "PrivateOfferID"),
            Some("offer-sentinel-2026")
        );
        let expires = now() + Duration::days(14);
        assert_eq!(
            cxml::extrinsic(extrinsics, "PrivateOfferExpiresAt"),
            Some(cxml::format_timestamp(expires).as_str())
        );
    }

    #[test]
    fn a_cart_of_several_quotes_numbers_its_lines_and_adds_up() {
        let a = product("prod-saas-contract-payg");
        let b = product("prod-saas-upfront");
        let qa = quote_for(&a, cart_lines(&a, &coupa()).unwrap().into_cart());
        let mut qb = quote_for(&b, cart_lines(&b, &coupa()).unwrap().into_cart());
        qb.quote_id = "q-4567".into();
        let poom = cart_message("c", &[(&qa, &a), (&qb, &b)]).unwrap();
        let lines: Vec<_> = poom
            .items
            .iter()
            .map(|i| {
                (
                    i.line_number,
                    i.item_id.supplier_part_auxiliary_id.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (Some(1), "q-0123"),
                (Some(2), "q-0123"),
                (Some(3), "q-4567")
            ]
        );
        assert_eq!(poom.header.total, usd(dec!(28000.00)));

        let mut eur = qb.clone();
        eur.lines[0].unit_price = Money::new(dec!(1), Currency::EUR);
        let refused = cart_message("c", &[(&qa, &a), (&eur, &b)]).unwrap_err();
        assert!(refused.0.contains("one currency"), "{refused}");
    }

    #[test]
    fn a_reopened_quote_stands_only_while_pending_on_terms_that_stand() {
        let p = product("prod-saas-private");
        let quote = quote_for(&p, cart_lines(&p, &coupa()).unwrap().into_cart());
        assert_eq!(reopen(&quote, Some(&p), now()), Ok(()));
        // The offer expires: the quote does not come back as if it were valid.
        let offer = p.private_offer.clone().unwrap();
        assert_eq!(
            reopen(&quote, Some(&p), offer.expires_at),
            Err(NotReopened::OfferLapsed)
        );
        // The seller changed the expiry since.
        let mut changed = p.clone();
        changed.private_offer.as_mut().unwrap().expires_at += Duration::days(1);
        assert_eq!(
            reopen(&quote, Some(&changed), now()),
            Err(NotReopened::OfferLapsed)
        );
        assert_eq!(
            reopen(&quote, None, now()),
            Err(NotReopened::ProductUnavailable)
        );
        for (status, reason) in [
            (QuoteStatus::Expired, NotReopened::OfferLapsed),
            (QuoteStatus::Ordered, NotReopened::Ordered),
            (QuoteStatus::Subscribed, NotReopened::Closed),
            (QuoteStatus::Cancelled, NotReopened::Closed),
        ] {
            let q = Quote {
                status,
                ..quote.clone()
            };
            assert_eq!(reopen(&q, Some(&p), now()), Err(reason), "{status:?}");
        }
        let mut unsupported = p.clone();
        unsupported.product_type = ProductType::ProfessionalServices;
        assert_eq!(
            reopen(&quote, Some(&unsupported), now()),
            Err(NotReopened::ProductUnavailable)
        );
    }

    #[test]
    fn unchanged_means_the_same_lines_offer_and_mode() {
        let p = product("prod-saas-private");
        let fresh = cart_lines(&p, &coupa()).unwrap().into_cart();
        let quote = quote_for(&p, fresh.clone());
        assert!(unchanged(&quote, &p, &fresh, true));
        assert!(!unchanged(&quote, &p, &fresh, false), "test mode differs");
        let mut repriced = p.clone();
        repriced.pricing = Pricing::Upfront {
            amount: usd(dec!(50000.00)),
            months: 24,
        };
        let new_lines = cart_lines(&repriced, &coupa()).unwrap().into_cart();
        assert!(!unchanged(&quote, &repriced, &new_lines, true));
        let mut new_offer = p.clone();
        new_offer.private_offer.as_mut().unwrap().offer_id = "offer-2".into();
        assert!(!unchanged(&quote, &new_offer, &fresh, true));
        let other = product("prod-saas-upfront");
        assert!(!unchanged(&quote, &other, &fresh, true));
    }

    #[test]
    fn empty_cart_totals_zero() {
        let poom = empty_order_message("c");
        assert!(poom.items.is_empty());
        assert_eq!(poom.header.total.amount_text(), "0.00");
    }
}
