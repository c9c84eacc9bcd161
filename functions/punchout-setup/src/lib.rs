//! punchout-setup: the cXML setup endpoint, the StartPage and (as issues land) the catalog,
//! search and admin API. Routing only; the work is in the `procurement` domain crate.

use lambda_http::{Body, Error, Request, RequestExt, Response};
use procurement::Deps;
use procurement::http::HttpReply;
use procurement::punchout::{self, SETUP_PATH, START_PATH};

pub async fn handle(deps: &Deps, event: Request) -> Result<Response<Body>, Error> {
    let path = event.raw_http_path().to_string();
    let method = event.method().as_str().to_ascii_uppercase();
    let reply = match (method.as_str(), path.as_str()) {
        ("POST", SETUP_PATH) => punchout::handle_setup(deps, event.body().as_ref()).await,
        (_, SETUP_PATH) => HttpReply::json_error(
            405,
            "POST a cXML PunchOutSetupRequest or ProfileRequest here",
        ),
        ("GET", START_PATH) => {
            let params = event.query_string_parameters();
            punchout::handle_start(deps, params.first("token")).await
        }
        _ => HttpReply::not_found(&path),
    };
    Ok(procurement_aws::into_response(reply))
}
