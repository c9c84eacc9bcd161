//! The SAP Ariba Network as the marketplace meets it: one supplier account with one ANID and one
//! shared secret, which the Network presents for every buyer it forwards.
//!
//! (SAP Community, "Configuration of punchout catalog in Ariba": the Network "authenticates
//! buyer's identity and forwards it to punchout site by including identity of Ariba network and
//! supplier's shared secret"; Software AG, "Ariba Supplier OnRamp": "When Ariba SN forwards
//! cXML requests from Ariba Buyers, it inserts a SharedSecret in the request's Header (in the
//! Sender Credential). The SharedSecret is a password that the supplier chooses and configures
//! on Ariba SN." Forwarded documents in public code carry Sender
//! `AribaNetworkUserId`/`sysadmin@ariba.com`.)
//!
//! The same ANID and secret sign what the supplier sends to the Network (order confirmations):
//! From and Sender are the supplier's ANID, To the buyer's.

use cxml::{Credential, SecretDigest, SharedSecret};

/// The credential domain the Network presents itself under in `Sender`.
pub const SENDER_DOMAIN: &str = "AribaNetworkUserId";
/// The identity the Network sends as.
pub const SENDER_IDENTITY: &str = "sysadmin@ariba.com";
/// The credential domain of Ariba Network IDs (ANIDs); sent in any case (`NetworkID`,
/// `NetworkId`, `networkid`).
pub const NETWORK_ID_DOMAIN: &str = "NetworkID";
/// The Network's URL for documents suppliers post (its ProfileResponse lists it for
/// ConfirmationRequest, InvoiceDetailRequest and ShipNoticeRequest).
pub const DEFAULT_URL: &str = "https://service.ariba.com/service/transaction/cxml.asp";

/// The supplier's account on the Ariba Network, as the deployment holds it: its ANID and the
/// shared secrets valid now, the current one first (during a rotation the previous one is
/// still accepted, so the secret can change in Ariba and in the deployment at different times).
#[derive(Clone, PartialEq, Eq)]
pub struct AribaNetwork {
    pub supplier_anid: String,
    secrets: Vec<SharedSecret>,
}

impl std::fmt::Debug for AribaNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AribaNetwork")
            .field("supplier_anid", &self.supplier_anid)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl AribaNetwork {
    /// `current` first; `previous` while a rotation is under way.
    pub fn new(
        supplier_anid: impl Into<String>,
        current: SharedSecret,
        previous: Option<SharedSecret>,
    ) -> Self {
        Self {
            supplier_anid: supplier_anid.into(),
            secrets: std::iter::once(current).chain(previous).collect(),
        }
    }

    /// The secret this deployment signs with.
    pub fn current_secret(&self) -> &SharedSecret {
        &self.secrets[0]
    }

    /// The same account signing with the previous secret, while a rotation is under way: what
    /// the Network still expects if the secret changed here before it changed in Ariba.
    pub fn signing_with_previous(&self) -> Option<AribaNetwork> {
        let previous = self.secrets.get(1)?;
        Some(Self {
            supplier_anid: self.supplier_anid.clone(),
            secrets: vec![previous.clone(), self.secrets[0].clone()],
        })
    }

    /// Whether `presented` is one of the valid secrets. Every secret is compared, in constant
    /// time, so the timing tells neither whether nor which one matched.
    pub fn accepts(&self, presented: &str) -> bool {
        self.secrets
            .iter()
            .map(|s| SecretDigest::of(s.expose()).matches(presented))
            .fold(false, |any, this| any | this)
    }

    /// Whether a `To` credential names this supplier (its ANID under NetworkID, any case).
    pub fn is_addressed_in(&self, to: &[Credential]) -> bool {
        to.iter().any(|c| {
            c.domain.trim().eq_ignore_ascii_case(NETWORK_ID_DOMAIN)
                && c.identity.trim() == self.supplier_anid
        })
    }

    /// The credential the supplier signs its own documents with (From and Sender).
    pub fn supplier_credential(&self, with_secret: bool) -> Credential {
        let mut credential = Credential::new(NETWORK_ID_DOMAIN, &self.supplier_anid);
        if with_secret {
            credential.shared_secret = Some(self.current_secret().clone());
        }
        credential
    }
}

/// Whether a Sender credential is the Ariba Network's (domain compared case-insensitively).
pub fn is_network_sender(sender: &Credential) -> bool {
    sender.domain.trim().eq_ignore_ascii_case(SENDER_DOMAIN)
}

/// Whether `anid` is an Ariba Network ID: `AN` and digits (production), with `-T` for a test
/// account.
pub fn is_anid(anid: &str) -> bool {
    let digits = anid.strip_prefix("AN").unwrap_or("");
    let digits = digits.strip_suffix("-T").unwrap_or(digits);
    !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `anid` is a test account's ANID (`AN…-T`).
pub fn is_test_anid(anid: &str) -> bool {
    is_anid(anid) && anid.ends_with("-T")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> AribaNetwork {
        AribaNetwork::new(
            "AN01000000099",
            SharedSecret::new("new-secret"),
            Some(SharedSecret::new("old-secret")),
        )
    }

    #[test]
    fn current_and_previous_secrets_are_accepted_nothing_else() {
        let n = network();
        assert!(n.accepts("new-secret") && n.accepts("old-secret"));
        assert!(!n.accepts("new-secret ") && !n.accepts("") && !n.accepts("guess"));
        assert_eq!(n.current_secret().expose(), "new-secret");
        let alone = AribaNetwork::new("AN01000000099", SharedSecret::new("only"), None);
        assert!(alone.accepts("only") && !alone.accepts("old-secret"));
        assert!(!format!("{n:?}").contains("secret\""), "{n:?}");
        assert!(!format!("{n:?}").contains("new-secret"));
    }

    #[test]
    fn the_supplier_is_addressed_by_its_anid_in_any_domain_case() {
        let n = network();
        let to = |d: &str, i: &str| vec![Credential::new("PrivateId", "x"), Credential::new(d, i)];
        assert!(n.is_addressed_in(&to("networkid", "AN01000000099")));
        assert!(n.is_addressed_in(&to("NetworkId", " AN01000000099 ")));
        assert!(!n.is_addressed_in(&to("NetworkID", "AN01000000098")));
        assert!(!n.is_addressed_in(&to("DUNS", "AN01000000099")));
    }

    #[test]
    fn anids_are_an_digits_and_an_optional_test_suffix() {
        assert!(is_anid("AN01000000001") && is_anid("AN01000002779-T"));
        assert!(is_test_anid("AN01000002779-T") && !is_test_anid("AN01000002779"));
        for bad in [
            "AN",
            "AN-T",
            "an0100",
            "AN01x",
            "01000000001",
            "AN01-t",
            "AN01-T-T",
        ] {
            assert!(!is_anid(bad), "{bad}");
        }
        assert!(is_network_sender(&Credential::new(
            "aribanetworkuserid",
            SENDER_IDENTITY
        )));
        assert!(!is_network_sender(&Credential::new("NetworkID", "AN01")));
    }
}
