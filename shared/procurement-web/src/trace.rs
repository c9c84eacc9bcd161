//! One tracing span per HTTP request, carrying the Lambda request id, the method and path, and
//! the fields the domain records as it learns them (the organisation, the document's
//! payloadID and orderID), so every log line of one request can be followed.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::Context;
use tracing::Instrument;

pub async fn request_span(request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<Context>()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        org_id = tracing::field::Empty,
        payload_id = tracing::field::Empty,
        order_id = tracing::field::Empty,
    );
    next.run(request).instrument(span).await
}
