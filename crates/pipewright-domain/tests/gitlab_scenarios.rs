//! Whole-pipeline stories through the public API only, the way the server's use cases drive
//! it: an event on a job, then processing, then stage and pipeline statuses.
//!
//! The expected statuses are GitLab's, as its own atomic-processing scenarios record them
//! (`spec/services/ci/pipeline_processing/test_cases/`); each test names the scenario it
//! re-states.

use Status::{Canceled, Created, Failed, Manual, Pending, Running, Skipped, Success};
use pipewright_domain::pipeline::{
    PlayOutcome, clone_for_retry, play, replace_retried, reset_skipped_jobs,
    retry_enqueues_immediately, retry_pipeline,
};
use pipewright_domain::processing::{
    ProcessingJob, apply_transitions, pipeline_composite, process_with,
};
use pipewright_domain::state::{JobEvent, is_retryable, transition};
use pipewright_domain::{
    CompositeItem, Status, When, apply_pipeline_status, apply_stage_status, composite,
};

/// A job as written in `.gitlab-ci.yml`.
struct J {
    name: &'static str,
    stage: &'static str,
    when: When,
    allow_failure: Option<bool>,
    needs: Option<Vec<&'static str>>,
}

fn j(name: &'static str, stage: &'static str) -> J {
    J {
        name,
        stage,
        when: When::OnSuccess,
        allow_failure: None,
        needs: None,
    }
}

