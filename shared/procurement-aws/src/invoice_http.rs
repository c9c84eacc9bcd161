//! The invoice POST over HTTPS (or plain HTTP, which the admin API allows only on loopback
//! for a local stand-in buyer).
//!
//! Built on the hyper / rustls stack the AWS SDK already links, with the same aws-lc-rs
//! crypto provider passed explicitly and the same native root certificates: no second
//! crypto backend, and no process-wide default provider that other HTTP clients in the same
//! binary would have to agree with.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use procurement::InvoiceSender;
use procurement::ports::SendError;

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Enough for any cXML Response; a larger answer is cut (its status comes first anyway).
const MAX_ANSWER_BYTES: usize = 1 << 20;
const USER_AGENT: &str = "Software Marketplace procurement invoicing 1.0";

/// POSTs invoices; the client (connection pool, root certificates) is built on first use,
/// so the functions that never send an invoice do not pay for it at cold start.
#[derive(Default)]
pub struct HttpInvoiceSender {
    client: OnceLock<Result<HttpsClient, String>>,
}

impl HttpInvoiceSender {
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self) -> Result<&HttpsClient, SendError> {
        self.client
            .get_or_init(build_client)
            .as_ref()
            .map_err(|e| SendError::Connection(e.clone()))
    }
}

fn build_client() -> Result<HttpsClient, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider.clone())
    {
        Ok(builder) => builder,
        Err(e) => {
            // Without root certificates https cannot be verified (each attempt fails and is
            // retried); plain http to a loopback stand-in still works.
            tracing::error!(error = %e, "no usable root certificates; https invoice URLs will fail");
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS configuration: {e}"))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    let connector = tls.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// An error with its causes, which hyper keeps in the source chain.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn request(url: &str, body: String) -> Result<hyper::Request<Full<Bytes>>, SendError> {
    let uri: hyper::Uri = url
        .trim()
        .parse()
        .map_err(|e| SendError::Invalid(format!("{url}: {e}")))?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) || uri.host().is_none() {
        return Err(SendError::Invalid(format!(
            "{url}: not an http(s) URL with a host"
        )));
    }
    hyper::Request::post(uri)
        .header(hyper::header::CONTENT_TYPE, "text/xml; charset=UTF-8")
        .header(hyper::header::USER_AGENT, USER_AGENT)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| SendError::Invalid(format!("{url}: {e}")))
}

#[async_trait]
impl InvoiceSender for HttpInvoiceSender {
    async fn post(
        &self,
        url: &str,
        body: String,
        timeout: Duration,
    ) -> Result<(u16, String), SendError> {
        let request = request(url, body)?;
        let client = self.client()?;
        // One deadline for connecting, sending and reading the answer.
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| SendError::Connection(describe(&e)))?;
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut answer = Vec::new();
            while answer.len() < MAX_ANSWER_BYTES {
                match body.frame().await {
                    None => break,
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            answer.extend_from_slice(&data);
                        }
                    }
                    Some(Err(e)) => return Err(SendError::Connection(describe(&e))),
                }
            }
            answer.truncate(MAX_ANSWER_BYTES);
            Ok((status, String::from_utf8_lossy(&answer).into_owned()))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| SendError::Timeout(timeout))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-shot HTTP server on 127.0.0.1: returns the raw request it read.
    async fn serve_once(
        reply: &'static str,
        delay: Duration,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/invoices", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Read until the whole body (Content-Length) is in.
            loop {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            tokio::time::sleep(delay).await;
            let _ = socket.write_all(reply.as_bytes()).await;
            let _ = socket.shutdown().await;
            String::from_utf8_lossy(&seen).to_string()
        });
        (url, handle)
    }

    #[tokio::test]
    async fn posts_text_xml_over_plain_http_and_returns_status_and_body() {
        let (url, server) = serve_once(
            "HTTP/1.1 201 Created\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            Duration::ZERO,
        )
        .await;
        let sender = HttpInvoiceSender::new();
        let answer = sender
            .post(&url, "<cXML/>".into(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(answer, (201, "hello".to_string()));
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /invoices HTTP/1.1"), "{seen}");
        assert!(
            seen.to_ascii_lowercase()
                .contains("content-type: text/xml; charset=utf-8"),
            "{seen}"
        );
        assert!(seen.ends_with("<cXML/>"), "{seen}");
    }

    #[tokio::test]
    async fn a_slow_buyer_is_a_timeout_and_a_closed_port_a_connection_error() {
        let (url, _server) = serve_once(
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        let sender = HttpInvoiceSender::new();
        let err = sender
            .post(&url, "<cXML/>".into(), Duration::from_millis(200))
            .await
            .unwrap_err();
        assert_eq!(err, SendError::Timeout(Duration::from_millis(200)));

        // Bind and drop: nothing listens on that port any more.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = sender
            .post(
                &format!("http://127.0.0.1:{port}/invoices"),
                "<cXML/>".into(),
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Connection(_)), "{err:?}");
    }

    #[tokio::test]
    async fn unusable_urls_are_invalid_not_retried() {
        let sender = HttpInvoiceSender::new();
        for url in ["ftp://buyer.example/x", "not a url", "/relative"] {
            let err = sender
                .post(url, String::new(), Duration::from_secs(1))
                .await
                .unwrap_err();
            assert!(matches!(err, SendError::Invalid(_)), "{url}: {err:?}");
        }
    }

    #[test]
    fn the_tls_client_builds_with_the_aws_lc_provider() {
        // Runs inside a runtime in production; building needs none.
        assert!(build_client().is_ok());
    }
}
