//! Predefined CI/CD variables (ci-yaml.md §10) shared by `rules:if` evaluation at pipeline
//! creation and the job payload sent to runners.

use pipewright_store::model::{Namespace, Pipeline, Project, User};

use crate::App;

/// GitLab's slug: lower-case, every char outside `[a-z0-9]` becomes `-`, at most 63 bytes,
/// no leading or trailing `-`.
pub fn slug(value: &str) -> String {
    let mut out: String = value
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(63);
    out.trim_matches('-').to_owned()
}

/// The pieces of context the pipeline-level variables are computed from.
pub struct PipelineFacts<'a> {
    pub project: &'a Project,
    pub namespace: &'a Namespace,
    pub ref_name: &'a str,
    pub tag: bool,
    pub sha: &'a str,
    pub before_sha: &'a str,
    pub source: &'a str,
    pub commit: Option<&'a pipewright_git::Commit>,
    pub pipeline: Option<&'a Pipeline>,
}

/// The `CI_SERVER_*` parts of the external URL.
struct ServerAddress {
    host: String,
    port: String,
    protocol: String,
    /// GitLab's `Gitlab.host_with_port`: the port only when it is not the scheme's default.
    fqdn: String,
}

fn server_address(server_url: &str) -> ServerAddress {
    let parsed = url::Url::parse(server_url).ok();
    let host = parsed
        .as_ref()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let fqdn = match parsed.as_ref().and_then(url::Url::port) {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    ServerAddress {
        port: parsed
            .as_ref()
            .and_then(url::Url::port_or_known_default)
            .map(|port| port.to_string())
            .unwrap_or_default(),
        protocol: parsed
            .as_ref()
            .map(|url| url.scheme().to_owned())
            .unwrap_or_else(|| "http".to_owned()),
        host,
        fqdn,
    }
}

/// Project, server and commit variables (§10), in GitLab's precedence order.
pub fn pipeline_variables(app: &App, facts: &PipelineFacts<'_>) -> Vec<(String, String)> {
    let server_url = app.config.external_url.clone();
    let project_url = format!("{server_url}/{}", facts.project.full_path);
    let ServerAddress {
        host,
        port,
        protocol,
        fqdn,
    } = server_address(&server_url);
    let root_namespace = facts
        .namespace
        .full_path
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let version = env!("CARGO_PKG_VERSION");
    let mut version_parts = version.split('.');

    let mut vars: Vec<(String, String)> = vec![
        ("CI".into(), "true".into()),
        ("GITLAB_CI".into(), "true".into()),
        ("CI_SERVER_URL".into(), server_url.clone()),
        ("CI_SERVER_HOST".into(), host.clone()),
        ("CI_SERVER_PORT".into(), port),
        ("CI_SERVER_PROTOCOL".into(), protocol),
        ("CI_SERVER_FQDN".into(), fqdn),
        ("CI_SERVER_NAME".into(), "GitLab".into()),
        ("CI_SERVER_VERSION".into(), version.into()),
        (
            "CI_SERVER_VERSION_MAJOR".into(),
            version_parts.next().unwrap_or("0").into(),
        ),
        (
            "CI_SERVER_VERSION_MINOR".into(),
            version_parts.next().unwrap_or("0").into(),
        ),
        (
            "CI_SERVER_VERSION_PATCH".into(),
            version_parts.next().unwrap_or("0").into(),
        ),
        ("CI_SERVER_REVISION".into(), String::new()),
        ("GITLAB_FEATURES".into(), String::new()),
        ("CI_API_V4_URL".into(), format!("{server_url}/api/v4")),
        (
            "CI_API_GRAPHQL_URL".into(),
            format!("{server_url}/api/graphql"),
        ),
        ("CI_PROJECT_ID".into(), facts.project.id.to_string()),
        ("CI_PROJECT_NAME".into(), facts.project.path.clone()),
        ("CI_PROJECT_TITLE".into(), facts.project.name.clone()),
        (
            "CI_PROJECT_DESCRIPTION".into(),
            facts.project.description.clone().unwrap_or_default(),
        ),
        ("CI_PROJECT_PATH".into(), facts.project.full_path.clone()),
        (
            "CI_PROJECT_PATH_SLUG".into(),
            slug(&facts.project.full_path),
        ),
        (
            "CI_PROJECT_NAMESPACE".into(),
            facts.namespace.full_path.clone(),
        ),
        (
            "CI_PROJECT_NAMESPACE_ID".into(),
            facts.namespace.id.to_string(),
        ),
        ("CI_PROJECT_ROOT_NAMESPACE".into(), root_namespace),
        ("CI_PROJECT_URL".into(), project_url.clone()),
        (
            "CI_PROJECT_VISIBILITY".into(),
            facts.project.visibility.clone(),
        ),
        ("CI_PROJECT_REPOSITORY_LANGUAGES".into(), String::new()),
        ("CI_PROJECT_CLASSIFICATION_LABEL".into(), String::new()),
        (
            "CI_DEFAULT_BRANCH".into(),
            facts.project.default_branch.clone(),
        ),
        (
            "CI_CONFIG_PATH".into(),
            facts.project.ci_config_path.clone(),
        ),
    ];

    if let Some(pipeline) = facts.pipeline {
        vars.extend([
            ("CI_PIPELINE_ID".into(), pipeline.id.to_string()),
            ("CI_PIPELINE_IID".into(), pipeline.iid.to_string()),
            (
                "CI_PIPELINE_URL".into(),
                format!("{project_url}/-/pipelines/{}", pipeline.id),
            ),
            (
                "CI_PIPELINE_CREATED_AT".into(),
                crate::jobs::iso_seconds(pipeline.created_at),
            ),
        ]);
    }
    vars.push(("CI_PIPELINE_SOURCE".into(), facts.source.into()));
    if facts.source == "trigger" {
        vars.push(("CI_PIPELINE_TRIGGERED".into(), "true".into()));
    }
    vars.push(("CI_PIPELINE_NAME".into(), String::new()));
    vars.extend([
        ("CI_COMMIT_SHA".into(), facts.sha.into()),
        (
            "CI_COMMIT_SHORT_SHA".into(),
            facts.sha.chars().take(8).collect(),
        ),
        ("CI_COMMIT_BEFORE_SHA".into(), facts.before_sha.into()),
        ("CI_COMMIT_REF_NAME".into(), facts.ref_name.into()),
        ("CI_COMMIT_REF_SLUG".into(), slug(facts.ref_name)),
        (
            "CI_COMMIT_REF_PROTECTED".into(),
            (facts.ref_name == facts.project.default_branch && !facts.tag).to_string(),
        ),
    ]);
    if facts.tag {
        vars.push(("CI_COMMIT_TAG".into(), facts.ref_name.into()));
        vars.push(("CI_COMMIT_TAG_MESSAGE".into(), String::new()));
    } else {
        vars.push(("CI_COMMIT_BRANCH".into(), facts.ref_name.into()));
    }
    if let Some(commit) = facts.commit {
        let description = commit
            .message
            .split_once('\n')
            .map(|(_, rest)| rest.trim_start_matches('\n').to_owned())
            .unwrap_or_default();
        vars.extend([
            ("CI_COMMIT_MESSAGE".into(), commit.message.clone()),
            ("CI_COMMIT_TITLE".into(), commit.title.clone()),
            ("CI_COMMIT_DESCRIPTION".into(), description),
            ("CI_COMMIT_MESSAGE_IS_TRUNCATED".into(), "false".into()),
            ("CI_COMMIT_TIMESTAMP".into(), commit.committed_date.clone()),
            (
                "CI_COMMIT_AUTHOR".into(),
                format!("{} <{}>", commit.author_name, commit.author_email),
            ),
        ]);
    }
    vars
}

/// `GITLAB_USER_*`: the user who started the pipeline (or played the job).
pub fn user_variables(user: &User) -> Vec<(String, String)> {
    vec![
        ("GITLAB_USER_ID".into(), user.id.to_string()),
        ("GITLAB_USER_EMAIL".into(), user.email.clone()),
        ("GITLAB_USER_LOGIN".into(), user.username.clone()),
        ("GITLAB_USER_NAME".into(), user.name.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::{server_address, slug};

    #[test]
    fn the_server_fqdn_carries_only_a_non_default_port() {
        let with_port = server_address("http://ci.example:8080");
        assert_eq!(with_port.host, "ci.example");
        assert_eq!(with_port.port, "8080");
        assert_eq!(with_port.fqdn, "ci.example:8080");
        let default_port = server_address("https://ci.example");
        assert_eq!(default_port.port, "443");
        assert_eq!(default_port.protocol, "https");
        assert_eq!(default_port.fqdn, "ci.example");
    }

    #[test]
    fn slugs_follow_gitlab() {
        assert_eq!(slug("Feature/Login_Page"), "feature-login-page");
        assert_eq!(slug("--x--"), "x");
        assert_eq!(slug(&"a".repeat(80)).len(), 63);
    }
}
