//! Kubernetes agents: registering them in a project, and which of them a running job may
//! use (`GET /job/allowed_agents`, jobs-api.md E5). An agent's CI access is read, as GitLab
//! does, from `.gitlab/agents/<name>/config.yaml` on its project's default branch.

use pipewright_store::model::{Job, Namespace, Project, User};
use pipewright_store::{ClusterAgent, StoreError};
use serde_json::{Map, Value};

use crate::App;
use crate::abilities::{DEVELOPER, MAINTAINER, ProjectAccess};
use crate::auth::Actor;
use crate::error::{Error, Result};

/// An agent with its configuration project, as the entities render it.
#[derive(Debug, Clone)]
pub struct AgentView {
    pub agent: ClusterAgent,
    pub project: Project,
    pub namespace: Namespace,
}

/// GitLab's agent name rule (a DNS label).
pub fn valid_agent_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// `POST /projects/:id/cluster_agents` (Maintainer).
pub async fn create_agent(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    name: &str,
) -> Result<AgentView> {
    actor.require_write_scope()?;
    let user = actor.require_user()?.clone();
    if !(access.admin || access.level >= MAINTAINER) {
        return Err(Error::forbidden());
    }
    if !valid_agent_name(name) {
        return Err(Error::BadRequest(
            "[\"Name can contain only lowercase letters, digits, and '-', but cannot start or end with '-'\"]"
                .into(),
        ));
    }
    let agent = match app
        .store
        .create_cluster_agent(access.project.id, name, user.id)
        .await
    {
        Ok(agent) => agent,
        Err(StoreError::Duplicate(_)) => {
            return Err(Error::BadRequest(
                "[\"Name has already been taken\"]".into(),
            ));
        }
        Err(err) => return Err(err.into()),
    };
    let view = crate::projects::project_view(app, access.project.clone()).await?;
    Ok(AgentView {
        agent,
        project: view.project,
        namespace: view.namespace,
    })
}

/// `GET /projects/:id/cluster_agents` (Developer).
pub async fn list_agents(app: &App, access: &ProjectAccess) -> Result<Vec<AgentView>> {
    if !(access.admin || access.level >= DEVELOPER) {
        return Err(Error::forbidden());
    }
    let view = crate::projects::project_view(app, access.project.clone()).await?;
    Ok(app
        .store
        .cluster_agents(access.project.id)
        .await?
        .into_iter()
        .map(|agent| AgentView {
            agent,
            project: view.project.clone(),
            namespace: view.namespace.clone(),
        })
        .collect())
}

/// One authorization of E5.
#[derive(Debug, Clone)]
pub struct AllowedAgent {
    pub agent: AgentView,
    /// The authorization entry without its `id` (`{}` for the agent's own project).
    pub configuration: Value,
}

/// The E5 answer.
#[derive(Debug, Clone)]
pub struct AllowedAgents {
    pub agents: Vec<AllowedAgent>,
    pub job: Job,
    /// The job's project's group and its ancestors (`[]` in a personal namespace).
    pub group_ids: Vec<i64>,
    pub user: User,
    pub roles_in_project: Vec<&'static str>,
    /// (tier, slug) of the job's environment.
    pub environment: Option<(String, String)>,
}

const ROLES: [(i32, &str); 6] = [
    (10, "guest"),
    (15, "planner"),
    (20, "reporter"),
    (30, "developer"),
    (40, "maintainer"),
    (50, "owner"),
];

/// Every role at or below an access level, ascending.
pub fn roles_up_to(level: i32) -> Vec<&'static str> {
    ROLES
        .iter()
        .filter(|(role_level, _)| *role_level <= level)
        .map(|(_, name)| *name)
        .collect()
}

