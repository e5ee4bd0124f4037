use pipewright_core::model::Runner;
use pipewright_core::runner_registration::RunnerManager;
use serde::Serialize;

use super::opt_timestamp;

/// A runner is online when it made contact within the last two hours (GitLab's threshold).
const ONLINE_WINDOW_MS: i64 = 2 * 60 * 60 * 1000;

/// The runner entity (jobs-api.md §5.6).
#[derive(Debug, Serialize)]
pub struct RunnerEntity {
    pub id: i64,
    pub description: String,
    pub ip_address: Option<String>,
    pub active: bool,
    pub paused: bool,
    pub is_shared: bool,
    pub runner_type: String,
    pub name: Option<String>,
    pub online: bool,
    pub created_at: String,
    pub status: &'static str,
    pub job_execution_status: &'static str,
}

impl RunnerEntity {
    pub fn new(runner: &Runner, now: i64, executing: bool) -> RunnerEntity {
        let online = runner
            .contacted_at
            .is_some_and(|contacted| now - contacted < ONLINE_WINDOW_MS);
        let status = pipewright_core::runner_admin::runner_status(runner, now);
        RunnerEntity {
            id: runner.id,
            description: runner.description.clone(),
            ip_address: None,
            active: !runner.paused,
            paused: runner.paused,
            is_shared: runner.runner_type == "instance_type",
            runner_type: runner.runner_type.clone(),
            name: runner.name.clone(),
            online,
            created_at: super::timestamp(runner.created_at),
            status,
            job_execution_status: if executing { "active" } else { "idle" },
        }
    }
}

/// `POST /user/runners` answer: id and the token, shown once.
#[derive(Debug, Serialize)]
pub struct CreatedRunnerEntity {
    pub id: i64,
    pub token: String,
    pub token_expires_at: Option<String>,
}

/// Kept for symmetry with the job entity's nullable timestamps.
pub fn contacted_at(runner: &Runner) -> Option<String> {
    opt_timestamp(runner.contacted_at)
}

/// The runner manager entity (jobs-api.md §5.6): one host running a runner's token.
#[derive(Debug, Serialize)]
pub struct RunnerManagerEntity {
    pub id: i64,
    pub system_id: String,
    pub version: Option<String>,
    pub revision: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub created_at: String,
    pub contacted_at: Option<String>,
    pub ip_address: Option<String>,
    pub status: &'static str,
    pub job_execution_status: &'static str,
}

impl RunnerManagerEntity {
    pub fn new(manager: &RunnerManager, now: i64, executing: bool) -> RunnerManagerEntity {
        let status = match manager.contacted_at {
            None => "never_contacted",
            Some(contacted) if now - contacted < ONLINE_WINDOW_MS => "online",
            Some(_) => "offline",
        };
        RunnerManagerEntity {
            id: manager.id,
            system_id: manager.system_id.clone(),
            version: manager.version.clone(),
            revision: manager.revision.clone(),
            platform: manager.platform.clone(),
            architecture: manager.architecture.clone(),
            created_at: super::timestamp(manager.created_at),
            contacted_at: opt_timestamp(manager.contacted_at),
            ip_address: manager.ip_address.clone(),
            status,
            job_execution_status: if executing { "active" } else { "idle" },
        }
    }
}

/// `groups[]` of the runner details entity (GitLab's `BasicGroupDetails`).
#[derive(Debug, Serialize)]
pub struct RunnerGroupEntity {
    pub id: i64,
    pub web_url: String,
    pub name: String,
}

/// `GET/PUT /runners/:id`: the runner entity plus its settings, what it reported about
/// itself, and its projects and groups.
#[derive(Debug, Serialize)]
pub struct RunnerDetailsEntity {
    #[serde(flatten)]
    pub runner: RunnerEntity,
    pub tag_list: Vec<String>,
    pub run_untagged: bool,
    pub locked: bool,
    pub maximum_timeout: Option<i64>,
    pub access_level: String,
    pub version: Option<String>,
    pub revision: Option<String>,
    pub platform: Option<String>,
    pub architecture: Option<String>,
    pub contacted_at: Option<String>,
    pub maintenance_note: Option<String>,
    pub projects: Vec<super::project_identity::ProjectIdentityEntity>,
    pub groups: Vec<RunnerGroupEntity>,
}

impl RunnerDetailsEntity {
    pub fn new(
        details: &pipewright_core::runner_admin::RunnerDetails,
        now: i64,
        external_url: &str,
    ) -> RunnerDetailsEntity {
        let runner = &details.runner;
        RunnerDetailsEntity {
            runner: RunnerEntity::new(runner, now, details.executing),
            tag_list: runner.tag_list.clone(),
            run_untagged: runner.run_untagged,
            locked: runner.locked,
            maximum_timeout: runner.maximum_timeout,
            access_level: runner.access_level.clone(),
            version: runner.version.clone(),
            revision: runner.revision.clone(),
            platform: runner.platform.clone(),
            architecture: runner.architecture.clone(),
            contacted_at: contacted_at(runner),
            maintenance_note: None,
            projects: details
                .projects
                .iter()
                .map(|(project, namespace)| {
                    super::project_identity::ProjectIdentityEntity::new(project, namespace)
                })
                .collect(),
            groups: details
                .groups
                .iter()
                .map(|group| RunnerGroupEntity {
                    id: group.id,
                    web_url: format!(
                        "{}/groups/{}",
                        external_url.trim_end_matches('/'),
                        group.full_path
                    ),
                    name: group.name.clone(),
                })
                .collect(),
        }
    }
}

/// `GET /runners/:id/jobs` entries (GitLab's `JobBasicWithProject`): the basic job fields
/// and the project's identity instead of the job token scope flag.
pub type RunnerJobEntity =
    super::job::JobBasicEntity<Option<super::project_identity::ProjectIdentityEntity>>;

/// A [`RunnerJobEntity`] for a job of the runner; `namespace` is the job project's namespace.
pub fn runner_job_entity(
    view: &pipewright_core::jobs::JobView,
    namespace: Option<&pipewright_core::model::Namespace>,
    external_url: &str,
    now: i64,
) -> RunnerJobEntity {
    let project = namespace.map(|namespace| {
        super::project_identity::ProjectIdentityEntity::new(&view.project, namespace)
    });
    super::job::JobBasicEntity::new(view, external_url, now, project)
}
