//! What handlers read from a request, each extractor lenient where browsers and procurement
//! systems are (a form without its content type, a repeated query parameter) and never failing:
//! what is missing or unreadable comes through as absent, and the handler's own surface says so.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
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

/// The AWS account that signed an admin API request, as API Gateway's REST API reports it
/// (payload 1.0, AWS_IAM authorization: `requestContext.identity.accountId`, the caller's own
/// account, also when it is another account than the API's, which the REST API's resource
/// policy allows); none when unsigned. Only the REST API's context counts: the admin function
/// is served by the REST API alone, and an HTTP API event names no caller it would trust.
/// (AWS: "API Gateway context variables for data transformations", `$context.identity.accountId`:
/// "The AWS account ID associated with the request", set for IAM-authorized requests.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestApiCaller(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RestApiCaller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let account = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.account_id.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
