//! Emails through the outbox: each notice is written to the table with what it reports, sent
//! after the commit, and removed once SES accepts it. What SES refuses stays and is sent by
//! the next scheduled run ([`flush_outbox`]), so no notice is silently lost.

use time::OffsetDateTime;

use crate::model::OutboxEmail;
use crate::ports::Deps;

/// How long a sender holds an email it claimed: far longer than one SES call, short enough
/// that an email whose sender died is retried by the next scheduled run.
const SEND_CLAIM: time::Duration = time::Duration::minutes(2);
/// Outbox emails read per round of a flush.
const FLUSH_BATCH: usize = 25;

/// Tries to send these outbox emails now; failures stay in the outbox for the next run.
/// Each is claimed first, so an email another sender is handling is skipped, not sent twice.
/// Returns how many this call sent.
pub async fn deliver(deps: &Deps, emails: &[OutboxEmail]) -> usize {
    let mut sent = 0;
    for outbox in emails {
        let now = OffsetDateTime::now_utc();
        let until = now + SEND_CLAIM;
        match deps.outbox.claim(&outbox.email_id, now, until).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(email_id = %outbox.email_id, "email sent or being sent by another run; skipped");
                continue;
            }
            Err(e) => {
                tracing::warn!(email_id = %outbox.email_id, error = %e, "email not claimed; kept in the outbox for the next run");
                continue;
            }
        }
        match deps.mailer.send(&outbox.email).await {
            Ok(()) => {
                sent += 1;
                if let Err(e) = deps.outbox.sent(&outbox.email_id).await {
                    // Sent but still listed: a flush after the claim lapses sends it again.
                    // Rare, and a repeated notice is better than a lost one.
                    tracing::warn!(email_id = %outbox.email_id, error = %e, "could not clear a sent email from the outbox");
                }
            }
            Err(e) => {
                tracing::warn!(email_id = %outbox.email_id, error = %e, "email not sent; kept in the outbox for the next run");
                if let Err(e) = deps.outbox.release(&outbox.email_id, until).await {
                    tracing::warn!(email_id = %outbox.email_id, error = %e, "could not release the claim; the email waits for it to lapse");
                }
            }
        }
    }
    sent
}

/// Sends what earlier attempts could not (called by the scheduled function), until the
/// outbox is empty, SES refuses, or `stop_at` (the run's time limit) comes.
pub async fn flush_outbox(
    deps: &Deps,
    stop_at: OffsetDateTime,
) -> Result<usize, crate::StoreError> {
    let mut total = 0;
    while OffsetDateTime::now_utc() < stop_at {
        let pending = deps.outbox.pending(FLUSH_BATCH).await?;
        if pending.is_empty() {
            break;
        }
        let sent = deliver(deps, &pending).await;
        total += sent;
        if sent == 0 {
            // SES is still failing, or what is left is claimed by other senders: the next
            // run tries again. Each round that sends something shortens the list, so this ends.
            break;
        }
    }
    Ok(total)
}
