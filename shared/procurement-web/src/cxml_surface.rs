//! The cXML surface: the punchout setup URL and the order URL. Every answer is a cXML
//! document; every refusal a cXML `Response` whose HTTP status mirrors its code where HTTP
//! has one, so both kinds of client (status-line readers and body readers) see it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cxml::{Cxml, Rejection, Status};
use procurement::{Refusal, orders, punchout};

use crate::AppState;
use crate::json::JsonError;

pub const CXML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

pub const SETUP_METHODS: &str = "POST a cXML PunchOutSetupRequest or ProfileRequest here";
pub const ORDER_METHODS: &str = "POST a cXML OrderRequest here";

/// A cXML document answered with this HTTP status.
pub struct CxmlReply(pub StatusCode, pub Cxml);

impl IntoResponse for CxmlReply {
    fn into_response(self) -> Response {
        let mut response = (self.0, cxml::to_xml(&self.1)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(CXML_CONTENT_TYPE),
        );
        response
    }
}

/// A cXML request not carried out: answered with a cXML Response naming what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{refusal}")]
pub struct CxmlError {
    /// The host our payloadIDs name.
    host: String,
    refusal: Refusal,
}

impl CxmlError {
    pub fn new(host: &str, refusal: Refusal) -> Self {
        Self {
            host: host.to_string(),
            refusal,
        }
    }
}

impl IntoResponse for CxmlError {
    fn into_response(self) -> Response {
        let rejection = match self.refusal {
            Refusal::Rejected(rejection) => {
                tracing::info!(code = rejection.code, reason = %rejection.text, "cXML request refused");
                rejection
            }
            Refusal::Storage(e) => {
                tracing::error!(error = %e, "storage failed while handling a cXML request");
                Rejection::internal(procurement::refusal::STORAGE_FAILED_TEXT)
            }
        };
        CxmlReply(
            status_for(rejection.code),
            Cxml::rejection(&self.host, &rejection),
        )
        .into_response()
    }
}

/// cXML codes that are not HTTP codes (450 Not Implemented) travel as their HTTP family.
pub fn status_for(cxml_code: u16) -> StatusCode {
    let http = match cxml_code {
        200..=299 | 400 | 401 | 403 | 404 | 406 | 409 | 412 | 413 | 417 | 500 | 503 => cxml_code,
        450 => 501,
        400..=499 => 400,
        _ => 500,
    };
    StatusCode::from_u16(http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// POST /punchout/setup: PunchOutSetupRequest or ProfileRequest.
pub async fn setup(State(deps): State<AppState>, body: Bytes) -> Result<CxmlReply, CxmlError> {
    punchout::setup(&deps, &body)
        .await
        .map(|answer| CxmlReply(StatusCode::OK, answer))
        .map_err(|refusal| CxmlError::new(deps.config.payload_host(), refusal))
}

/// POST /order: an OrderRequest, answered with its recorded answer (the same for a duplicate).
pub async fn order(State(deps): State<AppState>, body: Bytes) -> Result<CxmlReply, CxmlError> {
    let host = deps.config.payload_host();
    let answer = orders::receive(&deps, &body)
        .await
        .map_err(|refusal| CxmlError::new(host, refusal))?;
    Ok(CxmlReply(
        status_for(answer.code),
        Cxml::response(host, Status::new(answer.code, answer.text), None),
    ))
}

/// Anything but POST at a cXML URL.
pub async fn method_not_allowed(message: &'static str) -> JsonError {
    JsonError::method_not_allowed("POST", message)
}
