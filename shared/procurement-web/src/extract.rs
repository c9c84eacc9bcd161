//! What handlers read from a request, each extractor lenient where browsers and procurement
//! systems are (a form without its content type, a repeated query parameter) and never failing:
//! what is missing or unreadable comes through as absent, and the handler's own surface says so.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::request::RequestContext;

/// The AWS account that signed the request, as API Gateway's IAM authorizer reports it in the
/// event (payload 2.0: `requestContext.authorizer.iam.accountId`); none when unsigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamCaller(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IamCaller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let account = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx
                .authorizer
                .as_ref()
                .and_then(|a| a.iam.as_ref())
                .and_then(|iam| iam.account_id.clone()),
            _ => None,
        };
        Ok(Self(account.filter(|a| !a.trim().is_empty())))
    }
}

/// The query string, parameter by parameter (the first of a repeated name wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let query = parts.uri.query().unwrap_or("");
        Ok(Self(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// An HTML form body (`application/x-www-form-urlencoded`), read whatever the content type
/// says: the fields are what the page put in the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A field, trimmed; None when missing or blank.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Infallible> {
        let body = Bytes::from_request(request, state)
            .await
            .unwrap_or_default();
        Ok(Self::parse(&body))
    }
}

/// `Authorization: Basic base64("<domain>/<identity>:<shared secret>")`: the From credential
/// and shared secret a procurement system already uses for cXML.
#[derive(Clone, PartialEq, Eq)]
pub enum BasicCredentials {
    Missing,
    /// Present but not of that form.
    Unreadable,
    Given {
        domain: String,
        identity: String,
        secret: String,
    },
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        match self {
            Self::Missing => f.write_str("Missing"),
            Self::Unreadable => f.write_str("Unreadable"),
            Self::Given {
                domain, identity, ..
            } => write!(f, "Given({domain}/{identity}, <secret>)"),
        }
    }
}

impl BasicCredentials {
    pub fn parse(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Self::Missing;
        };
        Self::read(header).unwrap_or(Self::Unreadable)
    }

    fn read(header: &str) -> Option<Self> {
        let (scheme, encoded) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (user, secret) = decoded.split_once(':')?;
        let (domain, identity) = user.split_once('/')?;
        let (domain, identity) = (domain.trim(), identity.trim());
        if domain.is_empty() || identity.is_empty() || secret.is_empty() {
            return None;
        }
        Some(Self::Given {
            domain: domain.to_string(),
            identity: identity.to_string(),
            secret: secret.to_string(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BasicCredentials {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        Ok(Self::parse(header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    fn given(domain: &str, identity: &str, secret: &str) -> BasicCredentials {
        BasicCredentials::Given {
            domain: domain.into(),
            identity: identity.into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn reads_basic_credentials() {
        let read = |h: &str| BasicCredentials::parse(Some(h));
        assert_eq!(
            read(&basic("DUNS/buyer-1:s3cr:et")),
            given("DUNS", "buyer-1", "s3cr:et")
        );
        assert_eq!(
            read(&basic("NetworkID/AN01/x:s")),
            given("NetworkID", "AN01/x", "s")
        );
        assert_eq!(
            read(&basic("no-slash:secret")),
            BasicCredentials::Unreadable
        );
        assert_eq!(read(&basic("DUNS/id:")), BasicCredentials::Unreadable);
        assert_eq!(read("Bearer abc"), BasicCredentials::Unreadable);
        assert_eq!(read("Basic %%%"), BasicCredentials::Unreadable);
        assert_eq!(read(""), BasicCredentials::Unreadable);
        assert_eq!(BasicCredentials::parse(None), BasicCredentials::Missing);
        assert!(!format!("{:?}", given("D", "i", "hunter2")).contains("hunter2"));
    }

    #[test]
    fn forms_take_the_first_field_trimmed() {
        let form = Form::parse(b"token=+abc+&token=def&empty=&x=%E2%82%AC");
        assert_eq!(form.field("token"), Some("abc"));
        assert_eq!(form.field("empty"), None);
        assert_eq!(form.field("x"), Some("€"));
        assert_eq!(
            Form::parse(&[0xff, 0xfe, b'%', b'&', b'=']).field("token"),
            None
        );
    }
}
