//! Every way a cXML exchange can fail, mapped to the cXML status a sender can act on.

use std::fmt;

/// A cXML status code with the text that tells the sender what is wrong.
///
/// cXML reuses HTTP status semantics inside `<Status code=".." text="..">`; the text is
/// what Coupa and Ariba show their administrators, so it names the element or field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Rejection {
    pub code: u16,
    pub text: String,
}

impl Rejection {
    pub fn new(code: u16, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    /// 400: the document is malformed or lacks something it must have.
    pub fn bad_request(text: impl Into<String>) -> Self {
        Self::new(400, text)
    }

    /// 401: the credentials or shared secret are not the ones configured.
    pub fn unauthorized(text: impl Into<String>) -> Self {
        Self::new(401, text)
    }

    /// 403: the sender is known but not allowed to do this now.
    pub fn forbidden(text: impl Into<String>) -> Self {
        Self::new(403, text)
    }

    /// 406: the request is well formed but cannot be accepted as it stands.
    pub fn not_acceptable(text: impl Into<String>) -> Self {
        Self::new(406, text)
    }

    /// 409: the request conflicts with the current state (an order that can no longer change).
    pub fn conflict(text: impl Into<String>) -> Self {
        Self::new(409, text)
    }

    /// 413: the document is larger than this endpoint reads.
    pub fn too_large(text: impl Into<String>) -> Self {
        Self::new(413, text)
    }

    /// 450: the request type is valid cXML but this endpoint does not implement it.
    pub fn not_implemented(text: impl Into<String>) -> Self {
        Self::new(450, text)
    }

    /// 500: something failed on our side; the sender may retry.
    pub fn internal(text: impl Into<String>) -> Self {
        Self::new(500, text)
    }

    /// The short reason phrase for the code, as HTTP names it.
    pub fn reason(&self) -> &'static str {
        reason_phrase(self.code)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason(), self.text)
    }
}

/// The reason phrase for a cXML status code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Accepted",
        204 => "No Content",
        280 => "Forwarded",
        281 => "Forwarded",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        406 => "Not Acceptable",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        417 => "Expectation Failed",
        450 => "Not Implemented",
        475 => "Signature Required",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        550 => "Unable to reach cXML server",
        551 => "Unable to forward request",
        560 => "Temporary server error",
        _ => "Status",
    }
}
