use super::*;
use Status::{
    Canceled, Created, Failed, Manual, Pending, Running, Scheduled, Skipped, Success,
    WaitingForResource,
};

pub(crate) fn job(id: i64, name: &str, stage_idx: i32) -> ProcessingJob {
    ProcessingJob {
        id,
        name: name.to_owned(),
        stage_idx,
        status: Created,
        when: When::OnSuccess,
        allow_failure: false,
        needs: None,
        has_resource_group: false,
    }
}

/// Builder helpers, so each fixture reads like its `.gitlab-ci.yml`.
pub(crate) trait JobExt {
    fn when(self, when: When) -> Self;
    fn allow_failure(self) -> Self;
    fn needs(self, names: &[&str]) -> Self;
    fn status(self, status: Status) -> Self;
    fn resource_group(self) -> Self;
    /// Job-level `when: manual`: optional (allow_failure defaults to true).
    fn manual(self) -> Self;
}

impl JobExt for ProcessingJob {
    fn when(mut self, when: When) -> Self {
        self.when = when;
        self
    }
    fn allow_failure(mut self) -> Self {
        self.allow_failure = true;
        self
    }
    fn needs(mut self, names: &[&str]) -> Self {
        self.needs = Some(names.iter().map(|n| (*n).to_owned()).collect());
        self
    }
    fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }
    fn resource_group(mut self) -> Self {
        self.has_resource_group = true;
        self
    }
    fn manual(self) -> Self {
        self.when(When::Manual).allow_failure()
    }
}

/// Runs `process`, applies its transitions, checks the result is a fixpoint.
pub(crate) fn run(jobs: &mut [ProcessingJob]) -> Vec<Transition> {
    let transitions = process(jobs);
    apply_transitions(jobs, &transitions);
    assert_eq!(
        process(jobs),
        vec![],
        "process must reach a fixpoint in one call"
    );
    transitions
}

pub(crate) fn status_of(jobs: &[ProcessingJob], name: &str) -> Status {
    jobs.iter()
        .find(|job| job.name == name)
        .map(|job| job.status)
        .unwrap_or_else(|| panic!("no job {name}"))
}

/// Simulates a runner/user moving a job outside processing.
pub(crate) fn set(jobs: &mut [ProcessingJob], name: &str, status: Status) {
    for job in jobs.iter_mut().filter(|job| job.name == name) {
        job.status = status;
    }
}

pub(crate) fn statuses(jobs: &[ProcessingJob]) -> Vec<(&str, Status)> {
    jobs.iter()
        .map(|job| (job.name.as_str(), job.status))
        .collect()
}

// --- basics ---

#[test]
fn empty_pipeline_does_nothing() {
    assert_eq!(process(&[]), vec![]);
}

#[test]
fn first_stage_is_enqueued_later_stages_wait() {
    let mut jobs = vec![job(1, "build", 0), job(2, "test", 1), job(3, "deploy", 2)];
    let transitions = run(&mut jobs);
    assert_eq!(
        transitions,
        vec![Transition {
            id: 1,
            from: Created,
            to: Pending
        }]
    );
    assert_eq!(
        statuses(&jobs),
        vec![("build", Pending), ("test", Created), ("deploy", Created)]
    );
    set(&mut jobs, "build", Success);
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "test"), Pending);
    assert_eq!(status_of(&jobs, "deploy"), Created);
}

#[test]
fn jobs_of_one_stage_are_enqueued_together() {
    let mut jobs = vec![job(1, "a", 0), job(2, "b", 0), job(3, "c", 0)];
    assert_eq!(run(&mut jobs).len(), 3);
    assert!(jobs.iter().all(|job| job.status == Pending));
}

#[test]
fn only_created_jobs_move() {
    let mut jobs: Vec<_> = Status::ALL
        .into_iter()
        .enumerate()
        .map(|(i, status)| job(i as i64, &format!("j{i}"), 0).status(status))
        .collect();
    let transitions = run(&mut jobs);
    assert_eq!(transitions.len(), 1);
    assert_eq!(transitions[0].from, Created);
}

#[test]
fn stage_indices_need_not_be_contiguous_nor_sorted() {
    let mut jobs = vec![job(1, "late", 30), job(2, "early", -5), job(3, "mid", 7)];
    run(&mut jobs);
    assert_eq!(
        statuses(&jobs),
        vec![("late", Created), ("early", Pending), ("mid", Created)]
    );
}

