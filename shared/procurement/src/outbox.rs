//! Emails through the outbox: each notice is written to the table with what it reports, sent
//! after the commit, and removed once SES accepts it. What SES cannot take now stays and is
//! sent by the next scheduled run ([`flush_outbox`]), so no notice is silently lost; what SES
//! refuses for good (its address), or what failed on every one of [`MAX_SEND_ATTEMPTS`], is
//! set aside as failed with the `OUTBOX_EMAIL_FAILED` alarm, so it never holds back the rest.

use time::OffsetDateTime;

use crate::deadline::{Walk, walk_pages};
use crate::model::OutboxEmail;
use crate::ports::{Deps, MailError};

/// How long a sender holds an email it claimed: far longer than one SES call, short enough
/// that an email whose sender died is retried by the next scheduled run.
pub(crate) const SEND_CLAIM: time::Duration = time::Duration::minutes(2);
/// Outbox emails read per page of a flush.
const FLUSH_BATCH: usize = 25;
/// Attempts before an email SES keeps failing on is set aside: with the hourly scheduled run,
/// about two days of an SES outage, long enough for an operator to act on the alarms.
pub const MAX_SEND_ATTEMPTS: u32 = 48;

/// What became of the emails one call tried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Accepted by SES.
    pub sent: usize,
    /// Set aside as failed (refused for good, or out of attempts).
    pub failed: usize,
    /// Still waiting: SES failed for now, or another sender holds them.
    pub left: usize,
    /// A flush reached its time limit with pages left.
    pub unfinished: bool,
}

/// Tries to send these outbox emails now; what SES cannot take now stays for the next run.
/// Each is claimed first, so an email another sender is handling is skipped, not sent twice.
pub async fn deliver(deps: &Deps, emails: &[OutboxEmail]) -> Delivered {
    let mut done = Delivered::default();
    for outbox in emails {
        let id = outbox.email_id.as_str();
        let now = OffsetDateTime::now_utc();
        let until = now + SEND_CLAIM;
        let attempt = match deps.outbox.claim(id, now, until).await {
            Ok(Some(attempt)) => attempt,
            Ok(None) => {
                tracing::debug!(
                    email_id = id,
                    "email sent or being sent by another run; skipped"
                );
                done.left += 1;
                continue;
            }
            Err(e) => {
                tracing::warn!(email_id = id, error = %e, "email not claimed; kept in the outbox for the next run");
                done.left += 1;
                continue;
            }
        };
        send_claimed(deps, outbox, attempt, now, until, &mut done).await;
    }
    done
}

/// Sends emails this caller holds claimed until `until` as their first attempt: the ones an
/// order's transaction wrote claimed by its request ([`crate::ports::Handover`]).
pub async fn deliver_claimed(
    deps: &Deps,
    emails: &[OutboxEmail],
    until: OffsetDateTime,
) -> Delivered {
    let mut done = Delivered::default();
    for outbox in emails {
        let now = OffsetDateTime::now_utc();
        send_claimed(deps, outbox, 1, now, until, &mut done).await;
    }
    done
}

/// Sends one claimed email (`attempt`: the claim's count) and records what became of it.
async fn send_claimed(
    deps: &Deps,
    outbox: &OutboxEmail,
    attempt: u32,
    now: OffsetDateTime,
    until: OffsetDateTime,
    done: &mut Delivered,
) {
    let id = outbox.email_id.as_str();
    // An address SES would refuse (the setup request's is checked when the session opens;
    // this covers what was stored before that check) is never sent to SES.
    let sent = match crate::emails::usable_address(&outbox.email.to) {
        Some(_) => deps.mailer.send(&outbox.email).await,
        None => Err(MailError::Refused(
            "the recipient is not a usable email address".into(),
        )),
    };
    match sent {
        Ok(()) => {
            done.sent += 1;
            if let Err(e) = deps.outbox.sent(id).await {
                // Sent but still listed: a flush after the claim lapses sends it again.
                // Rare, and a repeated notice is better than a lost one.
                tracing::warn!(email_id = id, error = %e, "could not clear a sent email from the outbox");
            }
        }
        Err(MailError::Unavailable(reason)) if attempt < MAX_SEND_ATTEMPTS => {
            tracing::warn!(email_id = id, attempt, %reason, "email not sent; kept in the outbox for the next run");
            done.left += 1;
            if let Err(e) = deps.outbox.release(id, until).await {
                tracing::warn!(email_id = id, error = %e, "could not release the claim; the email waits for it to lapse");
            }
        }
        Err(error) => {
            let reason = match &error {
                MailError::Refused(reason) => format!("SES refused it: {reason}"),
                MailError::Unavailable(reason) => {
                    format!("not sent in {attempt} attempts; the last: {reason}")
                }
            };
            // The address is the subscriber's: it is not logged, the email ID says whose.
            tracing::error!(email_id = id, attempt, %reason, "OUTBOX_EMAIL_FAILED: email set aside, never to be sent");
            match deps.outbox.failed(id, &reason, now).await {
                Ok(()) => done.failed += 1,
                Err(e) => {
                    tracing::warn!(email_id = id, error = %e, "could not set the email aside; tried again next run");
                    done.left += 1;
                }
            }
        }
    }
}

