//! In-tool search for procurement systems (as Coupa Open Buy shows marketplace results).
//!
//! `GET /search?q=<words>` with
//! `Authorization: Basic base64("<buyer domain>/<buyer identity>:<shared secret>")`: the
//! From credential and shared secret the procurement system already uses for cXML (e.g.
//! `DUNS/coupa-demo-buyer:...`).
//!
//! Answers `{"results":[{"id","supplier_part_id","title","vendor","product_type",
//! "price_summary","punchout_url"}]}`, honouring the organisation's private marketplace. A
//! result does not carry a session: to open one product, the procurement system sends its
//! usual PunchOutSetupRequest to `punchout_url` with
//! `<SelectedItem><ItemID><SupplierPartID>{supplier_part_id}</SupplierPartID></ItemID></SelectedItem>`,
//! and the StartPage it gets back opens that product.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use procurement::auth::{CredentialRefused, authenticate_credential};
use procurement::catalog::visible_products;
use procurement::paths;
use serde_json::json;

use crate::AppState;
use crate::extract::{BasicCredentials, Query};
use crate::json::{JsonError, reply};

/// Enough for a results pane; the catalog shows the rest.
pub const MAX_RESULTS: usize = 50;

const CHALLENGE: &str = "Basic realm=\"marketplace-search\", charset=\"UTF-8\"";

fn unauthorized(message: &str) -> JsonError {
    JsonError::Unauthorized {
        message: message.into(),
        challenge: Some(CHALLENGE),
    }
}

impl From<CredentialRefused> for JsonError {
    fn from(refused: CredentialRefused) -> Self {
        match refused {
            CredentialRefused::Wrong => unauthorized("unknown credential or wrong shared secret"),
            CredentialRefused::Disabled => JsonError::Forbidden(
                "this procurement integration is disabled by the organisation's administrator"
                    .into(),
            ),
            CredentialRefused::Storage(e) => JsonError::Storage(e),
        }
    }
}

pub async fn search(
    State(deps): State<AppState>,
    credentials: BasicCredentials,
    query: Query,
) -> Result<Response, JsonError> {
    let integration = match credentials {
        BasicCredentials::Missing => {
            return Err(unauthorized(
                "authentication required: Basic <domain>/<identity>:<shared secret>",
            ));
        }
        BasicCredentials::Unreadable => {
            return Err(unauthorized(
                "Authorization must be Basic base64(<domain>/<identity>:<shared secret>)",
            ));
        }
        BasicCredentials::Given {
            domain,
            identity,
            secret,
        } => authenticate_credential(&deps, &domain, &identity, &secret).await?,
    };
    let Some(words) = query.get("q") else {
        return Err(JsonError::BadRequest(
            "missing query parameter q (the words to search for)".into(),
        ));
    };
    let products = visible_products(&deps, &integration.org_id, words.trim()).await?;
    let punchout_url = deps.config.url(paths::SETUP);
    let results: Vec<_> = products
        .iter()
        .take(MAX_RESULTS)
        .map(|p| {
            json!({
                "id": p.id,
                "supplier_part_id": p.id,
                "title": p.title,
                "vendor": p.vendor,
                "product_type": p.product_type.label(),
                "price_summary": p.pricing.label(),
                "punchout_url": punchout_url,
            })
        })
        .collect();
    Ok(reply(StatusCode::OK, json!({ "results": results }), false))
}

pub async fn method_not_allowed() -> JsonError {
    JsonError::method_not_allowed("GET", "use GET /search?q=...")
}
