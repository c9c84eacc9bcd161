//! The identifiers of the product's records, one type and one format per kind, so a quote ID
//! can never be passed where an agreement ID is expected.
//!
//! | kind         | format                       | made by                          |
//! |--------------|------------------------------|----------------------------------|
//! | organisation | chosen by the marketplace     | the organisation's onboarding    |
//! | quote        | `q-<32 hex>`                 | [`QuoteId::generate`], or of session and product: [`QuoteId::for_request`] |
//! | agreement    | `agmt-<the quote's hex>`      | [`AgreementId::for_quote`]       |
//! | charge       | `<agreement>-<n>`             | [`ChargeId::nth`]                |
//! | order        | the buyer's PO number (cXML orderID) | the procurement system     |
//! | confirmation | `conf-<32 hex>` of the organisation and order | [`ConfirmationId::for_order`] |
//!
//! IDs read back from storage or from a buyer's document are taken as they are (`From<String>`):
//! a lookup by an ID that names nothing simply finds nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The OS random source failed: no ID (or token) can be drawn. Retrying may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the OS random source failed: {0}")]
pub struct NoRandomness(pub String);

/// `N` random bytes as hex, or why the OS refused them.
pub fn random_hex<const N: usize>() -> Result<String, NoRandomness> {
    cxml::payload::random_hex::<N>().map_err(|e| NoRandomness(e.to_string()))
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_id!(
    /// A buyer organisation.
    OrgId
);
string_id!(
    /// What the user asked approval for (the cart's SupplierPartAuxiliaryID).
    QuoteId
);
string_id!(
    /// A subscription: one per quote.
    AgreementId
);
string_id!(
    /// One invoice of an agreement.
    ChargeId
);
string_id!(
    /// A purchase order as the buyer numbers it (cXML `orderID`, the PO number).
    OrderId
);
string_id!(
    /// The confirmation of one purchase order to the SAP Ariba Network.
    ConfirmationId
);

impl QuoteId {
    const PREFIX: &'static str = "q-";

    /// A new, unguessable quote ID (128 random bits).
    pub fn generate() -> Result<Self, NoRandomness> {
        Ok(Self(format!("{}{}", Self::PREFIX, random_hex::<16>()?)))
    }

    /// The one quote a punchout session's Request approval of a product makes: named after
    /// the session (its token's digest) and the product, so a replayed, double-clicked or
    /// racing Request approval finds the quote the first one stored (and its agreement, see
    /// [`AgreementId::for_quote`]) instead of making another. As unguessable as a drawn one:
    /// the token is 256 random bits and only its digest is stored; the hash reveals neither.
    pub fn for_request(session_digest: &str, product_id: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("quote\n{session_digest}\n{product_id}").as_bytes());
        Self(format!(
            "{}{}",
            Self::PREFIX,
            cxml::payload::hex(&digest[..16])
        ))
    }
}

impl AgreementId {
    /// The one agreement a quote can have, named after it: a second agreement for the same
    /// quote would have the same key, so it cannot be written.
    pub fn for_quote(quote: &QuoteId) -> Self {
        let suffix = quote
            .as_str()
            .strip_prefix(QuoteId::PREFIX)
            .unwrap_or(quote.as_str());
        Self(format!("agmt-{suffix}"))
    }
}

impl ChargeId {
    /// The `n`th charge (from 1) of an agreement: stable, so a retry names the same charge.
    pub fn nth(agreement: &AgreementId, n: usize) -> Self {
        Self(format!("{agreement}-{n}"))
    }
}

impl ConfirmationId {
    /// The one confirmation an organisation's order gets: named after both (hashed, since PO
    /// numbers may hold any character), so a second one would have the same key.
    pub fn for_order(org: &OrgId, order: &OrderId) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{org}\n{order}").as_bytes());
        Self(format!("conf-{}", cxml::payload::hex(&digest[..16])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_is_named_after_its_order_alone() {
        let a = ConfirmationId::for_order(&"acme".into(), &"PO-1".into());
        assert_eq!(a, ConfirmationId::for_order(&"acme".into(), &"PO-1".into()));
        assert_ne!(a, ConfirmationId::for_order(&"acme".into(), &"PO-2".into()));
        assert_ne!(
            a,
            ConfirmationId::for_order(&"other".into(), &"PO-1".into())
        );
        assert!(a.as_str().starts_with("conf-") && a.as_str().len() == 37);
    }

    #[test]
    fn each_kind_has_its_format() {
        let quote = QuoteId::generate().unwrap();
        assert!(quote.as_str().starts_with("q-") && quote.as_str().len() == 34);
        let agreement = AgreementId::for_quote(&quote);
        assert_eq!(agreement.as_str(), format!("agmt-{}", &quote.as_str()[2..]));
        assert_eq!(
            ChargeId::nth(&agreement, 2).as_str(),
            format!("{agreement}-2")
        );
        // Quotes seeded with other names still get one agreement each.
        assert_eq!(
            AgreementId::for_quote(&QuoteId::from("quote-0001")).as_str(),
            "agmt-quote-0001"
        );
    }

    #[test]
    fn a_request_quote_is_named_after_its_session_and_product_alone() {
        let a = QuoteId::for_request("digest-1", "prod-a");
        assert_eq!(a, QuoteId::for_request("digest-1", "prod-a"));
        assert_ne!(a, QuoteId::for_request("digest-1", "prod-b"));
        assert_ne!(a, QuoteId::for_request("digest-2", "prod-a"));
        assert!(
            a.as_str().starts_with("q-") && a.as_str().len() == 34,
            "{a}"
        );
    }

    #[test]
    fn ids_are_stored_as_plain_strings() {
        let id = OrgId::from("acme");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"acme\"");
        assert_eq!(serde_json::from_str::<OrgId>("\"acme\"").unwrap(), id);
    }
}
