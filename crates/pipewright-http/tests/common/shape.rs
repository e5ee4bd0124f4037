//! GitLab's job entity (jobs-api.md §5.1 and the nested §5.3–§5.7), checked key by key:
//! keys in definition order, no extra keys, conditional keys only when their condition
//! holds, and every value of the documented type.

use super::EXTERNAL_URL;
use super::ordered::{Ordered, is_timestamp};

/// Every job status (also the `scope` whitelist, jobs-api.md §3.1).
pub const JOB_STATUSES: [&str; 13] = [
    "created",
    "waiting_for_resource",
    "preparing",
    "waiting_for_callback",
    "pending",
    "running",
    "success",
    "failed",
    "canceling",
    "canceled",
    "skipped",
    "manual",
    "scheduled",
];

/// Server-side failure reasons (ci-yaml.md §8).
const FAILURE_REASONS: [&str; 48] = [
    "unknown_failure",
    "script_failure",
    "api_failure",
    "stuck_or_timeout_failure",
    "runner_system_failure",
    "missing_dependency_failure",
    "runner_unsupported",
    "stale_schedule",
    "job_execution_timeout",
    "archived_failure",
    "unmet_prerequisites",
    "scheduler_failure",
    "data_integrity_failure",
    "forward_deployment_failure",
    "user_blocked",
    "project_deleted",
    "ci_quota_exceeded",
    "pipeline_loop_detected",
    "no_matching_runner",
    "trace_size_exceeded",
    "builds_disabled",
    "environment_creation_failure",
    "deployment_rejected",
    "failed_outdated_deployment_job",
    "job_execution_server_timeout",
    "stuck_pending_with_matching_runners",
    "stuck_pending_no_matching_runners",
    "no_updates_running",
    "no_updates_canceling",
    "server_timeout_running",
    "server_timeout_canceling",
    "runner_configuration_error",
    "runner_external_dependency_failure",
    "runner_interrupted",
    "protected_environment_failure",
    "insufficient_bridge_permissions",
    "downstream_bridge_project_not_found",
    "invalid_bridge_trigger",
    "upstream_bridge_project_not_found",
    "insufficient_upstream_permissions",
    "bridge_pipeline_is_child_pipeline",
    "downstream_pipeline_creation_failed",
    "secrets_provider_not_found",
    "reached_max_descendant_pipelines_depth",
    "ip_restriction_failure",
    "reached_max_pipeline_hierarchy_size",
    "reached_downstream_pipeline_trigger_rate_limit",
    "job_token_expired",
];

/// (key, conditional) in GitLab's definition order.
const JOB_KEYS: [(&str, bool); 28] = [
    ("id", false),
    ("status", false),
    ("stage", false),
    ("name", false),
    ("ref", false),
    ("tag", false),
    ("coverage", false),
    ("allow_failure", false),
    ("created_at", false),
    ("started_at", false),
    ("finished_at", false),
    ("erased_at", false),
    ("duration", false),
    ("queued_duration", false),
    ("user", false),
    ("commit", false),
    ("pipeline", false),
    ("failure_reason", true),
    ("web_url", false),
    ("project", false),
    ("artifacts_file", true),
    ("artifacts", false),
    ("runner", false),
    ("runner_manager", false),
    ("artifacts_expire_at", false),
    ("archived", false),
    ("tag_list", false),
    ("source", false),
];

const USER_KEYS: [(&str, bool); 25] = [
    ("id", false),
    ("username", false),
    ("name", false),
    ("state", false),
    ("locked", false),
    ("avatar_url", false),
    ("web_url", false),
    ("created_at", true),
    ("bio", false),
    ("location", false),
    ("public_email", false),
    ("skype", false),
    ("linkedin", false),
    ("twitter", false),
    ("discord", false),
    ("website_url", false),
    ("organization", false),
    ("job_title", false),
    ("pronouns", false),
    ("bot", false),
    ("work_information", false),
    ("followers", true),
    ("following", true),
    ("is_followed", true),
    ("local_time", false),
];

