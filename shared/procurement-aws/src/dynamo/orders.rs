//! Purchase orders (`ORDER#<org>#<orderID>` / `ORDER`, each change `CHANGE#<type>#<payloadID>`),
//! their payloadIDs (`PAYLOAD#<org>#<payloadID>` / `ORDER`, pointing at the order) and agreements
//! (`AGREEMENT#<agreement>` / `AGREEMENT`). One transaction writes everything an order changes.
//! A refused or test original gives way to the resend that corrects it: `ORDER` is overwritten
//! only while it still holds the record of the payloadID the plan read.
//!
//! The record is also kept under the buyer credential it came with (`BUYER#<domain lc>#<identity>`
//! / `PAYLOAD#<payloadID>`, next to the credential item), where the order's first read, one
//! BatchGetItem of what the document names, finds a duplicate before the organisation is known.
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
use procurement::ports::{OrderPlan, OrderPrefetch, OrderReads, OrderSlot, Orders, Recorded};

use super::charges::{queued_charge_item, scheduled_charge_item};
use super::confirmations::{queued_confirmation_item, scheduled_confirmation_item};
use super::integrations::{CREDENTIAL_SK, buyer_key};
use super::outbox::{claimed_outbox_item, outbox_item};
use super::quotes::{agreement_item, quote_item};
use super::{DynamoStore, Key, MAX_TRANSACTION_ITEMS, decoded, item, s, unavailable};

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

/// The sort key of the order a buyer credential sent with `payload_id`, in the credential's
/// partition.
fn sent_sk(payload_id: &str) -> String {
    format!("PAYLOAD#{payload_id}")
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
        // What the placing request hands over right after the commit is recorded by it.
        for outbox in &plan.outbox {
            steps.push(self.put_new(match plan.handover {
                Some(h) => claimed_outbox_item(outbox, h.claimed_until)?,
                None => outbox_item(outbox)?,
            })?);
        }
        for job in &plan.charges {
            steps.push(self.put_new(match plan.handover {
                Some(h) if h.queues(job) => queued_charge_item(job, h.requeue_at)?,
                _ => scheduled_charge_item(job)?,
            })?);
        }
        let now = time::OffsetDateTime::now_utc();
        for charge_id in &plan.cancelled_charges {
            steps.push(self.cancel_charge_step(charge_id, now)?);
        }
        for confirmation in &plan.confirmations {
            steps.push(self.put_new(match plan.handover {
                Some(h) => queued_confirmation_item(confirmation, h.requeue_at)?,
                None => scheduled_confirmation_item(confirmation)?,
            })?);
        }
        // Overwritten, not conditional: the payloadID's own key above keeps it once per
        // organisation (a credential that moved to another organisation keeps no say).
        if let Some(sender) = &plan.sender {
            steps.push(self.put_step(item(
                buyer_key(&sender.domain, &sender.identity),
                &sent_sk(&record.payload_id),
                record,
            )?)?);
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

    /// One BatchGetItem (per 100 keys): each credential's item (a copy of its integration) and
    /// what it sent under the payloadID, the quotes and the products.
    async fn prefetch(&self, reads: &OrderReads) -> Result<OrderPrefetch, StoreError> {
        let credential_key = |c: &cxml::CredentialId| buyer_key(&c.domain, &c.identity);
        let quote_key = |id: &procurement::ids::QuoteId| (format!("QUOTE#{id}"), "QUOTE".into());
        let product_key = |id: &str| (format!("PRODUCT#{id}"), "PRODUCT".into());
        let mut keys: Vec<Key> = Vec::new();
        for credential in &reads.credentials {
            keys.push((credential_key(credential), CREDENTIAL_SK.into()));
            keys.push((credential_key(credential), sent_sk(&reads.payload_id)));
        }
        keys.extend(reads.quote_ids.iter().map(quote_key));
        keys.extend(reads.product_ids.iter().map(|id| product_key(id)));
        let found = self.batch_get(&keys).await?;
        let mut prefetch = OrderPrefetch::default();
        for credential in &reads.credentials {
            let pk = credential_key(credential);
            let integration = decoded(&found, &(pk.clone(), CREDENTIAL_SK.into()))?;
            prefetch.buyers.push((credential.clone(), integration));
            if let Some(sent) = decoded(&found, &(pk, sent_sk(&reads.payload_id)))? {
                prefetch.sent.push((credential.clone(), sent));
            }
        }
        for id in &reads.quote_ids {
            prefetch
                .quotes
                .push((id.clone(), decoded(&found, &quote_key(id))?));
        }
        for id in &reads.product_ids {
            prefetch
                .products
                .push((id.clone(), decoded(&found, &product_key(id))?));
        }
        Ok(prefetch)
    }
}
