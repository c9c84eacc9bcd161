//! The SDK's HTTPS client, trusting the roots AWS's service endpoints chain to.
//!
//! The SDK's default client loads the system's whole CA bundle when it builds its first
//! connector, which in a Lambda function is the cold-start secret read: PEM-decoding ~145 roots
//! (220 KB) cost ~2 ms of the 10 ms init budget (`make bench-lambda`, README "Lambda
//! functions"). The SDK only ever talks to AWS endpoints, whose certificates Amazon Trust
//! Services issues, so its client trusts ATS's five roots instead: less to load, and no other
//! public CA can vouch for a DynamoDB or Secrets Manager endpoint. The invoice client
//! (`invoice_http`), which talks to buyers' own hosts, keeps the system bundle.

use std::ffi::OsString;

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Amazon Root CA 1–4 and Starfield Services Root Certificate Authority - G2: the five roots
/// Amazon Trust Services tells relying parties with their own trust store to include
/// (<https://www.amazontrust.com/repository/>, "Trust store and pinning recommendations"). AWS
/// moved its service endpoints' certificates to ATS ("How to Prepare for AWS's Move to Its Own
/// Certificate Authority", AWS Security Blog). Certificates as Debian's ca-certificates ships
/// them; the fingerprints are checked against ATS's list in the tests below.
const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("amazon-trust-services-roots.pem");

/// Which roots the SDK's client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkTrust {
    /// Amazon Trust Services' roots, compiled in.
    AmazonTrustServices,
    /// The bundle `SSL_CERT_FILE` / `SSL_CERT_DIR` name (as rustls-native-certs reads them):
    /// for an egress that re-signs TLS with its own CA (a VPC with TLS inspection), whose CA
    /// the function must then trust.
    SystemBundle,
}

impl SdkTrust {
    /// The system bundle when the environment names one, ATS's roots otherwise.
    pub fn from_env(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let named = |name| var(name).is_some_and(|value| !value.is_empty());
        if named("SSL_CERT_FILE") || named("SSL_CERT_DIR") {
            SdkTrust::SystemBundle
        } else {
            SdkTrust::AmazonTrustServices
        }
    }
}

/// The SDK's own HTTPS client (hyper, rustls with aws-lc-rs, as `default-https-client` builds
/// it), with the trust store `trust` chooses. Certificates are loaded when the SDK builds its
/// first connector.
pub fn sdk_http_client(trust: SdkTrust) -> SharedHttpClient {
    let trust_store = match trust {
        SdkTrust::AmazonTrustServices => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)
        }
        SdkTrust::SystemBundle => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .unwrap_or_default();
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use sha2::{Digest, Sha256};

    use super::*;

    /// SHA-256 fingerprints of the five roots, as <https://www.amazontrust.com/repository/>
    /// lists them.
    const ATS_FINGERPRINTS: [&str; 5] = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Amazon Root CA 1
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Amazon Root CA 2
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Amazon Root CA 3
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Amazon Root CA 4
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5", // Starfield Services G2
    ];

    #[test]
    fn the_compiled_in_roots_are_exactly_amazon_trust_services_five() {
        let certs = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS)
            .collect::<Result<Vec<_>, _>>()
            .expect("the bundle is valid PEM");
        let fingerprints: Vec<String> = certs
            .iter()
            .map(|cert| {
                Sha256::digest(cert.as_ref())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect();
        assert_eq!(fingerprints, ATS_FINGERPRINTS);
        // Each is usable as a trust anchor (the SDK would panic building its connector otherwise).
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs {
            roots.add(cert).expect("a trust anchor");
        }
        assert_eq!(roots.len(), 5);
    }

    #[test]
    fn a_bundle_named_in_the_environment_replaces_the_compiled_in_roots() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        assert_eq!(SdkTrust::from_env(env(&[])), SdkTrust::AmazonTrustServices);
        assert_eq!(
            SdkTrust::from_env(env(&[(
                "SSL_CERT_FILE",
                "/etc/pki/tls/certs/ca-bundle.crt"
            )])),
            SdkTrust::SystemBundle
        );
        assert_eq!(
            SdkTrust::from_env(env(&[("SSL_CERT_DIR", "/etc/ssl/certs")])),
            SdkTrust::SystemBundle
        );
        assert_eq!(
            SdkTrust::from_env(env(&[("SSL_CERT_FILE", "")])),
            SdkTrust::AmazonTrustServices
        );
    }
}