const COMMIT_KEYS: [&str; 15] = [
    "id",
    "short_id",
    "created_at",
    "parent_ids",
    "title",
    "message",
    "author_name",
    "author_email",
    "authored_date",
    "committer_name",
    "committer_email",
    "committed_date",
    "trailers",
    "extended_trailers",
    "web_url",
];

pub const PIPELINE_BASIC_KEYS: [&str; 10] = [
    "id",
    "iid",
    "project_id",
    "sha",
    "ref",
    "status",
    "source",
    "created_at",
    "updated_at",
    "web_url",
];

const RUNNER_KEYS: [(&str, bool); 13] = [
    ("id", false),
    ("description", false),
    ("ip_address", false),
    ("active", false),
    ("paused", false),
    ("is_shared", false),
    ("runner_type", false),
    ("name", false),
    ("online", false),
    ("created_by", true),
    ("created_at", false),
    ("status", false),
    ("job_execution_status", false),
];

/// Checks one job entity; panics with the job and the first problem found.
#[track_caller]
pub fn assert_job_shape(job: &Ordered) {
    if let Err(problem) = job_shape(job) {
        panic!(
            "job entity does not have GitLab's shape: {problem}\n{}",
            serde_json::to_string_pretty(job).unwrap_or_default()
        );
    }
}

type Check = Result<(), String>;

fn job_shape(job: &Ordered) -> Check {
    let Ordered::Object(_) = job else {
        return Err("not an object".into());
    };
    let status = field(job, "status")?
        .as_str()
        .ok_or("status is not a string")?;
    if !JOB_STATUSES.contains(&status) {
        return Err(format!("unknown status {status:?}"));
    }
    let failed = status == "failed";
    if failed != job.get("failure_reason").is_some() {
        return Err(format!(
            "failure_reason must be present exactly on failed jobs (status {status})"
        ));
    }
    keys_in_order(job, &JOB_KEYS, "job")?;

    let id = integer(job, "id")?;
    for key in ["stage", "name", "ref", "source"] {
        string(job, key)?;
    }
    for key in ["tag", "allow_failure", "archived"] {
        boolean(job, key)?;
    }
    nullable(job, "coverage", |value| number(value, "coverage"))?;
    timestamp(field(job, "created_at")?, "created_at")?;
    for key in [
        "started_at",
        "finished_at",
        "erased_at",
        "artifacts_expire_at",
    ] {
        nullable(job, key, |value| timestamp(value, key))?;
    }
    for key in ["duration", "queued_duration"] {
        nullable(job, key, |value| number(value, key))?;
    }
    nullable(job, "user", user_shape)?;
    nullable(job, "commit", commit_shape)?;
    pipeline_basic_shape(field(job, "pipeline")?, "pipeline")?;
    if let Some(reason) = job.get("failure_reason") {
        let reason = reason.as_str().ok_or("failure_reason is not a string")?;
        if !FAILURE_REASONS.contains(&reason) {
            return Err(format!("unknown failure_reason {reason:?}"));
        }
    }
    let web_url = string(job, "web_url")?;
    if !(web_url.starts_with(EXTERNAL_URL) && web_url.ends_with(&format!("/-/jobs/{id}"))) {
        return Err(format!(
            "web_url {web_url:?} is not <external>/<path>/-/jobs/{id}"
        ));
    }
    let project = field(job, "project")?;
    exact_keys(project, &["ci_job_token_scope_enabled"], "project")?;
    boolean(project, "ci_job_token_scope_enabled")?;
    if let Some(file) = job.get("artifacts_file") {
        exact_keys(file, &["filename", "size"], "artifacts_file")?;
        string(file, "filename")?;
        integer(file, "size")?;
    }
    let Ordered::Array(artifacts) = field(job, "artifacts")? else {
        return Err("artifacts is not an array".into());
    };
    for artifact in artifacts {
        exact_keys(
            artifact,
            &["file_type", "size", "filename", "file_format"],
            "artifacts[]",
        )?;
    }
    nullable(job, "runner", runner_shape)?;
    nullable(job, "runner_manager", |value| match value {
        Ordered::Object(_) => Ok(()),
        other => Err(format!("runner_manager is {other:?}")),
    })?;
    let Ordered::Array(tags) = field(job, "tag_list")? else {
        return Err("tag_list is not an array".into());
    };
    let tags: Vec<&str> = tags
        .iter()
        .map(|tag| tag.as_str().ok_or("tag_list has a non-string"))
        .collect::<Result<_, _>>()?;
    if !tags.is_sorted() {
        return Err(format!("tag_list {tags:?} is not sorted"));
    }

    // Timestamps follow the state machine (jobs-api.md §3.2).
    let has = |key: &str| !matches!(job.get(key), Some(Ordered::Null) | None);
    let completed = matches!(status, "success" | "failed" | "canceled");
    if completed && status != "canceled" && !has("finished_at") {
        return Err(format!("a {status} job has no finished_at"));
    }
    if matches!(
        status,
        "created" | "pending" | "manual" | "scheduled" | "skipped"
    ) && (has("started_at") || has("duration"))
    {
        return Err(format!("a {status} job has started_at/duration"));
    }
    if status == "running" && !(has("started_at") && has("duration")) {
        return Err("a running job lacks started_at or duration".into());
    }
    if !completed && has("finished_at") {
        return Err(format!("a {status} job has finished_at"));
    }
    Ok(())
}

