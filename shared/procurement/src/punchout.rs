//! PunchOutSetupRequest and ProfileRequest: opening a punchout session. The StartPage it
//! returns is served by [`crate::catalog`].

use cxml::{
    Body, Cxml, ProfileResponse, Rejection, RequestPayload, ResponsePayload, Status, Transaction,
};
use time::{Duration, OffsetDateTime};

use crate::http::HttpReply;
use crate::model::Session;
use crate::ports::Deps;
use crate::sender::authenticated_integration;

pub const SETUP_PATH: &str = "/punchout/setup";
pub const START_PATH: &str = "/punchout/start";
pub const ORDER_PATH: &str = "/order";

/// Handles a POSTed cXML document at the punchout setup URL.
pub async fn handle_setup(deps: &Deps, body: &[u8]) -> HttpReply {
    let host = deps.config.payload_host();
    match setup(deps, body).await {
        Ok(reply) => reply,
        Err(rejection) => {
            tracing::info!(code = rejection.code, reason = %rejection.text, "punchout setup refused");
            HttpReply::cxml_rejection(host, &rejection)
        }
    }
}

async fn setup(deps: &Deps, body: &[u8]) -> Result<HttpReply, Rejection> {
    let doc = cxml::parse(body)?;
    let (Some(header), Body::Request(request)) = (&doc.header, &doc.body) else {
        return Err(Rejection::bad_request(format!(
            "expected a cXML Request at the punchout setup URL, got {}",
            doc.message_type()
        )));
    };
    let integration = authenticated_integration(deps, header).await?;
    let host = deps.config.payload_host();
    match &request.payload {
        RequestPayload::PunchOutSetup(setup) => {
            let Some(form_post) = setup.browser_form_post.clone().filter(|u| !u.is_empty()) else {
                return Err(Rejection::bad_request(
                    "missing element BrowserFormPost in PunchOutSetupRequest: the cart would have nowhere to go",
                ));
            };
            let token = cxml::payload::random_hex::<32>()
                .map_err(|_| Rejection::internal("could not draw a session token; please retry"))?;
            let session = Session {
                token_digest: cxml::SecretDigest::of(&token).to_hex(),
                org_id: integration.org_id.clone(),
                buyer_cookie: setup.buyer_cookie.clone(),
                browser_form_post: form_post,
                requester_email: setup.requester_email().map(str::to_string),
                requester_name: setup.requester_name(),
                operation: setup.operation,
                test: integration.test_mode
                    || request.deployment_mode == cxml::DeploymentMode::Test,
                selected_product: setup
                    .selected_item
                    .as_ref()
                    .map(|i| i.supplier_part_id.clone()),
                earlier_items: setup
                    .items
                    .iter()
                    .map(|i| {
                        (
                            i.item_id.supplier_part_id.clone(),
                            i.item_id.supplier_part_auxiliary_id.clone(),
                        )
                    })
                    .collect(),
                expires_at: OffsetDateTime::now_utc()
                    + Duration::minutes(deps.config.session_minutes),
            };
            deps.store.put_session(&session).await?;
            tracing::info!(
                org_id = %session.org_id,
                operation = session.operation.as_str(),
                test = session.test,
                "punchout session opened"
            );
            let start_page_url = format!("{}?token={token}", deps.config.url(START_PATH));
            let reply = Cxml::response(
                host,
                Status::ok(),
                Some(ResponsePayload::PunchOutSetup(
                    cxml::PunchOutSetupResponse { start_page_url },
                )),
            );
            Ok(HttpReply::cxml(200, &reply))
        }
        RequestPayload::Profile(_) => {
            let transaction = |name: &str, path: &str| Transaction {
                request_name: name.into(),
                url: deps.config.url(path),
                options: Vec::new(),
            };
            let profile = ProfileResponse {
                effective_date: OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                options: Vec::new(),
                transactions: vec![
                    transaction("PunchOutSetupRequest", SETUP_PATH),
                    transaction("OrderRequest", ORDER_PATH),
                ],
            };
            let reply = Cxml::response(host, Status::ok(), Some(ResponsePayload::Profile(profile)));
            Ok(HttpReply::cxml(200, &reply))
        }
        RequestPayload::Order(_) => Err(Rejection::not_implemented(format!(
            "OrderRequest is not accepted at the punchout setup URL; send purchase orders to {}",
            deps.config.url(ORDER_PATH)
        ))),
        RequestPayload::InvoiceDetail(_) | RequestPayload::Other(_) => {
            Err(Rejection::not_implemented(format!(
                "{} is not implemented by this marketplace",
                doc.message_type()
            )))
        }
    }
}
