//! Who sent a cXML request: the integration its credentials belong to.

use cxml::{CredentialId, Header, Rejection};

use crate::model::{Instance, Integration, ProcurementSystem};
use crate::network;
use crate::ports::Deps;
use crate::refusal::Refusal;

/// The one answer to every credential failure. Which part was wrong (an unknown buyer, a
/// wrong secret, a Sender or To that does not fit) goes to the log only: telling the sender
/// would let anyone list which buyers are customers.
pub const NOT_ACCEPTED: &str = "the credentials of this document are not accepted by the marketplace: check the From, To and Sender credentials and the shared secret configured for it";

/// A request whose credentials hold: the buyer's integration, and which of its instances
/// (production, or the test instance or account) sent it.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub integration: Integration,
    pub instance: Instance,
    /// The buyer's From credential that named it (for an Ariba buyer, the ANID it sent as).
    pub from: CredentialId,
}

impl Authenticated {
    /// Test mode: the integration's switch, a test instance, or a test document.
    pub fn test(&self, deployment_mode: cxml::DeploymentMode) -> bool {
        self.integration.test_mode()
            || self.instance == Instance::Test
            || deployment_mode == cxml::DeploymentMode::Test
    }
}

fn refused(reason: std::fmt::Arguments<'_>) -> Refusal {
    tracing::info!(%reason, "cXML credentials refused");
    Rejection::unauthorized(NOT_ACCEPTED).into()
}

/// Authenticates a request's header and finds the buyer's integration.
///
/// - Sent by the SAP Ariba Network (`Sender` in domain `AribaNetworkUserId`, any case): the
///   Sender's SharedSecret must be the supplier's Network secret (current or previous, in
///   constant time), one `To` credential must be the supplier's ANID, and a `From` NetworkID
///   credential names the buyer by one of its ANIDs. Every From and To credential is read.
/// - Sent by the buyer itself (Coupa): the buyer's From credential finds the integration and
///   the instance (production or test) it names, whose credential set (From, Sender and shared
///   secret) must all match.
///
/// Disabled integrations are refused with 403.
pub async fn authenticate(deps: &Deps, header: &Header) -> Result<Authenticated, Refusal> {
    authenticate_known(deps, header, &[]).await
}

/// As [`authenticate`], with the integrations of some buyer credentials already read
/// (`known`: each credential with what [`crate::ports::Integrations::find_by_buyer`] answered
/// for it); the others are read here.
pub async fn authenticate_known(
    deps: &Deps,
    header: &Header,
    known: &[(CredentialId, Option<Integration>)],
) -> Result<Authenticated, Refusal> {
    let buyers = Buyers { deps, known };
    let sender = header.sender_credential();
    let authenticated = match sender {
        Some(sender) if network::is_network_sender(sender) => {
            through_the_network(deps, &buyers, header, sender).await?
        }
        _ => directly(&buyers, header).await?,
    };
    if !authenticated.integration.enabled() {
        return Err(Rejection::forbidden(
            "this procurement integration is disabled by the organisation's administrator",
        )
        .into());
    }
    tracing::Span::current().record("org_id", authenticated.integration.org_id.as_str());
    Ok(authenticated)
}

/// The buyer credentials [`authenticate`] looks up for `header`, in the order it tries them:
/// the From NetworkID credentials of a document the Ariba Network sent, else every From
/// credential.
pub fn buyer_lookups(header: &Header) -> Vec<CredentialId> {
    let through_the_network = header
        .sender_credential()
        .is_some_and(network::is_network_sender);
    header
        .from
        .iter()
        .filter(|c| {
            !through_the_network
                || c.domain
                    .trim()
                    .eq_ignore_ascii_case(network::NETWORK_ID_DOMAIN)
        })
        .map(|c| {
            let domain = if through_the_network {
                network::NETWORK_ID_DOMAIN
            } else {
                c.domain.trim()
            };
            CredentialId::new(domain, c.identity.trim())
        })
        .collect()
}

/// Integrations by buyer credential: from what was read already, else from the store.
struct Buyers<'a> {
    deps: &'a Deps,
    known: &'a [(CredentialId, Option<Integration>)],
}

impl Buyers<'_> {
    async fn find(&self, domain: &str, identity: &str) -> Result<Option<Integration>, Refusal> {
        let wanted = CredentialId::new(domain, identity);
        if let Some((_, found)) = self
            .known
            .iter()
            .find(|(c, _)| crate::ports::same_credential(c, &wanted))
        {
            return Ok(found.clone());
        }
        Ok(self
            .deps
            .integrations
            .find_by_buyer(domain, identity)
            .await?)
    }
}