#[test]
fn skip_cascades_through_every_later_stage_in_one_call() {
    let mut jobs = vec![
        job(1, "build", 0).status(Failed),
        job(2, "test", 1),
        job(3, "package", 2),
        job(4, "deploy", 3),
        job(5, "notify", 4).when(When::OnFailure),
    ];
    let transitions = run(&mut jobs);
    assert_eq!(transitions.len(), 4);
    assert_eq!(
        statuses(&jobs),
        vec![
            ("build", Failed),
            ("test", Skipped),
            ("package", Skipped),
            ("deploy", Skipped),
            ("notify", Pending)
        ]
    );
}

#[test]
fn on_success_stage_job_proceeds_after_skipped_stage() {
    let mut jobs = vec![
        job(1, "only-on-failure", 0).when(When::OnFailure),
        job(2, "next", 1),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "only-on-failure"), Skipped);
    assert_eq!(status_of(&jobs, "next"), Pending);
    // {skipped, pending} is rule 6: the pipeline reads `pending`.
    assert_eq!(pipeline_composite(&jobs), Some(Pending));
}

#[test]
fn when_per_previous_status() {
    // The table of ci-yaml.md §3.5, for stage jobs and DAG jobs.
    let cases = [
        (When::OnSuccess, Success, Pending, Pending),
        (When::OnSuccess, Failed, Skipped, Skipped),
        (When::OnSuccess, Skipped, Pending, Skipped),
        (When::OnSuccess, Canceled, Skipped, Skipped),
        (When::OnFailure, Success, Skipped, Skipped),
        (When::OnFailure, Failed, Pending, Pending),
        (When::OnFailure, Skipped, Skipped, Skipped),
        (When::OnFailure, Canceled, Skipped, Skipped),
        (When::Always, Success, Pending, Pending),
        (When::Always, Failed, Pending, Pending),
        (When::Always, Skipped, Pending, Pending),
        (When::Always, Canceled, Skipped, Skipped),
        (When::Manual, Success, Manual, Manual),
        (When::Manual, Failed, Skipped, Skipped),
        (When::Manual, Skipped, Manual, Skipped),
        (When::Delayed, Success, Scheduled, Scheduled),
        (When::Delayed, Failed, Skipped, Skipped),
        (When::Delayed, Skipped, Scheduled, Skipped),
        (When::Never, Success, Skipped, Skipped),
    ];
    for (when, previous, as_stage_job, as_dag_job) in cases {
        let mut stage = vec![
            job(1, "prev", 0).status(previous),
            job(2, "job", 1).when(when),
        ];
        run(&mut stage);
        assert_eq!(
            status_of(&stage, "job"),
            as_stage_job,
            "stage {when:?} {previous}"
        );

        let mut dag = vec![
            job(1, "prev", 0).status(previous),
            job(2, "job", 1).when(when).needs(&["prev"]),
        ];
        run(&mut dag);
        assert_eq!(
            status_of(&dag, "job"),
            as_dag_job,
            "dag {when:?} {previous}"
        );
    }
}

#[test]
fn jobs_wait_while_previous_status_is_not_completed() {
    for previous in [
        Created,
        Pending,
        Running,
        Manual,
        Scheduled,
        WaitingForResource,
        Status::Preparing,
        Status::WaitingForCallback,
        Status::Canceling,
    ] {
        for needs in [None, Some(vec!["prev".to_owned()])] {
            let mut jobs = vec![
                job(1, "prev", 0).status(previous),
                ProcessingJob {
                    needs: needs.clone(),
                    ..job(2, "job", 1).when(When::Always)
                },
            ];
            let transitions = process(&jobs);
            apply_transitions(&mut jobs, &transitions);
            assert_eq!(status_of(&jobs, "job"), Created, "{previous} {needs:?}");
        }
    }
}

#[test]
fn delayed_becomes_scheduled_manual_becomes_manual() {
    let mut jobs = vec![
        job(1, "later", 0).when(When::Delayed),
        job(2, "click", 0).manual(),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "later"), Scheduled);
    assert_eq!(status_of(&jobs, "click"), Manual);
}

#[test]
fn resource_group_jobs_wait_for_resource_instead_of_pending() {
    let mut jobs = vec![
        job(1, "deploy", 0).resource_group(),
        job(2, "manual-deploy", 0).manual().resource_group(),
        job(3, "skipped-deploy", 0)
            .when(When::OnFailure)
            .resource_group(),
    ];
    run(&mut jobs);
    assert_eq!(
        statuses(&jobs),
        vec![
            ("deploy", WaitingForResource),
            ("manual-deploy", Manual),
            ("skipped-deploy", Skipped)
        ]
    );
}

