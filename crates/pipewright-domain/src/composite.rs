//! GitLab's composite status (`Gitlab::Ci::Status::Composite`, ci-yaml.md §6): many jobs'
//! statuses folded into one, for a stage, a pipeline, or a job's "previous status".
//!
//! Also `Ci::Pipeline#set_status`: how a composite result moves a pipeline's own status.

use crate::status::Status;

/// One job as the composite sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CompositeItem {
    pub status: Status,
    pub allow_failure: bool,
}

impl CompositeItem {
    pub fn new(status: Status, allow_failure: bool) -> Self {
        Self {
            status,
            allow_failure,
        }
    }
}

/// The set of mapped values S of §6, as bits: one per `Status`, plus the two pseudo-statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct StatusSet(u32);

const SUCCESS_WITH_WARNINGS: u32 = 1 << 13;
const IGNORED: u32 = 1 << 14;

const fn bit(status: Status) -> u32 {
    // `Status` is a fieldless enum with 13 variants, so each gets a distinct bit below 1 << 13.
    1 << (status as u32)
}

const fn bits(statuses: &[Status]) -> u32 {
    let mut acc = 0;
    let mut i = 0;
    while i < statuses.len() {
        acc |= bit(statuses[i]);
        i += 1;
    }
    acc
}

