//! The scheduled check of private offers behind quotes still waiting for approval.
//!
//! A purchase order for a lapsed offer is refused when it arrives (see
//! [`crate::orders::offer_lapsed`]); this check tells the requester before that: every quote
//! pending approval whose offer expired, or whose expiry the seller changed, is marked
//! expired and its requester emailed once to resend the offer for approval.
//!
//! It reads by index: the store lists only pending quotes with a private offer
//! ([`crate::Store::pending_offer_quotes`]), page by page, and each expiry is one conditional
//! write (quote still pending + outbox email), so a second run finds nothing to do and a
//! quote ordered meanwhile is left alone.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::model::{Product, QuoteStatus};
use crate::notify;
use crate::orders::{offer_expired_email, offer_lapsed};
use crate::ports::{Deps, StoreError};

/// Quotes read per page of the index.
pub const PAGE_SIZE: usize = 100;

/// What one run of the check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiryRun {
    /// Pending quotes with a private offer that were looked at.
    pub checked: usize,
    /// Quotes marked expired by this run.
    pub expired: usize,
    /// Notices SES accepted now; the rest wait in the outbox for the next flush.
    pub emails_sent: usize,
    /// Quotes that could not be checked or written; the next run tries them again.
    pub errors: usize,
}

/// Expires the pending quotes whose private offer lapsed by `now`. Listing failures end the
/// run with an error; a failure on one quote is counted and the run goes on.
pub async fn expire_lapsed_offers(
    deps: &Deps,
    now: OffsetDateTime,
) -> Result<ExpiryRun, StoreError> {
    let mut run = ExpiryRun::default();
    // Many quotes share a product: read each product once per run.
    let mut products: HashMap<String, Option<Product>> = HashMap::new();
    let mut cursor = None;
    loop {
        let page = deps.store.pending_offer_quotes(PAGE_SIZE, cursor).await?;
        for quote in &page.items {
            run.checked += 1;
            let product = match products.get(&quote.product_id) {
                Some(product) => product.clone(),
                None => match deps.store.get_product(&quote.product_id).await {
                    Ok(product) => {
                        products.insert(quote.product_id.clone(), product.clone());
                        product
                    }
                    Err(e) => {
                        tracing::warn!(quote_id = %quote.quote_id, error = %e, "product unreadable; quote checked next run");
                        run.errors += 1;
                        continue;
                    }
                },
            };
            if quote.status != QuoteStatus::PendingApproval
                || !offer_lapsed(quote, product.as_ref(), now)
            {
                continue;
            }
            let mut expired = quote.clone();
            expired.status = QuoteStatus::Expired;
            let email = offer_expired_email(&expired, &deps.config);
            match deps.store.expire_quote(&expired, email.as_ref()).await {
                Ok(true) => {
                    run.expired += 1;
                    tracing::info!(
                        org_id = %quote.org_id,
                        quote_id = %quote.quote_id,
                        offer_id = quote.private_offer.as_ref().map(|o| o.offer_id.as_str()).unwrap_or(""),
                        "private offer lapsed; quote expired"
                    );
                    if let Some(email) = email {
                        run.emails_sent +=
                            notify::deliver(deps, std::slice::from_ref(&email)).await;
                    }
                }
                // Ordered, cancelled or expired since the page was read: nothing to do.
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(quote_id = %quote.quote_id, error = %e, "quote not expired; the next run tries again");
                    run.errors += 1;
                }
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(run),
        }
    }
}

#[cfg(test)]
mod tests;