async fn through_the_network(
    deps: &Deps,
    buyers: &Buyers<'_>,
    header: &Header,
    sender: &cxml::Credential,
) -> Result<Authenticated, Refusal> {
    let Some(mut account) = deps.ariba_network.current().await? else {
        tracing::error!(
            "ARIBA_NETWORK_NOT_CONFIGURED: a document came through the Ariba Network, but the deployment holds no Network account"
        );
        return Err(refused(format_args!(
            "no Ariba Network account is configured"
        )));
    };
    let presented = sender
        .shared_secret
        .as_ref()
        .map(cxml::SharedSecret::expose)
        .unwrap_or("");
    if !account.accepts(presented) {
        // The secret may have been rotated since this instance read it: read it again (at
        // most once per interval) before refusing.
        match deps.ariba_network.reread().await? {
            Some(fresh) if fresh.accepts(presented) => account = fresh,
            _ => {
                return Err(refused(format_args!(
                    "the Ariba Network's SharedSecret (sender {}/{}) is not the supplier's Network secret",
                    sender.domain, sender.identity
                )));
            }
        }
    }
    if !account.is_addressed_in(&header.to) {
        return Err(refused(format_args!(
            "no To credential names the supplier's ANID {}",
            account.supplier_anid
        )));
    }
    for from in header.from.iter().filter(|c| {
        c.domain
            .trim()
            .eq_ignore_ascii_case(network::NETWORK_ID_DOMAIN)
    }) {
        let identity = from.identity.trim();
        if let Some(integration) = buyers.find(network::NETWORK_ID_DOMAIN, identity).await?
            && let Some(instance) = integration
                .settings
                .instance_of(network::NETWORK_ID_DOMAIN, identity)
            && integration.system() == ProcurementSystem::Ariba
        {
            return Ok(Authenticated {
                from: CredentialId::new(network::NETWORK_ID_DOMAIN, identity),
                integration,
                instance,
            });
        }
    }
    Err(refused(format_args!(
        "no From NetworkID credential ({}) is a buyer ANID of an Ariba integration",
        describe(&header.from)
    )))
}

async fn directly(buyers: &Buyers<'_>, header: &Header) -> Result<Authenticated, Refusal> {
    let mut found = None;
    for credential in &header.from {
        if let Some(integration) = buyers
            .find(credential.domain.trim(), credential.identity.trim())
            .await?
        {
            let instance = integration
                .settings
                .instance_of(&credential.domain, &credential.identity)
                .unwrap_or(Instance::Production);
            found = Some((integration, instance));
            break;
        }
    }
    let Some((integration, instance)) = found else {
        // Unknown buyers cost the same digest as known ones, so timing tells nothing.
        let presented = header
            .sender_credential()
            .and_then(|s| s.shared_secret.as_ref())
            .map(cxml::SharedSecret::expose)
            .unwrap_or("");
        let _ = cxml::SecretDigest::of("").matches(presented);
        return Err(refused(format_args!(
            "From credential {} is not configured for any procurement integration",
            describe(&header.from)
        )));
    };
    // SAP Ariba buyers' documents come through the Network, signed with its secret.
    let Some(expected) = integration.expected_sender(instance) else {
        if integration.system() == ProcurementSystem::Ariba {
            return Err(refused(format_args!(
                "a document for SAP Ariba integration {} did not come through the Ariba Network",
                integration.org_id
            )));
        }
        tracing::error!(org_id = %integration.org_id, "integration has an unreadable secret digest");
        return Err(Rejection::internal(
            "the integration's credentials are damaged; ask the marketplace admin to rotate the shared secret",
        )
        .into());
    };
    if let Err(rejection) = cxml::authenticate(header, &expected) {
        return Err(refused(format_args!("{}", rejection.text)));
    }
    let from = expected.from.clone();
    Ok(Authenticated {
        integration,
        instance,
        from,
    })
}

fn describe(credentials: &[cxml::Credential]) -> String {
    credentials
        .iter()
        .map(|c| format!("{}/{}", c.domain, c.identity))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a credential presented outside cXML (in-tool search's HTTP Basic) is refused.
#[derive(Debug, thiserror::Error)]
pub enum CredentialRefused {
    /// Unknown buyer or wrong secret: one answer for both, so it tells nothing.
    #[error("unknown credential or wrong shared secret")]
    Wrong,
    #[error("the integration is disabled")]
    Disabled,
    #[error(transparent)]
    Storage(#[from] crate::StoreError),
}

/// The integration whose buyer credential is `domain`/`identity` (domain compared
/// case-insensitively), if `secret` is its shared secret (compared in constant time).
pub async fn authenticate_credential(
    deps: &Deps,
    domain: &str,
    identity: &str,
    secret: &str,
) -> Result<Integration, CredentialRefused> {
    // An overlong credential names no buyer (and is never looked up: DynamoDB refuses keys
    // over 2048 bytes).
    let found =
        if crate::limits::may_name_a_record(domain) && crate::limits::may_name_a_record(identity) {
            deps.integrations.find_by_buyer(domain, identity).await?
        } else {
            None
        };
    // Each instance's credential has its own secret.
    let digest = found.as_ref().and_then(|i| {
        let instance = i
            .settings
            .instance_of(domain, identity)
            .unwrap_or(Instance::Production);
        cxml::SecretDigest::from_hex(i.secret_digest_of(instance)?)
    });
    // Unknown buyers cost the same digest as known ones, so timing tells nothing.
    let matches = match &digest {
        Some(d) => d.matches(secret),
        None => {
            let _ = cxml::SecretDigest::of("").matches(secret);
            false
        }
    };
    let integration = match found {
        Some(i) if matches => i,
        _ => {
            tracing::info!(%domain, %identity, "credential refused: unknown buyer or wrong secret");
            return Err(CredentialRefused::Wrong);
        }
    };
    if !integration.enabled() {
        return Err(CredentialRefused::Disabled);
    }
    tracing::Span::current().record("org_id", integration.org_id.as_str());
    Ok(integration)
}
