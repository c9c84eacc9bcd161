//! order-request: the cXML OrderRequest endpoint (the order URL given to the procurement system).

use lambda_http::{Body, Error, Request, RequestExt, Response};
use procurement::Deps;
use procurement::http::HttpReply;
use procurement::orders;
use procurement::punchout::ORDER_PATH;

pub async fn handle(deps: &Deps, event: Request) -> Result<Response<Body>, Error> {
    let path = event.raw_http_path().to_string();
    let reply = match (event.method().as_str(), path.as_str()) {
        ("POST", ORDER_PATH) => orders::handle_order(deps, event.body().as_ref()).await,
        (_, ORDER_PATH) => HttpReply::json_error(405, "POST a cXML OrderRequest here"),
        _ => HttpReply::not_found(&path),
    };
    Ok(procurement_aws::into_response(reply))
}
