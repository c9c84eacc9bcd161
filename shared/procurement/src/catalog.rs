//! What an organisation may see of the catalog, search over it, and where a subscribe attempt
//! made in the marketplace itself (outside a punchout) is sent.

use crate::ids::OrgId;
use crate::model::{Integration, Organization, ProcurementSystem, Product};
use crate::ports::{Deps, StoreError};

/// Products the organisation may see: all of them, or its private marketplace.
pub fn is_visible(org: Option<&Organization>, product_id: &str) -> bool {
    match org.and_then(|o| o.private_marketplace.as_ref()) {
        Some(ids) => ids.iter().any(|id| id == product_id),
        None => true,
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

/// The organisation's catalog, filtered by `query`. An organisation without a record has
/// no private marketplace.
pub async fn visible_products(
    deps: &Deps,
    org_id: &OrgId,
    query: &str,
) -> Result<Vec<Product>, StoreError> {
    let org = deps.organizations.get(org_id).await?;
    Ok(deps
        .catalog
        .list_products()
        .await?
        .into_iter()
        .filter(|p| is_visible(org.as_ref(), &p.id) && matches_query(p, query))
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
/// [`SubscribeRoute::AnyOrganisation`] like every other.
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
    let Some(account_id) = signed_account.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(SubscribeRoute::AnyOrganisation { product });
    };
    let org = deps.organizations.find_by_account(account_id).await?;
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
}
