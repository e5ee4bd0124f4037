use super::*;
use crate::composite::apply_pipeline_status;
use crate::processing::tests::{JobExt, job, run, set, status_of, statuses};
use crate::processing::{apply_transitions, pipeline_composite, process, process_with};
use crate::state::{JobEvent, transition};
use Status::{
    Canceled, Canceling, Created, Failed, Manual, Pending, Running, Scheduled, Skipped, Success,
    WaitingForResource,
};

fn never_graceful(_: &ProcessingJob) -> bool {
    false
}

/// The pipeline's status after its jobs changed, as the server would store it.
fn pipeline_after(current: Status, jobs: &[ProcessingJob]) -> Status {
    apply_pipeline_status(current, pipeline_composite(jobs))
}

// --- cancel ---

#[test]
fn pipeline_cancel_cancels_created_and_running_jobs() {
    let mut jobs = vec![
        job(1, "build", 0).status(Success),
        job(2, "test", 1).status(Running),
        job(3, "lint", 1).status(Pending),
        job(4, "deploy", 2),
        job(5, "later", 2).when(When::Delayed).status(Scheduled),
        job(6, "lock", 2).status(WaitingForResource),
    ];
    let transitions = cancel_pipeline(&jobs, never_graceful);
    assert_eq!(transitions.len(), 5);
    apply_transitions(&mut jobs, &transitions);
    assert_eq!(
        statuses(&jobs),
        vec![
            ("build", Success),
            ("test", Canceled),
            ("lint", Canceled),
            ("deploy", Canceled),
            ("later", Canceled),
            ("lock", Canceled)
        ]
    );
    assert_eq!(process(&jobs), vec![]);
    assert_eq!(pipeline_after(Running, &jobs), Canceled);
}

#[test]
fn pipeline_cancel_with_graceful_runner_goes_through_canceling() {
    let mut jobs = vec![job(1, "test", 0).status(Running), job(2, "deploy", 1)];
    let transitions = cancel_pipeline(&jobs, |job| job.name == "test");
    apply_transitions(&mut jobs, &transitions);
    assert_eq!(
        statuses(&jobs),
        vec![("test", Canceling), ("deploy", Canceled)]
    );
    assert_eq!(pipeline_after(Running, &jobs), Canceling);

    // The runner's final report (success or failure) ends it `canceled`.
    let done = transition(Canceling, JobEvent::Succeed);
    assert_eq!(done, Some(Canceled));
    set(&mut jobs, "test", Canceled);
    assert_eq!(pipeline_after(Canceling, &jobs), Canceled);
}

#[test]
fn pipeline_cancel_leaves_manual_canceling_and_finished_jobs_alone() {
    let jobs = vec![
        job(1, "a", 0).status(Success),
        job(2, "b", 0).status(Failed),
        job(3, "c", 0).status(Canceled),
        job(4, "d", 0).status(Skipped),
        job(5, "e", 0).status(Manual).manual(),
        job(6, "f", 0).status(Canceling),
    ];
    assert_eq!(cancel_pipeline(&jobs, never_graceful), vec![]);
}

#[test]
fn pipeline_cancel_with_unplayed_optional_manual_ends_canceled() {
    let mut jobs = vec![
        job(1, "test", 0).status(Running),
        job(2, "review", 0).manual().status(Manual),
        job(3, "deploy", 1),
    ];
    let transitions = cancel_pipeline(&jobs, never_graceful);
    apply_transitions(&mut jobs, &transitions);
    assert_eq!(status_of(&jobs, "review"), Manual);
    assert_eq!(pipeline_after(Running, &jobs), Canceled);
}

#[test]
fn pipeline_cancel_with_blocking_manual_stays_manual() {
    let mut jobs = vec![
        job(1, "test", 0).status(Success),
        job(2, "approve", 1).when(When::Manual).status(Manual),
        job(3, "deploy", 2),
    ];
    let transitions = cancel_pipeline(&jobs, never_graceful);
    apply_transitions(&mut jobs, &transitions);
    assert_eq!(
        statuses(&jobs)[1..],
        [("approve", Manual), ("deploy", Canceled)]
    );
    assert_eq!(pipeline_after(Manual, &jobs), Manual);
}

#[test]
fn pipeline_cancel_after_a_real_failure_ends_failed() {
    let mut jobs = vec![
        job(1, "test", 0).status(Failed),
        job(2, "other", 0).status(Running),
        job(3, "deploy", 1),
    ];
    let transitions = cancel_pipeline(&jobs, never_graceful);
    apply_transitions(&mut jobs, &transitions);
    assert_eq!(pipeline_after(Running, &jobs), Failed);
}

#[test]
fn cancelling_one_job_of_stage_one_skips_an_always_job_of_stage_two() {
    let mut jobs = vec![
        job(1, "test", 0).status(Running),
        job(2, "cleanup", 1).when(When::Always),
    ];
    let to = transition(Running, JobEvent::Cancel { graceful: false });
    assert_eq!(to, Some(Canceled));
    set(&mut jobs, "test", Canceled);
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "cleanup"), Skipped);
    assert_eq!(pipeline_after(Running, &jobs), Canceled);
}

