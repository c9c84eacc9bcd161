//! Who sent a cXML request: the integration its credentials belong to.

use cxml::{Header, Rejection};

use crate::model::Integration;
use crate::ports::{Deps, StoreError};

impl From<StoreError> for Rejection {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failed while handling a cXML request");
        Rejection::internal("temporary failure on the marketplace side; please retry")
    }
}

/// Finds the integration of the buyer named in From (unique per buyer, where Sender may be a
/// network shared by many buyers), authenticates From, Sender and the shared secret, and
/// refuses disabled integrations with 403.
pub async fn authenticated_integration(
    deps: &Deps,
    header: &Header,
) -> Result<Integration, Rejection> {
    let mut found = None;
    for credential in &header.from {
        if let Some(integration) = deps
            .store
            .find_integration_by_buyer(credential.domain.trim(), credential.identity.trim())
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
        )));
    };
    let expected = integration.expected_sender().ok_or_else(|| {
        tracing::error!(org_id = %integration.org_id, "integration has an unreadable secret digest");
        Rejection::internal("the integration's credentials are damaged; ask the marketplace admin to rotate the shared secret")
    })?;
    cxml::authenticate(header, &expected)?;
    if !integration.enabled {
        return Err(Rejection::forbidden(
            "this procurement integration is disabled by the organisation's administrator",
        ));
    }
    Ok(integration)
}
