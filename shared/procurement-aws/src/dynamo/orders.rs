//! Purchase orders (`ORDER#<org>#<orderID>` / `ORDER`, each change `CHANGE#<type>#<payloadID>`),
//! their payloadIDs (`PAYLOAD#<payloadID>` / `ORDER`, pointing at the order) and agreements
//! (`AGREEMENT#<agreement>` / `AGREEMENT`). One transaction writes everything an order changes.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use procurement::StoreError;
use procurement::ids::{AgreementId, OrderId, OrgId};
use procurement::model::{Agreement, AgreementStatus, OrderRecord};
use procurement::ports::{OrderPlan, Orders, Recorded};

use super::charges::scheduled_charge_item;
use super::confirmations::scheduled_confirmation_item;
use super::outbox::outbox_item;
use super::quotes::{agreement_item, quote_item};
use super::{DynamoStore, MAX_TRANSACTION_ITEMS, item, s, unavailable};

/// The original order is unique per orderID; each update or delete per payloadID.
fn order_key(record: &OrderRecord) -> (String, String) {
    let pk = format!("ORDER#{}#{}", record.org_id, record.order_id);
    match record.order_type {
        cxml::OrderType::New => (pk, "ORDER".into()),
        other => (
            pk,
            format!("CHANGE#{}#{}", other.as_str(), record.payload_id),
        ),
    }
}

#[async_trait]
impl Orders for DynamoStore {
    async fn place(&self, plan: &OrderPlan) -> Result<Recorded<OrderRecord>, StoreError> {
        let record = &plan.record;
        let (order_pk, order_sk) = order_key(record);
        let payload_pk = format!("PAYLOAD#{}", record.payload_id);
        // The order and payload keys come first, so their cancellation reasons are 0 and 1.
        let mut steps = vec![
            self.put_new(item(order_pk.clone(), &order_sk, record)?)?,
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
        let existing: Option<OrderRecord> = match self.get(order_pk, &order_sk).await? {
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

    async fn find_by_payload(&self, payload_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        self.get(format!("PAYLOAD#{payload_id}"), "ORDER").await
    }

    async fn get_agreement(
        &self,
        agreement_id: &AgreementId,
    ) -> Result<Option<Agreement>, StoreError> {
        self.get(format!("AGREEMENT#{agreement_id}"), "AGREEMENT")
            .await
    }
}