// --- reset of skipped jobs ---

#[test]
fn reset_takes_later_stages_and_needs_dependents_only() {
    let jobs = vec![
        job(1, "earlier", 0).status(Skipped),
        job(2, "origin", 1).status(Created),
        job(3, "sibling", 1).status(Skipped),
        job(4, "needs-origin", 1).needs(&["origin"]).status(Skipped),
        job(5, "needs-needs-origin", 1)
            .needs(&["needs-origin"])
            .status(Skipped),
        job(6, "later", 2).status(Skipped),
        job(7, "later-done", 2).status(Success),
        job(8, "much-later-dag", 3)
            .needs(&["earlier"])
            .status(Skipped),
    ];
    let reset = reset_skipped_jobs(&jobs, &[2]);
    let ids: Vec<i64> = reset.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![4, 5, 6, 8]);
    assert!(reset.iter().all(|t| t.from == Skipped && t.to == Created));
}

#[test]
fn reset_follows_needs_through_jobs_that_are_not_skipped() {
    let jobs = vec![
        job(1, "origin", 0).status(Created),
        job(2, "mid", 0).needs(&["origin"]).status(Success),
        job(3, "leaf", 0).needs(&["mid"]).status(Skipped),
    ];
    let reset = reset_skipped_jobs(&jobs, &[1]);
    assert_eq!(reset.iter().map(|t| t.id).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn reset_with_unknown_origin_does_nothing() {
    let jobs = vec![job(1, "a", 0).status(Skipped)];
    assert_eq!(reset_skipped_jobs(&jobs, &[99]), vec![]);
    assert_eq!(reset_skipped_jobs(&jobs, &[]), vec![]);
}

// --- play ---

#[test]
fn dag_need_on_optional_manual_is_skipped_then_play_resets_and_runs_it() {
    let mut jobs = vec![
        job(1, "build", 0),
        job(2, "review", 0).manual(),
        job(3, "smoke", 1).needs(&["build", "review"]),
        job(4, "deploy", 2),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "smoke"), Skipped);
    set(&mut jobs, "build", Success);
    run(&mut jobs);
    // Stage 2 sees {success, ignored, skipped}: it proceeds.
    assert_eq!(status_of(&jobs, "deploy"), Pending);
    set(&mut jobs, "deploy", Success);
    assert_eq!(pipeline_after(Running, &jobs), Success);

    let PlayOutcome::Enqueued(transitions) = play(&jobs, 2) else {
        panic!("review should be playable");
    };
    assert_eq!(
        transitions,
        vec![
            Transition {
                id: 2,
                from: Manual,
                to: Pending
            },
            Transition {
                id: 3,
                from: Skipped,
                to: Created
            }
        ]
    );
    apply_transitions(&mut jobs, &transitions);
    assert_eq!(pipeline_after(Success, &jobs), Running);
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "smoke"), Created);
    set(&mut jobs, "review", Success);
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "smoke"), Pending);
}

#[test]
fn reset_job_whose_other_need_is_still_an_unplayed_manual_is_skipped_again() {
    let mut jobs = vec![
        job(1, "review-a", 0).manual(),
        job(2, "review-b", 0).manual(),
        job(3, "smoke", 1).needs(&["review-a", "review-b"]),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "smoke"), Skipped);
    let PlayOutcome::Enqueued(transitions) = play(&jobs, 1) else {
        panic!("playable");
    };
    apply_transitions(&mut jobs, &transitions);
    assert_eq!(status_of(&jobs, "smoke"), Created);
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "smoke"), Skipped);
}

#[test]
fn playing_a_blocking_manual_job_lets_later_stages_run_afterwards() {
    let mut jobs = vec![job(1, "approve", 0).when(When::Manual), job(2, "deploy", 1)];
    run(&mut jobs);
    assert_eq!(pipeline_after(Created, &jobs), Manual);
    let PlayOutcome::Enqueued(transitions) = play(&jobs, 1) else {
        panic!("playable");
    };
    assert_eq!(transitions.len(), 1);
    apply_transitions(&mut jobs, &transitions);
    // {pending, created} is rule 6, and `enqueue` takes a blocked pipeline to `pending`.
    assert_eq!(pipeline_after(Manual, &jobs), Pending);
    set(&mut jobs, "approve", Success);
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "deploy"), Pending);
}

#[test]
fn play_outcomes() {
    let jobs = vec![
        job(1, "scheduled", 0).when(When::Delayed).status(Scheduled),
        job(2, "locked", 0).manual().status(Manual).resource_group(),
        job(3, "done-manual", 0).manual().status(Success),
        job(4, "plain", 0).status(Failed),
        job(5, "running-manual", 0).manual().status(Running),
    ];
    let enqueued = |id| match play(&jobs, id) {
        PlayOutcome::Enqueued(t) => t.first().map(|t| t.to),
        _ => None,
    };
    assert_eq!(enqueued(1), Some(Pending));
    assert_eq!(enqueued(2), Some(WaitingForResource));
    assert_eq!(play(&jobs, 3), PlayOutcome::Retry);
    assert_eq!(play(&jobs, 4), PlayOutcome::NotPlayable);
    assert_eq!(play(&jobs, 5), PlayOutcome::NotPlayable);
    assert_eq!(play(&jobs, 42), PlayOutcome::NotPlayable);
}

