//! The JSON surface (admin API, and what no route matches): every error is
//! `{"error": {"status": .., "message": ..}}` with its HTTP status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use procurement::StoreError;
use procurement::ids::NoRandomness;
use serde_json::json;

/// An error answered as JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("{0}")]
    BadRequest(String),
    /// 401, with the `WWW-Authenticate` challenge when the scheme has one.
    #[error("{message}")]
    Unauthorized {
        message: String,
        challenge: Option<&'static str>,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    MethodNotAllowed {
        allow: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// Our side could not do it now; the caller should retry.
    #[error("{0}")]
    Unavailable(String),
    /// Storage failed: logged here, answered without its details.
    #[error("storage failed: {0}")]
    Storage(#[from] StoreError),
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
}

impl JsonError {
    pub fn method_not_allowed(allow: &'static str, message: impl Into<String>) -> Self {
        Self::MethodNotAllowed {
            allow,
            message: message.into(),
        }
    }

    fn status_and_message(&self) -> (StatusCode, String) {
        match self {
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            Self::Unauthorized { message, .. } => (StatusCode::UNAUTHORIZED, message.clone()),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            Self::MethodNotAllowed { message, .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, message.clone())
            }
            Self::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            Self::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            Self::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m.clone()),
            Self::Storage(e) => {
                tracing::error!(error = %e, "storage failed behind a JSON endpoint");
                match e {
                    StoreError::Unavailable(_) | StoreError::Conflict(_) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "storage is briefly unavailable; please retry".into(),
                    ),
                    StoreError::Corrupt { .. } => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "a stored record could not be read".into(),
                    ),
                }
            }
            Self::NoRandomness(e) => {
                tracing::error!(error = %e, "no random bytes for a JSON endpoint");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "could not draw a random value; please retry".into(),
                )
            }
        }
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let (status, message) = self.status_and_message();
        let mut response = error_body(status, &message);
        let headers = response.headers_mut();
        match &self {
            Self::MethodNotAllowed { allow, .. } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::Unauthorized {
                challenge: Some(challenge),
                ..
            } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            _ => {}
        }
        response
    }
}

/// The body of every JSON error: `{"error": {"status", "message"}}` (also Open Buy's).
pub fn error_body(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"status": status.as_u16(), "message": message}});
    (status, Json(body)).into_response()
}

/// A JSON success answer; `no_store` for answers that carry a secret shown once.
pub fn reply(status: StatusCode, value: serde_json::Value, no_store: bool) -> Response {
    let mut response = (status, Json(value)).into_response();
    if no_store {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// What a path no route serves gets.
pub async fn no_route(uri: Uri) -> JsonError {
    JsonError::NotFound(format!("no route for {}", uri.path()))
}