/// The job's environment as GitLab persists it: (name, tier, slug), the name expanded with
/// the job's variables (`review/$CI_COMMIT_REF_SLUG` is `review/main`), as in its payload.
async fn job_environment(
    app: &App,
    job: &Job,
    project: &Project,
    namespace: Option<&Namespace>,
) -> Result<Option<(String, String, String)>> {
    let Ok(options) = serde_json::from_str::<pipewright_ciyaml::JobOptions>(&job.options) else {
        return Ok(None);
    };
    let Some(environment) = &options.environment else {
        return Ok(None);
    };
    let mut known: Vec<(String, String)> = vec![
        ("CI_JOB_NAME".into(), job.name.clone()),
        ("CI_JOB_NAME_SLUG".into(), crate::variables::slug(&job.name)),
        ("CI_JOB_STAGE".into(), job.stage.clone()),
    ];
    let pipeline = app.store.pipeline_by_id(job.pipeline_id).await?;
    if let (Some(pipeline), Some(namespace)) = (&pipeline, namespace) {
        let commit = crate::commit_cache::commit(app, project.id, &pipeline.sha).await?;
        let facts = crate::variables::PipelineFacts {
            project,
            namespace,
            ref_name: &pipeline.ref_name,
            tag: pipeline.tag,
            sha: &pipeline.sha,
            before_sha: &pipeline.before_sha,
            source: &pipeline.source,
            commit: commit.as_ref(),
            pipeline: Some(pipeline),
        };
        known.extend(crate::variables::pipeline_variables(app, &facts));
    }
    known.extend(
        options
            .variables
            .iter()
            .map(|variable| (variable.key.clone(), variable.value.clone())),
    );
    known.extend(
        app.store
            .pipeline_variables(job.pipeline_id)
            .await?
            .into_iter()
            .map(|variable| (variable.key, variable.value)),
    );
    let variables = crate::environment::environment_variables(environment, &known);
    let value = |key: &str| {
        variables
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    Ok(Some((
        value("CI_ENVIRONMENT_NAME"),
        value("CI_ENVIRONMENT_TIER"),
        value("CI_ENVIRONMENT_SLUG"),
    )))
}

/// `ci_access` of an agent's `config.yaml` on its project's default branch.
async fn ci_access(app: &App, agent: &ClusterAgent, project: &Project) -> Result<Value> {
    let repo = app.repository(project.id);
    let rev = format!("refs/heads/{}", project.default_branch);
    let path = format!(".gitlab/agents/{}/config.yaml", agent.name);
    let bytes = tokio::task::spawn_blocking(move || repo.read_file(&rev, &path))
        .await?
        .ok()
        .flatten();
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    // A config that does not parse authorizes nothing, as GitLab ignores it.
    let config: Value = serde_norway::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(config.get("ci_access").cloned().unwrap_or(Value::Null))
}

/// Whether an authorization entry applies to the job (its `environments` and
/// `protected_branches_only` restrictions).
fn entry_applies(entry: &Value, environment: Option<&str>, protected_ref: bool) -> bool {
    if entry
        .get("protected_branches_only")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        && !protected_ref
    {
        return false;
    }
    match entry.get("environments").and_then(Value::as_array) {
        Some(patterns) if !patterns.is_empty() => environment.is_some_and(|name| {
            patterns
                .iter()
                .filter_map(Value::as_str)
                .any(|pattern| crate::protected_refs::matches(pattern, name))
        }),
        _ => true,
    }
}

fn without_id(entry: &Value) -> Value {
    let mut map: Map<String, Value> = entry.as_object().cloned().unwrap_or_default();
    map.remove("id");
    Value::Object(map)
}

/// Finds the entry of `list` (`ci_access.projects` or `.groups`) whose `id` is `full_path`.
fn entry_for<'a>(list: Option<&'a Value>, full_path: &str) -> Option<&'a Value> {
    list?.as_array()?.iter().find(|entry| {
        entry
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.trim_matches('/').eq_ignore_ascii_case(full_path))
    })
}

