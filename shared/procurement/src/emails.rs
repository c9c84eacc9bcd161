//! The texts of every email the product sends, in one place. Each is an [`OutboxEmail`] with an
//! ID stable per notice, so writing it twice (a retried transaction, a second run) never sends
//! it twice.

use time::OffsetDateTime;

use crate::config::Config;
use crate::model::{Agreement, Email, OutboxEmail, Product, Quote};

/// The subscriber's "your subscription is ready" notice; none without an address.
pub fn subscribed(
    agreement: &Agreement,
    quote: &Quote,
    product: Option<&Product>,
    config: &Config,
) -> Option<OutboxEmail> {
    let to = agreement.subscriber_email.clone()?;
    let vendor = product.map(|p| p.vendor.as_str()).unwrap_or("the seller");
    Some(OutboxEmail {
        email_id: format!("subscribed#{}", agreement.agreement_id),
        email: Email {
            to,
            subject: format!("Your subscription to {} is ready", quote.product_title),
            text: format!(
                "Hello {name},\n\nYour subscription is ready.\n\n\
                 Product:      {title} by {vendor}\n\
                 PO number:    {po}\n\
                 Agreement ID: {agreement}\n\n\
                 Where to start: sign in to the marketplace ({url}), open Manage subscriptions and choose agreement \
                 {agreement}; the seller's setup instructions are there.\n",
                name = quote.requester_name.as_deref().unwrap_or("there"),
                title = quote.product_title,
                po = agreement.po_number.as_ref().map_or("-", |po| po.as_str()),
                agreement = agreement.agreement_id,
                url = config.public_base_url,
            ),
        },
        created_at: OffsetDateTime::now_utc(),
    })
}

/// The notice telling a requester their approved private offer expired and must be resent;
/// none without an address or an offer.
pub fn offer_expired(quote: &Quote, config: &Config) -> Option<OutboxEmail> {
    let to = quote.requester_email.clone()?;
    let offer = quote.private_offer.as_ref()?;
    Some(OutboxEmail {
        email_id: format!("offer-expired#{}", quote.quote_id),
        email: Email {
            to,
            subject: format!(
                "Private offer expired: {} needs a new approval",
                quote.product_title
            ),
            text: format!(
                "Hello {name},\n\nThe private offer {offer} for {title} expired (or its expiry date was changed by the seller) \
                 before your purchase order arrived, so no subscription was created.\n\n\
                 What to do: ask the seller to extend or renew the offer, then punch out from your procurement system \
                 again and press Request approval to send the new offer for approval.\n\n\
                 Quote: {quote}\nMarketplace: {url}\n",
                name = quote.requester_name.as_deref().unwrap_or("there"),
                offer = offer.offer_id,
                title = quote.product_title,
                quote = quote.quote_id,
                url = config.public_base_url,
            ),
        },
        created_at: OffsetDateTime::now_utc(),
    })
}

/// The address as SES can take it, or None: one mailbox (no display name, no domain
/// literal, a domain with a dot) of printable ASCII. SES v2 wants 7-bit ASCII in the local
/// part and punycode in the domain, and a CR or LF in an address is refused (or worse, would
/// start a new header line), so anything else is refused here rather than by SES at every run.
pub fn usable_address(raw: &str) -> Option<String> {
    let address = raw.trim();
    if address.is_empty() || !address.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let options = email_address::Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    email_address::EmailAddress::parse_with_options(address, options).ok()?;
    Some(address.to_string())
}

#[cfg(test)]
mod tests {
    use super::usable_address;

    #[test]
    fn ordinary_addresses_are_usable_as_written() {
        assert_eq!(
            usable_address(" jim.halpert@dundermifflin.com "),
            Some("jim.halpert@dundermifflin.com".into())
        );
        assert!(usable_address("first.o'last+coupa@buyer.co.uk").is_some());
    }

    #[test]
    fn what_ses_would_refuse_is_not_usable() {
        for bad in [
            "",
            "jim",
            "jim@",
            "@buyer.example",
            "jim@localhost",
            "jim@[10.0.0.1]",
            "Jim Halpert <jim@buyer.example>",
            "jim@buyer.example\r\nBcc: all@buyer.example",
            "jim @buyer.example",
            "jïm@buyer.example",
            "jim@bü yer.example",
            "a@b@buyer.example",
        ] {
            assert_eq!(usable_address(bad), None, "{bad:?}");
        }
    }
}
