//! The SDK's HTTPS client trusts what `SdkTrust` says and nothing more: a real TLS handshake
//! against a local server whose certificate a test CA signed (`tests/tls/`, made with openssl,
//! valid until 2126; the CA's key was thrown away).
//!
//! One test in this binary: it sets `SSL_CERT_FILE`, which the SDK reads once per process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_types::error::display::DisplayErrorContext;
use procurement_aws::{SdkTrust, sdk_http_client};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const TLS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tls");

/// An HTTPS server on 127.0.0.1 answering every request as DynamoDB answers ListTables on an
/// empty account; its port.
fn dynamodb_over_tls() -> u16 {
    let certs = CertificateDer::pem_file_iter(format!("{TLS_DIR}/localhost.pem"))
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .expect("the server certificate");
    let key = PrivateKeyDer::from_pem_file(format!("{TLS_DIR}/localhost.key")).expect("its key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("a server configuration");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let mut tcp = stream;
                let Ok(mut tls) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
                // A refused handshake ends here, on the first read.
                let _ = answer_list_tables(&mut stream);
            });
        }
    });
    port
}

fn answer_list_tables(stream: &mut impl ReadWrite) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *stream);
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let answer = br#"{"TableNames":[]}"#;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\
         x-amzn-RequestId: 8O3F6K9Q2NQ0S5JE5V1M7LJQK7VV4KQNSO5AEMVJF66Q9ASUAAJG\r\n\
         Content-Length: {}\r\n\r\n",
        answer.len()
    )?;
    stream.write_all(answer)?;
    stream.flush()
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

async fn list_tables(port: u16, trust: SdkTrust) -> Result<Vec<String>, String> {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        ))
        .endpoint_url(format!("https://localhost:{port}"))
        .http_client(sdk_http_client(trust))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
        .list_tables()
        .send()
        .await
        .map(|out| out.table_names.unwrap_or_default())
        .map_err(|e| DisplayErrorContext(e).to_string())
}

#[test]
fn the_sdk_client_trusts_amazon_trust_services_unless_the_environment_names_a_bundle() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let port = dynamodb_over_tls();

    // SAFETY: this binary's only test, before its runtime runs anything; the server's
    // threads never read the environment.
    unsafe { std::env::set_var("SSL_CERT_FILE", format!("{TLS_DIR}/test-ca.pem")) };

    // Compiled-in ATS roots, whatever the environment says: a certificate from any other CA
    // is refused in the handshake.
    let refused = runtime
        .block_on(list_tables(port, SdkTrust::AmazonTrustServices))
        .expect_err("a certificate no ATS root signed");
    assert!(
        refused.contains("UnknownIssuer"),
        "refused for another reason: {refused}"
    );

    // The bundle SSL_CERT_FILE names, when the functions see it set.
    let trust = SdkTrust::from_env(|name| std::env::var_os(name));
    assert_eq!(trust, SdkTrust::SystemBundle);
    let tables = runtime
        .block_on(list_tables(port, trust))
        .expect("the bundle SSL_CERT_FILE names is trusted");
    assert!(tables.is_empty());
}