/// E5: agents the job may use, the job's groups and its user's roles in the project.
pub async fn allowed_agents(app: &App, job: &Job, user: &User) -> Result<AllowedAgents> {
    let project = app
        .store
        .project_by_id(job.project_id)
        .await?
        .ok_or_else(|| Error::not_found("Job"))?;
    let chain = app.store.namespace_chain(project.namespace_id).await?;
    let groups: Vec<&Namespace> = chain.iter().filter(|ns| ns.kind == "group").collect();
    let namespace = chain.iter().find(|ns| ns.id == project.namespace_id);
    let environment = job_environment(app, job, &project, namespace).await?;
    let protected_ref = crate::protected_refs::job_ref_protected(app, job).await?;

    let mut implicit = Vec::new();
    let mut by_project = Vec::new();
    let mut by_group = Vec::new();
    for agent in app.store.all_cluster_agents().await? {
        let Some(agent_project) = app.store.project_by_id(agent.project_id).await? else {
            continue;
        };
        let access = ci_access(app, &agent, &agent_project).await?;
        let env_name = environment.as_ref().map(|(name, _, _)| name.as_str());
        // GitLab keeps the most specific authorization of an agent before filtering by
        // environment and ref: an explicit project authorization, even one that does not
        // apply, shadows the implicit one of an agent of the job's own project.
        if let Some(entry) = entry_for(access.get("projects"), &project.full_path) {
            if entry_applies(entry, env_name, protected_ref) {
                by_project.push((agent, agent_project, without_id(entry)));
            }
            continue;
        }
        if agent_project.id == project.id {
            implicit.push((agent, agent_project, Value::Object(Map::new())));
            continue;
        }
        // The nearest listed group wins.
        let group_entry = groups
            .iter()
            .find_map(|group| entry_for(access.get("groups"), &group.full_path));
        if let Some(entry) = group_entry
            && entry_applies(entry, env_name, protected_ref)
        {
            by_group.push((agent, agent_project, without_id(entry)));
        }
    }

    let mut agents = Vec::new();
    for (agent, agent_project, configuration) in
        implicit.into_iter().chain(by_project).chain(by_group)
    {
        if agents
            .iter()
            .any(|seen: &AllowedAgent| seen.agent.agent.id == agent.id)
        {
            continue;
        }
        let view = crate::projects::project_view(app, agent_project).await?;
        agents.push(AllowedAgent {
            agent: AgentView {
                agent,
                project: view.project,
                namespace: view.namespace,
            },
            configuration,
        });
    }

    let access = crate::abilities::project_access(
        app,
        &Actor::User {
            user: user.clone(),
            scopes: Vec::new(),
        },
        project,
    )
    .await?;
    let mut group_ids: Vec<i64> = groups.iter().map(|group| group.id).collect();
    group_ids.sort_unstable();
    Ok(AllowedAgents {
        agents,
        job: job.clone(),
        group_ids,
        user: user.clone(),
        roles_in_project: roles_up_to(access.level),
        environment: environment.map(|(_, tier, slug)| (tier, slug)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_accumulate_up_to_the_level() {
        assert_eq!(roles_up_to(0), Vec::<&str>::new());
        assert_eq!(
            roles_up_to(30),
            vec!["guest", "planner", "reporter", "developer"]
        );
        assert_eq!(roles_up_to(50).len(), 6);
    }

    #[test]
    fn agent_names_are_dns_labels() {
        assert!(valid_agent_name("my-agent-1"));
        assert!(!valid_agent_name("-agent"));
        assert!(!valid_agent_name("Agent"));
        assert!(!valid_agent_name(""));
    }

    #[test]
    fn entries_honour_environments_and_protected_refs() {
        let entry = serde_json::json!({"id": "g/p", "environments": ["review/*"]});
        assert!(entry_applies(&entry, Some("review/x"), false));
        assert!(!entry_applies(&entry, Some("production"), false));
        assert!(!entry_applies(&entry, None, false));
        let protected = serde_json::json!({"id": "g/p", "protected_branches_only": true});
        assert!(!entry_applies(&protected, None, false));
        assert!(entry_applies(&protected, None, true));
        assert_eq!(
            without_id(&entry),
            serde_json::json!({"environments": ["review/*"]})
        );
    }
}
