//! Replies as plain data; the Lambda layer turns them into API Gateway responses.

use cxml::{Cxml, Rejection};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

pub const CXML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

impl HttpReply {
    pub fn cxml(status: u16, doc: &Cxml) -> Self {
        Self {
            status,
            content_type: CXML_CONTENT_TYPE,
            headers: Vec::new(),
            body: cxml::to_xml(doc),
        }
    }

    /// A cXML Response carrying the rejection. The HTTP status mirrors the cXML code where
    /// HTTP has one, so both kinds of client (status-line readers and body readers) see it.
    pub fn cxml_rejection(host: &str, rejection: &Rejection) -> Self {
        Self::cxml(
            http_status_for(rejection.code),
            &Cxml::rejection(host, rejection),
        )
    }

    pub fn html(status: u16, body: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            headers: vec![("cache-control", "no-store".into())],
            body,
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: value.to_string(),
        }
    }

    /// `{"error": {"status": .., "message": ..}}` for admin and JSON endpoints.
    pub fn json_error(status: u16, message: impl Into<String>) -> Self {
        Self::json(
            status,
            &json!({"error": {"status": status, "message": message.into()}}),
        )
    }

    pub fn not_found(path: &str) -> Self {
        Self::json_error(404, format!("no route for {path}"))
    }
}

/// cXML codes that are not HTTP codes (450 Not Implemented) travel as their HTTP family.
pub fn http_status_for(cxml_code: u16) -> u16 {
    match cxml_code {
        200..=299 | 400 | 401 | 403 | 404 | 406 | 409 | 412 | 413 | 417 | 500 | 503 => cxml_code,
        450 => 501,
        400..=499 => 400,
        _ => 500,
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTTP request as the domain sees it: the Lambda layer fills this from the API Gateway
/// event, so handlers and their tests never touch Lambda types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The AWS account that signed the request (API Gateway's IAM authorizer), if any.
    pub caller_account: Option<String>,
}

impl WebRequest {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            ..Self::default()
        }
    }

    /// The first query parameter of this name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body read as an HTML form (`application/x-www-form-urlencoded`).
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}
