//! The HTTP surfaces of the procurement integration, one axum [`Router`] per HTTP function,
//! served through `lambda_http` (a Router is the tower service `lambda_http::run` takes).
//!
//! Four surfaces, each with its own error type and one `IntoResponse` for it, so a storage
//! failure becomes an answer in exactly one place per surface:
//!
//! | surface                 | routes                                         | error type            |
//! |-------------------------|------------------------------------------------|-----------------------|
//! | cXML                    | `POST /punchout/setup`, `POST /order`          | [`cxml_surface::CxmlError`] |
//! | HTML pages              | StartPage, `/catalog`...                       | [`pages::PageError`]  |
//! | JSON (admin API, its own function) | `/admin/orgs/{org}/integration[/secret,/messages]` | [`json::JsonError`] |
//! | Coupa Open Buy (JSON)   | `POST /openbuy/{authentication,search,detail,checkout}/v1.0.0` | [`openbuy::OpenBuyError`] |
//!
//! Handlers only translate: they extract what the request says, call the domain
//! (`procurement`), and render its outcome.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use procurement::{Deps, paths};

pub mod admin;
pub mod cxml_surface;
pub mod extract;
pub mod json;
pub mod openbuy;
pub mod pages;
mod trace;

/// What every handler shares: the dependencies built once per Lambda instance.
pub type AppState = Arc<Deps>;

/// The punchout-setup function: cXML setup, the StartPage and catalog pages and Coupa Open
/// Buy (internet-facing; the admin API is [`admin_api`], a function of its own).
pub fn punchout_setup(deps: AppState) -> Router {
    Router::new()
        .route(
            paths::SETUP,
            post(cxml_surface::setup)
                .fallback(|| cxml_surface::method_not_allowed(cxml_surface::SETUP_METHODS)),
        )
        .route(paths::START, pages::get_only(pages::catalog::start_page))
        .route(paths::CATALOG, pages::get_only(pages::catalog::catalog))
        .route(
            "/catalog/products/{product}",
            pages::get_only(pages::catalog::product),
        )
        .route(
            paths::REQUEST_APPROVAL,
            pages::post_only(pages::catalog::request_approval),
        )
        .route(
            paths::RETURN,
            pages::post_only(pages::catalog::return_without_cart),
        )
        .route(
            paths::SUBSCRIBE,
            pages::post_only(pages::catalog::subscribe),
        )
        .route("/catalog/{*rest}", any(pages::not_found))
        .route(
            paths::OPEN_BUY_AUTHENTICATION,
            post(openbuy::authentication).fallback(openbuy::method_not_allowed),
        )
        .route(
            paths::OPEN_BUY_SEARCH,
            post(openbuy::search).fallback(openbuy::method_not_allowed),
        )
        .route(
            paths::OPEN_BUY_DETAIL,
            post(openbuy::detail).fallback(openbuy::method_not_allowed),
        )
        .route(
            paths::OPEN_BUY_CHECKOUT,
            post(openbuy::checkout).fallback(openbuy::method_not_allowed),
        )
        .fallback(json::no_route)
        .layer(axum::middleware::from_fn(trace::request_span))
        // API Gateway caps a request at 10 MB and Lambda holds it in memory already: each
        // surface checks its own limit (the cXML reader answers 413 above 6 MiB) with an
        // answer in its own format.
        .layer(DefaultBodyLimit::disable())
        .with_state(deps)
}

/// The admin-api function: the admin API, behind the API Gateway REST API (AWS_IAM, a
/// resource policy naming the organisations' AWS accounts). Not internet-facing without a
/// signature, and the only function that changes an organisation's settings.
pub fn admin_api(deps: AppState) -> Router {
    let routes = Router::new()
        .route(
            paths::ADMIN_INTEGRATION,
            get(admin::read)
                .put(admin::save)
                .fallback(admin::integration_method_not_allowed),
        )
        .route(
            paths::ADMIN_SECRET,
            post(admin::rotate).fallback(admin::secret_method_not_allowed),
        )
        .route(
            paths::ADMIN_MESSAGES,
            get(admin::messages).fallback(admin::messages_method_not_allowed),
        )
        .fallback(json::no_route)
        .layer(axum::middleware::from_fn(trace::request_span))
        // The admin API answers 413 above 64 KiB itself, in its own format.
        .layer(DefaultBodyLimit::disable())
        .with_state(deps);
    // Wrapped around the router rather than layered on it (a `Router::layer` runs after
    // routing): the routes see the resource path, without the stage.
    use tower::Layer;
    Router::new()
        .fallback_service(axum::middleware::map_request(admin::without_stage).layer(routes))
}

/// The order-request function: the cXML OrderRequest endpoint.
pub fn order_request(deps: AppState) -> Router {
    Router::new()
        .route(
            paths::ORDER,
            post(cxml_surface::order)
                .fallback(|| cxml_surface::method_not_allowed(cxml_surface::ORDER_METHODS)),
        )
        .fallback(json::no_route)
        .layer(axum::middleware::from_fn(trace::request_span))
        .layer(DefaultBodyLimit::disable())
        .with_state(deps)
}

#[cfg(feature = "test-util")]
pub mod testing;
