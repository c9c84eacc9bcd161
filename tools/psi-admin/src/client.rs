//! Sends signed requests to the admin API.
//!
//! HTTPS on the hyper / rustls stack the AWS SDK already links, with the aws-lc-rs provider
//! passed explicitly and the native root certificates, as `procurement-aws`'s invoice client
//! does: no second TLS stack and no process-wide default provider.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::api::{Failure, Request};
use crate::cli::{ENDPOINT_ENV, Global};
use crate::sign;

type Https = HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One exchange may take this long (connect, send, answer) before it counts as no answer.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Answers are a few kilobytes; a page of the message log at most a few megabytes.
const MAX_ANSWER_BYTES: usize = 32 << 20;

/// The admin API's base URL, split for building request URIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    scheme: String,
    /// The `host` header: the authority without a default port.
    host: String,
    authority: String,
    /// A stage path (`/prod`) or empty.
    base_path: String,
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Self, Failure> {
        let bad = |why: &str| Failure::Usage(format!("endpoint '{text}': {why}"));
        let uri: http::Uri = text.trim().parse().map_err(|_| bad("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("https" | "http")) => s.to_string(),
            _ => {
                return Err(bad(
                    "must start with https:// (or http:// for a local stand-in)",
                ));
            }
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("must not carry user information"));
        }
        if uri.query().is_some() {
            return Err(bad("must not have a query"));
        }
        // Answers carry shared secrets: plain http only to a stand-in on this machine (the
        // same rule the admin API applies to invoice URLs).
        let loopback = matches!(authority.host(), "127.0.0.1" | "localhost" | "[::1]");
        if scheme == "http" && !loopback {
            return Err(bad(
                "must be https:// (http:// only for 127.0.0.1 or localhost)",
            ));
        }
        let default_port = matches!(
            (scheme.as_str(), authority.port_u16()),
            ("https", Some(443)) | ("http", Some(80))
        );
        let host = if default_port {
            authority.host().to_string()
        } else {
            authority.as_str().to_string()
        };
        Ok(Self {
            scheme,
            host,
            authority: authority.as_str().to_string(),
            base_path: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// As the administrator gave it, for messages.
    pub fn display(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.base_path)
    }

    fn uri(&self, path: &str) -> String {
        format!(
            "{}://{}{}{path}",
            self.scheme, self.authority, self.base_path
        )
    }

    /// The region of an API Gateway endpoint, `{api}.execute-api.{region}.amazonaws.com`.
    pub fn region(&self) -> Option<String> {
        let host = self.host.split(':').next().unwrap_or_default();
        let (_, rest) = host.split_once(".execute-api.")?;
        let region = rest
            .strip_suffix(".amazonaws.com")
            .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
        (!region.is_empty() && !region.contains('.')).then(|| region.to_string())
    }
}

/// What the API answered with a success status.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// A signing client of one admin API.
pub struct Client {
    endpoint: Endpoint,
    region: String,
    credentials: Credentials,
    http: Https,
}

impl Client {
    /// With given credentials (tests, and anything that has them already).
    pub fn new(endpoint: &str, region: &str, credentials: Credentials) -> Result<Self, Failure> {
        Ok(Self {
            endpoint: Endpoint::parse(endpoint)?,
            region: region.to_string(),
            credentials,
            http: https_client()?,
        })
    }

    /// From the command line and the usual AWS chain: `--endpoint` or `PSI_ADMIN_ENDPOINT`;
    /// `--region`, else the endpoint's, else the AWS configuration's; the credentials of the
    /// default chain (environment, profile incl. SSO, web identity, container, instance role).
    pub async fn from_environment(global: &Global) -> Result<Self, Failure> {
        let text = global
            .endpoint
            .clone()
            .or_else(|| std::env::var(ENDPOINT_ENV).ok().filter(|e| !e.trim().is_empty()))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "no endpoint: give --endpoint URL or set {ENDPOINT_ENV} (the stack's API URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com)"
                ))
            })?;
        let endpoint = Endpoint::parse(&text)?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = global.region.clone().or_else(|| endpoint.region()) {
            loader = loader.region(aws_config::Region::new(region));
        }
        let config = loader.load().await;
        let region = config.region().map(ToString::to_string).ok_or_else(|| {
            Failure::Usage(
                "no region: give --region (or set AWS_REGION, or a region in the AWS profile)"
                    .into(),
            )
        })?;
        let provider = config.credentials_provider().ok_or_else(|| {
            Failure::Credentials("the AWS configuration has no credentials provider".into())
        })?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| Failure::Credentials(describe(&e)))?;
        Ok(Self {
            endpoint,
            region,
            credentials,
            http: https_client()?,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Signs and sends one request; an error status is a [`Failure::Api`].
    pub async fn send(&self, request: &Request) -> Result<Reply, Failure> {
        let body = request
            .body
            .as_ref()
            .map(|b| b.to_string().into_bytes())
            .unwrap_or_default();
        let mut builder = http::Request::builder()
            .method(request.method)
            .uri(self.endpoint.uri(&request.path))
            .header("host", &self.endpoint.host)
            .header("accept", "application/json");
        if request.body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let mut signed = builder
            .body(body)
            .map_err(|e| Failure::Usage(format!("request {}: {e}", request.path)))?;
        sign::sign_request(
            &mut signed,
            &self.credentials,
            &self.region,
            SystemTime::now(),
        )
        .map_err(Failure::Credentials)?;
        // Not signed (API Gateway ignores it): added after signing.
        signed.headers_mut().insert(
            "user-agent",
            http::HeaderValue::from_static(concat!("psi-admin/", env!("CARGO_PKG_VERSION"))),
        );
        let (parts, body) = signed.into_parts();
        let outgoing = hyper::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let unreachable = |detail: String| Failure::Connection {
            endpoint: self.endpoint.display(),
            detail,
        };
        let exchange = async {
            let response = self
                .http
                .request(outgoing)
                .await
                .map_err(|e| unreachable(describe(&e)))?;
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut bytes = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| unreachable(describe(&e)))?;
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
                if bytes.len() > MAX_ANSWER_BYTES {
                    return Err(Failure::Answer(format!(
                        "the answer is larger than {MAX_ANSWER_BYTES} bytes"
                    )));
                }
            }
            Ok((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                unreachable(format!("no answer within {} s", EXCHANGE_TIMEOUT.as_secs()))
            })??;
        let text = String::from_utf8_lossy(&bytes);
        if !(200..300).contains(&status) {
            return Err(Failure::of_answer(status, &text, &request.org));
        }
        let body = serde_json::from_str(&text).map_err(|e| {
            Failure::Answer(format!(
                "{} {}: not JSON ({e})",
                request.method, request.path
            ))
        })?;
        Ok(Reply { status, body })
    }
}