impl StatusSet {
    fn of(items: &[CompositeItem]) -> Self {
        let mut set = 0;
        for item in items {
            set |= match (item.status, item.allow_failure) {
                (Status::Failed | Status::Canceled, true) => SUCCESS_WITH_WARNINGS,
                (Status::Manual, true) => IGNORED,
                (status, _) => bit(status),
            };
        }
        Self(set)
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// GitLab's `only_of?`: non-empty and every element is in `allowed`.
    fn only_of(self, allowed: u32) -> bool {
        self.0 != 0 && self.0 & !allowed == 0
    }

    fn any_of(self, wanted: u32) -> bool {
        self.0 & wanted != 0
    }
}

use Status::{
    Canceled, Canceling, Created, Manual, Pending, Preparing, Running, Scheduled, Skipped, Success,
    WaitingForCallback, WaitingForResource,
};

/// The rule table of §6 (rows 1–15), applied to a non-empty set.
fn rules(set: StatusSet) -> Status {
    let sww = SUCCESS_WITH_WARNINGS;
    if set.only_of(bit(Skipped) | IGNORED) {
        Skipped
    } else if set.only_of(bits(&[Success, Skipped]) | sww | IGNORED) {
        Success
    } else if set.only_of(bit(Created) | sww | IGNORED) {
        Created
    } else if set.only_of(bit(Preparing) | sww | IGNORED) {
        Preparing
    } else if set.only_of(bits(&[Canceled, Success, Skipped]) | sww | IGNORED) {
        Canceled
    } else if set.only_of(bits(&[Pending, Created, Skipped]) | sww | IGNORED) {
        Pending
    } else if set.any_of(bits(&[Running, Pending])) {
        Running
    } else if set.any_of(bit(WaitingForResource)) {
        WaitingForResource
    } else if set.any_of(bit(WaitingForCallback)) {
        WaitingForCallback
    } else if set.any_of(bit(Manual)) {
        Manual
    } else if set.any_of(bit(Scheduled)) {
        Scheduled
    } else if set.any_of(bit(Preparing)) {
        Preparing
    } else if set.any_of(bit(Created)) {
        Running
    } else if set.any_of(bit(Canceling)) {
        Canceling
    } else {
        Status::Failed
    }
}

/// Composite status of a stage, a pipeline, or the jobs before a stage job.
/// `None` when there are no items (callers usually read that as `success`).
pub fn composite(items: &[CompositeItem]) -> Option<Status> {
    let set = StatusSet::of(items);
    (!set.is_empty()).then(|| rules(set))
}

/// The DAG variant, a job's "previous status" over its needs: `skipped` as soon as any need is
/// `skipped` or an ignored (optional, unplayed) manual job, even while other needs still run.
pub fn dag_composite(items: &[CompositeItem]) -> Option<Status> {
    let set = StatusSet::of(items);
    if set.is_empty() {
        None
    } else if set.any_of(bit(Skipped) | IGNORED) {
        Some(Skipped)
    } else {
        Some(rules(set))
    }
}

/// GitLab's `warnings?`: some job failed or was canceled while allowed to fail
/// (a `success` pipeline then shows "passed with warnings").
pub fn has_warnings(items: &[CompositeItem]) -> bool {
    StatusSet::of(items).any_of(SUCCESS_WITH_WARNINGS)
}

/// `Ci::Pipeline#set_status`: the pipeline's new status when the composite of its latest jobs
/// is `composite` (`None`, no jobs, counts as `success` as in GitLab's processing).
///
/// Quirks kept on purpose: `created` leaves the pipeline alone; `pending` is the `enqueue` event,
/// which turns a finished (or canceling) pipeline into `running` and keeps a running one running;
/// `canceling` never overrides `canceled`.
pub fn apply_pipeline_status(current: Status, composite: Option<Status>) -> Status {
    match composite.unwrap_or(Success) {
        Created => current,
        Pending => match current {
            Created | Manual | WaitingForResource | Preparing | Skipped | Scheduled => Pending,
            Success | Status::Failed | Canceling | Canceled => Running,
            // `running` and `waiting_for_callback` loop back; `pending` has no transition.
            Running | WaitingForCallback | Pending => current,
        },
        Canceling => match current {
            Canceled => Canceled,
            _ => Canceling,
        },
        // Every other event is `any - [target] => target`: the target status itself.
        other => other,
    }
}

/// `Ci::Stage#set_status`: a stage's new status when the composite of its latest jobs is
/// `composite`. Unlike the pipeline's: `created` still keeps the current status (so a stage
/// whose jobs were reset stays `skipped` until one moves), but `pending` is always `pending`,
/// and a stage without jobs (`None`) is `skipped`.
pub fn apply_stage_status(current: Status, composite: Option<Status>) -> Status {
    match composite {
        None => Skipped,
        Some(Created) => current,
        Some(Canceling) if current == Canceled => Canceled,
        Some(other) => other,
    }
}

/// Convenience: the pipeline's next status from its current one and its latest jobs.
pub fn pipeline_status(current: Status, jobs: &[CompositeItem]) -> Status {
    apply_pipeline_status(current, composite(jobs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::Failed;

    fn s(status: Status) -> CompositeItem {
        CompositeItem::new(status, false)
    }

    fn allowed(status: Status) -> CompositeItem {
        CompositeItem::new(status, true)
    }

    fn c(items: &[CompositeItem]) -> Option<Status> {
        composite(items)
    }

    fn d(items: &[CompositeItem]) -> Option<Status> {
        dag_composite(items)
    }

    #[test]
    fn no_items_no_status() {
        assert_eq!(c(&[]), None);
        assert_eq!(d(&[]), None);
    }

    // --- mapping of (status, allow_failure) ---

    #[test]
    fn allowed_failed_and_canceled_count_as_success_with_warnings() {
        assert_eq!(c(&[allowed(Failed)]), Some(Success));
        assert_eq!(c(&[allowed(Canceled)]), Some(Success));
        assert!(has_warnings(&[allowed(Failed), s(Success)]));
        assert!(has_warnings(&[allowed(Canceled)]));
        assert!(!has_warnings(&[s(Failed), s(Success), allowed(Manual)]));
    }

    #[test]
    fn allow_failure_does_not_change_other_statuses() {
        for status in Status::ALL {
            if matches!(status, Failed | Canceled | Manual) {
                continue;
            }
            assert_eq!(c(&[allowed(status)]), c(&[s(status)]), "{status}");
        }
    }

    #[test]
    fn allowed_manual_is_ignored() {
        assert_eq!(c(&[allowed(Manual)]), Some(Skipped));
        assert_eq!(c(&[allowed(Manual), s(Success)]), Some(Success));
    }

    // --- one test per row of the §6 table ---

    #[test]
    fn row_0_dag_skipped_or_ignored_need_skips_even_while_others_run() {
        assert_eq!(d(&[s(Success), s(Skipped)]), Some(Skipped));
        assert_eq!(d(&[s(Running), s(Skipped)]), Some(Skipped));
        assert_eq!(d(&[s(Pending), allowed(Manual)]), Some(Skipped));
        assert_eq!(d(&[s(Failed), allowed(Manual)]), Some(Skipped));
        // The stage variant does not have row 0.
        assert_eq!(c(&[s(Success), s(Skipped)]), Some(Success));
        assert_eq!(c(&[s(Running), s(Skipped)]), Some(Running));
        // A blocking manual need is not ignored: the DAG job waits.
        assert_eq!(d(&[s(Success), s(Manual)]), Some(Manual));
    }

    #[test]
    fn row_1_only_skipped_and_ignored_is_skipped() {
        assert_eq!(c(&[s(Skipped)]), Some(Skipped));
        assert_eq!(c(&[s(Skipped), allowed(Manual)]), Some(Skipped));
    }

    #[test]
    fn row_2_only_success_like_is_success() {
        assert_eq!(c(&[s(Success)]), Some(Success));
        assert_eq!(
            c(&[s(Success), s(Skipped), allowed(Failed), allowed(Manual)]),
            Some(Success)
        );
        assert_eq!(c(&[allowed(Failed), s(Skipped)]), Some(Success));
    }

    #[test]
    fn row_3_only_created_is_created() {
        assert_eq!(c(&[s(Created)]), Some(Created));
        assert_eq!(
            c(&[s(Created), allowed(Failed), allowed(Manual)]),
            Some(Created)
        );
    }

    #[test]
    fn row_4_only_preparing_is_preparing() {
        assert_eq!(c(&[s(Preparing)]), Some(Preparing));
        assert_eq!(c(&[s(Preparing), allowed(Canceled)]), Some(Preparing));
    }

    #[test]
    fn row_5_canceled_with_success_like_is_canceled() {
        assert_eq!(c(&[s(Canceled)]), Some(Canceled));
        assert_eq!(
            c(&[
                s(Canceled),
                s(Success),
                s(Skipped),
                allowed(Failed),
                allowed(Manual)
            ]),
            Some(Canceled)
        );
    }

    #[test]
    fn row_6_pending_with_created_or_skipped_is_pending() {
        assert_eq!(c(&[s(Pending)]), Some(Pending));
        assert_eq!(
            c(&[s(Pending), s(Created), s(Skipped), allowed(Failed)]),
            Some(Pending)
        );
        // `success` is not in row 6's list: a pending job after a success reads as running.
        assert_eq!(c(&[s(Pending), s(Success)]), Some(Running));
    }

    #[test]
    fn row_7_any_running_or_pending_is_running() {
        assert_eq!(c(&[s(Running)]), Some(Running));
        assert_eq!(c(&[s(Running), s(Manual), s(Failed)]), Some(Running));
        assert_eq!(c(&[s(Pending), s(Manual)]), Some(Running));
        assert_eq!(c(&[s(Pending), s(WaitingForResource)]), Some(Running));
    }

    #[test]
    fn row_8_waiting_for_resource() {
        assert_eq!(c(&[s(WaitingForResource)]), Some(WaitingForResource));
        assert_eq!(
            c(&[s(WaitingForResource), s(Manual), s(Failed)]),
            Some(WaitingForResource)
        );
    }

    #[test]
    fn row_9_waiting_for_callback() {
        assert_eq!(c(&[s(WaitingForCallback)]), Some(WaitingForCallback));
        assert_eq!(
            c(&[s(WaitingForCallback), s(Manual), s(Success)]),
            Some(WaitingForCallback)
        );
    }

    #[test]
    fn row_10_manual() {
        assert_eq!(c(&[s(Manual)]), Some(Manual));
        assert_eq!(c(&[s(Manual), s(Scheduled), s(Created)]), Some(Manual));
        assert_eq!(c(&[s(Manual), s(Failed)]), Some(Manual));
    }

    #[test]
    fn row_11_scheduled() {
        assert_eq!(c(&[s(Scheduled)]), Some(Scheduled));
        assert_eq!(c(&[s(Scheduled), s(Created), s(Failed)]), Some(Scheduled));
    }

    #[test]
    fn row_12_preparing_mixed_is_preparing() {
        assert_eq!(c(&[s(Preparing), s(Success)]), Some(Preparing));
        assert_eq!(c(&[s(Preparing), s(Created)]), Some(Preparing));
    }

    #[test]
    fn row_13_created_mixed_is_running() {
        assert_eq!(c(&[s(Created), s(Success)]), Some(Running));
        assert_eq!(c(&[s(Created), s(Failed)]), Some(Running));
        assert_eq!(c(&[s(Created), s(Canceling)]), Some(Running));
    }

    #[test]
    fn row_14_canceling() {
        assert_eq!(c(&[s(Canceling)]), Some(Canceling));
        assert_eq!(c(&[s(Canceling), s(Canceled), s(Failed)]), Some(Canceling));
    }

    #[test]
    fn row_15_otherwise_failed() {
        assert_eq!(c(&[s(Failed)]), Some(Failed));
        assert_eq!(
            c(&[s(Failed), s(Success), s(Skipped), s(Canceled)]),
            Some(Failed)
        );
    }

    // --- "Consequences worth testing" of §6 ---

    #[test]
    fn success_and_allowed_failure_is_success_with_warnings() {
        let items = [s(Success), allowed(Failed)];
        assert_eq!(c(&items), Some(Success));
        assert!(has_warnings(&items));
    }

    #[test]
    fn success_and_failed_is_failed() {
        assert_eq!(c(&[s(Success), s(Failed)]), Some(Failed));
    }

    #[test]
    fn failed_and_running_is_running() {
        assert_eq!(c(&[s(Failed), s(Running)]), Some(Running));
    }

    #[test]
    fn success_and_skipped_is_success() {
        assert_eq!(c(&[s(Success), s(Skipped)]), Some(Success));
    }

    #[test]
    fn all_skipped_is_skipped() {
        assert_eq!(c(&[s(Skipped), s(Skipped), s(Skipped)]), Some(Skipped));
    }

    #[test]
    fn success_and_canceled_is_canceled() {
        assert_eq!(c(&[s(Success), s(Canceled)]), Some(Canceled));
    }

    #[test]
    fn failed_and_canceled_is_failed() {
        assert_eq!(c(&[s(Failed), s(Canceled)]), Some(Failed));
    }

    #[test]
    fn success_and_blocking_manual_is_manual() {
        assert_eq!(c(&[s(Success), s(Manual)]), Some(Manual));
    }

    #[test]
    fn success_and_optional_manual_is_success() {
        assert_eq!(c(&[s(Success), allowed(Manual)]), Some(Success));
    }

    #[test]
    fn success_and_created_is_running() {
        assert_eq!(c(&[s(Success), s(Created)]), Some(Running));
    }

    #[test]
    fn pending_and_created_is_pending() {
        assert_eq!(c(&[s(Pending), s(Created)]), Some(Pending));
    }

    #[test]
    fn success_and_scheduled_is_scheduled() {
        assert_eq!(c(&[s(Success), s(Scheduled)]), Some(Scheduled));
    }

    #[test]
    fn pending_beside_blocking_manual_and_created_is_running() {
        assert_eq!(c(&[s(Pending), s(Manual), s(Created)]), Some(Running));
    }

    #[test]
    fn only_optional_manual_and_skipped_is_skipped() {
        assert_eq!(c(&[allowed(Manual), s(Skipped)]), Some(Skipped));
    }

    #[test]
    fn only_completed_results_are_completed() {
        // A job proceeds only on a completed previous status; these mean "wait".
        for items in [
            vec![s(Manual)],
            vec![s(Scheduled)],
            vec![s(Running)],
            vec![s(Created)],
            vec![s(Success), s(Created)],
        ] {
            let status = c(&items);
            assert!(status.is_some_and(|st| !st.is_completed()), "{items:?}");
        }
    }

    // --- Ci::Pipeline#set_status ---

    #[test]
    fn created_result_keeps_the_current_pipeline_status() {
        for current in Status::ALL {
            assert_eq!(apply_pipeline_status(current, Some(Created)), current);
        }
    }

    #[test]
    fn pending_result_is_the_enqueue_event() {
        for current in [
            Created,
            Manual,
            Scheduled,
            Skipped,
            WaitingForResource,
            Preparing,
        ] {
            assert_eq!(apply_pipeline_status(current, Some(Pending)), Pending);
        }
        for current in [Success, Failed, Canceled, Canceling, Running] {
            assert_eq!(apply_pipeline_status(current, Some(Pending)), Running);
        }
        assert_eq!(apply_pipeline_status(Pending, Some(Pending)), Pending);
        assert_eq!(
            apply_pipeline_status(WaitingForCallback, Some(Pending)),
            WaitingForCallback
        );
    }

    #[test]
    fn canceling_result_does_not_override_canceled() {
        assert_eq!(apply_pipeline_status(Canceled, Some(Canceling)), Canceled);
        assert_eq!(apply_pipeline_status(Running, Some(Canceling)), Canceling);
    }

    #[test]
    fn other_results_are_taken_as_they_are() {
        for current in Status::ALL {
            for result in Status::ALL {
                if matches!(result, Created | Pending | Canceling) {
                    continue;
                }
                assert_eq!(apply_pipeline_status(current, Some(result)), result);
            }
        }
    }

    #[test]
    fn stage_status_quirks() {
        assert_eq!(apply_stage_status(Skipped, Some(Created)), Skipped);
        assert_eq!(apply_stage_status(Skipped, Some(Pending)), Pending);
        assert_eq!(apply_stage_status(Success, Some(Pending)), Pending);
        assert_eq!(apply_stage_status(Running, None), Skipped);
        assert_eq!(apply_stage_status(Canceled, Some(Canceling)), Canceled);
        assert_eq!(apply_stage_status(Running, Some(Canceling)), Canceling);
        for current in Status::ALL {
            for result in Status::ALL {
                if matches!(result, Created | Canceling) {
                    continue;
                }
                assert_eq!(apply_stage_status(current, Some(result)), result);
            }
        }
    }

    #[test]
    fn no_jobs_counts_as_success() {
        assert_eq!(apply_pipeline_status(Running, None), Success);
    }

    #[test]
    fn retry_in_a_finished_pipeline_makes_it_running_not_pending() {
        // Failed pipeline; the failed job retried: {success, pending(new job)} plus the old one
        // left the latest set. The composite is `running` already; a lone pending job too.
        assert_eq!(pipeline_status(Failed, &[s(Pending)]), Running);
        assert_eq!(pipeline_status(Failed, &[s(Success), s(Pending)]), Running);
        // A fresh pipeline goes created -> pending.
        assert_eq!(pipeline_status(Created, &[s(Pending), s(Created)]), Pending);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn item() -> impl Strategy<Value = CompositeItem> {
            (0..Status::ALL.len(), any::<bool>())
                .prop_map(|(i, af)| CompositeItem::new(Status::ALL[i], af))
        }

        proptest! {
            #[test]
            fn order_and_duplicates_do_not_matter(mut items in prop::collection::vec(item(), 0..12)) {
                let expected = (composite(&items), dag_composite(&items));
                items.reverse();
                let mut doubled = items.clone();
                doubled.extend(items.iter().copied());
                prop_assert_eq!((composite(&items), dag_composite(&items)), expected);
                prop_assert_eq!((composite(&doubled), dag_composite(&doubled)), expected);
            }

            #[test]
            fn dag_differs_only_by_row_0(items in prop::collection::vec(item(), 1..12)) {
                let skipped_or_ignored = items.iter().any(|i| {
                    i.status == Skipped || (i.status == Manual && i.allow_failure)
                });
                if skipped_or_ignored {
                    prop_assert_eq!(dag_composite(&items), Some(Skipped));
                } else {
                    prop_assert_eq!(dag_composite(&items), composite(&items));
                }
            }
        }
    }
}
