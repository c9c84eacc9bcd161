//! In-tool search for procurement systems (as Coupa Open Buy shows marketplace results).
//!
//! `GET /search?q=<words>` with
//! `Authorization: Basic base64("<buyer domain>/<buyer identity>:<shared secret>")`: the
//! From credential and shared secret the procurement system already uses for cXML (e.g.
//! `DUNS/coupa-demo-buyer:...`). The domain is compared case-insensitively; the secret is
//! compared in constant time against its stored digest.
//!
//! Answers `{"results":[{"id","supplier_part_id","title","vendor","product_type",
//! "price_summary","punchout_url"}]}`, honouring the organisation's private marketplace. A
//! result does not carry a session: to open one product, the procurement system sends its
//! usual PunchOutSetupRequest to `punchout_url` with
//! `<SelectedItem><ItemID><SupplierPartID>{supplier_part_id}</SupplierPartID></ItemID></SelectedItem>`,
//! and the StartPage it gets back opens that product.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::catalog::visible_products;
use crate::http::{HttpReply, WebRequest};
use crate::model::Integration;
use crate::ports::Deps;
use crate::punchout::SETUP_PATH;

pub const SEARCH_PATH: &str = "/search";

/// Enough for a results pane; the catalog shows the rest.
pub const MAX_RESULTS: usize = 50;

const CHALLENGE: &str = "Basic realm=\"marketplace-search\", charset=\"UTF-8\"";

pub async fn handle_search(deps: &Deps, request: &WebRequest) -> HttpReply {
    if request.method != "GET" {
        let mut reply = HttpReply::json_error(405, "use GET /search?q=...");
        reply.headers.push(("allow", "GET".into()));
        return reply;
    }
    match search(deps, request).await {
        Ok(reply) | Err(reply) => reply,
    }
}

async fn search(deps: &Deps, request: &WebRequest) -> Result<HttpReply, HttpReply> {
    let integration = authenticate(deps, request.authorization.as_deref()).await?;
    let Some(query) = request.query("q") else {
        return Err(HttpReply::json_error(
            400,
            "missing query parameter q (the words to search for)",
        ));
    };
    let products = visible_products(deps, &integration.org_id, query.trim())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storage failed during in-tool search");
            HttpReply::json_error(503, "search is briefly unavailable; please retry")
        })?;
    let punchout_url = deps.config.url(SETUP_PATH);
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
    Ok(HttpReply::json(200, &json!({ "results": results })))
}

fn unauthorized(message: &str) -> HttpReply {
    let mut reply = HttpReply::json_error(401, message);
    reply.headers.push(("www-authenticate", CHALLENGE.into()));
    reply
}

/// `(domain, identity, secret)` from a Basic `Authorization` header.
fn credentials(header: &str) -> Option<(String, String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, secret) = decoded.split_once(':')?;
    let (domain, identity) = user.split_once('/')?;
    let (domain, identity) = (domain.trim(), identity.trim());
    if domain.is_empty() || identity.is_empty() || secret.is_empty() {
        return None;
    }
    Some((domain.to_string(), identity.to_string(), secret.to_string()))
}

async fn authenticate(deps: &Deps, header: Option<&str>) -> Result<Integration, HttpReply> {
    let Some(header) = header else {
        return Err(unauthorized(
            "authentication required: Basic <domain>/<identity>:<shared secret>",
        ));
    };
    let Some((domain, identity, secret)) = credentials(header) else {
        return Err(unauthorized(
            "Authorization must be Basic base64(<domain>/<identity>:<shared secret>)",
        ));
    };
    let found = deps
        .store
        .find_integration_by_buyer(&domain, &identity)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storage failed while authenticating a search");
            HttpReply::json_error(503, "search is briefly unavailable; please retry")
        })?;
    let digest = found
        .as_ref()
        .and_then(|i| cxml::SecretDigest::from_hex(&i.secret_digest));
    // Unknown buyers cost the same digest as known ones, so timing tells nothing.
    let matches = match &digest {
        Some(d) => d.matches(&secret),
        None => {
            let _ = cxml::SecretDigest::of("").matches(&secret);
            false
        }
    };
    let integration = match found {
        Some(i) if matches => i,
        _ => {
            tracing::info!(%domain, %identity, "in-tool search refused: wrong credentials");
            return Err(unauthorized("unknown credential or wrong shared secret"));
        }
    };
    if !integration.enabled {
        return Err(HttpReply::json_error(
            403,
            "this procurement integration is disabled by the organisation's administrator",
        ));
    }
    Ok(integration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn reads_basic_credentials() {
        assert_eq!(
            credentials(&basic("DUNS/buyer-1:s3cr:et")),
            Some(("DUNS".into(), "buyer-1".into(), "s3cr:et".into()))
        );
        assert_eq!(
            credentials(&basic("NetworkID/AN01/x:s")),
            Some(("NetworkID".into(), "AN01/x".into(), "s".into()))
        );
        assert_eq!(credentials(&basic("no-slash:secret")), None);
        assert_eq!(credentials(&basic("DUNS/id:")), None);
        assert_eq!(credentials("Bearer abc"), None);
        assert_eq!(credentials("Basic %%%"), None);
        assert_eq!(credentials(""), None);
    }
}