fn https_client() -> Result<Https, Failure> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider.clone())
    {
        Ok(builder) => builder,
        // No root certificates: https cannot be verified (each request fails and says so);
        // plain http to a local stand-in still works.
        Err(_) => {
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| Failure::Usage(format!("TLS configuration: {e}")))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    let connector = tls.https_or_http().enable_http1().build();
    Ok(HyperClient::builder(TokioExecutor::new()).build(connector))
}

/// An error with its causes (hyper and the credential providers keep the reason there).
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_their_stage_and_name_their_region() {
        let e =
            Endpoint::parse("https://abc123.execute-api.eu-west-1.amazonaws.com/prod/").unwrap();
        assert_eq!(e.region().as_deref(), Some("eu-west-1"));
        assert_eq!(
            e.uri("/admin/orgs/a/integration"),
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/admin/orgs/a/integration"
        );
        assert_eq!(e.host, "abc123.execute-api.eu-west-1.amazonaws.com");
        let local = Endpoint::parse("http://127.0.0.1:9760").unwrap();
        assert_eq!(local.region(), None);
        assert_eq!(local.host, "127.0.0.1:9760");
        assert_eq!(local.uri("/x"), "http://127.0.0.1:9760/x");
        assert_eq!(
            Endpoint::parse("https://api.example:443").unwrap().host,
            "api.example"
        );
        for bad in [
            "ftp://x",
            "api.example",
            "https://u:p@api.example",
            "https://a.example/?q=1",
            "",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(Failure::Usage(_))),
                "{bad}"
            );
        }
    }
}
