//! Integrations (`ORG#<org>` / `INTEGRATION`, found through GSI1 by buyer credential) and the
//! credential claims (`BUYER#<domain>#<identity>` / `CREDENTIAL`) that keep one buyer
//! credential to one organisation.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use procurement::StoreError;
use procurement::ids::OrgId;
use procurement::model::Integration;
use procurement::ports::{IntegrationWrite, Integrations};

use super::{DynamoStore, Item, decode, item, s, unavailable, unix_nanos};

const SK: &str = "INTEGRATION";
const CREDENTIAL_SK: &str = "CREDENTIAL";

/// The GSI1 key (and credential item key) of a buyer credential: domains are compared
/// case-insensitively, identities exactly.
pub(super) fn buyer_key(domain: &str, identity: &str) -> String {
    format!(
        "BUYER#{}#{}",
        domain.trim().to_ascii_lowercase(),
        identity.trim()
    )
}

fn key_of(integration: &Integration) -> String {
    let buyer = integration.buyer();
    buyer_key(&buyer.domain, &buyer.identity)
}

/// An integration, found by its buyer credential through GSI1, versioned by `updated_ns`.
fn integration_item(integration: &Integration) -> Result<Item, StoreError> {
    let mut integration_item = item(format!("ORG#{}", integration.org_id), SK, integration)?;
    integration_item.insert("GSI1PK".into(), s(key_of(integration)));
    integration_item.insert("GSI1SK".into(), s(SK));
    integration_item.insert("updated_ns".into(), unix_nanos(integration.updated_at));
    Ok(integration_item)
}

/// The item that says which organisation holds a buyer credential: written with the
/// integration in one transaction, conditionally, so two organisations cannot both hold one.
fn credential_item(integration: &Integration) -> Item {
    HashMap::from([
        ("PK".into(), s(key_of(integration))),
        ("SK".into(), s(CREDENTIAL_SK)),
        ("org_id".into(), s(integration.org_id.as_str())),
    ])
}

#[async_trait]
impl Integrations for DynamoStore {
    async fn put(&self, integration: &Integration) -> Result<(), StoreError> {
        let steps = vec![
            self.put_step(integration_item(integration)?)?,
            self.put_step(credential_item(integration))?,
        ];
        match self.transact(steps).await? {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(StoreError::Unavailable(format!(
                "integration {} not written: {}",
                integration.org_id,
                cancelled.reasons()
            ))),
        }
    }

    /// One transaction: the integration (conditional on its version, step 0), its credential
    /// (free or already this organisation's, step 1) and, when the credential changed,
    /// giving up the previous one (step 2).
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
        let credential = Put::builder()
            .table_name(&self.table)
            .set_item(Some(credential_item(integration)))
            .condition_expression(holder_is_this_org)
            .expression_attribute_values(":org", s(integration.org_id.as_str()));
        let mut steps = vec![
            TransactWriteItem::builder()
                .put(put.build().map_err(unavailable)?)
                .build(),
            TransactWriteItem::builder()
                .put(credential.build().map_err(unavailable)?)
                .build(),
        ];
        if let Some(previous) = previous {
            let old_key = key_of(previous);
            if old_key != key_of(integration) {
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
            Err(cancelled) if cancelled.condition_failed_at(1) => IntegrationWrite::CredentialTaken,
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

    async fn find_by_buyer(
        &self,
        domain: &str,
        identity: &str,
    ) -> Result<Option<Integration>, StoreError> {
        let items = self.query_gsi1(&buyer_key(domain, identity)).await?;
        items.first().map(decode).transpose()
    }
}
