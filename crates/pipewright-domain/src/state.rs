//! The job state machine (GitLab's `CommitStatus`/`Ci::Processable`/`Ci::Build` events,
//! ci-yaml.md §4, jobs-api.md §3): which event moves which status where, the timestamps a
//! transition maintains, and the predicates behind retry / play / erase.

use crate::status::{Status, When};

/// Something that happens to a job. Names follow GitLab's state-machine events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobEvent {
    /// `created`/`skipped`/`manual`/`scheduled` → `pending` (jobs without a resource group).
    Enqueue,
    /// Same sources → `waiting_for_resource`: the enqueue of a job with a `resource_group`.
    WaitForResource,
    /// `waiting_for_resource` → `pending`: the resource group assigned its resource.
    AssignResource,
    /// `pending` → `running`: a runner picked the job.
    Run,
    /// Runner reports success. `canceling` → `canceled` (the runner's final report after a
    /// graceful cancel); bridges may succeed from earlier states.
    Succeed,
    /// Runner reports failure. Same transitions as [`JobEvent::Drop`] (GitLab has one `drop`
    /// event); the caller sets `failure_reason`.
    Fail,
    /// User cancel: `running` → `canceling` when the runner cancels gracefully, else `canceled`;
    /// every other cancelable status and `manual` → `canceled`.
    Cancel { graceful: bool },
    /// `canceling` → `canceled`, nothing else.
    ForceCancel,
    /// The job's previous status does not allow it to run.
    Skip,
    /// User plays a `manual` job or runs a `scheduled` one now → `pending`. Jobs with a resource
    /// group use [`JobEvent::WaitForResource`] instead; completed jobs are retried, not played.
    Play,
    /// `created` → `scheduled` (`when: delayed` reached).
    Schedule,
    /// `scheduled` → `manual` (user unschedules a delayed job).
    Unschedule,
    /// `created` → `manual` (`when: manual` reached; GitLab's `actionize`).
    Actionize,
    /// Server fails the job (stuck, timeout, missing dependency…): any non-final status but
    /// `skipped` → `failed`; `canceling` → `canceled`.
    Drop,
    /// `skipped`/`manual` → `created` so processing evaluates the job again (GitLab's `process`
    /// event, used when a play or a retry resets skipped jobs).
    Reset,
}

impl JobEvent {
    /// Every event, for exhaustive tests.
    pub const ALL: [JobEvent; 16] = [
        JobEvent::Enqueue,
        JobEvent::WaitForResource,
        JobEvent::AssignResource,
        JobEvent::Run,
        JobEvent::Succeed,
        JobEvent::Fail,
        JobEvent::Cancel { graceful: false },
        JobEvent::Cancel { graceful: true },
        JobEvent::ForceCancel,
        JobEvent::Skip,
        JobEvent::Play,
        JobEvent::Schedule,
        JobEvent::Unschedule,
        JobEvent::Actionize,
        JobEvent::Drop,
        JobEvent::Reset,
    ];
}

use Status::{
    Canceled, Canceling, Created, Failed, Manual, Pending, Preparing, Running, Scheduled, Skipped,
    Success, WaitingForCallback, WaitingForResource,
};