impl J {
    fn when(mut self, when: When) -> Self {
        self.when = when;
        self
    }
    fn allow_failure(mut self, allow: bool) -> Self {
        self.allow_failure = Some(allow);
        self
    }
    fn needs(mut self, needs: &[&'static str]) -> Self {
        self.needs = Some(needs.to_vec());
        self
    }
}

#[derive(Clone, Copy)]
enum Event {
    Run,
    Success,
    Drop,
    Cancel,
    Play,
    Retry,
}

struct Pipeline {
    stages: Vec<&'static str>,
    jobs: Vec<ProcessingJob>,
    status: Status,
    stage_status: Vec<Status>,
    enqueue_immediately: Vec<i64>,
    next_id: i64,
}

impl Pipeline {
    /// Creates the pipeline (every job `created`) and processes it once.
    fn create(stages: &[&'static str], config: Vec<J>) -> Pipeline {
        let jobs: Vec<ProcessingJob> = config
            .into_iter()
            .zip(1..)
            .map(|(spec, id)| {
                let stage_idx = stages
                    .iter()
                    .position(|s| *s == spec.stage)
                    .unwrap_or_else(|| panic!("unknown stage {}", spec.stage));
                ProcessingJob {
                    id,
                    name: spec.name.to_owned(),
                    stage_idx: i32::try_from(stage_idx).unwrap_or(i32::MAX),
                    status: Created,
                    when: spec.when,
                    // Job-level `when: manual` defaults to allow_failure: true (§3.6).
                    allow_failure: spec.allow_failure.unwrap_or(spec.when == When::Manual),
                    needs: spec
                        .needs
                        .map(|n| n.iter().map(|s| (*s).to_owned()).collect()),
                    has_resource_group: false,
                }
            })
            .collect();
        let next_id = i64::try_from(jobs.len()).unwrap_or(0) + 100;
        let mut pipeline = Pipeline {
            stages: stages.to_vec(),
            jobs,
            status: Created,
            stage_status: vec![Created; stages.len()],
            enqueue_immediately: Vec::new(),
            next_id,
        };
        pipeline.process();
        pipeline
    }

    fn id_of(&self, name: &str) -> i64 {
        self.jobs
            .iter()
            .find(|job| job.name == name)
            .map(|job| job.id)
            .unwrap_or_else(|| panic!("no job {name}"))
    }

    fn job(&self, name: &str) -> &ProcessingJob {
        self.jobs
            .iter()
            .find(|job| job.name == name)
            .unwrap_or_else(|| panic!("no job {name}"))
    }

    /// `process_pipeline`: move jobs, then store stage and pipeline statuses.
    fn process(&mut self) {
        let transitions = process_with(&self.jobs, &self.enqueue_immediately);
        apply_transitions(&mut self.jobs, &transitions);
        self.enqueue_immediately.clear();
        self.status = apply_pipeline_status(self.status, pipeline_composite(&self.jobs));
        for (index, current) in self.stage_status.iter_mut().enumerate() {
            let items: Vec<CompositeItem> = self
                .jobs
                .iter()
                .filter(|job| usize::try_from(job.stage_idx).ok() == Some(index))
                .map(ProcessingJob::composite_item)
                .collect();
            *current = apply_stage_status(*current, composite(&items));
        }
    }

    fn on(&mut self, event: Event, names: &[&str]) {
        for name in names {
            let id = self.id_of(name);
            match event {
                Event::Run => self.job_event(id, JobEvent::Run),
                Event::Success => self.job_event(id, JobEvent::Succeed),
                Event::Drop => self.job_event(id, JobEvent::Drop),
                Event::Cancel => self.job_event(id, JobEvent::Cancel { graceful: false }),
                Event::Play => match play(&self.jobs, id) {
                    PlayOutcome::Enqueued(transitions) => {
                        apply_transitions(&mut self.jobs, &transitions);
                    }
                    PlayOutcome::Retry => self.retry_job(id),
                    PlayOutcome::NotPlayable => panic!("{name} is not playable"),
                },
                Event::Retry => self.retry_job(id),
            }
        }
        self.process();
    }

    fn job_event(&mut self, id: i64, event: JobEvent) {
        for job in self.jobs.iter_mut().filter(|job| job.id == id) {
            job.status = transition(job.status, event)
                .unwrap_or_else(|| panic!("{} cannot {event:?} from {}", job.name, job.status));
        }
    }

    /// `POST /jobs/:id/retry`: clone, reset what the failure skipped, enqueue manual clones.
    fn retry_job(&mut self, id: i64) {
        let Some(old) = self.jobs.iter().find(|job| job.id == id).cloned() else {
            panic!("no job {id}");
        };
        assert!(is_retryable(old.status), "{} is not retryable", old.name);
        let new_id = self.take_id();
        self.jobs = replace_retried(&self.jobs, &[(id, clone_for_retry(&old, new_id))]);
        let resets = reset_skipped_jobs(&self.jobs, &[new_id]);
        apply_transitions(&mut self.jobs, &resets);
        if retry_enqueues_immediately(old.when) {
            self.enqueue_immediately.push(new_id);
        }
    }

    /// `POST /pipelines/:id/retry`.
    fn retry_pipeline(&mut self) {
        let plan = retry_pipeline(&self.jobs);
        let originals: Vec<ProcessingJob> = self
            .jobs
            .iter()
            .filter(|job| plan.clone.contains(&job.id))
            .cloned()
            .collect();
        let mut clones = Vec::new();
        for old in originals {
            let new_id = self.take_id();
            clones.push((old.id, clone_for_retry(&old, new_id)));
        }
        self.jobs = replace_retried(&self.jobs, &clones);
        apply_transitions(&mut self.jobs, &plan.reset);
        self.process();
    }

    fn take_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    #[track_caller]
    fn expect(&self, pipeline: Status, stages: &[Status], jobs: &[(&str, Status)]) {
        let actual_jobs: Vec<(&str, Status)> = jobs
            .iter()
            .map(|(name, _)| (*name, self.job(name).status))
            .collect();
        assert_eq!(actual_jobs, jobs, "jobs");
        let named = |statuses: &[Status]| -> Vec<(&str, Status)> {
            self.stages
                .iter()
                .copied()
                .zip(statuses.iter().copied())
                .collect()
        };
        assert_eq!(named(&self.stage_status), named(stages), "stages");
        assert_eq!(self.status, pipeline, "pipeline");
    }
}

const BTD: [&str; 3] = ["build", "test", "deploy"];

#[test]
fn stage_build_cancels_test1_and_test2_have_when() {
    let mut p = Pipeline::create(
        &BTD,
        vec![
            j("build", "build"),
            j("test1", "test"),
            j("test2", "test").when(When::OnFailure),
            j("deploy", "deploy"),
        ],
    );
    p.expect(
        Pending,
        &[Pending, Created, Created],
        &[
            ("build", Pending),
            ("test1", Created),
            ("test2", Created),
            ("deploy", Created),
        ],
    );
    p.on(Event::Cancel, &["build"]);
    p.expect(
        Canceled,
        &[Canceled, Skipped, Skipped],
        &[
            ("build", Canceled),
            ("test1", Skipped),
            ("test2", Skipped),
            ("deploy", Skipped),
        ],
    );
}

#[test]
fn stage_build_cancels_with_allow_failure_test1_and_test2_have_when() {
    let mut p = Pipeline::create(
        &BTD,
        vec![
            j("build", "build").allow_failure(true),
            j("test1", "test"),
            j("test2", "test").when(When::OnFailure),
            j("deploy", "deploy"),
        ],
    );
    p.on(Event::Cancel, &["build"]);
    p.expect(
        Pending,
        &[Success, Pending, Created],
        &[
            ("build", Canceled),
            ("test1", Pending),
            ("test2", Skipped),
            ("deploy", Created),
        ],
    );
}

#[test]
fn stage_test_manual_allow_failure_false() {
    let mut p = Pipeline::create(
        &["test", "deploy"],
        vec![
            j("test", "test").when(When::Manual).allow_failure(false),
            j("deploy", "deploy"),
        ],
    );
    p.expect(
        Manual,
        &[Manual, Created],
        &[("test", Manual), ("deploy", Created)],
    );
    p.on(Event::Play, &["test"]);
    p.expect(
        Pending,
        &[Pending, Created],
        &[("test", Pending), ("deploy", Created)],
    );
    p.on(Event::Run, &["test"]);
    p.expect(
        Running,
        &[Running, Created],
        &[("test", Running), ("deploy", Created)],
    );
    p.on(Event::Success, &["test"]);
    p.expect(
        Running,
        &[Success, Pending],
        &[("test", Success), ("deploy", Pending)],
    );
    p.on(Event::Success, &["deploy"]);
    p.expect(
        Success,
        &[Success, Success],
        &[("test", Success), ("deploy", Success)],
    );
}

#[test]
fn dag_test_manual_allow_failure_false() {
    let mut p = Pipeline::create(
        &["test", "deploy"],
        vec![
            j("test", "test").when(When::Manual).allow_failure(false),
            j("deploy", "deploy").needs(&["test"]),
        ],
    );
    p.expect(
        Manual,
        &[Manual, Created],
        &[("test", Manual), ("deploy", Created)],
    );
    p.on(Event::Play, &["test"]);
    p.expect(
        Pending,
        &[Pending, Created],
        &[("test", Pending), ("deploy", Created)],
    );
    p.on(Event::Run, &["test"]);
    p.on(Event::Success, &["test"]);
    p.expect(
        Running,
        &[Success, Pending],
        &[("test", Success), ("deploy", Pending)],
    );
    p.on(Event::Success, &["deploy"]);
    p.expect(
        Success,
        &[Success, Success],
        &[("test", Success), ("deploy", Success)],
    );
}

#[test]
fn stage_test_manual_allow_failure_true_deploy_on_failure() {
    let mut p = Pipeline::create(
        &["test", "deploy"],
        vec![
            j("test", "test").when(When::Manual).allow_failure(true),
            j("deploy", "deploy").when(When::OnFailure),
        ],
    );
    p.expect(
        Skipped,
        &[Skipped, Skipped],
        &[("test", Manual), ("deploy", Skipped)],
    );
    p.on(Event::Play, &["test"]);
    // The reset job is `created` again, but its stage stays `skipped` until it moves.
    p.expect(
        Pending,
        &[Pending, Skipped],
        &[("test", Pending), ("deploy", Created)],
    );
    p.on(Event::Drop, &["test"]);
    p.expect(
        Success,
        &[Success, Skipped],
        &[("test", Failed), ("deploy", Skipped)],
    );
}

#[test]
fn dag_test_manual_allow_failure_true_deploy_on_failure() {
    let mut p = Pipeline::create(
        &["test", "deploy"],
        vec![
            j("test", "test").when(When::Manual).allow_failure(true),
            j("deploy", "deploy").when(When::OnFailure).needs(&["test"]),
        ],
    );
    p.expect(
        Skipped,
        &[Skipped, Skipped],
        &[("test", Manual), ("deploy", Skipped)],
    );
    p.on(Event::Play, &["test"]);
    p.expect(
        Pending,
        &[Pending, Skipped],
        &[("test", Pending), ("deploy", Created)],
    );
    p.on(Event::Drop, &["test"]);
    p.expect(
        Success,
        &[Success, Skipped],
        &[("test", Failed), ("deploy", Skipped)],
    );
}

#[test]
fn dag_test_manual_post_test_needs_deploy_is_stage() {
    let mut p = Pipeline::create(
        &["build", "test", "post_test", "deploy"],
        vec![
            j("build", "build"),
            j("test", "test").when(When::Manual),
            j("post_test", "post_test").needs(&["test"]),
            j("deploy", "deploy"),
        ],
    );
    p.expect(
        Pending,
        &[Pending, Created, Created, Created],
        &[
            ("build", Pending),
            ("test", Created),
            ("post_test", Created),
            ("deploy", Created),
        ],
    );
    p.on(Event::Success, &["build"]);
    p.expect(
        Running,
        &[Success, Skipped, Skipped, Pending],
        &[
            ("build", Success),
            ("test", Manual),
            ("post_test", Skipped),
            ("deploy", Pending),
        ],
    );
}

#[test]
fn dag_test_manual_same_stage_needs() {
    let mut p = Pipeline::create(
        &["first", "second", "third", "fourth"],
        vec![
            j("first_job", "first"),
            j("second_job", "second").when(When::Manual),
            j("third_job", "third").needs(&["second_job"]),
            j("fourth_job", "fourth").needs(&["third_job"]),
        ],
    );
    p.on(Event::Success, &["first_job"]);
    p.expect(
        Success,
        &[Success, Skipped, Skipped, Skipped],
        &[
            ("first_job", Success),
            ("second_job", Manual),
            ("third_job", Skipped),
            ("fourth_job", Skipped),
        ],
    );
    p.on(Event::Play, &["second_job"]);
    p.expect(
        Running,
        &[Success, Pending, Skipped, Skipped],
        &[
            ("first_job", Success),
            ("second_job", Pending),
            ("third_job", Created),
            ("fourth_job", Created),
        ],
    );
}

#[test]
fn dag_test_manual_same_and_different_stage_needs() {
    let mut p = Pipeline::create(
        &["first", "second", "third"],
        vec![
            j("job_a", "first").when(When::Manual),
            j("job_b", "second").when(When::Manual),
            j("job_c", "third").needs(&["job_b"]),
            j("job_d", "third").needs(&["job_a"]),
        ],
    );
    p.expect(
        Skipped,
        &[Skipped, Skipped, Skipped],
        &[
            ("job_a", Manual),
            ("job_b", Manual),
            ("job_c", Skipped),
            ("job_d", Skipped),
        ],
    );
    p.on(Event::Play, &["job_b"]);
    // Both third-stage jobs are reset; `job_d` still needs an unplayed optional manual job.
    p.expect(
        Pending,
        &[Skipped, Pending, Pending],
        &[
            ("job_a", Manual),
            ("job_b", Pending),
            ("job_c", Created),
            ("job_d", Skipped),
        ],
    );
}

#[test]
fn dag_same_stage_with_subsequent_manual_jobs() {
    let mut p = Pipeline::create(
        &["test"],
        vec![
            j("job1", "test").when(When::Manual),
            j("job2", "test").needs(&["job1"]),
            j("job3", "test").when(When::Manual).needs(&["job2"]),
            j("job4", "test").needs(&["job3"]),
        ],
    );
    p.expect(
        Skipped,
        &[Skipped],
        &[
            ("job1", Manual),
            ("job2", Skipped),
            ("job3", Skipped),
            ("job4", Skipped),
        ],
    );
    p.on(Event::Play, &["job1"]);
    p.expect(
        Pending,
        &[Pending],
        &[
            ("job1", Pending),
            ("job2", Created),
            ("job3", Created),
            ("job4", Created),
        ],
    );
    p.on(Event::Success, &["job1"]);
    p.expect(
        Running,
        &[Running],
        &[
            ("job1", Success),
            ("job2", Pending),
            ("job3", Created),
            ("job4", Created),
        ],
    );
    p.on(Event::Success, &["job2"]);
    p.expect(
        Success,
        &[Success],
        &[
            ("job1", Success),
            ("job2", Success),
            ("job3", Manual),
            ("job4", Skipped),
        ],
    );
}

#[test]
fn dag_same_stage_with_fail_and_retry_1() {
    let mut p = Pipeline::create(
        &["test"],
        vec![
            j("build", "test"),
            j("test", "test").needs(&["build"]),
            j("deploy", "test").needs(&["test"]),
        ],
    );
    p.expect(
        Pending,
        &[Pending],
        &[("build", Pending), ("test", Created), ("deploy", Created)],
    );
    p.on(Event::Drop, &["build"]);
    p.expect(
        Failed,
        &[Failed],
        &[("build", Failed), ("test", Skipped), ("deploy", Skipped)],
    );
    p.on(Event::Retry, &["build"]);
    p.expect(
        Running,
        &[Pending],
        &[("build", Pending), ("test", Created), ("deploy", Created)],
    );
    p.on(Event::Success, &["build"]);
    p.expect(
        Running,
        &[Running],
        &[("build", Success), ("test", Pending), ("deploy", Created)],
    );
}

#[test]
fn dag_same_stage_with_fail_and_retry_2() {
    let mut p = Pipeline::create(
        &["test"],
        vec![
            j("build", "test"),
            j("test1", "test").needs(&["build"]),
            j("test2", "test").when(When::Manual),
            j("deploy", "test").needs(&["test1", "test2"]),
        ],
    );
    p.expect(
        Pending,
        &[Pending],
        &[
            ("build", Pending),
            ("test1", Created),
            ("test2", Manual),
            ("deploy", Skipped),
        ],
    );
    p.on(Event::Drop, &["build"]);
    p.expect(
        Failed,
        &[Failed],
        &[
            ("build", Failed),
            ("test1", Skipped),
            ("test2", Manual),
            ("deploy", Skipped),
        ],
    );
    p.on(Event::Retry, &["build"]);
    p.expect(
        Running,
        &[Pending],
        &[
            ("build", Pending),
            ("test1", Created),
            ("test2", Manual),
            ("deploy", Skipped),
        ],
    );
    p.on(Event::Success, &["build"]);
    p.expect(
        Running,
        &[Running],
        &[
            ("build", Success),
            ("test1", Pending),
            ("test2", Manual),
            ("deploy", Skipped),
        ],
    );
}

#[test]
fn stage_one_test_succeeds_one_manual_test_fails_and_retry_manual_build() {
    let mut p = Pipeline::create(
        &["test"],
        vec![j("test1", "test"), j("test2", "test").when(When::Manual)],
    );
    p.expect(
        Pending,
        &[Pending],
        &[("test1", Pending), ("test2", Manual)],
    );
    p.on(Event::Success, &["test1"]);
    p.expect(
        Success,
        &[Success],
        &[("test1", Success), ("test2", Manual)],
    );
    p.on(Event::Play, &["test2"]);
    p.expect(
        Running,
        &[Running],
        &[("test1", Success), ("test2", Pending)],
    );
    p.on(Event::Drop, &["test2"]);
    p.expect(
        Success,
        &[Success],
        &[("test1", Success), ("test2", Failed)],
    );
    // Retried through the Jobs API: enqueued at once.
    p.on(Event::Retry, &["test2"]);
    p.expect(
        Running,
        &[Running],
        &[("test1", Success), ("test2", Pending)],
    );
}

#[test]
fn stage_one_test_succeeds_one_manual_test_fails_and_retry_pipeline() {
    let mut p = Pipeline::create(
        &["test"],
        vec![j("test1", "test"), j("test2", "test").when(When::Manual)],
    );
    p.on(Event::Success, &["test1"]);
    p.on(Event::Play, &["test2"]);
    p.on(Event::Drop, &["test2"]);
    p.expect(
        Success,
        &[Success],
        &[("test1", Success), ("test2", Failed)],
    );
    // Retrying the whole pipeline puts the manual job back to `manual`.
    p.retry_pipeline();
    p.expect(
        Success,
        &[Success],
        &[("test1", Success), ("test2", Manual)],
    );
}

#[test]
fn dag_build_test_two_manual_review_test_staging_production() {
    let mut p = Pipeline::create(
        &["build", "test", "review", "deploy", "post_deploy"],
        vec![
            j("build", "build"),
            j("test", "test"),
            j("release_test1", "test").when(When::Manual),
            j("release_test2", "test").when(When::Manual),
            j("review", "review").needs(&["test", "release_test1", "release_test2"]),
            j("staging", "deploy").needs(&["release_test1"]),
            j("production", "deploy").needs(&["release_test2"]),
            j("after_deploy", "post_deploy").needs(&["production"]),
            j("handle_failure", "post_deploy").when(When::OnFailure),
        ],
    );
    let all = |statuses: [Status; 9]| -> Vec<(&'static str, Status)> {
        [
            "build",
            "test",
            "release_test1",
            "release_test2",
            "review",
            "staging",
            "production",
            "after_deploy",
            "handle_failure",
        ]
        .into_iter()
        .zip(statuses)
        .collect()
    };
    p.expect(
        Pending,
        &[Pending, Created, Created, Created, Created],
        &all([
            Pending, Created, Created, Created, Created, Created, Created, Created, Created,
        ]),
    );
    p.on(Event::Success, &["build"]);
    p.expect(
        Running,
        &[Success, Pending, Skipped, Skipped, Pending],
        &all([
            Success, Pending, Manual, Manual, Skipped, Skipped, Skipped, Skipped, Created,
        ]),
    );
    p.on(Event::Success, &["test"]);
    p.expect(
        Success,
        &[Success, Success, Skipped, Skipped, Skipped],
        &all([
            Success, Success, Manual, Manual, Skipped, Skipped, Skipped, Skipped, Skipped,
        ]),
    );
    p.on(Event::Play, &["release_test1"]);
    p.expect(
        Running,
        &[Success, Running, Skipped, Pending, Pending],
        &all([
            Success, Success, Pending, Manual, Skipped, Created, Skipped, Skipped, Created,
        ]),
    );
    p.on(Event::Success, &["release_test1"]);
    p.expect(
        Running,
        &[Success, Success, Skipped, Pending, Pending],
        &all([
            Success, Success, Success, Manual, Skipped, Pending, Skipped, Skipped, Created,
        ]),
    );
    p.on(Event::Success, &["staging"]);
    p.expect(
        Success,
        &[Success, Success, Skipped, Success, Skipped],
        &all([
            Success, Success, Success, Manual, Skipped, Success, Skipped, Skipped, Skipped,
        ]),
    );
}

#[test]
fn dag_test_manual_allow_failure_false_deploy_always() {
    let mut p = Pipeline::create(
        &["test", "deploy"],
        vec![
            j("test", "test").when(When::Manual).allow_failure(false),
            j("deploy", "deploy").when(When::Always).needs(&["test"]),
        ],
    );
    p.expect(
        Manual,
        &[Manual, Created],
        &[("test", Manual), ("deploy", Created)],
    );
    p.on(Event::Play, &["test"]);
    p.expect(
        Pending,
        &[Pending, Created],
        &[("test", Pending), ("deploy", Created)],
    );
    p.on(Event::Drop, &["test"]);
    p.expect(
        Running,
        &[Failed, Pending],
        &[("test", Failed), ("deploy", Pending)],
    );
}

#[test]
fn dag_test_manual_allow_failure_true_deploy_always() {
    let p = Pipeline::create(
        &["test", "deploy"],
        vec![
            j("test", "test").when(When::Manual).allow_failure(true),
            j("deploy", "deploy").when(When::Always).needs(&["test"]),
        ],
    );
    p.expect(
        Pending,
        &[Skipped, Pending],
        &[("test", Manual), ("deploy", Pending)],
    );
}

#[test]
fn dag_build_fails_test_fails_with_allow_failure() {
    let mut p = Pipeline::create(
        &BTD,
        vec![
            j("build", "build"),
            j("test", "test").allow_failure(true),
            j("deploy", "deploy").needs(&["test"]),
        ],
    );
    p.on(Event::Drop, &["build"]);
    p.expect(
        Failed,
        &[Failed, Skipped, Skipped],
        &[("build", Failed), ("test", Skipped), ("deploy", Skipped)],
    );
}

#[test]
fn stage_build_test_manual_review_deploy() {
    let mut p = Pipeline::create(
        &["build", "test", "review", "deploy"],
        vec![
            j("build", "build"),
            j("test", "test"),
            j("release_test", "test")
                .when(When::Manual)
                .allow_failure(true),
            j("review", "review"),
            j("staging", "deploy"),
            j("production", "deploy"),
        ],
    );
    p.on(Event::Success, &["build"]);
    p.expect(
        Running,
        &[Success, Pending, Created, Created],
        &[
            ("build", Success),
            ("test", Pending),
            ("release_test", Manual),
            ("review", Created),
            ("staging", Created),
            ("production", Created),
        ],
    );
    p.on(Event::Success, &["test"]);
    p.expect(
        Running,
        &[Success, Success, Pending, Created],
        &[
            ("build", Success),
            ("test", Success),
            ("release_test", Manual),
            ("review", Pending),
            ("staging", Created),
            ("production", Created),
        ],
    );
}
