//! The job payload a runner receives (runner-protocol.md §5.4–§5.9).

use pipewright_ciyaml::JobOptions;
use pipewright_protocol::{
    GitInfo, Image, JobFeatures, JobInfo, JobResponse, JobRunnerInfo, JobVariable, Service, Step,
    When as StepWhen,
};
use pipewright_store::model::{Job, Pipeline, Runner};

use crate::App;
use crate::error::{Error, Result};
use crate::variables::{PipelineFacts, pipeline_variables, slug, user_variables};

pub async fn build(app: &App, job: &Job, runner: &Runner, token: &str) -> Result<JobResponse> {
    let pipeline = app
        .store
        .pipeline_by_id(job.pipeline_id)
        .await?
        .ok_or_else(|| Error::internal("job without pipeline"))?;
    build_for(app, job, &pipeline, runner, token).await
}

/// [`build`] with the job's pipeline already in hand (the hand-out reads it anyway).
pub async fn build_for(
    app: &App,
    job: &Job,
    pipeline: &Pipeline,
    runner: &Runner,
    token: &str,
) -> Result<JobResponse> {
    let options: JobOptions = serde_json::from_str(&job.options).map_err(Error::internal)?;
    let context = crate::payload_context::context(app, pipeline, job.user_id).await?;
    let project = &context.project;
    let namespace = &context.namespace;
    let user = &context.user;
    let commit = crate::commit_cache::commit(app, project.id, &pipeline.sha).await?;
    let pipeline_vars = &context.pipeline_variables;

    let external = &app.config.external_url;
    let project_url = format!("{external}/{}", project.full_path);
    let repo_url = clone_url(external, &project.full_path, token);
    let timeout = job.timeout.unwrap_or(app.config.default_job_timeout);

    // Precedence order of ci-yaml.md §9: later entries win.
    let mut variables = vec![
        JobVariable::public("CI_PIPELINE_ID", pipeline.id.to_string()),
        JobVariable::public(
            "CI_PIPELINE_URL",
            format!("{project_url}/-/pipelines/{}", pipeline.id),
        ),
        JobVariable::public("CI_JOB_ID", job.id.to_string()),
        JobVariable::public("CI_JOB_URL", format!("{project_url}/-/jobs/{}", job.id)),
        JobVariable::secret("CI_JOB_TOKEN", token),
        JobVariable::public(
            "CI_JOB_STARTED_AT",
            job.started_at
                .map(crate::jobs::iso_seconds)
                .unwrap_or_default(),
        ),
        JobVariable::public("CI_REGISTRY_USER", "gitlab-ci-token"),
        JobVariable::secret("CI_REGISTRY_PASSWORD", token),
        JobVariable {
            key: "CI_REPOSITORY_URL".into(),
            value: repo_url.clone(),
            public: false,
            masked: false,
            ..JobVariable::default()
        },
        JobVariable::public("CI_JOB_NAME", &job.name),
        JobVariable::public("CI_JOB_NAME_SLUG", slug(&job.name)),
        JobVariable::public("CI_JOB_STAGE", &job.stage),
    ];
    if matches!(
        job.when,
        pipewright_domain::When::Manual | pipewright_domain::When::Delayed
    ) {
        variables.push(JobVariable::public("CI_JOB_MANUAL", "true"));
    }
    match &options.parallel {
        Some(parallel) => {
            variables.push(JobVariable::public(
                "CI_NODE_INDEX",
                parallel.index.to_string(),
            ));
            variables.push(JobVariable::public(
                "CI_NODE_TOTAL",
                parallel.total.to_string(),
            ));
        }
        None => variables.push(JobVariable::public("CI_NODE_TOTAL", "1")),
    }
    // Filled in once every variable is known: name and url expand against them.
    let environment_at = variables.len();
    let facts = PipelineFacts {
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
    let mut predefined = pipeline_variables(app, &facts);
    for (key, value) in &mut predefined {
        if key == "CI_COMMIT_REF_PROTECTED" {
            *value = context.ref_protected.to_string();
        }
    }
    variables.extend(
        predefined
            .into_iter()
            .map(|(key, value)| JobVariable::public(key, value)),
    );
    if let Some(short_token) = &context.trigger_short_token {
        variables.push(JobVariable::public("CI_TRIGGER_SHORT_TOKEN", short_token));
    }
    variables.extend([
        JobVariable::public("CI_RUNNER_ID", runner.id.to_string()),
        JobVariable::public("CI_RUNNER_DESCRIPTION", &runner.description),
        JobVariable::public("CI_RUNNER_TAGS", runner_tags(&runner.tag_list)),
    ]);
    variables.extend(options.variables.iter().map(|variable| JobVariable {
        key: variable.key.clone(),
        value: variable.value.clone(),
        public: true,
        masked: false,
        file: false,
        raw: variable.raw,
    }));
    let (dependencies, dotenv) = crate::artifacts::payload_dependencies(app, job, token).await?;
    // Variables of the dependencies' dotenv reports win over YAML variables (ci-yaml.md §3.11).
    variables.extend(
        dotenv
            .into_iter()
            .map(|(key, value)| JobVariable::public(key, value)),
    );
    if let Some(user) = &user {
        variables.extend(
            user_variables(user)
                .into_iter()
                .map(|(key, value)| JobVariable::public(key, value)),
        );
    }
    variables.extend(pipeline_vars.iter().map(|variable| JobVariable {
        key: variable.key.clone(),
        value: variable.value.clone(),
        public: false,
        masked: false,
        file: variable.variable_type == "file",
        raw: false,
    }));

    // Variables given when the job was played come last: they win over everything.
    variables.extend(
        crate::job_actions::played_variables(job)
            .into_iter()
            .map(|variable| JobVariable::public(variable.key, variable.value)),
    );

    if let Some(environment) = &options.environment {
        let known: Vec<(String, String)> = variables
            .iter()
            .map(|variable| (variable.key.clone(), variable.value.clone()))
            .collect();
        let environment_vars = crate::environment::environment_variables(environment, &known)
            .into_iter()
            .map(|(key, value)| JobVariable::public(key, value));
        variables.splice(environment_at..environment_at, environment_vars);
    }

    let mut script = options.before_script.clone();
    script.extend(options.script.iter().cloned());
    let mut steps = vec![Step {
        name: pipewright_protocol::step::SCRIPT.into(),
        script,
        timeout,
        when: StepWhen::OnSuccess,
        allow_failure: false,
    }];
    if !options.after_script.is_empty() {
        steps.push(Step {
            name: pipewright_protocol::step::AFTER_SCRIPT.into(),
            script: options.after_script.clone(),
            timeout,
            when: StepWhen::Always,
            allow_failure: true,
        });
    }

    let (ref_type, branch_refspec) = if pipeline.tag {
        (
            "tag",
            format!("+refs/tags/{0}:refs/tags/{0}", pipeline.ref_name),
        )
    } else {
        (
            "branch",
            format!("+refs/heads/{0}:refs/remotes/origin/{0}", pipeline.ref_name),
        )
    };
    let ref_protected = variables
        .iter()
        .any(|v| v.key == "CI_COMMIT_REF_PROTECTED" && v.value == "true");
    let cache = crate::cache_payload::entries(
        app,
        project.id,
        &pipeline.sha,
        options.cache.as_ref(),
        ref_protected,
    )
    .await;

    Ok(JobResponse {
        id: job.id,
        token: token.to_owned(),
        allow_git_fetch: true,
        job_info: JobInfo {
            id: job.id,
            name: job.name.clone(),
            stage: job.stage.clone(),
            project_id: project.id,
            project_name: project.name.clone(),
            pipeline_id: Some(pipeline.id),
            project_full_path: Some(project.full_path.clone()),
            namespace_id: Some(namespace.id),
            root_namespace_id: Some(namespace.id),
            user_id: job.user_id,
            time_in_queue_seconds: None,
            project_jobs_running_on_instance_runners_count: Some("+Inf".into()),
            queue_size: None,
            queue_depth: None,
            timeout: Some(timeout),
        },
        git_info: GitInfo {
            repo_url,
            repo_object_format: "sha1".into(),
            r#ref: pipeline.ref_name.clone(),
            sha: pipeline.sha.clone(),
            before_sha: pipeline.before_sha.clone(),
            ref_type: ref_type.into(),
            refspecs: vec![
                format!("+refs/pipelines/{0}:refs/pipelines/{0}", pipeline.id),
                branch_refspec,
            ],
            depth: 20,
            protected: Some(pipeline.ref_name == project.default_branch && !pipeline.tag),
        },
        runner_info: JobRunnerInfo {
            timeout,
            runner_session_url: None,
            uuid: None,
        },
        variables,
        steps,
        image: options.image.as_ref().map(|image| Image {
            name: image.name.clone(),
            entrypoint: image.entrypoint.clone(),
            ports: Vec::new(),
            pull_policy: (!image.pull_policy.is_empty()).then(|| image.pull_policy.clone()),
            executor_opts: image
                .docker
                .clone()
                .map(|docker| serde_json::json!({ "docker": docker })),
        }),
        services: options
            .services
            .iter()
            .map(|service| Service {
                name: service.name.clone(),
                entrypoint: service.entrypoint.clone(),
                ports: Vec::new(),
                pull_policy: (!service.pull_policy.is_empty()).then(|| service.pull_policy.clone()),
                executor_opts: service
                    .docker
                    .clone()
                    .map(|docker| serde_json::json!({ "docker": docker })),
                alias: service.alias.clone(),
                command: service.command.clone(),
                variables: service
                    .variables
                    .iter()
                    .map(|variable| JobVariable::public(&variable.key, &variable.value))
                    .collect(),
            })
            .collect(),
        artifacts: crate::artifacts::payload_entries(&options),
        cache,
        credentials: Vec::new(),
        dependencies,
        features: JobFeatures {
            trace_sections: true,
            failure_reasons: pipewright_protocol::RUNNER_FAILURE_REASONS
                .iter()
                .map(|reason| (*reason).to_owned())
                .collect(),
            token_mask_prefixes: None,
        },
        hooks: Vec::new(),
    })
}

/// `http(s)://gitlab-ci-token:<token>@host/<path>.git`.
pub fn clone_url(external_url: &str, full_path: &str, token: &str) -> String {
    match external_url.split_once("://") {
        Some((scheme, rest)) => {
            format!("{scheme}://gitlab-ci-token:{token}@{rest}/{full_path}.git")
        }
        None => format!("{external_url}/{full_path}.git"),
    }
}

/// GitLab renders `CI_RUNNER_TAGS` as a JSON-ish array string: `["docker", "linux"]`.
fn runner_tags(tags: &[String]) -> String {
    let quoted: Vec<String> = tags.iter().map(|tag| format!("{tag:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_urls_embed_the_job_token() {
        assert_eq!(
            clone_url("http://127.0.0.1:8080", "root/app", "glcbt-x"),
            "http://gitlab-ci-token:glcbt-x@127.0.0.1:8080/root/app.git"
        );
    }

    #[test]
    fn runner_tags_render_like_gitlab() {
        assert_eq!(
            runner_tags(&["docker".into(), "linux".into()]),
            r#"["docker", "linux"]"#
        );
        assert_eq!(runner_tags(&[]), "[]");
    }
}
