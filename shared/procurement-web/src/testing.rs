//! Driving a router in-process, with the events API Gateway would send: for tests only
//! (feature `test-util`).

use axum::Router;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use tower::ServiceExt;

/// What a router answered.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The nonce a page's inline script must carry: the one in its CSP header.
    pub fn script_nonce(&self) -> Option<String> {
        self.header("content-security-policy")?
            .split("script-src 'nonce-")
            .nth(1)?
            .split('\'')
            .next()
            .map(str::to_string)
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one request through the router, as `lambda_http` would.
pub async fn send(app: &Router, request: lambda_http::Request) -> Reply {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Sends a Lambda event (API Gateway HTTP API, payload 2.0) through the router.
pub async fn send_event(app: &Router, event: &Value) -> Reply {
    let request = lambda_http::request::from_str(&event.to_string())
        .unwrap_or_else(|e| panic!("not an API Gateway event ({e}): {event}"));
    send(app, request).await
}

/// An HTTP request as API Gateway (HTTP API, payload 2.0) hands it to the function. `query` is
/// the raw query string; `account_id` puts the caller API Gateway's IAM authorizer accepted
/// into the event, as it does for a SigV4-signed request.
pub fn api_gateway_event(
    method: &str,
    path: &str,
    query: &str,
    content_type: &str,
    body: Option<&str>,
    account_id: Option<&str>,
) -> Value {
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": "127.0.0.1",
        "domainPrefix": "local",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "127.0.0.1", "userAgent": "test"},
        "requestId": "test-request",
        "routeKey": "$default",
        "stage": "$default",
        "time": "24/Nov/2026:10:00:00 +0000",
        "timeEpoch": 1_795_514_400_000u64,
    });
    if let Some(account) = account_id {
        context["authorizer"] = json!({"iam": {
            "accessKey": "AKIAEXAMPLE",
            "accountId": account,
            "callerId": "AIDAEXAMPLE",
            "principalOrgId": null,
            "userArn": format!("arn:aws:iam::{account}:user/admin"),
            "userId": "AIDAEXAMPLE",
        }});
    }
    let mut query_parameters = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        query_parameters
            .entry(k.into_owned())
            .or_insert(Value::String(v.into_owned()));
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "queryStringParameters": query_parameters,
        "headers": {"content-type": content_type, "host": "127.0.0.1"},
        "requestContext": context,
        "body": body,
        "isBase64Encoded": false,
    })
}

/// A browser's GET of a page.
pub async fn get(app: &Router, path: &str, query: &[(&str, &str)]) -> Reply {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    send_event(
        app,
        &api_gateway_event("GET", path, &query, "text/plain", None, None),
    )
    .await
}

/// A browser's POST of an HTML form.
pub async fn post_form(app: &Router, path: &str, fields: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    post_raw(app, path, "application/x-www-form-urlencoded", &body).await
}

/// A POST of a body as it is (cXML, a malformed form).
pub async fn post_raw(app: &Router, path: &str, content_type: &str, body: &str) -> Reply {
    send_event(
        app,
        &api_gateway_event("POST", path, "", content_type, Some(body), None),
    )
    .await
}

/// A POST of bytes that need not be text (sent base64-encoded, as API Gateway does for them).
pub async fn post_bytes(app: &Router, path: &str, content_type: &str, body: &[u8]) -> Reply {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    let mut event = api_gateway_event("POST", path, "", content_type, Some(&encoded), None);
    event["isBase64Encoded"] = Value::Bool(true);
    send_event(app, &event).await
}

/// A browser's POST of an HTML form, by a signed caller (as API Gateway reports it).
pub async fn post_form_signed(
    app: &Router,
    path: &str,
    fields: &[(&str, &str)],
    account_id: &str,
) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    send_event(
        app,
        &api_gateway_event(
            "POST",
            path,
            "",
            "application/x-www-form-urlencoded",
            Some(&body),
            Some(account_id),
        ),
    )
    .await
}

/// An admin API call, signed (as API Gateway reports it) by `account_id` when given.
pub async fn admin(
    app: &Router,
    method: &str,
    path: &str,
    account_id: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let body = body.map(Value::to_string);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    send_event(
        app,
        &api_gateway_event(
            method,
            path,
            query,
            "application/json",
            body.as_deref(),
            account_id,
        ),
    )
    .await
}
