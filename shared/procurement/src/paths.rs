//! The URL paths of the HTTP API: the addresses buyers paste into their procurement systems
//! and the domain writes into documents (StartPage, ProfileResponse), and the routes the web
//! layer serves. `template.yaml` and `Cargo.toml`'s watch router name the same paths.

pub const SETUP: &str = "/punchout/setup";
pub const START: &str = "/punchout/start";
pub const ORDER: &str = "/order";
pub const CATALOG: &str = "/catalog";
/// A product's page is this prefix and its ID as one path segment.
pub const PRODUCTS: &str = "/catalog/products/";
pub const REQUEST_APPROVAL: &str = "/catalog/request-approval";
pub const RETURN: &str = "/catalog/return";
pub const SUBSCRIBE: &str = "/catalog/subscribe";
/// Coupa Open Buy's base URL: what the supplier enters in Coupa; Coupa appends each action's
/// path (Open Buy API Reference: `/authentication/v1.0.0`, `/search/v1.0.0`, ...).
pub const OPEN_BUY: &str = "/openbuy";
pub const OPEN_BUY_AUTHENTICATION: &str = "/openbuy/authentication/v1.0.0";
pub const OPEN_BUY_SEARCH: &str = "/openbuy/search/v1.0.0";
pub const OPEN_BUY_DETAIL: &str = "/openbuy/detail/v1.0.0";
pub const OPEN_BUY_CHECKOUT: &str = "/openbuy/checkout/v1.0.0";
pub const ADMIN_INTEGRATION: &str = "/admin/orgs/{org_id}/integration";
pub const ADMIN_SECRET: &str = "/admin/orgs/{org_id}/integration/secret";
pub const ADMIN_MESSAGES: &str = "/admin/orgs/{org_id}/integration/messages";

/// The admin path of an organisation's integration (for messages that tell an admin where to go).
pub fn admin_integration(org_id: &str) -> String {
    ADMIN_INTEGRATION.replace("{org_id}", org_id)
}

/// The admin path that rotates an organisation's shared secret.
pub fn admin_secret(org_id: &str) -> String {
    ADMIN_SECRET.replace("{org_id}", org_id)
}