/// Where `event` moves a job in status `from`; `None` when the event does not apply (the caller
/// decides whether that is an error or a no-op, e.g. cancel of a finished job answers 201).
pub fn transition(from: Status, event: JobEvent) -> Option<Status> {
    let to = match event {
        JobEvent::Enqueue => match from {
            Created | Skipped | Manual | Scheduled => Pending,
            _ => return None,
        },
        JobEvent::Play => match from {
            Manual | Scheduled => Pending,
            _ => return None,
        },
        JobEvent::WaitForResource => match from {
            Created | Skipped | Manual | Scheduled => WaitingForResource,
            _ => return None,
        },
        JobEvent::AssignResource => match from {
            WaitingForResource => Pending,
            _ => return None,
        },
        JobEvent::Run => match from {
            Pending => Running,
            _ => return None,
        },
        JobEvent::Succeed => match from {
            Canceling => Canceled,
            Created | WaitingForResource | Preparing | WaitingForCallback | Pending | Running => {
                Success
            }
            _ => return None,
        },
        JobEvent::Fail | JobEvent::Drop => match from {
            Canceling => Canceled,
            Created | WaitingForResource | Preparing | WaitingForCallback | Pending | Running
            | Manual | Scheduled => Failed,
            _ => return None,
        },
        JobEvent::Cancel { graceful } => match from {
            Running if graceful => Canceling,
            Created | WaitingForResource | Preparing | WaitingForCallback | Pending | Running
            | Scheduled | Manual => Canceled,
            _ => return None,
        },
        JobEvent::ForceCancel => match from {
            Canceling => Canceled,
            _ => return None,
        },
        JobEvent::Skip => match from {
            Created | WaitingForResource | Preparing | Pending => Skipped,
            _ => return None,
        },
        JobEvent::Schedule => match from {
            Created => Scheduled,
            _ => return None,
        },
        JobEvent::Unschedule => match from {
            Scheduled => Manual,
            _ => return None,
        },
        JobEvent::Actionize => match from {
            Created => Manual,
            _ => return None,
        },
        JobEvent::Reset => match from {
            Skipped | Manual => Created,
            _ => return None,
        },
    };
    Some(to)
}

/// Retry (jobs-api.md E9) is allowed from these statuses. The caller also checks that the job
/// is not already retried, not archived and not a rejected deployment.
pub fn is_retryable(status: Status) -> bool {
    matches!(status, Success | Failed | Canceled | Canceling)
}

/// Play (E11) of a build: `when: manual`/`delayed` and waiting (`manual`, `scheduled`) or
/// retryable (a completed manual job is "played" again, which is a retry).
pub fn is_playable(when: When, status: Status) -> bool {
    matches!(when, When::Manual | When::Delayed)
        && (matches!(status, Manual | Scheduled) || is_retryable(status))
}

/// Play of a bridge (trigger job): only a waiting manual one.
pub fn is_bridge_playable(when: When, status: Status) -> bool {
    when == When::Manual && status == Manual
}

/// Erase (E10) needs a completed job; the caller also checks there is something to erase.
pub fn is_erasable(status: Status) -> bool {
    status.is_completed()
}

/// A job's timestamps, in unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timestamps {
    pub queued_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl Timestamps {
    /// The timestamps after a `from` → `to` transition at `now` (jobs-api.md §3.2):
    /// entering `pending` from a waiting status sets `queued_at`; entering `running` from
    /// `created`/`preparing`/`pending` sets `started_at`; entering `success`/`failed`/`canceled`
    /// sets `finished_at`.
    pub fn after_transition(self, from: Status, to: Status, now: i64) -> Timestamps {
        let mut next = self;
        if to == Pending
            && matches!(
                from,
                Created | WaitingForResource | Preparing | Skipped | Manual | Scheduled
            )
        {
            next.queued_at = Some(now);
        }
        if to == Running && matches!(from, Created | Preparing | Pending) {
            next.started_at = Some(now);
        }
        if matches!(to, Success | Failed | Canceled) {
            next.finished_at = Some(now);
        }
        next
    }

    pub fn duration_secs(&self, now: i64) -> Option<f64> {
        duration_secs(self.started_at, self.finished_at, now)
    }

    pub fn queued_duration_secs(&self, now: i64) -> Option<f64> {
        queued_duration_secs(self.queued_at, self.started_at, now)
    }
}

fn millis_to_secs(ms: i64) -> f64 {
    // Millisecond counts of real durations fit an f64 exactly.
    ms as f64 / 1000.0
}

/// `duration` = (finished_at or now) − started_at; `None` if the job never started.
pub fn duration_secs(started_at: Option<i64>, finished_at: Option<i64>, now: i64) -> Option<f64> {
    let started = started_at?;
    Some(millis_to_secs(
        finished_at.unwrap_or(now).saturating_sub(started),
    ))
}

