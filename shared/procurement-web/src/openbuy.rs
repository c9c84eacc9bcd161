//! Coupa Open Buy under [`paths::OPEN_BUY`]: the four POST actions of Coupa's "Open Buy API
//! Reference" (see [`procurement::openbuy`] for what the reference says and what we chose).
//!
//! Every answer is JSON. The reference documents 200, 400 ("Invalid request parameters; we
//! were unable to attempt retrieval"), 401 ("Unauthorized") and 500 ("Service error during
//! request. Please retry after sometime"); errors carry the JSON surface's body
//! `{"error": {"status", "message"}}` (our choice: the reference gives no error body), the
//! 400 text naming the field. A storage failure is a 500, as the reference asks, not the
//! JSON surface's 503.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use procurement::openbuy::{self, Caller, Item, OpenBuyRefused};
use procurement::paths;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::json::{JsonError, error_body, reply};

/// The largest request body read (our choice): Open Buy requests are a few fields.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const CHALLENGE: &str = "Bearer realm=\"openbuy\"";

/// The Open Buy surface's one error type.
#[derive(Debug)]
pub struct OpenBuyError(OpenBuyRefused);

impl From<OpenBuyRefused> for OpenBuyError {
    fn from(refused: OpenBuyRefused) -> Self {
        Self(refused)
    }
}

fn invalid(message: impl Into<String>) -> OpenBuyError {
    OpenBuyError(OpenBuyRefused::Invalid(message.into()))
}

impl IntoResponse for OpenBuyError {
    fn into_response(self) -> Response {
        let (status, message) = match &self.0 {
            OpenBuyRefused::Invalid(m) => (StatusCode::BAD_REQUEST, m.clone()),
            OpenBuyRefused::Unauthorized => {
                (StatusCode::UNAUTHORIZED, openbuy::UNAUTHORIZED.to_string())
            }
            OpenBuyRefused::Disabled => (StatusCode::UNAUTHORIZED, self.0.to_string()),
            OpenBuyRefused::Storage(e) => {
                tracing::error!(error = %e, "storage failed behind Open Buy");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "service error during the request; please retry".to_string(),
                )
            }
            OpenBuyRefused::NoRandomness(e) => {
                tracing::error!(error = %e, "no random bytes for an Open Buy token");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "service error during the request; please retry".to_string(),
                )
            }
        };
        let mut response = error_body(status, &message);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(CHALLENGE),
            );
        }
        response
    }
}

/// The request body as a JSON object, or a 400 that says what it must be.
fn object(body: &Bytes) -> Result<Map<String, Value>, OpenBuyError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(invalid(format!(
            "the request body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(invalid("the request body must be a JSON object")),
        Err(e) => Err(invalid(format!("the request body is not JSON: {e}"))),
    }
}

/// A string field: None when absent (or null), 400 when of another type.
fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, OpenBuyError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("field `{name}` must be a string"))),
    }
}

fn required_text<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, OpenBuyError> {
    text(fields, name)?.ok_or_else(|| invalid(format!("missing field `{name}`")))
}

/// A number field (the reference's "number"), read exactly: a JSON number, or a string of
/// one (lenient with what a caller may quote). None when absent or null.
fn number(fields: &Map<String, Value>, name: &str) -> Result<Option<Decimal>, OpenBuyError> {
    let written = match fields.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(invalid(format!("field `{name}` must be a number"))),
    };
    written
        .parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&written))
        .map(Some)
        .map_err(|_| invalid(format!("field `{name}` must be a number, not {written:?}")))
}

/// The token Coupa got from authentication: `Authorization: Bearer <token>`, or else a
/// `token` field of the body (our choice: the reference's stored copy does not say).
async fn caller(
    deps: &AppState,
    headers: &HeaderMap,
    fields: &Map<String, Value>,
) -> Result<Caller, OpenBuyError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string());
    let token = match bearer {
        Some(token) => token,
        None => match fields.get("token") {
            Some(Value::String(token)) => token.clone(),
            _ => return Err(OpenBuyError(OpenBuyRefused::Unauthorized)),
        },
    };
    Ok(openbuy::caller(deps, &token).await?)
}

