//! What an organisation may see of the catalog, search over it, and where a subscribe attempt
//! made in the marketplace itself (outside a punchout) is sent.

use crate::ids::OrgId;
use crate::model::{Integration, Organization, ProcurementSystem, Product};
use crate::ports::{Deps, StoreError};

/// Whether `product` is offered to the organisation `org_id`, whose record is `org` (none: no
/// private marketplace). The one decision behind every surface that shows or sells a product:
/// the catalog list and search, the product page and `SelectedItem`, Request approval, a
/// re-opened cart, Coupa Open Buy. Two rules, both must hold:
/// - the buyer's private marketplace, when it keeps one: only the products it lists;
/// - the seller's private offer: only for the organisations it was extended to
///   ([`extended_to`]).
///
/// A product not offered gets the answer of one that does not exist, so nothing tells an
/// organisation what others are offered.
pub fn offered_to(product: &Product, org_id: &OrgId, org: Option<&Organization>) -> bool {
    in_private_marketplace(org, &product.id) && extended_to(product, Some(org_id))
}

/// The buyer's half of [`offered_to`]: all products, or its private marketplace.
fn in_private_marketplace(org: Option<&Organization>, product_id: &str) -> bool {
    match org.and_then(|o| o.private_marketplace.as_ref()) {
        Some(ids) => ids.iter().any(|id| id == product_id),
        None => true,
    }
}

/// The seller's half of [`offered_to`]: a product behind a private offer is for the
/// organisations the offer names, and no other (`None`: a caller of no organisation). A
/// product without one is for everyone. Purchase orders apply this half alone (through
/// [`crate::offers::offer_lapsed`]): an approved quote is ordered even if the buyer has since
/// taken the product out of its private marketplace, but never on an offer the seller no
/// longer extends to it.
pub fn extended_to(product: &Product, org_id: Option<&OrgId>) -> bool {
    match &product.private_offer {
        None => true,
        Some(offer) => org_id.is_some_and(|id| offer.is_extended_to(id)),
    }
}

/// Case-insensitive search over title, vendor, summary and product type; every word of the
/// query must match somewhere. An empty query matches everything.
pub fn matches_query(product: &Product, query: &str) -> bool {
    let haystack = format!(
        "{}\n{}\n{}\n{}",
        product.title,
        product.vendor,
        product.summary,
        product.product_type.label()
    )
    .to_lowercase();
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

/// The organisation's catalog ([`offered_to`]), filtered by `query`. An organisation
/// without a record (`org` None) has no private marketplace. The caller passes the record it
/// read already (the StartPage's visit holds it), so a page reads it once.
pub async fn visible_products(
    deps: &Deps,
    org_id: &OrgId,
    org: Option<&Organization>,
    query: &str,
) -> Result<Vec<Product>, StoreError> {
    Ok(deps
        .catalog
        .list_products()
        .await?
        .into_iter()
        .filter(|p| offered_to(p, org_id, org) && matches_query(p, query))
        .collect())
}

/// Where a marketplace subscribe attempt goes, by the subscriber's organisation.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscribeRoute {
    /// The organisation buys through SAP Ariba: subscriptions start there.
    StartInAriba { product: Product },
    /// A Coupa organisation with redirect on: request it in Coupa.
    ContinueInCoupa { product: Product, test: bool },
    /// No procurement integration applies: the marketplace's own subscription flow.
    Direct { product: Product },
    /// Nobody vouches for the caller's account (the form says one, nothing signed it): one
    /// answer for every account, naming no system and no mode, so the route is not an oracle
    /// of who is a customer, through which system, and whether in test mode.
    AnyOrganisation { product: Product },
}