/// Sends what earlier attempts could not (called by the scheduled function), page after page
/// of the outbox until its end or `stop_at` (the run's time limit). Claimed and failing emails
/// are passed over, never waited on: one bad address cannot hold back the others.
pub async fn flush_outbox(
    deps: &Deps,
    stop_at: OffsetDateTime,
) -> Result<Delivered, crate::StoreError> {
    let mut total = Delivered::default();
    let walk = walk_pages(
        stop_at,
        async |cursor| deps.outbox.pending(FLUSH_BATCH, cursor).await,
        async |emails| {
            let done = deliver(deps, &emails).await;
            total.sent += done.sent;
            total.failed += done.failed;
            total.left += done.left;
        },
    )
    .await?;
    total.unfinished = walk == Walk::OutOfTime;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::fakes::FakeWorld;
    use crate::model::Email;

    fn email(n: usize, to: &str) -> OutboxEmail {
        OutboxEmail {
            email_id: format!("subscribed#agmt-{n:03}"),
            email: Email {
                to: to.into(),
                subject: "Your subscription is ready".into(),
                text: "Hello".into(),
            },
            // Oldest first: the lower the number, the older.
            created_at: OffsetDateTime::now_utc() - Duration::hours(1)
                + Duration::seconds(n as i64),
        }
    }

    fn in_an_hour() -> OffsetDateTime {
        OffsetDateTime::now_utc() + Duration::hours(1)
    }

    fn add(world: &FakeWorld, emails: impl IntoIterator<Item = OutboxEmail>) {
        world.store.outbox.lock().unwrap().extend(emails);
    }

    #[tokio::test]
    async fn refused_addresses_are_set_aside_and_never_hold_back_the_others() {
        let world = FakeWorld::demo().await;
        // More refused emails than one page, all older than the good ones.
        let refused: Vec<OutboxEmail> = (0..FLUSH_BATCH + 5)
            .map(|n| email(n, &format!("unverified-{n}@buyer.example")))
            .collect();
        world
            .mailer
            .refused
            .lock()
            .unwrap()
            .extend(refused.iter().map(|e| e.email.to.clone()));
        add(&world, refused);
        add(
            &world,
            (100..104).map(|n| email(n, "jim.halpert@buyer.example")),
        );

        let run = flush_outbox(&world.deps, in_an_hour()).await.unwrap();
        assert_eq!((run.sent, run.failed, run.left), (4, FLUSH_BATCH + 5, 0));
        assert_eq!(world.mailer.sent.lock().unwrap().len(), 4);
        let failed = world.store.failed_emails.lock().unwrap().clone();
        assert_eq!(failed.len(), FLUSH_BATCH + 5);
        assert!(failed.iter().all(|(_, why)| why.contains("SES refused it")));

        // Set aside for good: the next run neither lists nor tries them.
        let attempts = world.mailer.attempted.lock().unwrap().len();
        assert_eq!(
            flush_outbox(&world.deps, in_an_hour()).await.unwrap(),
            Delivered::default()
        );
        assert_eq!(world.mailer.attempted.lock().unwrap().len(), attempts);
    }

    #[tokio::test]
    async fn an_email_ses_keeps_failing_on_is_set_aside_after_the_last_attempt() {
        let world = FakeWorld::demo().await;
        add(&world, [email(1, "jim.halpert@buyer.example")]);
        world.mailer.failing.store(true, Ordering::SeqCst);
        for attempt in 1..MAX_SEND_ATTEMPTS {
            let run = flush_outbox(&world.deps, in_an_hour()).await.unwrap();
            assert_eq!(
                (run.sent, run.failed, run.left),
                (0, 0, 1),
                "attempt {attempt}"
            );
        }
        let run = flush_outbox(&world.deps, in_an_hour()).await.unwrap();
        assert_eq!((run.sent, run.failed, run.left), (0, 1, 0));
        let failed = world.store.failed_emails.lock().unwrap().clone();
        assert!(
            failed[0]
                .1
                .contains(&format!("{MAX_SEND_ATTEMPTS} attempts")),
            "{}",
            failed[0].1
        );
        assert!(world.store.outbox.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_flush_pages_past_emails_other_senders_hold() {
        let world = FakeWorld::demo().await;
        let held: Vec<OutboxEmail> = (0..FLUSH_BATCH + 1)
            .map(|n| email(n, "held@buyer.example"))
            .collect();
        let now = OffsetDateTime::now_utc();
        for e in &held {
            world.store.outbox.lock().unwrap().push(e.clone());
            assert!(
                world
                    .deps
                    .outbox
                    .claim(&e.email_id, now, now + Duration::minutes(2))
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        add(&world, [email(200, "jim.halpert@buyer.example")]);
        let run = flush_outbox(&world.deps, in_an_hour()).await.unwrap();
        assert_eq!((run.sent, run.failed, run.left), (1, 0, FLUSH_BATCH + 1));
        let sent = world.mailer.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, "jim.halpert@buyer.example");
    }

    #[tokio::test]
    async fn an_address_ses_would_refuse_never_reaches_ses() {
        let world = FakeWorld::demo().await;
        add(
            &world,
            [
                email(
                    1,
                    "jim.halpert@buyer.example\r\nBcc: everyone@buyer.example",
                ),
                email(2, "jim"),
            ],
        );
        let run = flush_outbox(&world.deps, in_an_hour()).await.unwrap();
        assert_eq!((run.sent, run.failed), (0, 2));
        assert!(world.mailer.attempted.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_flush_out_of_time_tries_nothing() {
        let world = FakeWorld::demo().await;
        add(&world, [email(1, "jim.halpert@buyer.example")]);
        let run = flush_outbox(
            &world.deps,
            OffsetDateTime::now_utc() - Duration::seconds(1),
        )
        .await
        .unwrap();
        assert!(run.unfinished);
        assert!(world.mailer.attempted.lock().unwrap().is_empty());
    }
}