fn field<'a>(object: &'a Ordered, key: &str) -> Result<&'a Ordered, String> {
    object.get(key).ok_or_else(|| format!("{key} is missing"))
}

fn string<'a>(object: &'a Ordered, key: &str) -> Result<&'a str, String> {
    field(object, key)?
        .as_str()
        .ok_or_else(|| format!("{key} is not a string"))
}

fn integer(object: &Ordered, key: &str) -> Result<i64, String> {
    match field(object, key)? {
        Ordered::Number(number) if number.is_i64() || number.is_u64() => {
            number.as_i64().ok_or_else(|| format!("{key} is too large"))
        }
        other => Err(format!("{key} is not an integer: {other:?}")),
    }
}

fn boolean(object: &Ordered, key: &str) -> Check {
    match field(object, key)? {
        Ordered::Bool(_) => Ok(()),
        other => Err(format!("{key} is not a boolean: {other:?}")),
    }
}

fn number(value: &Ordered, key: &str) -> Check {
    match value {
        Ordered::Number(_) => Ok(()),
        other => Err(format!("{key} is not a number: {other:?}")),
    }
}

/// Entity timestamps: `2015-12-24T15:51:21.802Z` (UTC, milliseconds).
fn timestamp(value: &Ordered, key: &str) -> Check {
    let text = value
        .as_str()
        .ok_or_else(|| format!("{key} is not a string"))?;
    if !(is_timestamp(text) && text.len() == 24 && text.ends_with('Z')) {
        return Err(format!("{key} {text:?} is not YYYY-MM-DDTHH:MM:SS.mmmZ"));
    }
    Ok(())
}

fn nullable(object: &Ordered, key: &str, check: impl Fn(&Ordered) -> Check) -> Check {
    match field(object, key)? {
        Ordered::Null => Ok(()),
        value => check(value).map_err(|problem| format!("{key}: {problem}")),
    }
}

/// Keys must be `expected` in order, conditional ones possibly absent, nothing else.
fn keys_in_order(object: &Ordered, expected: &[(&str, bool)], what: &str) -> Check {
    let actual = object.keys();
    let wanted: Vec<&str> = expected
        .iter()
        .filter(|(key, conditional)| !conditional || actual.contains(key))
        .map(|(key, _)| *key)
        .collect();
    if actual != wanted {
        return Err(format!(
            "{what} keys\n  are      {actual:?}\n  expected {wanted:?}"
        ));
    }
    Ok(())
}

