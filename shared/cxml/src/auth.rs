//! Authenticating the sender of a cXML request: From and Sender credentials and the
//! SharedSecret, compared in constant time.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Rejection;
use crate::model::{Credential, Header};

/// A shared secret as it travels in `<SharedSecret>`. Its Debug output is redacted and it
/// is never serialized, so it cannot end up in a log line or a JSON dump by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(String);

impl SharedSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for writing it into an outgoing document.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 digest under which the secret is stored and compared.
    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.0)
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// SHA-256 of a shared secret. Secrets this product issues are 256 random bits, so a plain
/// digest is enough to make a leaked table useless for impersonating a buyer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Constant-time comparison: equal-length digests, compared without early exit.
    pub fn matches(&self, presented: &str) -> bool {
        let presented = Self::of(presented);
        bool::from(self.0.ct_eq(&presented.0))
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(<redacted>)")
    }
}

/// A domain + identity pair as configured for an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialId {
    pub domain: String,
    pub identity: String,
}

impl CredentialId {
    pub fn new(domain: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            identity: identity.into(),
        }
    }

    /// Domains are compared case-insensitively (Coupa sends `DUNS`, `duns` and `Duns`);
    /// identities exactly, after trimming the white space some senders wrap them in.
    pub fn matches(&self, credential: &Credential) -> bool {
        self.domain
            .trim()
            .eq_ignore_ascii_case(credential.domain.trim())
            && self.identity.trim() == credential.identity.trim()
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.identity)
    }
}

/// What an integration expects of the procurement system's requests.
#[derive(Debug, Clone)]
pub struct ExpectedSender {
    /// The buyer organisation (From).
    pub from: CredentialId,
    /// The system that sends on its behalf (Sender); often the same as From.
    pub sender: CredentialId,
    pub secret: SecretDigest,
}

/// Authenticates a request header against the configured credentials.
///
/// The From and Sender pair must match and the Sender's SharedSecret must equal the
/// configured one. Every path that touches the secret runs in constant time.
pub fn authenticate(header: &Header, expected: &ExpectedSender) -> Result<(), Rejection> {
    if !header.from.iter().any(|c| expected.from.matches(c)) {
        return Err(Rejection::unauthorized(format!(
            "From credential {} is not the buyer identity configured for this integration",
            describe(&header.from)
        )));
    }
    let Some(sender) = header.sender.iter().find(|c| expected.sender.matches(c)) else {
        return Err(Rejection::unauthorized(format!(
            "Sender credential {} is not the sender identity configured for this integration",
            describe(&header.sender)
        )));
    };
    // Compare even when the secret is absent so the timing does not say which it was.
    let presented = sender
        .shared_secret
        .as_ref()
        .map(SharedSecret::expose)
        .unwrap_or("");
    let matches = expected.secret.matches(presented);
    if sender.shared_secret.is_none() {
        return Err(Rejection::unauthorized(
            "Sender credential carries no SharedSecret",
        ));
    }
    if !matches {
        return Err(Rejection::unauthorized(
            "SharedSecret does not match the one configured for this integration",
        ));
    }
    Ok(())
}

fn describe(credentials: &[Credential]) -> String {
    match credentials.first() {
        Some(c) => format!("{}/{}", c.domain, c.identity),
        None => String::from("(none)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(from: (&str, &str), sender: (&str, &str), secret: Option<&str>) -> Header {
        let mut sender_credential = Credential::new(sender.0, sender.1);
        sender_credential.shared_secret = secret.map(SharedSecret::new);
        Header {
            from: vec![Credential::new(from.0, from.1)],
            to: vec![Credential::new("DUNS", "supplier")],
            sender: vec![sender_credential],
            user_agent: "test".into(),
        }
    }

    fn expected() -> ExpectedSender {
        ExpectedSender {
            from: CredentialId::new("DUNS", "coupa-t"),
            sender: CredentialId::new("DUNS", "coupa-t"),
            secret: SecretDigest::of("s3cr3t"),
        }
    }

    #[test]
    fn accepts_the_configured_pair_with_any_domain_case() {
        let h = header(("duns", "coupa-t"), ("Duns", " coupa-t "), Some("s3cr3t"));
        assert_eq!(authenticate(&h, &expected()), Ok(()));
    }

    #[test]
    fn refuses_wrong_secret_missing_secret_and_strangers() {
        let wrong = header(("DUNS", "coupa-t"), ("DUNS", "coupa-t"), Some("guess"));
        assert_eq!(authenticate(&wrong, &expected()).unwrap_err().code, 401);
        let missing = header(("DUNS", "coupa-t"), ("DUNS", "coupa-t"), None);
        assert!(
            authenticate(&missing, &expected())
                .unwrap_err()
                .text
                .contains("no SharedSecret")
        );
        let stranger = header(("DUNS", "other"), ("DUNS", "coupa-t"), Some("s3cr3t"));
        assert!(
            authenticate(&stranger, &expected())
                .unwrap_err()
                .text
                .contains("From")
        );
        let identity_case = header(("DUNS", "COUPA-T"), ("DUNS", "coupa-t"), Some("s3cr3t"));
        assert!(authenticate(&identity_case, &expected()).is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let h = header(("DUNS", "a"), ("DUNS", "a"), Some("hunter2"));
        assert!(!format!("{h:?}").contains("hunter2"));
        assert!(!format!("{:?}", SecretDigest::of("hunter2")).contains("hunter2"));
    }

    #[test]
    fn digest_round_trips_through_hex() {
        let d = SecretDigest::of("x");
        assert_eq!(SecretDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(SecretDigest::from_hex("zz"), None);
    }
}
