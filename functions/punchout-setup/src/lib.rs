//! punchout-setup: the cXML setup endpoint, the StartPage and catalog and in-tool search
//! (binary `punchout-setup`, behind the HTTP API); and the admin API (binary `admin-api`, a
//! function of its own behind the REST API, which only signed callers of the accounts its
//! resource policy names reach).
//! The routes, their extractors and their answers are procurement-web's; the work is the
//! procurement domain's. `main` builds the dependencies once and serves this app.

use std::sync::Arc;

use procurement::Deps;

/// The function's HTTP app: an axum Router, which `lambda_http::run` serves.
pub fn app(deps: Arc<Deps>) -> axum::Router {
    procurement_web::punchout_setup(deps)
}

/// The admin-api function's HTTP app (REST API events, payload 1.0).
pub fn admin_app(deps: Arc<Deps>) -> axum::Router {
    procurement_web::admin_api(deps)
}
