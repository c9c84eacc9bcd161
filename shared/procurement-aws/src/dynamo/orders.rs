//! Purchase orders (`ORDER#<org>#<orderID>` / `ORDER`, each change `CHANGE#<type>#<payloadID>`),
//! their payloadIDs (`PAYLOAD#<org>#<payloadID>` / `ORDER`, pointing at the order) and agreements
//! (`AGREEMENT#<agreement>` / `AGREEMENT`). One transaction writes everything an order changes.
//! A refused or test original gives way to the resend that corrects it: `ORDER` is overwritten
//! only while it still holds the record of the payloadID the plan read.
//!
//! A payloadID is the sender's: nothing stops one organisation from sending another's, so the
//! key is scoped by organisation. (Unscoped, a reused payloadID answered the other
//! organisation's stored answer and kept the order from being recorded.) Records written
//! under the earlier unscoped key are no longer read: a repeated original is still found by
//! its orderID, a repeated change by its `CHANGE#` key.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use procurement::StoreError;
use procurement::ids::{AgreementId, OrderId, OrgId};
use procurement::model::{Agreement, AgreementStatus, OrderRecord};
use procurement::ports::{OrderPlan, OrderSlot, Orders, Recorded};

use super::charges::scheduled_charge_item;
use super::confirmations::scheduled_confirmation_item;
use super::outbox::outbox_item;
use super::quotes::{agreement_item, quote_item};
use super::{DynamoStore, MAX_TRANSACTION_ITEMS, item, s, unavailable};

/// The original order is unique per orderID; each update or delete per payloadID.
fn order_key(record: &OrderRecord, slot: &OrderSlot) -> (String, String) {
    let pk = format!("ORDER#{}#{}", record.org_id, record.order_id);
    match slot {
        OrderSlot::Original | OrderSlot::Replacing(_) => (pk, "ORDER".into()),
        OrderSlot::Change => (
            pk,
            format!(
                "CHANGE#{}#{}",
                record.order_type.as_str(),
                record.payload_id
            ),
        ),
    }
}

/// How the payloadID reads inside a stored record's JSON (`data`): payloadIDs are unique and
/// the JSON is compact with quotes inside strings escaped, so the record holds this text
/// exactly when it is the record of that payloadID, also one written before this field order.
/// The key of a payloadID's record: the organisation's own.
fn payload_pk(org_id: &OrgId, payload_id: &str) -> String {
    format!("PAYLOAD#{org_id}#{payload_id}")
}

fn payload_field(payload_id: &str) -> String {
    format!(
        "\"payload_id\":{}",
        serde_json::Value::String(payload_id.to_owned())
    )
}

#[async_trait]
impl Orders for DynamoStore {
    async fn place(&self, plan: &OrderPlan) -> Result<Recorded<OrderRecord>, StoreError> {
        let record = &plan.record;
        let (order_pk, order_sk) = order_key(record, &plan.slot);
        let payload_pk = payload_pk(&record.org_id, &record.payload_id);
        let order_item = item(order_pk.clone(), &order_sk, record)?;
        let order_step = match &plan.slot {
            OrderSlot::Replacing(replaced) => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(order_item))
                    .condition_expression("contains(#data, :replaced)")
                    .expression_attribute_names("#data", "data")
                    .expression_attribute_values(":replaced", s(payload_field(replaced)))
                    .build()
                    .map_err(unavailable)?;
                TransactWriteItem::builder().put(put).build()
            }
            OrderSlot::Original | OrderSlot::Change => self.put_new(order_item)?,
        };
        // The order and payload keys come first, so their cancellation reasons are 0 and 1.
        let mut steps = vec![
            order_step,
            self.put_new(item(payload_pk.clone(), "ORDER", record)?)?,
        ];
        for (quote, expected) in &plan.quotes {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(quote_item(quote)?))
                .condition_expression("#status = :expected")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":expected", s(expected.as_str()))
                .build()
                .map_err(unavailable)?;
            steps.push(TransactWriteItem::builder().put(put).build());
        }
        for agreement in &plan.agreements {
            let agreement_item = agreement_item(agreement)?;
            steps.push(match agreement.status {
                AgreementStatus::Active => self.put_new(agreement_item)?,
                AgreementStatus::Cancelled => self.put_step(agreement_item)?,
            });
        }
        for outbox in &plan.outbox {
            steps.push(self.put_new(outbox_item(outbox)?)?);
        }
        for job in &plan.charges {
            steps.push(self.put_new(scheduled_charge_item(job)?)?);
        }
        let now = time::OffsetDateTime::now_utc();
        for charge_id in &plan.cancelled_charges {
            steps.push(self.cancel_charge_step(charge_id, now)?);
        }
        for confirmation in &plan.confirmations {
            steps.push(self.put_new(scheduled_confirmation_item(confirmation)?)?);
        }
        if steps.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Conflict(format!(
                "order {} changes {} records, more than one transaction holds ({MAX_TRANSACTION_ITEMS}); split the order",
                record.order_id,
                steps.len()
            )));
        }
        let Err(cancelled) = self.transact(steps).await? else {
            return Ok(Recorded::Created);
        };
        // Whatever holds the slot, unless it is still the original this plan was to replace
        // (then the payloadID, or else something other than a duplicate, stopped it).
        let in_slot = self
            .get::<OrderRecord>(order_pk, &order_sk)
            .await?
            .filter(|o| !matches!(&plan.slot, OrderSlot::Replacing(r) if *r == o.payload_id));
        let existing = match in_slot {
            Some(o) => Some(o),
            None => self.get(payload_pk, "ORDER").await?,
        };
        match existing {
            Some(existing) => Ok(Recorded::Existing(existing)),
            None => Err(StoreError::Conflict(format!(
                "order {} could not be recorded: {}",
                record.order_id,
                cancelled.reasons()
            ))),
        }
    }

    async fn find(
        &self,
        org_id: &OrgId,
        order_id: &OrderId,
    ) -> Result<Option<OrderRecord>, StoreError> {
        self.get(format!("ORDER#{org_id}#{order_id}"), "ORDER")
            .await
    }

    async fn find_by_payload(
        &self,
        org_id: &OrgId,
        payload_id: &str,
    ) -> Result<Option<OrderRecord>, StoreError> {
        self.get(payload_pk(org_id, payload_id), "ORDER").await
    }

    async fn get_agreement(
        &self,
        agreement_id: &AgreementId,
    ) -> Result<Option<Agreement>, StoreError> {
        self.get(format!("AGREEMENT#{agreement_id}"), "AGREEMENT")
            .await
    }
}
