//! GitLab's atomic processing (ci-yaml.md §5): move the `created` jobs of one pipeline whose turn
//! has come to `pending`, `waiting_for_resource`, `manual`, `scheduled` or `skipped`.
//!
//! Input is the *latest* (non-retried) jobs of one pipeline. The functions only compute; the
//! caller persists the transitions (compare-and-set on `from`) and recomputes statuses.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::composite::{CompositeItem, composite, dag_composite};
use crate::status::{Status, When};

/// One latest job of a pipeline, as processing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingJob {
    pub id: i64,
    pub name: String,
    pub stage_idx: i32,
    pub status: Status,
    pub when: When,
    pub allow_failure: bool,
    /// `None`: a stage job. `Some(names)`: a DAG job (`needs: []` included) needing these jobs;
    /// names with no job in the list are ignored (an optional need whose job was excluded).
    pub needs: Option<Vec<String>>,
    pub has_resource_group: bool,
}

impl ProcessingJob {
    pub fn composite_item(&self) -> CompositeItem {
        CompositeItem::new(self.status, self.allow_failure)
    }

    pub fn is_dag(&self) -> bool {
        self.needs.is_some()
    }
}

/// A status change computed for one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    pub id: i64,
    pub from: Status,
    pub to: Status,
}

/// One processing pass over `jobs`, returning at most one transition per job, each from
/// `created`, in the order they were decided (stage by stage).
///
/// Statuses decided during the call are seen by every later decision, so a skip cascades
/// through all later stages, and a DAG job is decided as soon as its needs are complete. The
/// call runs to a fixpoint: applying its transitions and calling again returns nothing.
pub fn process(jobs: &[ProcessingJob]) -> Vec<Transition> {
    process_with(jobs, &[])
}

/// [`process`], with the jobs in `enqueue_immediately` enqueued instead of becoming `manual` or
/// `scheduled` when their turn comes. GitLab does this for a manual job retried through the
/// API (the new job goes to `pending`, not back to `manual`); it can still be skipped.
pub fn process_with(jobs: &[ProcessingJob], enqueue_immediately: &[i64]) -> Vec<Transition> {
    Processor::new(jobs, enqueue_immediately).run()
}

/// Previous statuses (ci-yaml.md §3.5 table) that let a job whose `when` is `when` proceed.
pub fn proceeds_on(when: When, is_dag: bool, previous: Status) -> bool {
    match when {
        When::OnSuccess | When::Manual | When::Delayed => {
            previous == Status::Success || (!is_dag && previous == Status::Skipped)
        }
        When::OnFailure => previous == Status::Failed,
        When::Always => matches!(previous, Status::Success | Status::Failed | Status::Skipped),
        When::Never => false,
    }
}

/// The status a job takes when enqueued: `waiting_for_resource` with a resource group.
pub fn enqueue_status(has_resource_group: bool) -> Status {
    if has_resource_group {
        Status::WaitingForResource
    } else {
        Status::Pending
    }
}

/// Where a `created` job goes once its previous status is completed
/// (GitLab's `Ci::ProcessBuildService`).
pub fn decide(job: &ProcessingJob, previous: Status, enqueue_immediately: bool) -> Status {
    if !proceeds_on(job.when, job.is_dag(), previous) {
        return Status::Skipped;
    }
    match job.when {
        _ if enqueue_immediately => enqueue_status(job.has_resource_group),
        When::Delayed => Status::Scheduled,
        When::Manual => Status::Manual,
        _ => enqueue_status(job.has_resource_group),
    }
}

/// Composite status of each stage that has jobs, in stage order. Store it through
/// [`crate::composite::apply_stage_status`], as GitLab's `stage.set_status` does.
pub fn stage_statuses(jobs: &[ProcessingJob]) -> Vec<(i32, Status)> {
    let stages: BTreeSet<i32> = jobs.iter().map(|job| job.stage_idx).collect();
    stages
        .into_iter()
        .filter_map(|stage| {
            let items: Vec<_> = jobs
                .iter()
                .filter(|job| job.stage_idx == stage)
                .map(ProcessingJob::composite_item)
                .collect();
            composite(&items).map(|status| (stage, status))
        })
        .collect()
}

