//! Invoice charges (`CHARGE#<charge>` / `CHARGE`) with their `status`; listed in GSI2
//! `CHARGE#scheduled` by due date while scheduled, in `CHARGE#queued` by requeue time while
//! queued, and in `CHARGE#failed` by time once their invoice failed for good; `claimed_until` (Unix ms) while a dispatcher posts the invoice;
//! `outcome` (the [`ChargeOutcome`] as JSON) once settled.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use procurement::StoreError;
use procurement::ids::ChargeId;
use procurement::model::{ChargeOutcome, ChargeStatus, InvoiceJob};
use procurement::ports::{Charges, Page, Stale};

use super::{
    DynamoStore, Item, condition_held, decode_listed, item, rfc3339, s, stale_listed, unavailable,
};

const SK: &str = "CHARGE";
const SCHEDULED_CHARGES_INDEX: &str = "CHARGE#scheduled";
/// Charges handed to the invoice queue, by the time the scheduled run hands them over again
/// if no delivery settled them by then.
const QUEUED_CHARGES_INDEX: &str = "CHARGE#queued";
/// Charges whose invoice failed for good, by time: for the operators' follow-up.
const FAILED_CHARGES_INDEX: &str = "CHARGE#failed";
/// What a charge must be for anyone to send its invoice.
const UNSETTLED: &str = "#status IN (:scheduled, :queued)";

fn pk(charge_id: &ChargeId) -> String {
    format!("CHARGE#{charge_id}")
}

/// A new charge as the order's transaction writes it: scheduled, indexed by due date.
pub(super) fn scheduled_charge_item(job: &InvoiceJob) -> Result<Item, StoreError> {
    let mut charge_item = item(pk(&job.charge_id), SK, job)?;
    charge_item.insert("status".into(), s(ChargeStatus::Scheduled.as_str()));
    charge_item.insert("GSI2PK".into(), s(SCHEDULED_CHARGES_INDEX));
    charge_item.insert(
        "GSI2SK".into(),
        s(format!("{}#{}", rfc3339(job.due), job.charge_id)),
    );
    Ok(charge_item)
}

/// A new charge due now as the order's transaction writes it for the request that hands it to
/// the queue right after the commit: queued once, listed as stale from `requeue_at`.
pub(super) fn queued_charge_item(
    job: &InvoiceJob,
    requeue_at: time::OffsetDateTime,
) -> Result<Item, StoreError> {
    let mut charge_item = item(pk(&job.charge_id), SK, job)?;
    charge_item.insert("status".into(), s(ChargeStatus::Queued.as_str()));
    charge_item.insert("GSI2PK".into(), s(QUEUED_CHARGES_INDEX));
    charge_item.insert(
        "GSI2SK".into(),
        s(format!("{}#{}", rfc3339(requeue_at), job.charge_id)),
    );
    charge_item.insert("queueings".into(), AttributeValue::N("1".into()));
    Ok(charge_item)
}

impl DynamoStore {
    /// A transaction step that cancels a charge, only while it is still scheduled and no
    /// dispatcher holds a claim on it (one may be posting its invoice right now).
    pub(super) fn cancel_charge_step(
        &self,
        charge_id: &ChargeId,
        now: time::OffsetDateTime,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("PK", s(pk(charge_id)))
            .key("SK", s(SK))
            .update_expression("SET #status = :cancelled REMOVE GSI2PK, GSI2SK")
            .condition_expression(
                "#status = :scheduled AND (attribute_not_exists(claimed_until) OR claimed_until < :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", s(ChargeStatus::Cancelled.as_str()))
            .expression_attribute_values(":scheduled", s(ChargeStatus::Scheduled.as_str()))
            .expression_attribute_values(":now", super::unix_millis(now))
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[async_trait]
impl Charges for DynamoStore {
    async fn mark_queued(
        &self,
        charge_id: &ChargeId,
        requeue_at: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk(charge_id)))
            .key("SK", s(SK))
            .update_expression(
                "SET #status = :queued, GSI2PK = :index, GSI2SK = :sk ADD queueings :one",
            )
            .condition_expression(UNSETTLED)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", s(ChargeStatus::Queued.as_str()))
            .expression_attribute_values(":scheduled", s(ChargeStatus::Scheduled.as_str()))
            .expression_attribute_values(":index", s(QUEUED_CHARGES_INDEX))
            .expression_attribute_values(":sk", s(format!("{}#{charge_id}", rfc3339(requeue_at))))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        condition_held(result)
    }

