//! punchout-setup: the cXML setup endpoint, the StartPage and catalog, in-tool search and the
//! admin API. Routing only; the work is in the `procurement` domain crate.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use procurement::Deps;
use procurement::admin::{self, ADMIN_PREFIX};
use procurement::catalog::{self, CATALOG_PATH};
use procurement::http::{HttpReply, WebRequest};
use procurement::punchout::{self, SETUP_PATH, START_PATH};
use procurement::search::{self, SEARCH_PATH};

pub async fn handle(deps: &Deps, event: Request) -> Result<Response<Body>, Error> {
    let request = web_request(&event);
    let path = request.path.as_str();
    let reply = if path == SETUP_PATH {
        if request.method == "POST" {
            punchout::handle_setup(deps, &request.body).await
        } else {
            HttpReply::json_error(
                405,
                "POST a cXML PunchOutSetupRequest or ProfileRequest here",
            )
        }
    } else if path == START_PATH
        || path == CATALOG_PATH
        || path.starts_with(&format!("{CATALOG_PATH}/"))
    {
        catalog::handle_page(deps, &request).await
    } else if path == SEARCH_PATH {
        search::handle_search(deps, &request).await
    } else if path.starts_with(ADMIN_PREFIX) {
        admin::handle_admin(deps, &request).await
    } else {
        HttpReply::not_found(path)
    };
    Ok(procurement_aws::into_response(reply))
}

/// The parts of an API Gateway event the domain reads.
fn web_request(event: &Request) -> WebRequest {
    let caller_account = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.account_id.clone()),
        _ => None,
    };
    let query = event.query_string_parameters();
    WebRequest {
        method: event.method().as_str().to_ascii_uppercase(),
        path: event.raw_http_path().to_string(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: event.body().to_vec(),
        authorization: event
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        caller_account,
    }
}
