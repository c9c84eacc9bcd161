//! Quotes (`QUOTE#<quote>` / `QUOTE`, with `status`), listed in GSI2 `QUOTE#pending_offer` by
//! offer expiry while pending approval with a private offer: the expiry check's list; and in
//! GSI2 `QUOTE#awaiting_agreement` by creation while a pre-approved subscription waits for the
//! agreement its job writes: the scheduled run's list of jobs to queue again.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use procurement::StoreError;
use procurement::ids::QuoteId;
use procurement::model::{Agreement, OutboxEmail, Quote, QuoteStatus};
use procurement::ports::{Page, Quotes};
use time::OffsetDateTime;

use super::outbox::outbox_item;
use super::{DynamoStore, Item, decode_listed, item, rfc3339, s, unavailable};

const SK: &str = "QUOTE";
const PENDING_OFFER_INDEX: &str = "QUOTE#pending_offer";
const AWAITING_AGREEMENT_INDEX: &str = "QUOTE#awaiting_agreement";

/// A quote as stored: in the pending-offer index only while pending with a private offer, in
/// the awaiting-agreement index only while it waits for its agreement, so a quote leaves an
/// index with any write that moves it on (each write replaces the item).
pub(super) fn quote_item(quote: &Quote) -> Result<Item, StoreError> {
    let mut quote_item = item(format!("QUOTE#{}", quote.quote_id), SK, quote)?;
    quote_item.insert("status".into(), s(quote.status.as_str()));
    let index = match (quote.status, &quote.private_offer) {
        (QuoteStatus::PendingApproval, Some(offer)) => Some((
            PENDING_OFFER_INDEX,
            format!("{}#{}", rfc3339(offer.expires_at), quote.quote_id),
        )),
        _ if quote.awaits_agreement() => Some((
            AWAITING_AGREEMENT_INDEX,
            format!("{}#{}", rfc3339(quote.created_at), quote.quote_id),
        )),
        _ => None,
    };
    if let Some((pk, sk)) = index {
        quote_item.insert("GSI2PK".into(), s(pk));
        quote_item.insert("GSI2SK".into(), s(sk));
    }
    Ok(quote_item)
}

/// An agreement as stored.
pub(super) fn agreement_item(agreement: &Agreement) -> Result<Item, StoreError> {
    item(
        format!("AGREEMENT#{}", agreement.agreement_id),
        "AGREEMENT",
        agreement,
    )
}

#[async_trait]
impl Quotes for DynamoStore {
    async fn create(&self, quote: &Quote) -> Result<(), StoreError> {
        match self
            .transact(vec![self.put_new(quote_item(quote)?)?])
            .await?
        {
            Ok(()) => Ok(()),
            Err(cancelled) => Err(StoreError::Conflict(format!(
                "quote {} exists ({})",
                quote.quote_id,
                cancelled.reasons()
            ))),
        }
    }

    async fn get(&self, quote_id: &QuoteId) -> Result<Option<Quote>, StoreError> {
        DynamoStore::get(self, format!("QUOTE#{quote_id}"), SK).await
    }

    async fn pending_offer_quotes(
        &self,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Quote>, StoreError> {
        let (items, next) = self
            .query_gsi2_page(PENDING_OFFER_INDEX, None, limit, cursor)
            .await?;
        Ok(Page {
            items: decode_listed(&items),
            next,
        })
    }

    async fn expire(&self, quote: &Quote, email: Option<&OutboxEmail>) -> Result<bool, StoreError> {
        let mut expired = quote.clone();
        expired.status = QuoteStatus::Expired;
        // Written only while the quote is still pending: a second run, or an order that
        // arrived meanwhile, wins and nothing is written (no second notice either).
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(quote_item(&expired)?))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(QuoteStatus::PendingApproval.as_str()))
            .build()
            .map_err(unavailable)?;
        let mut steps = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(email) = email {
            steps.push(self.put_step(outbox_item(email)?)?);
        }
        match self.transact(steps).await? {
            Ok(()) => Ok(true),
            // No longer pending: ordered, cancelled or expired by an earlier run.
            Err(cancelled) if cancelled.condition_failed_at(0) => Ok(false),
            Err(cancelled) => Err(StoreError::Unavailable(format!(
                "quote {} not expired: {}",
                quote.quote_id,
                cancelled.reasons()
            ))),
        }
    }

    async fn awaiting_agreement(
        &self,
        before: OffsetDateTime,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<Page<Quote>, StoreError> {
        let (items, next) = self
            .query_gsi2_page(
                AWAITING_AGREEMENT_INDEX,
                Some(rfc3339(before)),
                limit,
                cursor,
            )
            .await?;
        Ok(Page {
            items: decode_listed(&items),
            next,
        })
    }

    async fn subscribe(&self, quote: &Quote, agreement: &Agreement) -> Result<bool, StoreError> {
        let mut subscribed = quote.clone();
        subscribed.agreement_id = Some(agreement.agreement_id.clone());
        // Only while the quote is in the awaiting index: a second job finds it gone.
        let quote_step = || -> Result<TransactWriteItem, StoreError> {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(quote_item(&subscribed)?))
                .condition_expression("GSI2PK = :awaiting")
                .expression_attribute_values(":awaiting", s(AWAITING_AGREEMENT_INDEX))
                .build()
                .map_err(unavailable)?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        let steps = vec![quote_step()?, self.put_new(agreement_item(agreement)?)?];
        match self.transact(steps).await? {
            Ok(()) => Ok(true),
            Err(cancelled) if cancelled.condition_failed_at(0) => Ok(false),
            // The agreement exists but the quote was not told: record it on the quote alone,
            // or the scheduled run would queue the job again and again.
            Err(cancelled) if cancelled.condition_failed_at(1) => {
                match self.transact(vec![quote_step()?]).await? {
                    Ok(()) | Err(_) => Ok(false),
                }
            }
            Err(cancelled) => Err(StoreError::Unavailable(format!(
                "agreement of quote {} not written: {}",
                quote.quote_id,
                cancelled.reasons()
            ))),
        }
    }
}