fn exact_keys(object: &Ordered, expected: &[&str], what: &str) -> Check {
    let pairs: Vec<(&str, bool)> = expected.iter().map(|key| (*key, false)).collect();
    match object {
        Ordered::Object(_) => keys_in_order(object, &pairs, what),
        other => Err(format!("{what} is not an object: {other:?}")),
    }
}

fn user_shape(user: &Ordered) -> Check {
    match user {
        Ordered::Object(_) => keys_in_order(user, &USER_KEYS, "user")?,
        other => return Err(format!("not an object: {other:?}")),
    }
    integer(user, "id")?;
    for key in ["username", "name", "state", "web_url", "bio", "location"] {
        string(user, key)?;
    }
    for key in ["locked", "bot"] {
        boolean(user, key)?;
    }
    if user.get("created_at").is_some() {
        timestamp(field(user, "created_at")?, "created_at")?;
    }
    Ok(())
}

fn commit_shape(commit: &Ordered) -> Check {
    exact_keys(commit, &COMMIT_KEYS, "commit")?;
    let id = string(commit, "id")?;
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("commit id {id:?} is not a sha"));
    }
    let short = string(commit, "short_id")?;
    if !(short.len() == 8 && id.starts_with(short)) {
        return Err(format!(
            "short_id {short:?} is not the first 8 chars of {id}"
        ));
    }
    for key in ["created_at", "authored_date", "committed_date"] {
        let text = string(commit, key)?;
        if !is_timestamp(text) {
            return Err(format!("commit {key} {text:?} is not a timestamp"));
        }
    }
    match field(commit, "parent_ids")? {
        Ordered::Array(_) => {}
        other => return Err(format!("parent_ids is {other:?}")),
    }
    for key in ["trailers", "extended_trailers"] {
        match field(commit, key)? {
            Ordered::Object(_) => {}
            other => return Err(format!("{key} is {other:?}")),
        }
    }
    Ok(())
}

/// PipelineBasic (jobs-api.md §5.3).
pub fn pipeline_basic_shape(pipeline: &Ordered, what: &str) -> Check {
    exact_keys(pipeline, &PIPELINE_BASIC_KEYS, what)?;
    let id = integer(pipeline, "id")?;
    integer(pipeline, "iid")?;
    integer(pipeline, "project_id")?;
    let sha = string(pipeline, "sha")?;
    if sha.len() != 40 {
        return Err(format!("{what}.sha {sha:?} is not a sha"));
    }
    string(pipeline, "ref")?;
    let status = string(pipeline, "status")?;
    if !JOB_STATUSES.contains(&status) {
        return Err(format!("{what}.status {status:?}"));
    }
    string(pipeline, "source")?;
    timestamp(field(pipeline, "created_at")?, "created_at")?;
    timestamp(field(pipeline, "updated_at")?, "updated_at")?;
    let web_url = string(pipeline, "web_url")?;
    if !web_url.ends_with(&format!("/-/pipelines/{id}")) {
        return Err(format!("{what}.web_url {web_url:?}"));
    }
    Ok(())
}

