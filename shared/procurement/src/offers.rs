//! The scheduled check of private offers behind quotes still waiting for approval.
//!
//! A purchase order for a lapsed offer is refused when it arrives ([`offer_lapsed`] is the one
//! rule both apply); this check tells the requester before that: every quote
//! pending approval whose offer expired, whose expiry the seller changed, or that the seller
//! no longer extends to the quote's organisation, is marked expired and its requester emailed
//! once to resend the offer for approval.
//!
//! It reads by index: the store lists only pending quotes with a private offer
//! ([`crate::Store::pending_offer_quotes`]), page by page, and each expiry is one conditional
//! write (quote still pending + outbox email), so a second run finds nothing to do and a
//! quote ordered meanwhile is left alone. The notices are sent by the outbox flush that ends
//! the same scheduled run: SES's send rate, not the check, then sets the pace.

use std::collections::HashMap;

use futures_util::StreamExt;
use futures_util::stream;
use time::OffsetDateTime;

use crate::deadline::{Walk, walk_pages};
use crate::emails;
use crate::model::{Product, Quote, QuoteStatus};
use crate::ports::{Deps, StoreError};

/// Has the private offer behind this quote expired, did the seller change its expiry since
/// the cart was sent, or does the seller no longer extend it to the quote's organisation
/// ([`crate::catalog::extended_to`])? Any way, the approval was for terms that no longer
/// stand for this buyer. An offer withdrawn from the organisation reads exactly like one
/// withdrawn altogether, so the answer says nothing of whether others still have it.
pub fn offer_lapsed(quote: &Quote, product: Option<&Product>, now: OffsetDateTime) -> bool {
    let Some(offer) = &quote.private_offer else {
        return false;
    };
    let current = product
        .filter(|p| crate::catalog::extended_to(p, Some(&quote.org_id)))
        .and_then(|p| p.private_offer.as_ref());
    offer.expires_at <= now || current.map(|c| c.expires_at) != Some(offer.expires_at)
}

/// Quotes read per page of the index.
pub const PAGE_SIZE: usize = 100;
/// Expiry writes in flight at once: each is one small DynamoDB transaction on its own quote,
/// so a run of thousands takes seconds instead of minutes, well inside the table's capacity.
pub const CONCURRENT_WRITES: usize = 16;

/// What one run of the check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiryRun {
    /// Pending quotes with a private offer that were looked at.
    pub checked: usize,
    /// Quotes marked expired by this run; their notices wait in the outbox, which the same
    /// scheduled run flushes next.
    pub expired: usize,
    /// Quotes that could not be checked or written; the next run tries them again.
    pub errors: usize,
    /// The run stopped at its time limit with pages left; the next run goes on (expired
    /// quotes leave the index, so nothing is done twice).
    pub unfinished: bool,
}

/// Expires the pending quotes whose private offer lapsed by `now`, stopping before
/// `stop_at` (the Lambda's deadline less a margin). Listing failures end the run with an
/// error; a failure on one quote is counted and the run goes on.
pub async fn expire_lapsed_offers(
    deps: &Deps,
    now: OffsetDateTime,
    stop_at: OffsetDateTime,
) -> Result<ExpiryRun, StoreError> {
    let mut run = ExpiryRun::default();
    // Many quotes share a product: read each product once per run.
    let mut products: HashMap<String, Option<Product>> = HashMap::new();
    let walk = walk_pages(
        stop_at,
        async |cursor| deps.quotes.pending_offer_quotes(PAGE_SIZE, cursor).await,
        async |quotes| {
            let mut lapsed: Vec<&Quote> = Vec::new();
            for quote in &quotes {
                run.checked += 1;
                if !products.contains_key(&quote.product_id) {
                    match deps.catalog.get_product(&quote.product_id).await {
                        Ok(product) => {
                            products.insert(quote.product_id.clone(), product);
                        }
                        Err(e) => {
                            tracing::warn!(quote_id = %quote.quote_id, error = %e, "product unreadable; quote checked next run");
                            run.errors += 1;
                            continue;
                        }
                    }
                }
                let product = products.get(&quote.product_id).and_then(Option::as_ref);
                if quote.status == QuoteStatus::PendingApproval && offer_lapsed(quote, product, now) {
                    lapsed.push(quote);
                }
            }
            let mut writes = stream::iter(lapsed)
                .map(|quote| expire(deps, quote))
                .buffer_unordered(CONCURRENT_WRITES);
            while let Some(written) = writes.next().await {
                match written {
                    Ok(true) => run.expired += 1,
                    Ok(false) => {}
                    Err(()) => run.errors += 1,
                }
            }
        },
    )
    .await?;
    if walk == Walk::OutOfTime {
        tracing::warn!(
            checked = run.checked,
            "expiry check out of time; the next run goes on"
        );
        run.unfinished = true;
    }
    Ok(run)
}

/// Marks one lapsed quote expired with its notice in the outbox. False if it left pending
/// approval since the page was read (ordered, cancelled, expired by another run).
async fn expire(deps: &Deps, quote: &Quote) -> Result<bool, ()> {
    let mut expired = quote.clone();
    expired.status = QuoteStatus::Expired;
    let email = emails::offer_expired(&expired, &deps.config);
    match deps.quotes.expire(&expired, email.as_ref()).await {
        Ok(written) => {
            if written {
                tracing::info!(
                    org_id = %quote.org_id,
                    quote_id = %quote.quote_id,
                    offer_id = quote.private_offer.as_ref().map(|o| o.offer_id.as_str()).unwrap_or(""),
                    "private offer lapsed; quote expired"
                );
            }
            Ok(written)
        }
        Err(e) => {
            tracing::warn!(quote_id = %quote.quote_id, error = %e, "quote not expired; the next run tries again");
            Err(())
        }
    }
}

#[cfg(test)]
mod tests;