/// Why a subscribe attempt has no route.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeRefused {
    #[error("no such product")]
    UnknownProduct,
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// Routes a subscribe attempt for `product_id`; nothing is subscribed here. `signed_account`:
/// the AWS account that signed the request (API Gateway's IAM authorizer), which alone is
/// routed by its organisation; an account an unsigned form names is not believed, and gets
/// [`SubscribeRoute::AnyOrganisation`] like every other. A product behind a private offer not
/// extended to the caller's organisation (or to an unsigned caller) is refused as unknown,
/// exactly like a product that does not exist.
pub async fn route_subscribe(
    deps: &Deps,
    signed_account: Option<&str>,
    product_id: &str,
) -> Result<SubscribeRoute, SubscribeRefused> {
    if !crate::limits::may_name_a_record(product_id) {
        return Err(SubscribeRefused::UnknownProduct);
    }
    let product = deps
        .catalog
        .get_product(product_id)
        .await?
        .ok_or(SubscribeRefused::UnknownProduct)?;
    let account_id = signed_account.map(str::trim).filter(|a| !a.is_empty());
    let org = match account_id {
        Some(account_id) => deps.organizations.find_by_account(account_id).await?,
        None => None,
    };
    // A private offer not extended to the caller's organisation is, to it, no product at all.
    if !extended_to(&product, org.as_ref().map(|o| &o.org_id)) {
        return Err(SubscribeRefused::UnknownProduct);
    }
    if account_id.is_none() {
        return Ok(SubscribeRoute::AnyOrganisation { product });
    }
    let integration = match &org {
        Some(o) => deps
            .integrations
            .get(&o.org_id)
            .await?
            .filter(Integration::enabled),
        None => None,
    };
    Ok(match integration {
        Some(i) if i.system() == ProcurementSystem::Ariba => {
            SubscribeRoute::StartInAriba { product }
        }
        Some(i) if i.settings.redirect => SubscribeRoute::ContinueInCoupa {
            product,
            test: i.test_mode(),
        },
        _ => SubscribeRoute::Direct { product },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn search_needs_every_word() {
        let product = crate::demo::products(OffsetDateTime::now_utc())
            .into_iter()
            .find(|p| p.id == "prod-saas-fps")
            .unwrap();
        assert!(matches_query(&product, ""));
        assert!(matches_query(&product, "ORBIT saas"));
        assert!(matches_query(&product, "payment schedule"));
        assert!(!matches_query(&product, "orbit ami"));
    }

    fn demo_product(id: &str) -> Product {
        crate::demo::products(OffsetDateTime::now_utc())
            .into_iter()
            .find(|p| p.id == id)
            .unwrap()
    }

    fn org(id: &str, private_marketplace: Option<&[&str]>) -> Organization {
        Organization {
            org_id: OrgId::from(id),
            name: id.into(),
            management_account_id: "999999999999".into(),
            member_account_ids: Vec::new(),
            private_marketplace: private_marketplace
                .map(|ids| ids.iter().map(|id| id.to_string()).collect()),
        }
    }

    #[test]
    fn a_private_offer_is_offered_only_to_the_organisations_it_names() {
        let private = demo_product(crate::demo::PRIVATE_OFFER_PRODUCT);
        let public = demo_product("prod-saas-upfront");
        for named in crate::demo::PRIVATE_OFFER_BUYERS {
            let id = OrgId::from(named);
            assert!(offered_to(&private, &id, None), "{named}");
        }
        let coupa = org(crate::demo::COUPA_ORG, None);
        assert!(offered_to(&private, &coupa.org_id, Some(&coupa)));
        // Another organisation: without a record, with one, or with a private marketplace
        // that lists the product, it is not offered the private offer; public products are.
        let other = org("other-org", None);
        assert!(!offered_to(&private, &other.org_id, None));
        assert!(!offered_to(&private, &other.org_id, Some(&other)));
        let listing = org(
            "other-org",
            Some(&[crate::demo::PRIVATE_OFFER_PRODUCT, "prod-saas-upfront"]),
        );
        assert!(!offered_to(&private, &listing.org_id, Some(&listing)));
        assert!(offered_to(&public, &other.org_id, Some(&other)));
        assert!(offered_to(&public, &listing.org_id, Some(&listing)));
        // The buyer's private marketplace still limits what the named organisation sees.
        let limited = org(crate::demo::COUPA_ORG, Some(&["prod-saas-upfront"]));
        assert!(!offered_to(&private, &limited.org_id, Some(&limited)));
        assert!(offered_to(&public, &limited.org_id, Some(&limited)));
        // The seller's half alone: a caller of no organisation gets no private offer.
        assert!(!extended_to(&private, None));
        assert!(extended_to(&public, None));
    }

    #[test]
    fn a_stored_private_offer_without_named_buyers_loads_and_is_offered_to_no_one() {
        // A product as stored before private offers named their buyers.
        let stored = serde_json::json!({
            "id": "prod-old-private",
            "title": "Old private offer",
            "vendor": "Sentinel",
            "product_type": "saas",
            "summary": "Negotiated.",
            "pricing": {"model": "upfront", "amount": {"amount": "100.00", "currency": "USD"}, "months": 12},
            "private_offer": {"offer_id": "offer-old", "expires_at": "2030-01-01T00:00:00Z"}
        });
        let product: Product = serde_json::from_value(stored).unwrap();
        let offer = product.private_offer.as_ref().unwrap();
        assert!(offer.extended_to.is_empty());
        for named in crate::demo::PRIVATE_OFFER_BUYERS {
            assert!(!offered_to(&product, &OrgId::from(named), None), "{named}");
        }
        // Written back, it keeps the old shape (no empty list is added).
        let written = serde_json::to_value(&product).unwrap();
        assert!(
            written["private_offer"].get("extended_to").is_none(),
            "{written}"
        );
    }
}