fn runner_shape(runner: &Ordered) -> Check {
    match runner {
        Ordered::Object(_) => keys_in_order(runner, &RUNNER_KEYS, "runner")?,
        other => return Err(format!("not an object: {other:?}")),
    }
    integer(runner, "id")?;
    string(runner, "description")?;
    if field(runner, "ip_address")? != &Ordered::Null {
        return Err("runner ip_address must be null".into());
    }
    for key in ["active", "paused", "is_shared", "online"] {
        boolean(runner, key)?;
    }
    let runner_type = string(runner, "runner_type")?;
    if !["instance_type", "group_type", "project_type"].contains(&runner_type) {
        return Err(format!("runner_type {runner_type:?}"));
    }
    timestamp(field(runner, "created_at")?, "created_at")?;
    string(runner, "status")?;
    let execution = string(runner, "job_execution_status")?;
    if !["active", "idle"].contains(&execution) {
        return Err(format!("job_execution_status {execution:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The checker must reject what GitLab would not send, or it proves nothing.

    use super::*;

    /// A well-formed pending job, keys in GitLab's order (parsed from text to keep it).
    fn job(status: &str) -> Ordered {
        let text = r#"{
            "id": 7, "status": "STATUS", "stage": "test", "name": "a", "ref": "main",
            "tag": false, "coverage": null, "allow_failure": false,
            "created_at": "2026-01-02T03:04:05.678Z", "started_at": null, "finished_at": null,
            "erased_at": null, "duration": null, "queued_duration": 1.5, "user": null,
            "commit": null,
            "pipeline": {
                "id": 1, "iid": 1, "project_id": 1,
                "sha": "0123456789012345678901234567890123456789", "ref": "main",
                "status": "pending", "source": "push",
                "created_at": "2026-01-02T03:04:05.678Z",
                "updated_at": "2026-01-02T03:04:05.678Z",
                "web_url": "http://pw.example/root/demo/-/pipelines/1"
            },
            "web_url": "http://pw.example/root/demo/-/jobs/7",
            "project": { "ci_job_token_scope_enabled": false }, "artifacts": [],
            "runner": null, "runner_manager": null, "artifacts_expire_at": null,
            "archived": false, "tag_list": [], "source": "push"
        }"#;
        serde_json::from_str(&text.replace("STATUS", status)).expect("json")
    }

    fn with(mut job: Ordered, key: &str, value: Ordered) -> Ordered {
        if let Ordered::Object(entries) = &mut job {
            match entries.iter_mut().find(|(name, _)| name == key) {
                Some(entry) => entry.1 = value,
                None => {
                    let at = entries
                        .iter()
                        .position(|(name, _)| name == "web_url")
                        .expect("web_url");
                    entries.insert(at, (key.to_owned(), value));
                }
            }
        }
        job
    }

    #[test]
    fn a_well_formed_job_passes() {
        assert_eq!(job_shape(&job("pending")), Ok(()));
    }

    #[test]
    fn wrong_jobs_are_rejected() {
        let text = |s: &str| Ordered::String(s.to_owned());
        let mut swapped = job("pending");
        if let Ordered::Object(entries) = &mut swapped {
            entries.swap(2, 3);
        }
        let mut extra = job("pending");
        if let Ordered::Object(entries) = &mut extra {
            entries.push(("surprise".into(), Ordered::Null));
        }
        let mut missing = job("pending");
        if let Ordered::Object(entries) = &mut missing {
            entries.retain(|(key, _)| key != "runner_manager");
        }
        let cases = [
            ("keys out of order", swapped),
            ("extra key", extra),
            ("missing key", missing),
            (
                "failure_reason on a pending job",
                with(job("pending"), "failure_reason", text("script_failure")),
            ),
            (
                "failed without failure_reason",
                with(
                    job("failed"),
                    "finished_at",
                    text("2026-01-02T03:04:05.678Z"),
                ),
            ),
            ("unknown status", job("exploded")),
            ("id as string", with(job("pending"), "id", text("7"))),
            (
                "timestamp without millis",
                with(job("pending"), "created_at", text("2026-01-02T03:04:05Z")),
            ),
            (
                "unsorted tags",
                with(
                    job("pending"),
                    "tag_list",
                    Ordered::Array(vec![text("z"), text("a")]),
                ),
            ),
            (
                "pending job with started_at",
                with(
                    job("pending"),
                    "started_at",
                    text("2026-01-02T03:04:05.678Z"),
                ),
            ),
            (
                "bad web_url",
                with(
                    job("pending"),
                    "web_url",
                    text("http://pw.example/root/demo/-/jobs/8"),
                ),
            ),
        ];
        for (what, job) in cases {
            assert!(job_shape(&job).is_err(), "accepted: {what}");
        }
    }
}