#[test]
fn enqueue_immediately_skips_manual_and_scheduled_but_not_skipping() {
    let jobs = vec![
        job(1, "retried-manual", 0).manual(),
        job(2, "retried-delayed", 0)
            .when(When::Delayed)
            .resource_group(),
        job(3, "retried-on-failure", 0).when(When::OnFailure),
        job(4, "untouched-manual", 0).manual(),
    ];
    let transitions = process_with(&jobs, &[1, 2, 3]);
    let to: Vec<_> = transitions.iter().map(|t| (t.id, t.to)).collect();
    assert_eq!(
        to,
        vec![
            (1, Pending),
            (2, WaitingForResource),
            (3, Skipped),
            (4, Manual)
        ]
    );
}

// --- ci-yaml.md §11 fixtures ---

#[test]
fn manual_without_rules_is_optional_and_does_not_block() {
    let mut jobs = vec![
        job(1, "build", 0).status(Success),
        job(2, "deploy-review", 1).manual(),
        job(3, "test", 2),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "deploy-review"), Manual);
    assert_eq!(status_of(&jobs, "test"), Pending);
    set(&mut jobs, "test", Success);
    run(&mut jobs);
    assert_eq!(pipeline_composite(&jobs), Some(Success));
}

#[test]
fn rules_when_manual_is_blocking_and_holds_later_stages() {
    let mut jobs = vec![
        job(1, "build", 0).status(Success),
        job(2, "approve", 1).when(When::Manual),
        job(3, "deploy", 2),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "approve"), Manual);
    assert_eq!(status_of(&jobs, "deploy"), Created);
    assert_eq!(pipeline_composite(&jobs), Some(Manual));
    assert_eq!(
        stage_statuses(&jobs),
        vec![(0, Success), (1, Manual), (2, Created)]
    );

    // Played, then it runs and succeeds: the next stage goes.
    set(&mut jobs, "approve", Pending);
    assert_eq!(run(&mut jobs), vec![]);
    set(&mut jobs, "approve", Success);
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "deploy"), Pending);
}

#[test]
fn allowed_failure_then_on_success_runs_and_pipeline_succeeds() {
    let mut jobs = vec![
        job(1, "lint", 0).allow_failure().status(Failed),
        job(2, "test", 0).status(Success),
        job(3, "deploy", 1),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "deploy"), Pending);
    set(&mut jobs, "deploy", Success);
    assert_eq!(pipeline_composite(&jobs), Some(Success));
    let items: Vec<_> = jobs.iter().map(ProcessingJob::composite_item).collect();
    assert!(crate::composite::has_warnings(&items));
}

#[test]
fn on_failure_after_allowed_failure_is_skipped() {
    let mut jobs = vec![
        job(1, "lint", 0).allow_failure().status(Failed),
        job(2, "cleanup", 1).when(When::OnFailure),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "cleanup"), Skipped);
}

#[test]
fn dag_need_on_unplayed_optional_manual_is_skipped() {
    let mut jobs = vec![
        job(1, "build", 0),
        job(2, "review", 0).manual(),
        job(3, "smoke", 1).needs(&["build", "review"]),
        job(4, "report", 1).needs(&["review"]).when(When::Always),
    ];
    run(&mut jobs);
    // Skipped at once, although `build` is still pending.
    assert_eq!(status_of(&jobs, "build"), Pending);
    assert_eq!(status_of(&jobs, "review"), Manual);
    assert_eq!(status_of(&jobs, "smoke"), Skipped);
    assert_eq!(status_of(&jobs, "report"), Pending);
}

#[test]
fn dag_need_on_blocking_manual_waits() {
    let mut jobs = vec![
        job(1, "approve", 0).when(When::Manual),
        job(2, "deploy", 1).needs(&["approve"]),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "deploy"), Created);
}

#[test]
fn only_optional_manual_jobs_and_what_they_skipped_make_a_skipped_pipeline() {
    let mut jobs = vec![
        job(1, "review", 0).manual(),
        job(2, "after-review", 1).needs(&["review"]),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "after-review"), Skipped);
    assert_eq!(pipeline_composite(&jobs), Some(Skipped));
}

#[test]
fn empty_needs_in_last_stage_starts_at_once() {
    let mut jobs = vec![
        job(1, "build", 0),
        job(2, "test", 1),
        job(3, "lint", 2).needs(&[]),
        job(4, "deploy", 2),
    ];
    run(&mut jobs);
    assert_eq!(
        statuses(&jobs),
        vec![
            ("build", Pending),
            ("test", Created),
            ("lint", Pending),
            ("deploy", Created)
        ]
    );
}

