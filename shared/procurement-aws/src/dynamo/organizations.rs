//! Organisations (`ORG#<org>` / `ORG`) and the account items (`ACCOUNT#<id>` / `ACCOUNT`) that
//! find an organisation from one of its AWS accounts in one read.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use procurement::StoreError;
use procurement::ids::OrgId;
use procurement::model::Organization;
use procurement::ports::Organizations;

use super::{DynamoStore, Item, MAX_TRANSACTION_ITEMS, condition_held, item, s, unavailable};

pub(super) const SK: &str = "ORG";

/// Every AWS account of the organisation, once each (a transaction may not name an item twice).
fn org_accounts(org: &Organization) -> BTreeSet<String> {
    std::iter::once(&org.management_account_id)
        .chain(&org.member_account_ids)
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// `ACCOUNT#<id>` / `ACCOUNT`: which organisation an AWS account belongs to.
fn account_item(account_id: &str, org_id: &OrgId) -> Item {
    HashMap::from([
        ("PK".to_string(), s(format!("ACCOUNT#{account_id}"))),
        ("SK".to_string(), s("ACCOUNT")),
        ("org_id".to_string(), s(org_id.as_str())),
    ])
}

#[async_trait]
impl Organizations for DynamoStore {
    /// Writes the organisation and one `ACCOUNT#<id>` item per account (management and
    /// members) naming it, so a marketplace user's account finds its organisation with one
    /// read. Accounts that left the organisation are forgotten.
    async fn put(&self, org: &Organization) -> Result<(), StoreError> {
        let previous: Option<Organization> =
            DynamoStore::get(self, format!("ORG#{}", org.org_id), SK).await?;
        let accounts = org_accounts(org);
        let mut steps = vec![self.put_step(item(format!("ORG#{}", org.org_id), SK, org)?)?];
        for account in &accounts {
            steps.push(self.put_step(account_item(account, &org.org_id))?);
        }
        // A transaction holds at most 100 steps; a larger organisation is written in several
        // (every step is a plain put, so writing again completes a partial write).
        for chunk in steps.chunks(MAX_TRANSACTION_ITEMS) {
            self.client
                .transact_write_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(unavailable)?;
        }
        let gone = previous.map(|p| org_accounts(&p)).unwrap_or_default();
        for account in gone.difference(&accounts) {
            // Only if it still names this organisation: another may have claimed it since.
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("PK", s(format!("ACCOUNT#{account}")))
                .key("SK", s("ACCOUNT"))
                .condition_expression("org_id = :org")
                .expression_attribute_values(":org", s(org.org_id.as_str()))
                .send()
                .await;
            condition_held(result)?;
        }
        Ok(())
    }

    async fn get(&self, org_id: &OrgId) -> Result<Option<Organization>, StoreError> {
        DynamoStore::get(self, format!("ORG#{org_id}"), SK).await
    }

    async fn find_by_account(&self, account_id: &str) -> Result<Option<Organization>, StoreError> {
        let account_id = account_id.trim();
        let Some(org_id) = self
            .attribute(format!("ACCOUNT#{account_id}"), "ACCOUNT", "org_id")
            .await?
        else {
            return Ok(None);
        };
        // The organisation record is the truth; the account item only points at it.
        Ok(Organizations::get(self, &OrgId::from(org_id))
            .await?
            .filter(|o| org_accounts(o).contains(account_id)))
    }
}
