//! When a run stops starting new work: its invocation's deadline less a margin, so the work in
//! flight ends and the summary is logged before Lambda stops it. What is left waits for the
//! next run (or, for a queue batch, the redelivery).

use std::time::SystemTime;

use time::{Duration, OffsetDateTime};

use crate::StoreError;
use crate::ports::Page;

/// `deadline` less `margin`; when the runtime gives no usable deadline (`cargo lambda watch`
/// sends a fixed one in 1970), `now + fallback` (the template's timeout less the margin).
pub fn stop_before(
    deadline: SystemTime,
    now: OffsetDateTime,
    margin: Duration,
    fallback: Duration,
) -> OffsetDateTime {
    let deadline = OffsetDateTime::from(deadline);
    if deadline > now {
        deadline - margin
    } else {
        now + fallback
    }
}

/// How a walk through a listing ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Every page was read and handled.
    Finished,
    /// `stop_at` came first; the rest waits for the next run.
    OutOfTime,
}

/// Reads a listing page by page (`read` gets the cursor the last page gave) and hands each
/// page's items to `each`, until the listing ends or `stop_at` has passed: the scheduled run's
/// steps start no page after their time. A failed read ends the walk with its error; what
/// fails on an item is `each`'s to count.
pub async fn walk_pages<T>(
    stop_at: OffsetDateTime,
    mut read: impl AsyncFnMut(Option<String>) -> Result<Page<T>, StoreError>,
    mut each: impl AsyncFnMut(Vec<T>),
) -> Result<Walk, StoreError> {
    let mut cursor = None;
    loop {
        if OffsetDateTime::now_utc() >= stop_at {
            return Ok(Walk::OutOfTime);
        }
        let page = read(cursor).await?;
        each(page.items).await;
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(Walk::Finished),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_stops_short_of_the_lambda_deadline() {
        let now = OffsetDateTime::now_utc();
        let deadline = now + Duration::seconds(300);
        assert_eq!(
            stop_before(
                deadline.into(),
                now,
                Duration::seconds(20),
                Duration::seconds(280)
            ),
            deadline - Duration::seconds(20)
        );
    }

    #[test]
    fn a_deadline_in_the_past_falls_back_to_the_usual_budget() {
        let now = OffsetDateTime::now_utc();
        let cargo_lambda_watch = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(600_000);
        assert_eq!(
            stop_before(
                cargo_lambda_watch,
                now,
                Duration::seconds(20),
                Duration::seconds(280)
            ),
            now + Duration::seconds(280)
        );
    }

    /// A listing of three pages, `a`–`e`; `fail_at` makes that page's read fail.
    async fn walk_letters(
        stop_at: OffsetDateTime,
        fail_at: Option<&str>,
    ) -> (
        Result<Walk, StoreError>,
        Vec<Option<String>>,
        Vec<&'static str>,
    ) {
        let pages: [(&str, &[&'static str], Option<&str>); 3] = [
            ("", &["a", "b"], Some("p2")),
            ("p2", &["c", "d"], Some("p3")),
            ("p3", &["e"], None),
        ];
        let mut reads = Vec::new();
        let mut seen = Vec::new();
        let walk = walk_pages(
            stop_at,
            async |cursor: Option<String>| {
                reads.push(cursor.clone());
                let at = cursor.unwrap_or_default();
                if fail_at == Some(at.as_str()) {
                    return Err(StoreError::Unavailable("throttled".into()));
                }
                let (_, items, next) = pages.iter().find(|(key, _, _)| *key == at).unwrap();
                Ok(Page {
                    items: items.to_vec(),
                    next: next.map(String::from),
                })
            },
            async |items| seen.extend(items),
        )
        .await;
        (walk, reads, seen)
    }

    #[tokio::test]
    async fn a_walk_reads_every_page_in_order_with_the_cursor_each_gave() {
        let later = OffsetDateTime::now_utc() + Duration::minutes(5);
        let (walk, reads, seen) = walk_letters(later, None).await;
        assert_eq!(walk.unwrap(), Walk::Finished);
        assert_eq!(reads, [None, Some("p2".into()), Some("p3".into())]);
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    }

    #[tokio::test]
    async fn a_walk_past_its_time_reads_nothing_and_says_so() {
        let earlier = OffsetDateTime::now_utc() - Duration::seconds(1);
        let (walk, reads, seen) = walk_letters(earlier, None).await;
        assert_eq!(walk.unwrap(), Walk::OutOfTime);
        assert!(reads.is_empty() && seen.is_empty());
    }

    #[tokio::test]
    async fn a_failed_read_ends_the_walk_with_its_error_after_the_pages_before_it() {
        let later = OffsetDateTime::now_utc() + Duration::minutes(5);
        let (walk, _, seen) = walk_letters(later, Some("p3")).await;
        assert!(matches!(walk, Err(StoreError::Unavailable(_))));
        assert_eq!(seen, ["a", "b", "c", "d"]);
    }
}