#[test]
fn empty_needs_with_on_failure_is_skipped_at_once() {
    let mut jobs = vec![
        job(1, "build", 0),
        job(2, "rescue", 1).needs(&[]).when(When::OnFailure),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "rescue"), Skipped);
}

#[test]
fn dag_job_runs_once_its_needs_succeed_even_while_its_stage_predecessors_run() {
    let mut jobs = vec![
        job(1, "build-a", 0).status(Success),
        job(2, "build-b", 0).status(Running),
        job(3, "test-a", 1).needs(&["build-a"]),
        job(4, "test-b", 1).needs(&["build-b"]),
        job(5, "deploy", 2),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "test-a"), Pending);
    assert_eq!(status_of(&jobs, "test-b"), Created);
    assert_eq!(status_of(&jobs, "deploy"), Created);
}

#[test]
fn dag_job_with_skipped_need_is_skipped_unless_always() {
    let mut jobs = vec![
        job(1, "maybe", 0).status(Skipped),
        job(2, "ok", 0).status(Success),
        job(3, "dag-on-success", 1).needs(&["maybe", "ok"]),
        job(4, "dag-always", 1).needs(&["maybe"]).when(When::Always),
        job(5, "stage-on-success", 1),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "dag-on-success"), Skipped);
    assert_eq!(status_of(&jobs, "dag-always"), Pending);
    assert_eq!(status_of(&jobs, "stage-on-success"), Pending);
}

#[test]
fn dag_needs_in_the_same_stage_are_decided_in_one_call_whatever_the_order() {
    // `c` needs `b` needs `a`, all in one stage, listed backwards.
    let mut jobs = vec![
        job(1, "c", 0).needs(&["b"]),
        job(2, "b", 0).needs(&["a"]).when(When::OnFailure),
        job(3, "a", 0).status(Success),
        job(4, "d", 1),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "b"), Skipped);
    assert_eq!(status_of(&jobs, "c"), Skipped);
    assert_eq!(status_of(&jobs, "d"), Pending);
}

#[test]
fn skip_cascades_along_a_needs_chain() {
    let mut jobs = vec![
        job(1, "a", 0).status(Failed),
        job(2, "b", 1).needs(&["a"]),
        job(3, "c", 2).needs(&["b"]),
        job(4, "d", 3).needs(&["c"]).when(When::Always),
    ];
    run(&mut jobs);
    assert_eq!(
        statuses(&jobs),
        vec![
            ("a", Failed),
            ("b", Skipped),
            ("c", Skipped),
            ("d", Pending)
        ]
    );
}

#[test]
fn needs_on_unknown_names_are_ignored() {
    let mut jobs = vec![
        job(1, "build", 0).status(Running),
        job(2, "test", 1).needs(&["excluded-by-rules"]),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "test"), Pending);
}

#[test]
fn cancelling_one_job_skips_even_always_jobs_of_the_next_stage() {
    let mut jobs = vec![
        job(1, "build", 0).status(Success),
        job(2, "test", 0).status(Canceled),
        job(3, "cleanup", 1).when(When::Always),
        job(4, "notify", 1).when(When::OnFailure),
        job(5, "deploy", 1),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "cleanup"), Skipped);
    assert_eq!(status_of(&jobs, "notify"), Skipped);
    assert_eq!(status_of(&jobs, "deploy"), Skipped);
    assert_eq!(pipeline_composite(&jobs), Some(Canceled));
}

#[test]
fn cancelled_job_allowed_to_fail_lets_the_next_stage_run() {
    let mut jobs = vec![
        job(1, "flaky", 0).status(Canceled).allow_failure(),
        job(2, "deploy", 1),
    ];
    run(&mut jobs);
    assert_eq!(status_of(&jobs, "deploy"), Pending);
}

#[test]
fn failed_stage_runs_on_failure_and_always_jobs() {
    let mut jobs = vec![
        job(1, "test", 0).status(Failed),
        job(2, "deploy", 1),
        job(3, "rollback", 1).when(When::OnFailure),
        job(4, "cleanup", 2).when(When::Always),
    ];
    run(&mut jobs);
    assert_eq!(
        statuses(&jobs),
        vec![
            ("test", Failed),
            ("deploy", Skipped),
            ("rollback", Pending),
            ("cleanup", Created)
        ]
    );
    set(&mut jobs, "rollback", Success);
    run(&mut jobs);
    // Previous status is still `failed` (composite of stages 0 and 1).
    assert_eq!(status_of(&jobs, "cleanup"), Pending);
}

