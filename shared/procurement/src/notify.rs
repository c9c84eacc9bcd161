//! Emails through the outbox: each notice is written to the table with what it reports, sent
//! after the commit, and removed once SES accepts it. What SES refuses stays and is sent by
//! the next scheduled run ([`flush_outbox`]), so no notice is silently lost.

use crate::model::OutboxEmail;
use crate::ports::Deps;

/// Tries to send these outbox emails now; failures stay in the outbox for the next run.
/// Returns how many were sent.
pub async fn deliver(deps: &Deps, emails: &[OutboxEmail]) -> usize {
    let mut sent = 0;
    for outbox in emails {
        match deps.mailer.send(&outbox.email).await {
            Ok(()) => {
                sent += 1;
                if let Err(e) = deps.store.email_sent(&outbox.email_id).await {
                    // Sent but still listed: the next flush would send it again. Rare, and a
                    // repeated notice is better than a lost one.
                    tracing::warn!(email_id = %outbox.email_id, error = %e, "could not clear a sent email from the outbox");
                }
            }
            Err(e) => {
                tracing::warn!(email_id = %outbox.email_id, error = %e, "email not sent; kept in the outbox for the next run");
            }
        }
    }
    sent
}

/// Sends what earlier attempts could not (called by the scheduled function).
pub async fn flush_outbox(deps: &Deps) -> Result<usize, crate::StoreError> {
    let mut total = 0;
    loop {
        let pending = deps.store.pending_emails(100).await?;
        if pending.is_empty() {
            return Ok(total);
        }
        let sent = deliver(deps, &pending).await;
        total += sent;
        if sent < pending.len() {
            // SES is still failing: stop here, the next run tries again.
            return Ok(total);
        }
    }
}