/// Composite status of all the jobs (`None` when there are none).
pub fn pipeline_composite(jobs: &[ProcessingJob]) -> Option<Status> {
    let items: Vec<_> = jobs.iter().map(ProcessingJob::composite_item).collect();
    composite(&items)
}

/// Applies transitions to an in-memory job list (those whose `from` still matches).
pub fn apply_transitions(jobs: &mut [ProcessingJob], transitions: &[Transition]) {
    for transition in transitions {
        for job in jobs.iter_mut() {
            if job.id == transition.id && job.status == transition.from {
                job.status = transition.to;
            }
        }
    }
}

struct Processor<'a> {
    jobs: &'a [ProcessingJob],
    statuses: Vec<Status>,
    by_name: HashMap<&'a str, Vec<usize>>,
    /// Job indices grouped by stage, stages ascending, jobs in input order.
    stages: Vec<Vec<usize>>,
    enqueue_immediately: HashSet<i64>,
    transitions: Vec<Transition>,
}

impl<'a> Processor<'a> {
    fn new(jobs: &'a [ProcessingJob], enqueue_immediately: &[i64]) -> Self {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_stage: HashMap<i32, Vec<usize>> = HashMap::new();
        for (index, job) in jobs.iter().enumerate() {
            by_name.entry(job.name.as_str()).or_default().push(index);
            by_stage.entry(job.stage_idx).or_default().push(index);
        }
        let mut stages: Vec<(i32, Vec<usize>)> = by_stage.into_iter().collect();
        stages.sort_by_key(|(stage, _)| *stage);
        Self {
            jobs,
            statuses: jobs.iter().map(|job| job.status).collect(),
            by_name,
            stages: stages.into_iter().map(|(_, indices)| indices).collect(),
            enqueue_immediately: enqueue_immediately.iter().copied().collect(),
            transitions: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<Transition> {
        // One sweep settles every valid pipeline (needs point to earlier or same-stage jobs);
        // further sweeps only matter for needs on later stages. Each productive sweep moves
        // at least one job out of `created`, so this terminates.
        while self.sweep() {}
        self.transitions
    }

    /// Walks the stages in order; returns whether any job moved.
    fn sweep(&mut self) -> bool {
        let mut moved_any = false;
        for stage in 0..self.stages.len() {
            let before_stage = self.composite_before(stage);
            // Same-stage needs: repeat until the stage settles, which decides jobs in
            // topological order of their needs whatever the input order.
            loop {
                let mut moved = false;
                for position in 0..self.stages[stage].len() {
                    let index = self.stages[stage][position];
                    moved |= self.evaluate(index, before_stage);
                }
                moved_any |= moved;
                if !moved {
                    break;
                }
            }
        }
        moved_any
    }

    /// Composite of every job in stages before `stage` (`success` when there are none). Only
    /// jobs of the current stage change while it is processed, so it is computed once.
    fn composite_before(&self, stage: usize) -> Status {
        let items: Vec<_> = self.stages[..stage]
            .iter()
            .flatten()
            .map(|&index| self.item(index))
            .collect();
        composite(&items).unwrap_or(Status::Success)
    }

    fn item(&self, index: usize) -> CompositeItem {
        CompositeItem::new(self.statuses[index], self.jobs[index].allow_failure)
    }

    fn evaluate(&mut self, index: usize, before_stage: Status) -> bool {
        if self.statuses[index] != Status::Created {
            return false;
        }
        let job = &self.jobs[index];
        let previous = match &job.needs {
            None => before_stage,
            Some(needs) => {
                let items: Vec<_> = needs
                    .iter()
                    .filter_map(|name| self.by_name.get(name.as_str()))
                    .flatten()
                    .map(|&need| self.item(need))
                    .collect();
                dag_composite(&items).unwrap_or(Status::Success)
            }
        };
        if !previous.is_completed() {
            return false;
        }
        let to = decide(job, previous, self.enqueue_immediately.contains(&job.id));
        self.statuses[index] = to;
        self.transitions.push(Transition {
            id: job.id,
            from: Status::Created,
            to,
        });
        true
    }
}

#[cfg(test)]
pub(crate) mod tests;
