//! SigV4 for the admin API: what `psi-admin` puts on each request, and (feature `test-util`)
//! the check API Gateway's IAM authorizer makes, for test servers and the e2e tier's
//! signing stand-in.
//!
//! Both sides use `aws-sigv4`, the SDK's own signer, with the settings API Gateway expects
//! for service `execute-api` (AWS docs, "Signature Version 4 signing process": signed headers
//! in the `Authorization` header, the payload's SHA-256 in the canonical request, the
//! session token in `X-Amz-Security-Token`).

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// The signing name of API Gateway's invoke endpoint (`execute-api:Invoke`).
pub const SERVICE: &str = "execute-api";

/// Signs `request` (whose `host` header must already be set, as it will be sent) in place.
pub fn sign_request(
    request: &mut http::Request<Vec<u8>>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), String> {
    sign_for(request, credentials, region, SERVICE, time)
}

fn sign_for(
    request: &mut http::Request<Vec<u8>>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), String> {
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("SigV4 parameters: {e}"))?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        request.uri().to_string(),
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| format!("SigV4: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("SigV4: {e}"))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// AWS's published SigV4 test suite, case `get-vanilla` (credentials AKIDEXAMPLE, region
    /// us-east-1, service `service`, 2015-08-30T12:36:00Z): the signer is SigV4 as AWS
    /// computes it, not merely consistent with itself.
    #[test]
    fn the_signer_reproduces_the_aws_test_suite_vector() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let mut request = http::Request::builder()
            .method("GET")
            .uri("https://example.amazonaws.com/")
            .header("host", "example.amazonaws.com")
            .body(Vec::new())
            .unwrap();
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        sign_for(&mut request, &credentials, "us-east-1", "service", time).unwrap();
        assert_eq!(
            request.headers()["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(request.headers()["x-amz-date"], "20150830T123600Z");
    }
}

#[cfg(feature = "test-util")]
pub use verify::{SignatureRefused, verify};

#[cfg(feature = "test-util")]
mod verify {
    use std::time::{Duration, SystemTime};

    use aws_credential_types::Credentials;
    use subtle::ConstantTimeEq;

    /// How far a request's `X-Amz-Date` may be from the verifier's clock. AWS docs ("Elements
    /// of an AWS API request signature"): "the request must reach AWS within five minutes of
    /// the time stamp in the request".
    const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

    /// Why a request's signature is not accepted; the texts are API Gateway's own for the
    /// same cases (it answers each with 403 and `{"message": ...}`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum SignatureRefused {
        /// No `Authorization` header: "Missing Authentication Token".
        Unsigned,
        /// An access key ID that no known credentials have.
        UnknownAccessKey(String),
        /// The signature, scope, date or session token does not match.
        Mismatch(String),
    }

    impl SignatureRefused {
        /// API Gateway's `message` for this refusal.
        pub fn message(&self) -> String {
            match self {
                Self::Unsigned => "Missing Authentication Token".into(),
                Self::UnknownAccessKey(_) => {
                    "The security token included in the request is invalid.".into()
                }
                Self::Mismatch(detail) => format!(
                    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ({detail})"
                ),
            }
        }
    }

    /// Checks the SigV4 signature of a received request (`uri`: the path and query as
    /// received) against `known` credentials for `region` and service `execute-api`, as API
    /// Gateway does, and returns the credentials that signed it. The signature is computed
    /// again with `aws-sigv4` over the headers the request says it signed, at its own
    /// `X-Amz-Date`, and compared in constant time.
    pub fn verify<'a>(
        method: &str,
        uri: &str,
        headers: &http::HeaderMap,
        body: &[u8],
        region: &str,
        known: &'a [Credentials],
        now: SystemTime,
    ) -> Result<&'a Credentials, SignatureRefused> {
        let mismatch = |detail: &str| SignatureRefused::Mismatch(detail.to_string());
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let Some(authorization) = header("authorization") else {
            return Err(SignatureRefused::Unsigned);
        };
        let fields = authorization
            .strip_prefix("AWS4-HMAC-SHA256 ")
            .ok_or_else(|| mismatch("not AWS4-HMAC-SHA256"))?;
        let field = |name: &str| {
            fields
                .split(',')
                .map(str::trim)
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
        };
        let credential = field("Credential").ok_or_else(|| mismatch("no Credential"))?;
        let signed_headers = field("SignedHeaders").ok_or_else(|| mismatch("no SignedHeaders"))?;
        let mut scope = credential.split('/');
        let access_key = scope.next().unwrap_or_default();
        let (date, scope_region, service, terminator) =
            (scope.next(), scope.next(), scope.next(), scope.next());
        if scope_region != Some(region)
            || service != Some(super::SERVICE)
            || terminator != Some("aws4_request")
        {
            return Err(mismatch(&format!(
                "credential scope {credential} is not for region {region} and service {}",
                super::SERVICE
            )));
        }
        let credentials = known
            .iter()
            .find(|c| c.access_key_id() == access_key)
            .ok_or_else(|| SignatureRefused::UnknownAccessKey(access_key.to_string()))?;
        let amz_date = header("x-amz-date").ok_or_else(|| mismatch("no X-Amz-Date"))?;
        let time = parse_amz_date(amz_date).ok_or_else(|| mismatch("unreadable X-Amz-Date"))?;
        if date != amz_date.get(..8) {
            return Err(mismatch("the credential scope's date is not X-Amz-Date's"));
        }
        let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
        if skew > CLOCK_SKEW {
            return Err(mismatch("X-Amz-Date is more than 5 minutes off"));
        }
        if header("x-amz-security-token") != credentials.session_token() {
            return Err(mismatch("the session token does not match"));
        }
        let names: Vec<&str> = signed_headers.split(';').collect();
        if !names.contains(&"host") {
            return Err(mismatch("host is not signed"));
        }
        // The signer adds the date and the token itself: the others are taken as received.
        let mut request = http::Request::builder().method(method).uri(uri);
        for name in names {
            if matches!(name, "x-amz-date" | "x-amz-security-token") {
                continue;
            }
            let values = headers.get_all(name);
            if values.iter().next().is_none() {
                return Err(mismatch(&format!("signed header {name} is missing")));
            }
            for value in values {
                request = request.header(name, value);
            }
        }
        let mut request = request
            .body(body.to_vec())
            .map_err(|e| mismatch(&e.to_string()))?;
        super::sign_request(&mut request, credentials, region, time).map_err(|e| mismatch(&e))?;
        let expected = request
            .headers()
            .get("authorization")
            .map(|v| v.as_bytes().to_vec())
            .unwrap_or_default();
        if bool::from(expected.ct_eq(authorization.as_bytes())) {
            Ok(credentials)
        } else {
            Err(mismatch("signature"))
        }
    }

    /// `YYYYMMDD'T'HHMMSS'Z'`, the basic ISO 8601 form SigV4 uses.
    fn parse_amz_date(text: &str) -> Option<SystemTime> {
        let format =
            time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        let at = time::PrimitiveDateTime::parse(text, &format).ok()?;
        Some(at.assume_utc().into())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn amz_dates_read_as_utc() {
            assert_eq!(
                parse_amz_date("19700101T000000Z"),
                Some(SystemTime::UNIX_EPOCH)
            );
            assert_eq!(
                parse_amz_date("20261203T084500Z"),
                Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_287_500))
            );
            for bad in [
                "20261203T084500",
                "2026-12-03T08:45:00Z",
                "20261303T084500Z",
                "",
            ] {
                assert_eq!(parse_amz_date(bad), None, "{bad}");
            }
        }
    }
}
