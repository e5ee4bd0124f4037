//! A pipeline's timestamps and durations (GitLab's `Ci::Pipeline` transition callbacks and
//! `Gitlab::Ci::Pipeline::Duration`). Times are unix milliseconds.

use crate::status::Status;

/// A pipeline's `started_at` / `finished_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PipelineTimestamps {
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl PipelineTimestamps {
    /// After the pipeline moved `from` → `to` at `now`: `started_at` is set once, when it first
    /// starts running; `finished_at` is set on every entry into `success`/`failed`/`canceled`
    /// and kept when a retry makes the pipeline run again (GitLab does not clear it).
    pub fn after_transition(self, from: Status, to: Status, now: i64) -> PipelineTimestamps {
        let mut next = self;
        if from == to {
            return next;
        }
        if to == Status::Running
            && matches!(
                from,
                Status::Created | Status::WaitingForResource | Status::Preparing | Status::Pending
            )
            && next.started_at.is_none()
        {
            next.started_at = Some(now);
        }
        if matches!(to, Status::Success | Status::Failed | Status::Canceled) {
            next.finished_at = Some(now);
        }
        next
    }
}

/// One latest job, for the pipeline's duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobPeriod {
    pub status: Status,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// The pipeline's `duration` in milliseconds: total time during which at least one job ran
/// (the union of the jobs' running periods, so queueing and gaps between stages do not count).
/// Only `success`, `failed`, `running` and `canceled` jobs that started count; a job still
/// running counts up to `now`. GitLab stores this as whole seconds (`ms / 1000`).
pub fn pipeline_duration_ms(jobs: &[JobPeriod], now: i64) -> i64 {
    let mut periods: Vec<(i64, i64)> = jobs
        .iter()
        .filter(|job| {
            matches!(
                job.status,
                Status::Success | Status::Failed | Status::Running | Status::Canceled
            )
        })
        .filter_map(|job| {
            let start = job.started_at?;
            Some((start, job.finished_at.unwrap_or(now)))
        })
        .collect();
    periods.sort_unstable();
    let mut total = 0i64;
    let mut current: Option<(i64, i64)> = None;
    for (start, end) in periods {
        current = match current {
            Some((first, last)) if start <= last => Some((first, last.max(end))),
            Some((first, last)) => {
                total = total.saturating_add(last.saturating_sub(first));
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((first, last)) = current {
        total = total.saturating_add(last.saturating_sub(first));
    }
    total
}

/// The pipeline's `queued_duration` in whole seconds: from creation to start; `None` before it
/// started, and also when that is under a second (GitLab returns nil for 0).
pub fn pipeline_queued_duration_secs(created_at: i64, started_at: Option<i64>) -> Option<i64> {
    let seconds = started_at?.saturating_sub(created_at) / 1000;
    (seconds != 0).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::{Canceled, Created, Failed, Manual, Pending, Running, Skipped, Success};

    fn period(status: Status, started: i64, finished: Option<i64>) -> JobPeriod {
        JobPeriod {
            status,
            started_at: Some(started),
            finished_at: finished,
        }
    }

    #[test]
    fn gitlab_example_union_of_periods() {
        // A (1, 3), B (2, 4), C (6, 7) => (4 - 1) + (7 - 6) = 4.
        let jobs = [
            period(Success, 1_000, Some(3_000)),
            period(Failed, 2_000, Some(4_000)),
            period(Canceled, 6_000, Some(7_000)),
        ];
        assert_eq!(pipeline_duration_ms(&jobs, 99_000), 4_000);
    }

    #[test]
    fn nested_and_touching_periods_merge() {
        let jobs = [
            period(Success, 0, Some(10_000)),
            period(Success, 2_000, Some(3_000)),
            period(Success, 10_000, Some(12_000)),
        ];
        assert_eq!(pipeline_duration_ms(&jobs, 0), 12_000);
    }

    #[test]
    fn running_jobs_count_until_now_others_are_ignored() {
        let jobs = [
            period(Running, 5_000, None),
            period(Skipped, 0, Some(1_000)),
            JobPeriod {
                status: Pending,
                started_at: None,
                finished_at: None,
            },
            JobPeriod {
                status: Canceled,
                started_at: None,
                finished_at: Some(3_000),
            },
        ];
        assert_eq!(pipeline_duration_ms(&jobs, 8_000), 3_000);
        assert_eq!(pipeline_duration_ms(&[], 8_000), 0);
    }

    #[test]
    fn started_once_finished_on_every_finish() {
        let t = PipelineTimestamps::default();
        let t = t.after_transition(Created, Pending, 1);
        assert_eq!(t, PipelineTimestamps::default());
        let t = t.after_transition(Pending, Running, 2);
        assert_eq!(t.started_at, Some(2));
        let t = t.after_transition(Running, Failed, 3);
        assert_eq!(t.finished_at, Some(3));
        // Retry: running again keeps both, then a new finish moves finished_at.
        let t = t.after_transition(Failed, Running, 4);
        assert_eq!((t.started_at, t.finished_at), (Some(2), Some(3)));
        let t = t.after_transition(Running, Success, 5);
        assert_eq!((t.started_at, t.finished_at), (Some(2), Some(5)));
        // Blocked pipelines are not finished.
        let m = PipelineTimestamps::default().after_transition(Running, Manual, 6);
        assert_eq!(m.finished_at, None);
    }

    #[test]
    fn queued_duration_is_whole_seconds_and_nil_when_zero() {
        assert_eq!(pipeline_queued_duration_secs(1_000, None), None);
        assert_eq!(pipeline_queued_duration_secs(1_000, Some(1_900)), None);
        assert_eq!(pipeline_queued_duration_secs(1_000, Some(3_500)), Some(2));
    }
}