    async fn stale_queued(
        &self,
        now: time::OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Stale<InvoiceJob>>, StoreError> {
        let below = format!("{}$", rfc3339(now));
        let (items, next) = self
            .query_gsi2_page(QUEUED_CHARGES_INDEX, Some(below), limit, cursor)
            .await?;
        let items = stale_listed(&items);
        Ok(Page { items, next })
    }

    async fn status(&self, charge_id: &ChargeId) -> Result<Option<ChargeStatus>, StoreError> {
        let Some(status) = self.attribute(pk(charge_id), SK, "status").await? else {
            return Ok(None);
        };
        ChargeStatus::parse(&status)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt {
                key: pk(charge_id),
                reason: format!("unknown charge status {status:?}"),
            })
    }

    async fn get(
        &self,
        charge_id: &ChargeId,
    ) -> Result<Option<(InvoiceJob, ChargeStatus)>, StoreError> {
        self.get_with_status(pk(charge_id), SK, ChargeStatus::parse)
            .await
    }

    async fn reschedule(&self, job: &InvoiceJob) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(pk(&job.charge_id)))
            .key("SK", s(SK))
            .update_expression("SET #status = :scheduled, GSI2PK = :index, GSI2SK = :sk")
            .condition_expression(UNSETTLED)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":scheduled", s(ChargeStatus::Scheduled.as_str()))
            .expression_attribute_values(":queued", s(ChargeStatus::Queued.as_str()))
            .expression_attribute_values(":index", s(SCHEDULED_CHARGES_INDEX))
            .expression_attribute_values(
                ":sk",
                s(format!("{}#{}", rfc3339(job.due), job.charge_id)),
            )
            .send()
            .await;
        condition_held(result)
    }

    async fn hand_back(&self, job: &InvoiceJob) -> Result<bool, StoreError> {
        DynamoStore::put_back_scheduled(
            self,
            (pk(&job.charge_id), SK),
            (
                ChargeStatus::Scheduled.as_str(),
                ChargeStatus::Queued.as_str(),
            ),
            (
                SCHEDULED_CHARGES_INDEX,
                format!("{}#{}", rfc3339(job.due), job.charge_id),
            ),
        )
        .await
    }

    async fn due(
        &self,
        now: time::OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<InvoiceJob>, StoreError> {
        // Sort keys are `<due>#<charge>` with fixed-width UTC times; '$' sorts right after
        // '#', so this bound takes every charge due up to this second.
        let below = format!("{}$", rfc3339(now));
        let (items, next) = self
            .query_gsi2_page(SCHEDULED_CHARGES_INDEX, Some(below), limit, cursor)
            .await?;
        Ok(Page {
            items: decode_listed(&items),
            next,
        })
    }

    async fn record_outcome(
        &self,
        charge_id: &ChargeId,
        outcome: &ChargeOutcome,
    ) -> Result<bool, StoreError> {
        let key = pk(charge_id);
        let json = serde_json::to_string(outcome).map_err(|e| StoreError::Corrupt {
            key: key.clone(),
            reason: e.to_string(),
        })?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(&key))
            .key("SK", s(SK))
            .condition_expression(UNSETTLED)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(outcome.status.as_str()))
            .expression_attribute_values(":outcome", s(json))
            .expression_attribute_values(":scheduled", s(ChargeStatus::Scheduled.as_str()))
            .expression_attribute_values(":queued", s(ChargeStatus::Queued.as_str()));
        update = if outcome.status == ChargeStatus::Failed {
            update
                .update_expression(
                    "SET #status = :status, outcome = :outcome, GSI2PK = :index, GSI2SK = :sk",
                )
                .expression_attribute_values(":index", s(FAILED_CHARGES_INDEX))
                .expression_attribute_values(
                    ":sk",
                    s(format!("{}#{charge_id}", rfc3339(outcome.at))),
                )
        } else {
            update.update_expression(
                "SET #status = :status, outcome = :outcome REMOVE GSI2PK, GSI2SK",
            )
        };
        condition_held(update.send().await)
    }

    async fn outcome(&self, charge_id: &ChargeId) -> Result<Option<ChargeOutcome>, StoreError> {
        let Some(json) = self.attribute(pk(charge_id), SK, "outcome").await? else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                key: pk(charge_id),
                reason: e.to_string(),
            })
    }

    async fn claim(
        &self,
        charge_id: &ChargeId,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> Result<bool, StoreError> {
        DynamoStore::claim(
            self,
            (pk(charge_id), SK),
            UNSETTLED,
            &[
                (":scheduled", ChargeStatus::Scheduled.as_str()),
                (":queued", ChargeStatus::Queued.as_str()),
            ],
            now,
            until,
        )
        .await
    }

    async fn release(
        &self,
        charge_id: &ChargeId,
        until: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        DynamoStore::release(self, (pk(charge_id), SK), until).await
    }
}
