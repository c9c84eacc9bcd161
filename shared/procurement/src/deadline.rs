//! When a run stops starting new work: its invocation's deadline less a margin, so the work in
//! flight ends and the summary is logged before Lambda stops it. What is left waits for the
//! next run (or, for a queue batch, the redelivery).

use std::time::SystemTime;

use time::{Duration, OffsetDateTime};

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
}