#[test]
fn stage_statuses_follow_the_composite() {
    let jobs = vec![
        job(1, "a", 0).status(Success),
        job(2, "b", 0).status(Failed).allow_failure(),
        job(3, "c", 1).status(Running),
        job(4, "d", 1).status(Created),
        job(5, "e", 2).status(Created),
    ];
    assert_eq!(
        stage_statuses(&jobs),
        vec![(0, Success), (1, Running), (2, Created)]
    );
    assert_eq!(pipeline_composite(&jobs), Some(Running));
    assert_eq!(pipeline_composite(&[]), None);
}

pub(crate) mod props {
    use super::*;
    use proptest::prelude::*;

    const WHENS: [When; 6] = [
        When::OnSuccess,
        When::OnFailure,
        When::Always,
        When::Manual,
        When::Delayed,
        When::Never,
    ];

    /// Random job lists: arbitrary statuses, stages, `when`s and needs (including needs on
    /// later stages, on themselves, cycles, unknown names and duplicate names).
    pub(crate) fn jobs() -> impl Strategy<Value = Vec<ProcessingJob>> {
        prop::collection::vec(
            (
                0..5usize,
                -1i32..4,
                prop_oneof![3 => Just(Created), 2 => (0..13usize).prop_map(|i| Status::ALL[i])],
                0..WHENS.len(),
                any::<bool>(),
                prop::option::of(prop::collection::vec(0..8usize, 0..4)),
                any::<bool>(),
            ),
            0..12,
        )
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(
                    |(i, (name, stage, status, when, af, needs, rg))| ProcessingJob {
                        id: i as i64,
                        // Mostly unique names; a small pool sometimes collides on purpose.
                        name: if i % 3 == 0 {
                            format!("n{name}")
                        } else {
                            format!("n{i}")
                        },
                        stage_idx: stage,
                        status,
                        when: WHENS[when],
                        allow_failure: af,
                        needs: needs.map(|n| n.into_iter().map(|k| format!("n{k}")).collect()),
                        has_resource_group: rg,
                    },
                )
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn process_only_moves_created_jobs_once_to_a_decided_status(jobs in jobs()) {
            let transitions = process(&jobs);
            let mut seen = HashSet::new();
            for t in &transitions {
                prop_assert!(seen.insert(t.id), "job {} moved twice", t.id);
                let job = jobs.iter().find(|j| j.id == t.id);
                prop_assert_eq!(job.map(|j| j.status), Some(Created));
                prop_assert_eq!(t.from, Created);
                prop_assert!(matches!(
                    t.to,
                    Pending | WaitingForResource | Manual | Scheduled | Skipped
                ));
            }
        }

        #[test]
        fn process_reaches_a_fixpoint(mut jobs in jobs()) {
            let mut rounds = 0;
            loop {
                let transitions = process(&jobs);
                if transitions.is_empty() {
                    break;
                }
                apply_transitions(&mut jobs, &transitions);
                rounds += 1;
                prop_assert!(rounds <= 1, "one call already settles everything");
            }
        }

        #[test]
        fn simulated_runs_settle_every_job(mut jobs in jobs()) {
            // Repeatedly finish whatever is alive (success, failed or played), as runners and
            // users would, then process: the pipeline always gets somewhere without panicking.
            for round in 0..64 {
                let transitions = process(&jobs);
                apply_transitions(&mut jobs, &transitions);
                let mut changed = !transitions.is_empty();
                for job in jobs.iter_mut() {
                    let next = match job.status {
                        Pending | WaitingForResource | Running => {
                            if (job.id + round) % 3 == 0 { Failed } else { Success }
                        }
                        Manual | Scheduled if job.id % 2 == 0 => Pending,
                        _ => continue,
                    };
                    job.status = next;
                    changed = true;
                }
                if !changed {
                    break;
                }
            }
            let _ = pipeline_composite(&jobs);
            let _ = stage_statuses(&jobs);
        }

        #[test]
        fn input_order_does_not_change_the_outcome(jobs in jobs(), seed in any::<u64>()) {
            let mut shuffled = jobs.clone();
            // Deterministic shuffle from the seed.
            let len = shuffled.len();
            let mut state = seed | 1;
            for i in (1..len).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let j = (state % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            let mut a = process(&jobs);
            let mut b = process(&shuffled);
            a.sort_by_key(|t| t.id);
            b.sort_by_key(|t| t.id);
            prop_assert_eq!(a, b);
        }
    }
}