/// `queued_duration` = (started_at or now) − queued_at; `None` if the job was never queued.
pub fn queued_duration_secs(
    queued_at: Option<i64>,
    started_at: Option<i64>,
    now: i64,
) -> Option<f64> {
    let queued = queued_at?;
    Some(millis_to_secs(
        started_at.unwrap_or(now).saturating_sub(queued),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole machine as a table: for each event, every allowed (from, to). Every pair not
    /// listed must be rejected.
    fn expected(event: JobEvent) -> Vec<(Status, Status)> {
        let waiting = [Created, Skipped, Manual, Scheduled];
        let cancelable = [
            Created,
            WaitingForResource,
            Preparing,
            WaitingForCallback,
            Pending,
            Scheduled,
            Manual,
        ];
        match event {
            JobEvent::Enqueue => waiting.iter().map(|&s| (s, Pending)).collect(),
            JobEvent::WaitForResource => waiting.iter().map(|&s| (s, WaitingForResource)).collect(),
            JobEvent::AssignResource => vec![(WaitingForResource, Pending)],
            JobEvent::Run => vec![(Pending, Running)],
            JobEvent::Succeed => vec![
                (Created, Success),
                (WaitingForResource, Success),
                (Preparing, Success),
                (WaitingForCallback, Success),
                (Pending, Success),
                (Running, Success),
                (Canceling, Canceled),
            ],
            JobEvent::Fail | JobEvent::Drop => vec![
                (Created, Failed),
                (WaitingForResource, Failed),
                (Preparing, Failed),
                (WaitingForCallback, Failed),
                (Pending, Failed),
                (Running, Failed),
                (Manual, Failed),
                (Scheduled, Failed),
                (Canceling, Canceled),
            ],
            JobEvent::Cancel { graceful } => {
                let mut pairs: Vec<_> = cancelable.iter().map(|&s| (s, Canceled)).collect();
                pairs.push((Running, if graceful { Canceling } else { Canceled }));
                pairs
            }
            JobEvent::ForceCancel => vec![(Canceling, Canceled)],
            JobEvent::Skip => vec![
                (Created, Skipped),
                (WaitingForResource, Skipped),
                (Preparing, Skipped),
                (Pending, Skipped),
            ],
            JobEvent::Play => vec![(Manual, Pending), (Scheduled, Pending)],
            JobEvent::Schedule => vec![(Created, Scheduled)],
            JobEvent::Unschedule => vec![(Scheduled, Manual)],
            JobEvent::Actionize => vec![(Created, Manual)],
            JobEvent::Reset => vec![(Skipped, Created), (Manual, Created)],
        }
    }

    #[test]
    fn every_status_event_pair_matches_the_table() {
        for event in JobEvent::ALL {
            let table = expected(event);
            for from in Status::ALL {
                let want = table.iter().find(|(f, _)| *f == from).map(|(_, to)| *to);
                assert_eq!(transition(from, event), want, "{from} on {event:?}");
            }
        }
    }

    #[test]
    fn finished_jobs_never_move() {
        for from in [Success, Failed, Canceled] {
            for event in JobEvent::ALL {
                assert_eq!(transition(from, event), None, "{from} on {event:?}");
            }
        }
    }

    #[test]
    fn canceling_finishes_canceled_whatever_the_runner_reports() {
        assert_eq!(transition(Canceling, JobEvent::Succeed), Some(Canceled));
        assert_eq!(transition(Canceling, JobEvent::Fail), Some(Canceled));
        assert_eq!(
            transition(Canceling, JobEvent::Cancel { graceful: true }),
            None
        );
    }

    #[test]
    fn force_cancel_never_falls_back_to_a_plain_cancel() {
        assert_eq!(transition(Running, JobEvent::ForceCancel), None);
        assert_eq!(transition(Pending, JobEvent::ForceCancel), None);
    }

    #[test]
    fn a_single_job_cancel_also_cancels_manual_jobs() {
        assert_eq!(
            transition(Manual, JobEvent::Cancel { graceful: false }),
            Some(Canceled)
        );
    }

    #[test]
    fn retryable_statuses() {
        let yes: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| is_retryable(*s))
            .collect();
        assert_eq!(yes, vec![Success, Failed, Canceling, Canceled]);
    }

    #[test]
    fn playable_needs_manual_or_delayed_when() {
        for status in [Manual, Scheduled, Success, Failed, Canceled, Canceling] {
            assert!(is_playable(When::Manual, status), "{status}");
            assert!(is_playable(When::Delayed, status), "{status}");
            assert!(!is_playable(When::OnSuccess, status), "{status}");
            assert!(!is_playable(When::Always, status), "{status}");
        }
        for status in [Created, Pending, Running, Skipped, WaitingForResource] {
            assert!(!is_playable(When::Manual, status), "{status}");
        }
        assert!(is_bridge_playable(When::Manual, Manual));
        assert!(!is_bridge_playable(When::Manual, Failed));
        assert!(!is_bridge_playable(When::Delayed, Scheduled));
    }

    #[test]
    fn erasable_iff_completed() {
        let yes: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| is_erasable(*s))
            .collect();
        assert_eq!(yes, vec![Success, Failed, Canceled, Skipped]);
    }

    #[test]
    fn timestamps_follow_the_lifecycle() {
        let t = Timestamps::default();
        let t = t.after_transition(Created, Pending, 1_000);
        assert_eq!(t.queued_at, Some(1_000));
        assert_eq!(t.duration_secs(1_500), None);
        assert_eq!(t.queued_duration_secs(1_500), Some(0.5));
        let t = t.after_transition(Pending, Running, 3_000);
        assert_eq!(t.started_at, Some(3_000));
        assert_eq!(t.queued_duration_secs(9_999), Some(2.0));
        assert_eq!(t.duration_secs(4_250), Some(1.25));
        let t = t.after_transition(Running, Success, 7_000);
        assert_eq!(t.finished_at, Some(7_000));
        assert_eq!(t.duration_secs(99_000), Some(4.0));
    }

    #[test]
    fn timestamp_rules_per_transition() {
        let base = Timestamps::default();
        for from in [
            Created,
            WaitingForResource,
            Preparing,
            Skipped,
            Manual,
            Scheduled,
        ] {
            assert_eq!(base.after_transition(from, Pending, 5).queued_at, Some(5));
        }
        assert_eq!(base.after_transition(Pending, Pending, 5).queued_at, None);
        for from in [Created, Preparing, Pending] {
            assert_eq!(base.after_transition(from, Running, 5).started_at, Some(5));
        }
        for to in [Success, Failed, Canceled] {
            assert_eq!(base.after_transition(Running, to, 5).finished_at, Some(5));
        }
        // `canceling` and `skipped` are not finished.
        assert_eq!(base.after_transition(Running, Canceling, 5), base);
        assert_eq!(base.after_transition(Created, Skipped, 5), base);
        assert_eq!(base.after_transition(Created, WaitingForResource, 5), base);
    }

    #[test]
    fn canceled_before_start_has_no_duration() {
        let t = Timestamps::default().after_transition(Created, Canceled, 10);
        assert_eq!(t.finished_at, Some(10));
        assert_eq!(t.duration_secs(20), None);
        assert_eq!(t.queued_duration_secs(20), None);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn event() -> impl Strategy<Value = JobEvent> {
            (0..JobEvent::ALL.len()).prop_map(|i| JobEvent::ALL[i])
        }

        proptest! {
            #[test]
            fn random_event_sequences_keep_timestamps_ordered(
                events in prop::collection::vec((event(), 0i64..1_000), 0..40)
            ) {
                let mut status = Created;
                let mut ts = Timestamps::default();
                let mut now = 0i64;
                for (event, step) in events {
                    now += step;
                    // A rejected event changes nothing.
                    if let Some(to) = transition(status, event) {
                        prop_assert_ne!(to, status, "no loopback transitions");
                        ts = ts.after_transition(status, to, now);
                        status = to;
                    }
                    if let (Some(q), Some(s)) = (ts.queued_at, ts.started_at) {
                        prop_assert!(q <= s);
                    }
                    if let (Some(s), Some(f)) = (ts.started_at, ts.finished_at) {
                        prop_assert!(s <= f);
                    }
                    prop_assert_eq!(ts.finished_at.is_some(),
                        matches!(status, Success | Failed | Canceled));
                    if status == Running || status == Canceling {
                        prop_assert!(ts.started_at.is_some());
                    }
                    prop_assert!(ts.duration_secs(now).is_none_or(|d| d >= 0.0));
                    prop_assert!(ts.queued_duration_secs(now).is_none_or(|d| d >= 0.0));
                }
            }
        }
    }
}
