//! Order confirmations (`CONFIRMATION#<id>` / `CONFIRMATION`) with their `status`; listed in
//! GSI2 `CONFIRMATION#scheduled` by creation time until handed to the queue, then in
//! `CONFIRMATION#queued` by requeue time (with `queueings`) until settled; `claimed_until`
//! (Unix ms) while a dispatcher posts one; `outcome` (JSON) once the Network answered.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use procurement::StoreError;
use procurement::ids::ConfirmationId;
use procurement::model::{Confirmation, ConfirmationOutcome, ConfirmationStatus};
use procurement::ports::{Confirmations, Page, Stale};

use super::{DynamoStore, Item, condition_held, decode_listed, item, rfc3339, s, stale_listed};

const SK: &str = "CONFIRMATION";
const SCHEDULED_INDEX: &str = "CONFIRMATION#scheduled";
/// Confirmations handed to the queue, by the time the scheduled run hands them over again if
/// no delivery settled them by then.
const QUEUED_INDEX: &str = "CONFIRMATION#queued";
const UNSETTLED: &str = "#status IN (:scheduled, :queued)";

fn pk(id: &ConfirmationId) -> String {
    format!("CONFIRMATION#{id}")
}

/// A new confirmation as the order's transaction writes it: scheduled, indexed for the
/// scheduled run until it is queued.
pub(super) fn scheduled_confirmation_item(c: &Confirmation) -> Result<Item, StoreError> {
    let mut confirmation_item = item(pk(&c.confirmation_id), SK, c)?;
    confirmation_item.insert("status".into(), s(ConfirmationStatus::Scheduled.as_str()));
    confirmation_item.insert("GSI2PK".into(), s(SCHEDULED_INDEX));
    confirmation_item.insert(
        "GSI2SK".into(),
        s(format!("{}#{}", rfc3339(c.created_at), c.confirmation_id)),
    );
    Ok(confirmation_item)
}

/// A new confirmation as the order's transaction writes it for the request that hands it to
/// the queue right after the commit: queued once, listed as stale from `requeue_at`.
pub(super) fn queued_confirmation_item(
    c: &Confirmation,
    requeue_at: time::OffsetDateTime,
) -> Result<Item, StoreError> {
    let mut confirmation_item = item(pk(&c.confirmation_id), SK, c)?;
    confirmation_item.insert("status".into(), s(ConfirmationStatus::Queued.as_str()));
    confirmation_item.insert("GSI2PK".into(), s(QUEUED_INDEX));
    confirmation_item.insert(
        "GSI2SK".into(),
        s(format!("{}#{}", rfc3339(requeue_at), c.confirmation_id)),
    );
    confirmation_item.insert("queueings".into(), AttributeValue::N("1".into()));
    Ok(confirmation_item)
}

fn unsettled_values() -> [(&'static str, &'static str); 2] {
    [
        (":scheduled", ConfirmationStatus::Scheduled.as_str()),
        (":queued", ConfirmationStatus::Queued.as_str()),
    ]
}

#[async_trait]
impl Confirmations for DynamoStore {
    async fn get(
        &self,
        id: &ConfirmationId,
    ) -> Result<Option<(Confirmation, ConfirmationStatus)>, StoreError> {
        self.get_with_status(pk(id), SK, ConfirmationStatus::parse)
            .await
    }

    async fn mark_queued(
        &self,
        id: &ConfirmationId,
        requeue_at: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk(id)))
            .key("SK", s(SK))
            .update_expression(
                "SET #status = :queued, GSI2PK = :index, GSI2SK = :sk ADD queueings :one",
            )
            .condition_expression(UNSETTLED)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":index", s(QUEUED_INDEX))
            .expression_attribute_values(":sk", s(format!("{}#{id}", rfc3339(requeue_at))))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        for (name, value) in unsettled_values() {
            update = update.expression_attribute_values(name, s(value));
        }
        condition_held(update.send().await)
    }

    async fn stale_queued(
        &self,
        now: time::OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Stale<Confirmation>>, StoreError> {
        let below = format!("{}$", rfc3339(now));
        let (items, next) = self
            .query_gsi2_page(QUEUED_INDEX, Some(below), limit, cursor)
            .await?;
        Ok(Page {
            items: stale_listed(&items),
            next,
        })
    }

    async fn unqueued(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Confirmation>, StoreError> {
        let (items, next) = self
            .query_gsi2_page(SCHEDULED_INDEX, None, limit, cursor)
            .await?;
        Ok(Page {
            items: decode_listed(&items),
            next,
        })
    }

    async fn record_outcome(
        &self,
        id: &ConfirmationId,
        outcome: &ConfirmationOutcome,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(outcome).map_err(|e| StoreError::Corrupt {
            key: pk(id),
            reason: e.to_string(),
        })?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk(id)))
            .key("SK", s(SK))
            .update_expression("SET #status = :status, outcome = :outcome REMOVE GSI2PK, GSI2SK")
            .condition_expression(UNSETTLED)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(outcome.status.as_str()))
            .expression_attribute_values(":outcome", s(json));
        for (name, value) in unsettled_values() {
            update = update.expression_attribute_values(name, s(value));
        }
        condition_held(update.send().await)
    }

    async fn outcome(
        &self,
        id: &ConfirmationId,
    ) -> Result<Option<ConfirmationOutcome>, StoreError> {
        let Some(json) = self.attribute(pk(id), SK, "outcome").await? else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                key: pk(id),
                reason: e.to_string(),
            })
    }

    async fn claim(
        &self,
        id: &ConfirmationId,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        DynamoStore::claim(
            self,
            (pk(id), SK),
            UNSETTLED,
            &unsettled_values(),
            now,
            until,
        )
        .await
    }

    async fn release(
        &self,
        id: &ConfirmationId,
        until: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        DynamoStore::release(self, (pk(id), SK), until).await
    }

    async fn hand_back(&self, c: &Confirmation) -> Result<bool, StoreError> {
        DynamoStore::put_back_scheduled(
            self,
            (pk(&c.confirmation_id), SK),
            (
                ConfirmationStatus::Scheduled.as_str(),
                ConfirmationStatus::Queued.as_str(),
            ),
            (
                SCHEDULED_INDEX,
                format!("{}#{}", rfc3339(c.created_at), c.confirmation_id),
            ),
        )
        .await
    }
}
