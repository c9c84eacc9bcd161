//! Who sent a cXML request: the integration its credentials belong to.

use cxml::{Header, Rejection};

use crate::model::Integration;
use crate::ports::Deps;
use crate::refusal::Refusal;

/// Finds the integration of the buyer named in From (unique per buyer, where Sender may be a
/// network shared by many buyers), authenticates From, Sender and the shared secret, and
/// refuses disabled integrations with 403.
pub async fn authenticated_integration(
    deps: &Deps,
    header: &Header,
) -> Result<Integration, Refusal> {
    let mut found = None;
    for credential in &header.from {
        if let Some(integration) = deps
            .integrations
            .find_by_buyer(credential.domain.trim(), credential.identity.trim())
            .await?
        {
            found = Some(integration);
            break;
        }
    }
    let Some(integration) = found else {
        let named = header
            .from
            .first()
            .map(|c| format!("{}/{}", c.domain, c.identity))
            .unwrap_or_default();
        return Err(Rejection::unauthorized(format!(
            "From credential {named} is not configured for any procurement integration"
        ))
        .into());
    };
    let expected = integration.expected_sender().ok_or_else(|| {
        tracing::error!(org_id = %integration.org_id, "integration has an unreadable secret digest");
        Rejection::internal("the integration's credentials are damaged; ask the marketplace admin to rotate the shared secret")
    })?;
    cxml::authenticate(header, &expected)?;
    if !integration.enabled() {
        return Err(Rejection::forbidden(
            "this procurement integration is disabled by the organisation's administrator",
        )
        .into());
    }
    tracing::Span::current().record("org_id", integration.org_id.as_str());
    Ok(integration)
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
    let found = deps.integrations.find_by_buyer(domain, identity).await?;
    let digest = found
        .as_ref()
        .and_then(|i| cxml::SecretDigest::from_hex(&i.secret_digest));
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