/// One item as a search result: what Coupa shows and puts on a requisition line. Prices are
/// decimal strings in the currency's minor unit (our choice: never a binary float).
fn result(item: &Item) -> Value {
    let p = &item.product;
    json!({
        "source_part_num": item.source_part_num(),
        "name": p.title,
        "description": p.summary,
        "manufacturer": p.vendor,
        "price": item.price.amount.to_string(),
        "currency": item.price.currency.code(),
        "uom": procurement::cart::UNIT_OF_MEASURE,
        "unspsc": procurement::cart::unspsc(p.product_type),
        "product_type": p.product_type.label(),
        "price_summary": p.pricing.label(),
        "preapproved": item.preapproved,
        "private_offer": item.private_offer().map(|o| json!({
            "offer_id": o.offer_id,
            "expires_at": o.expires_at.format(&Rfc3339).unwrap_or_default(),
        })),
    })
}

/// A result with the cart lines it becomes.
fn detailed(item: &Item) -> Value {
    let mut value = result(item);
    value["lines"] = item
        .lines
        .iter()
        .map(|l| {
            json!({
                "line_number": l.line_number,
                "description": l.description,
                "quantity": l.quantity.to_string(),
                "price": l.unit_price.amount.to_string(),
                "currency": l.unit_price.currency.code(),
                "uom": l.unit_of_measure,
                "unspsc": l.unspsc,
            })
        })
        .collect();
    value
}

/// `POST /openbuy/authentication/v1.0.0`: `{"credentials", "email"}` → `{"token"}`.
pub async fn authentication(
    State(deps): State<AppState>,
    body: Bytes,
) -> Result<Response, OpenBuyError> {
    let fields = object(&body)?;
    let credentials = required_text(&fields, "credentials")?;
    // The Coupa user's address: read, not kept (the punchout's own setup request names the
    // requester again).
    text(&fields, "email")?;
    let issued = openbuy::authenticate(&deps, credentials).await?;
    Ok(reply(
        StatusCode::OK,
        json!({
            "token": issued.token,
            "expires_at": issued.expires_at.format(&Rfc3339).unwrap_or_default(),
        }),
        true,
    ))
}

/// `POST /openbuy/search/v1.0.0`: `{"query", "page_number"}` → `{"count", "total_count",
/// "results"}`.
pub async fn search(
    State(deps): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenBuyError> {
    let fields = object(&body)?;
    let caller = caller(&deps, &headers, &fields).await?;
    let query = required_text(&fields, "query")?;
    let page_number = match number(&fields, "page_number")? {
        None => 1,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|p| Decimal::from(*p) == n)
            .ok_or_else(|| invalid("field `page_number` must be a whole number from 1"))?,
    };
    let page = openbuy::search(&deps, &caller, query, page_number).await?;
    let results: Vec<Value> = page.items.iter().map(result).collect();
    Ok(reply(
        StatusCode::OK,
        json!({
            "count": results.len(),
            "total_count": page.total_count,
            "page_number": page.page_number,
            "page_size": openbuy::PAGE_SIZE,
            "results": results,
        }),
        false,
    ))
}

/// `POST /openbuy/detail/v1.0.0`: `{"source_part_num"}` → the item with its lines.
pub async fn detail(
    State(deps): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenBuyError> {
    let fields = object(&body)?;
    let caller = caller(&deps, &headers, &fields).await?;
    let part = required_text(&fields, "source_part_num")?;
    let item = openbuy::detail(&deps, &caller, part).await?;
    Ok(reply(StatusCode::OK, detailed(&item), false))
}

/// `POST /openbuy/checkout/v1.0.0`: `{"source_part_num", "quantity"}` → the item as bought
/// and the punchout that buys it (`SelectedItem`).
pub async fn checkout(
    State(deps): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OpenBuyError> {
    let fields = object(&body)?;
    let caller = caller(&deps, &headers, &fields).await?;
    let part = required_text(&fields, "source_part_num")?;
    let quantity = number(&fields, "quantity")?;
    let checkout = openbuy::checkout(&deps, &caller, part, quantity).await?;
    let mut value = detailed(&checkout.item);
    value["quantity"] = json!("1");
    value["punchout"] = json!({
        "url": checkout.punchout_setup_url,
        "operation": "create",
        "selected_item": {"supplier_part_id": checkout.selected_supplier_part_id},
    });
    Ok(reply(StatusCode::OK, value, false))
}

/// Another method on an Open Buy action, or a path under the base URL that is none.
pub async fn method_not_allowed() -> JsonError {
    JsonError::method_not_allowed(
        "POST",
        format!(
            "Open Buy actions are POSTed JSON: {}, {}, {}, {}",
            paths::OPEN_BUY_AUTHENTICATION,
            paths::OPEN_BUY_SEARCH,
            paths::OPEN_BUY_DETAIL,
            paths::OPEN_BUY_CHECKOUT
        ),
    )
}
