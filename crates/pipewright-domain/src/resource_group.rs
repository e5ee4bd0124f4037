//! Which waiting job a free resource goes to (GitLab's `Ci::ResourceGroup#upcoming_processables`
//! with `AssignResourceFromResourceGroupService`), per process mode (ci-yaml.md §3.18).
//!
//! `unordered` hands the resource to any waiting job (here: the oldest). `oldest_first` and
//! `newest_first` order every *upcoming* job of the group (`created`, `scheduled` or
//! `waiting_for_resource`) by pipeline, and inside a pipeline waiting jobs first; when the
//! first in line is not waiting yet, the resource stays free until it is (so an older
//! pipeline's deployment is never overtaken). `newest_ready_first` only looks at waiting jobs,
//! newest pipeline first.

use std::fmt;
use std::str::FromStr;

use crate::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessMode {
    #[default]
    Unordered,
    OldestFirst,
    NewestFirst,
    NewestReadyFirst,
}

impl ProcessMode {
    pub const ALL: [ProcessMode; 4] = [
        ProcessMode::Unordered,
        ProcessMode::OldestFirst,
        ProcessMode::NewestFirst,
        ProcessMode::NewestReadyFirst,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProcessMode::Unordered => "unordered",
            ProcessMode::OldestFirst => "oldest_first",
            ProcessMode::NewestFirst => "newest_first",
            ProcessMode::NewestReadyFirst => "newest_ready_first",
        }
    }
}

impl fmt::Display for ProcessMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProcessMode;

impl FromStr for ProcessMode {
    type Err = UnknownProcessMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProcessMode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or(UnknownProcessMode)
    }
}

/// A job of the group as the choice sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub pipeline_id: i64,
    pub status: Status,
}

/// Statuses of jobs that will want the resource (GitLab's `waiting_for_resource_or_upcoming`).
fn is_upcoming(status: Status) -> bool {
    matches!(
        status,
        Status::Created | Status::Scheduled | Status::WaitingForResource
    )
}

/// The waiting job that gets the free resource, or `None` to keep it free.
pub fn next_holder(mode: ProcessMode, candidates: &[Candidate]) -> Option<i64> {
    let waiting = |c: &&Candidate| c.status == Status::WaitingForResource;
    // Inside one pipeline waiting jobs come first, so jobs of one pipeline never wait for
    // each other (GitLab's `sort_by_job_status`, against deadlocks).
    let in_pipeline = |c: &Candidate| (c.status != Status::WaitingForResource, c.id);
    let first = match mode {
        ProcessMode::Unordered => candidates.iter().filter(waiting).min_by_key(|c| c.id),
        ProcessMode::OldestFirst => candidates
            .iter()
            .filter(|c| is_upcoming(c.status))
            .min_by_key(|c| (c.pipeline_id, in_pipeline(c))),
        ProcessMode::NewestFirst => candidates
            .iter()
            .filter(|c| is_upcoming(c.status))
            .min_by_key(|c| (std::cmp::Reverse(c.pipeline_id), in_pipeline(c))),
        ProcessMode::NewestReadyFirst => candidates
            .iter()
            .filter(waiting)
            .min_by_key(|c| (std::cmp::Reverse(c.pipeline_id), c.id)),
    }?;
    (first.status == Status::WaitingForResource).then_some(first.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, pipeline_id: i64, status: Status) -> Candidate {
        Candidate {
            id,
            pipeline_id,
            status,
        }
    }

    const W: Status = Status::WaitingForResource;

    #[test]
    fn modes_parse_and_print_gitlabs_names() {
        for mode in ProcessMode::ALL {
            assert_eq!(mode.as_str().parse::<ProcessMode>(), Ok(mode));
        }
        assert_eq!("fifo".parse::<ProcessMode>(), Err(UnknownProcessMode));
        assert_eq!(ProcessMode::default(), ProcessMode::Unordered);
    }

    #[test]
    fn unordered_takes_any_waiting_job_the_oldest_here() {
        let jobs = [job(9, 3, W), job(4, 2, Status::Created), job(7, 1, W)];
        assert_eq!(next_holder(ProcessMode::Unordered, &jobs), Some(7));
        assert_eq!(next_holder(ProcessMode::Unordered, &[]), None);
    }

    #[test]
    fn oldest_first_waits_for_an_older_pipeline_not_waiting_yet() {
        let jobs = [job(10, 2, W), job(5, 1, Status::Created)];
        assert_eq!(next_holder(ProcessMode::OldestFirst, &jobs), None);
        let jobs = [job(10, 2, W), job(5, 1, W)];
        assert_eq!(next_holder(ProcessMode::OldestFirst, &jobs), Some(5));
        // Finished or skipped jobs are no longer upcoming.
        let jobs = [job(10, 2, W), job(5, 1, Status::Skipped)];
        assert_eq!(next_holder(ProcessMode::OldestFirst, &jobs), Some(10));
    }

    #[test]
    fn inside_a_pipeline_waiting_jobs_go_first() {
        let jobs = [job(3, 1, Status::Created), job(4, 1, W), job(8, 2, W)];
        assert_eq!(next_holder(ProcessMode::OldestFirst, &jobs), Some(4));
    }

    #[test]
    fn newest_first_prefers_the_newest_pipeline_and_waits_for_it() {
        let jobs = [job(5, 1, W), job(10, 2, W)];
        assert_eq!(next_holder(ProcessMode::NewestFirst, &jobs), Some(10));
        let jobs = [job(5, 1, W), job(10, 2, Status::Scheduled)];
        assert_eq!(next_holder(ProcessMode::NewestFirst, &jobs), None);
    }

    #[test]
    fn newest_ready_first_ignores_jobs_not_waiting() {
        let jobs = [job(5, 1, W), job(10, 2, Status::Created), job(7, 1, W)];
        assert_eq!(next_holder(ProcessMode::NewestReadyFirst, &jobs), Some(5));
    }
}