// --- retry ---

#[test]
fn retrying_the_failed_job_of_a_failed_pipeline_makes_it_running_and_resets_skipped() {
    let mut jobs = vec![
        job(1, "build", 0),
        job(2, "test", 1),
        job(3, "deploy", 2),
        job(4, "notify", 2).needs(&["test"]),
    ];
    run(&mut jobs);
    set(&mut jobs, "build", Success);
    run(&mut jobs);
    set(&mut jobs, "test", Failed);
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "deploy"), Skipped);
    assert_eq!(status_of(&jobs, "notify"), Skipped);
    let pipeline = pipeline_after(Running, &jobs);
    assert_eq!(pipeline, Failed);

    // Retry `test` (id 2) through the API: clone as id 10, reset, process.
    let old = jobs.iter().find(|j| j.id == 2).cloned();
    let Some(old) = old else { panic!("test job") };
    assert!(crate::state::is_retryable(old.status));
    let mut jobs = replace_retried(&jobs, &[(2, clone_for_retry(&old, 10))]);
    let reset = reset_skipped_jobs(&jobs, &[10]);
    assert_eq!(reset.iter().map(|t| t.id).collect::<Vec<_>>(), vec![3, 4]);
    apply_transitions(&mut jobs, &reset);
    run(&mut jobs);
    assert_eq!(
        statuses(&jobs),
        vec![
            ("build", Success),
            ("test", Pending),
            ("deploy", Created),
            ("notify", Created)
        ]
    );
    // Not `pending`: a finished pipeline enqueued again reads `running`.
    assert_eq!(pipeline_after(pipeline, &jobs), Running);
}

#[test]
fn api_retry_of_a_manual_job_enqueues_it_pipeline_retry_puts_it_back_to_manual() {
    let jobs = vec![
        job(1, "build", 0).status(Success),
        job(2, "deploy", 1).manual().status(Failed),
    ];
    let Some(old) = jobs.get(1) else { panic!() };
    let retried = replace_retried(&jobs, &[(2, clone_for_retry(old, 3))]);

    assert!(retry_enqueues_immediately(old.when));
    let api = process_with(&retried, &[3]);
    assert_eq!(api.first().map(|t| (t.id, t.to)), Some((3, Pending)));

    let plan = retry_pipeline(&jobs);
    assert_eq!(plan.clone, vec![2]);
    let whole = process(&retried);
    assert_eq!(whole.first().map(|t| (t.id, t.to)), Some((3, Manual)));
}

#[test]
fn retry_pipeline_clones_failed_and_canceled_and_resets_every_skipped_job() {
    let jobs = vec![
        job(1, "a", 0).status(Success),
        job(2, "b", 0).status(Failed).allow_failure(),
        job(3, "c", 0).status(Canceled),
        job(4, "d", 1).status(Skipped),
        job(5, "e", 1).status(Manual).manual(),
        job(6, "f", 2).status(Skipped),
    ];
    let plan = retry_pipeline(&jobs);
    assert_eq!(plan.clone, vec![2, 3]);
    assert_eq!(
        plan.reset.iter().map(|t| (t.id, t.to)).collect::<Vec<_>>(),
        vec![(4, Created), (6, Created)]
    );
}

mod props {
    use super::*;
    use crate::processing::tests::props::jobs;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cancel_moves_only_cancelable_jobs_to_canceled_or_canceling(
            jobs in jobs(), graceful in any::<bool>()
        ) {
            let transitions = cancel_pipeline(&jobs, |_| graceful);
            for t in &transitions {
                let job = jobs.iter().find(|j| j.id == t.id);
                prop_assert_eq!(job.map(|j| j.status), Some(t.from));
                prop_assert!(t.from.is_cancelable() && t.from != Manual);
                let want = transition(t.from, JobEvent::Cancel { graceful });
                prop_assert_eq!(Some(t.to), want);
            }
            let mut after = jobs.clone();
            apply_transitions(&mut after, &transitions);
            prop_assert!(after.iter().all(|j| j.status != Created));
            prop_assert_eq!(process(&after), vec![]);
        }

        #[test]
        fn reset_then_process_settles(jobs in jobs(), pick in any::<prop::sample::Index>()) {
            prop_assume!(!jobs.is_empty());
            let origin = jobs[pick.index(jobs.len())].id;
            let reset = reset_skipped_jobs(&jobs, &[origin]);
            for t in &reset {
                let job = jobs.iter().find(|j| j.id == t.id);
                prop_assert_eq!(job.map(|j| j.status), Some(Skipped));
            }
            let mut after = jobs.clone();
            apply_transitions(&mut after, &reset);
            let processed = process(&after);
            apply_transitions(&mut after, &processed);
            prop_assert_eq!(process(&after), vec![]);
        }
    }
}
