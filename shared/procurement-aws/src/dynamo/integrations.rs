//! Integrations (`ORG#<org>` / `INTEGRATION`) and their credential items
//! (`BUYER#<domain>#<identity>` / `CREDENTIAL`), one per buyer credential the integration's
//! documents may name: each keeps that credential to one organisation, and holds a copy of the
//! integration so a document finds it with one consistent read.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use procurement::StoreError;
use procurement::ids::OrgId;
use procurement::model::Integration;
use procurement::ports::{IntegrationWrite, Integrations};

use super::{DynamoStore, Item, item, s, unavailable, unix_nanos};

pub(super) const SK: &str = "INTEGRATION";
pub(super) const CREDENTIAL_SK: &str = "CREDENTIAL";

/// The GSI1 key (and credential item key) of a buyer credential: domains are compared
/// case-insensitively, identities exactly.
pub(super) fn buyer_key(domain: &str, identity: &str) -> String {
    format!(
        "BUYER#{}#{}",
        domain.trim().to_ascii_lowercase(),
        identity.trim()
    )
}

/// The credential item keys of an integration: one per buyer credential its documents may
/// name (Coupa's buyer credential; an Ariba buyer's production and test ANIDs).
fn keys_of(integration: &Integration) -> Vec<String> {
    integration
        .settings
        .buyer_credentials()
        .iter()
        .map(|(c, _)| buyer_key(&c.domain, &c.identity))
        .collect()
}

/// The integration item, versioned by `updated_ns`.
fn integration_item(integration: &Integration) -> Result<Item, StoreError> {
    let mut integration_item = item(format!("ORG#{}", integration.org_id), SK, integration)?;
    integration_item.insert("updated_ns".into(), unix_nanos(integration.updated_at));
    Ok(integration_item)
}

/// A credential item: which organisation holds the buyer credential (written with the
/// integration in one transaction, conditionally, so two organisations cannot both hold one),
/// with a copy of the integration, so a document finds its integration with one consistent
/// read of the credential it names.
fn credential_item(key: &str, integration: &Integration) -> Result<Item, StoreError> {
    let mut credential = item(key.to_string(), CREDENTIAL_SK, integration)?;
    credential.insert("org_id".into(), s(integration.org_id.as_str()));
    Ok(credential)
}

#[async_trait]
impl Integrations for DynamoStore {
    async fn put(&self, integration: &Integration) -> Result<(), StoreError> {
        let mut steps = vec![self.put_step(integration_item(integration)?)?];
        for key in keys_of(integration) {
            steps.push(self.put_step(credential_item(&key, integration)?)?);
        }
        match self.transact(steps).await? {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(StoreError::Unavailable(format!(
                "integration {} not written: {}",
                integration.org_id,
                cancelled.reasons()
            ))),
        }
    }

    /// One transaction: the integration (conditional on its version, step 0); each of its
    /// credentials (free or already this organisation's, steps 1..=n); and giving up the
    /// credentials the previous version held and this one does not.
    async fn replace(
        &self,
        integration: &Integration,
        previous: Option<&Integration>,
    ) -> Result<IntegrationWrite, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(integration_item(integration)?));
        let put = match previous {
            None => put.condition_expression("attribute_not_exists(PK)"),
            // Items written before versions existed carry none: the first write adds one.
            Some(previous) => put
                .condition_expression("updated_ns = :previous OR attribute_not_exists(updated_ns)")
                .expression_attribute_values(":previous", unix_nanos(previous.updated_at)),
        };
        let holder_is_this_org = "attribute_not_exists(PK) OR org_id = :org";
        let mut steps = vec![
            TransactWriteItem::builder()
                .put(put.build().map_err(unavailable)?)
                .build(),
        ];
        let keys = keys_of(integration);
        for key in &keys {
            let claim = Put::builder()
                .table_name(&self.table)
                .set_item(Some(credential_item(key, integration)?))
                .condition_expression(holder_is_this_org)
                .expression_attribute_values(":org", s(integration.org_id.as_str()))
                .build()
                .map_err(unavailable)?;
            steps.push(TransactWriteItem::builder().put(claim).build());
        }
        let claims = 1..=keys.len();
        if let Some(previous) = previous {
            for old_key in keys_of(previous).into_iter().filter(|k| !keys.contains(k)) {
                let give_up = Delete::builder()
                    .table_name(&self.table)
                    .key("PK", s(old_key))
                    .key("SK", s(CREDENTIAL_SK))
                    .condition_expression(holder_is_this_org)
                    .expression_attribute_values(":org", s(integration.org_id.as_str()))
                    .build()
                    .map_err(unavailable)?;
                steps.push(TransactWriteItem::builder().delete(give_up).build());
            }
        }
        Ok(match self.transact(steps).await? {
            Ok(()) => IntegrationWrite::Written,
            Err(cancelled)
                if claims
                    .clone()
                    .any(|step| cancelled.condition_failed_at(step)) =>
            {
                IntegrationWrite::CredentialTaken
            }
            Err(cancelled) if cancelled.condition_failed_at(0) || cancelled.conflicted() => {
                IntegrationWrite::Stale
            }
            Err(cancelled) => {
                return Err(StoreError::Conflict(format!(
                    "integration {} not written: {}",
                    integration.org_id,
                    cancelled.reasons()
                )));
            }
        })
    }

    async fn get(&self, org_id: &OrgId) -> Result<Option<Integration>, StoreError> {
        DynamoStore::get(self, format!("ORG#{org_id}"), SK).await
    }

    /// One consistent read of the credential's item, which holds a copy of the integration.
    async fn find_by_buyer(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError> {
        DynamoStore::get(self, buyer_key(domain, identity), CREDENTIAL_SK).await
    }
}
