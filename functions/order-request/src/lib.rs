//! order-request: the cXML OrderRequest endpoint (the order URL given to the procurement system).
//! The routes, their extractors and their answers are procurement-web's; the work is the
//! procurement domain's. `main` builds the dependencies once and serves this app.

use std::sync::Arc;

use procurement::Deps;

/// The function's HTTP app: an axum Router, which `lambda_http::run` serves.
pub fn app(deps: Arc<Deps>) -> axum::Router {
    procurement_web::order_request(deps)
}
