//! Round trips against JSON written from `spec/runner-protocol.md`: what the Go runner and
//! the Collabora crate send, and what GitLab answers.

use pipewright_protocol::*;
use serde_json::{Value, json};

fn round_trip<T>(value: &Value) -> T
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let parsed: T = serde_json::from_value(value.clone()).expect("parses");
    let again: T = serde_json::from_value(serde_json::to_value(&parsed).expect("serializes"))
        .expect("re-parses");
    assert_eq!(
        serde_json::to_value(&again).expect("serializes"),
        serde_json::to_value(&parsed).expect("serializes")
    );
    parsed
}

#[test]
fn go_job_request() {
    let body = json!({
        "token": "glrt-abc",
        "system_id": "s_0123456789ab",
        "last_update": "a1b2c3",
        "info": {
            "name": "gitlab-runner", "version": "19.4.0", "revision": "d79f3e7b",
            "platform": "linux", "architecture": "amd64", "executor": "shell", "shell": "bash",
            "features": {
                "variables": true, "image": false, "refspecs": true, "trace_reset": true,
                "trace_checksum": true, "trace_size": true, "cancelable": true,
                "cancel_gracefully": true, "two_phase_job_commit": true, "job_inputs": true,
                "return_exit_code": true, "a_flag_from_the_future": true
            },
            "config": {"gpus": ""},
            "labels": {"env": "prod"}
        },
        "session": {"url": "https://runner:8093/session/x", "certificate": "PEM", "authorization": "tok"}
    });
    let req: JobRequest = round_trip(&body);
    assert_eq!(req.token, "glrt-abc");
    assert_eq!(req.last_update.as_deref(), Some("a1b2c3"));
    let info = req.info.expect("info");
    assert_eq!(info.features.cancel_gracefully, Some(true));
    assert_eq!(info.features.image, Some(false));
    assert_eq!(info.features.multi_build_steps, None);
    assert_eq!(info.executor.as_deref(), Some("shell"));
    assert_eq!(
        req.session.and_then(|s| s.url).as_deref(),
        Some("https://runner:8093/session/x")
    );
}

#[test]
fn rust_crate_job_request_is_minimal() {
    let body = json!({
        "token": "glrt-abc",
        "system_id": "r_0123456789ab",
        "info": {"features": {"refspecs": true, "upload_multiple_artifacts": true}}
    });
    let req: JobRequest = round_trip(&body);
    assert_eq!(serde_json::to_value(&req).expect("serializes"), body);
    assert!(req.last_update.is_none());
}

#[test]
fn features_serialize_only_what_is_set() {
    let features = Features {
        refspecs: Some(true),
        cancelable: Some(true),
        ..Features::default()
    };
    assert_eq!(
        serde_json::to_value(&features).expect("serializes"),
        json!({"refspecs": true, "cancelable": true})
    );
    let info: RunnerInfo = serde_json::from_value(json!({"features": null})).expect("parses");
    assert_eq!(info.features, Features::default());
}

#[test]
fn verify_request_and_response() {
    let req: VerifyRequest = round_trip(&json!({
        "token": "glrt-abc", "system_id": "s_0123456789ab",
        "info": {"features": {"cancel_gracefully": true}}
    }));
    assert_eq!(req.system_id.as_deref(), Some("s_0123456789ab"));

    let resp = VerifyResponse {
        id: 7,
        token: "glrt-abc".into(),
        token_expires_at: None,
    };
    // `token_expires_at` is always present, `null` when the token never expires.
    assert_eq!(
        serde_json::to_value(&resp).expect("serializes"),
        json!({"id": 7, "token": "glrt-abc", "token_expires_at": null})
    );
    let back: VerifyResponse = serde_json::from_value(json!({
        "id": 7, "token": "glrt-abc", "token_expires_at": "2026-12-01T00:00:00Z"
    }))
    .expect("parses");
    assert_eq!(
        back.token_expires_at.as_deref(),
        Some("2026-12-01T00:00:00Z")
    );
}

#[test]
fn legacy_register_and_delete() {
    let req: RegisterRequest = round_trip(&json!({
        "token": "GR1348941xyz", "description": "box", "tag_list": "docker,linux",
        "run_untagged": false, "locked": true, "access_level": "ref_protected",
        "maximum_timeout": 3600, "paused": false, "info": {"name": "gitlab-runner"}
    }));
    assert_eq!(req.tag_list.as_deref(), Some("docker,linux"));
    let del: DeleteRunnerRequest = round_trip(&json!({"token": "glrt-abc", "system_id": "s_1"}));
    assert_eq!(del.system_id.as_deref(), Some("s_1"));
}

/// The spec's minimal payload that satisfies both clients (§5.4).
fn spec_payload() -> Value {
    json!({
      "id": 1042,
      "token": "glcbt-1_Zx9",
      "allow_git_fetch": true,
      "job_info": {"id": 1042, "name": "test 1/2", "stage": "test", "pipeline_id": 77,
                   "project_id": 5, "project_name": "app", "project_full_path": "team/app",
                   "project_jobs_running_on_instance_runners_count": "+Inf",
                   "time_in_queue_seconds": 1.5},
      "git_info": {"repo_url": "https://gitlab-ci-token:glcbt-1_Zx9@ci.example/team/app.git",
                   "ref": "main", "sha": "0123456789012345678901234567890123456789",
                   "before_sha": "0000000000000000000000000000000000000000",
                   "ref_type": "branch", "depth": 20, "repo_object_format": "sha1",
                   "refspecs": ["+refs/pipelines/77:refs/pipelines/77",
                                "+refs/heads/main:refs/remotes/origin/main"],
                   "protected": false},
      "runner_info": {"timeout": 3600, "runner_session_url": null},
      "variables": [{"key": "CI_JOB_ID", "value": "1042", "public": true, "masked": false},
                    {"key": "CI_JOB_TOKEN", "value": "glcbt-1_Zx9", "public": false, "masked": true},
                    {"key": "KUBECONFIG", "value": "cfg", "public": false, "masked": false, "file": true},
                    {"key": "STEPS", "value": "$X", "public": true, "masked": false, "raw": true},
                    {"key": "CI_JOB_ID", "value": "override", "public": true, "masked": false}],
      "steps": [{"name": "script", "script": ["make test"], "timeout": 3600,
                 "when": "on_success", "allow_failure": false},
                {"name": "after_script", "script": ["make clean"], "timeout": 3600,
                 "when": "always", "allow_failure": true}],
      "image": {"name": "rust:1.80", "entrypoint": null, "ports": []},
      "services": [{"name": "postgres:16", "entrypoint": null, "ports": [{"number": 5432}],
                    "alias": "db,pg", "command": ["postgres"],
                    "variables": [{"key": "A", "value": "b", "public": true, "masked": false}]}],
      "artifacts": [{"name": null, "untracked": false, "paths": ["target/report"],
                     "when": "on_success", "expire_in": "1 week",
                     "artifact_type": "archive", "artifact_format": "zip"},
                    {"name": "junit.xml", "untracked": false, "paths": ["report.xml"],
                     "exclude": ["*.tmp"], "when": "always", "expire_in": "1 week",
                     "artifact_type": "junit", "artifact_format": "gzip"}],
      "cache": [{"key": "default", "untracked": false, "paths": ["vendor/"],
                 "policy": "pull-push", "when": "on_success", "fallback_keys": []}],
      "credentials": [{"type": "registry", "url": "ci.example:5050",
                       "username": "gitlab-ci-token", "password": "glcbt-1_Zx9"}],
      "dependencies": [{"id": 1040, "name": "build", "token": "glcbt-1_Zx9",
                        "artifacts_file": {"filename": "artifacts.zip", "size": 12345}},
                       {"id": 1041, "name": "lint", "token": "glcbt-1_Zx9"}],
      "features": {"trace_sections": true,
                   "failure_reasons": ["unknown_failure", "script_failure", "runner_system_failure",
                                       "job_execution_timeout", "image_pull_failure",
                                       "runner_configuration_error",
                                       "runner_external_dependency_failure", "runner_interrupted"]},
      "hooks": [{"name": "pre_get_sources_script", "script": ["echo pre"]}]
    })
}

#[test]
fn job_payload_from_the_spec_round_trips_exactly() {
    let body = spec_payload();
    let job: JobResponse = round_trip(&body);
    // Everything the spec example carries survives unchanged, key for key.
    assert_eq!(serde_json::to_value(&job).expect("serializes"), body);

    assert_eq!(job.git_info.r#ref, "main");
    assert_eq!(job.git_info.refspecs.len(), 2);
    assert_eq!(job.variable("CI_JOB_ID"), Some("override"));
    assert_eq!(job.variable("NOPE"), None);
    assert!(job.variables[2].file && !job.variables[2].raw);
    let script = job.step(step::SCRIPT).expect("script step");
    assert_eq!(script.when, When::OnSuccess);
    assert_eq!(script.timeout, 3600);
    let after = job.step(step::AFTER_SCRIPT).expect("after_script step");
    assert!(after.allow_failure);
    assert_eq!(after.when, When::Always);
    let artifacts = job.artifacts.as_ref().expect("artifacts");
    assert_eq!(artifacts[1].artifact_format, Some(ArtifactFormat::Gzip));
    assert!(job.dependencies[1].artifacts_file.is_none());
    assert_eq!(job.features.failure_reasons, RUNNER_FAILURE_REASONS);
    assert_eq!(job.services[0].alias.as_deref(), Some("db,pg"));
}

#[test]
fn job_payload_always_carries_the_keys_clients_require() {
    let job = JobResponse {
        id: 1,
        token: "glcbt-x".into(),
        ..JobResponse::default()
    };
    let value = serde_json::to_value(&job).expect("serializes");
    let object = value.as_object().expect("object");
    for key in [
        "id",
        "token",
        "allow_git_fetch",
        "job_info",
        "git_info",
        "runner_info",
        "variables",
        "steps",
        "image",
        "services",
        "artifacts",
        "cache",
        "credentials",
        "dependencies",
        "features",
    ] {
        assert!(object.contains_key(key), "missing {key}");
    }
    assert_eq!(value["artifacts"], Value::Null);
    assert_eq!(value["image"], Value::Null);
    assert_eq!(value["dependencies"], json!([]));
    assert_eq!(value["variables"], json!([]));
    assert_eq!(
        value["runner_info"],
        json!({"timeout": 0, "runner_session_url": null})
    );
    assert_eq!(value["git_info"]["repo_object_format"], "sha1");
    assert!(value["git_info"].get("ref").is_some());
    // Variables: all four basic keys, `file`/`raw` only when true.
    assert_eq!(
        serde_json::to_value(JobVariable::secret("CI_JOB_TOKEN", "t")).expect("serializes"),
        json!({"key": "CI_JOB_TOKEN", "value": "t", "public": false, "masked": true})
    );
    // Steps: all five keys.
    let step = Step {
        name: step::SCRIPT.into(),
        script: vec!["true".into()],
        timeout: 60,
        ..Step::default()
    };
    assert_eq!(
        serde_json::to_value(&step).expect("serializes"),
        json!({"name": "script", "script": ["true"], "timeout": 60,
               "when": "on_success", "allow_failure": false})
    );
}

#[test]
fn lenient_job_payload_parsing() {
    // null arrays, null variable values, unknown keys and enum values.
    let job: JobResponse = serde_json::from_value(json!({
        "id": 3, "token": "t", "allow_git_fetch": false,
        "job_info": {"id": 3, "name": "n", "stage": "s", "project_id": 1, "project_name": "p"},
        "git_info": {"repo_url": "file:///r", "ref": "main", "sha": "abc", "before_sha": "000",
                     "ref_type": "branch", "refspecs": null, "depth": 0},
        "runner_info": {"timeout": 10},
        "variables": [{"key": "A", "value": null, "public": true, "masked": false}],
        "steps": [{"name": "release", "script": ["x"], "timeout": 1, "when": "sometimes",
                   "allow_failure": false}],
        "image": null, "services": null, "artifacts": null, "cache": null,
        "credentials": null, "dependencies": null, "secrets": {}, "inputs": []
    }))
    .expect("parses");
    assert_eq!(job.variables[0].value, "");
    assert!(job.git_info.refspecs.is_empty());
    assert_eq!(job.steps[0].when, When::Unknown);
    assert!(job.services.is_empty() && job.dependencies.is_empty());
    assert_eq!(job.runner_info.runner_session_url, None);
}

#[test]
fn go_final_update() {
    let body = json!({
        "token": "glcbt-1_Zx9",
        "state": "failed",
        "failure_reason": "script_failure",
        "exit_code": 3,
        "checksum": "crc32:0a1b2c3d",
        "output": {"checksum": "crc32:0a1b2c3d", "bytesize": 12345},
        "info": {"name": "gitlab-runner", "features": {"cancelable": true}}
    });
    let update: UpdateJobRequest = round_trip(&body);
    assert_eq!(serde_json::to_value(&update).expect("serializes"), body);
    assert_eq!(update.state, JobState::Failed);
    assert!(update.state.is_final());
    assert_eq!(update.exit_code, Some(3));
    assert_eq!(update.reported_checksum(), Some("crc32:0a1b2c3d"));
}

#[test]
fn rust_keepalive_and_odd_states() {
    let update: UpdateJobRequest = round_trip(&json!({"token": "t", "state": "running"}));
    assert_eq!(update.state, JobState::Running);
    assert!(!update.state.is_final());
    assert_eq!(update.reported_checksum(), None);

    let missing: UpdateJobRequest = serde_json::from_value(json!({"token": "t"})).expect("parses");
    assert_eq!(missing.state, JobState::Unknown);
    let odd: UpdateJobRequest =
        serde_json::from_value(json!({"state": "exploded"})).expect("parses");
    assert_eq!(odd.state, JobState::Unknown);
    let pending: UpdateJobRequest =
        serde_json::from_value(json!({"token": "t", "state": "pending"})).expect("parses");
    assert_eq!(pending.state.as_str(), "pending");

    let legacy: UpdateJobRequest = serde_json::from_value(json!({
        "token": "t", "state": "success", "checksum": "crc32:00000001"
    }))
    .expect("parses");
    assert_eq!(legacy.reported_checksum(), Some("crc32:00000001"));
}

#[test]
fn header_names_are_lowercase_for_from_static() {
    for name in [
        header::JOB_TOKEN,
        header::RUNNER_TOKEN,
        header::JOB_STATUS,
        header::RANGE,
        header::CONTENT_RANGE,
        header::LAST_UPDATE,
        header::TRACE_UPDATE_INTERVAL,
        header::BUILDS_POLLING,
    ] {
        assert_eq!(name, name.to_ascii_lowercase());
    }
    assert!(header::JOB_STATUS.eq_ignore_ascii_case("Job-Status"));
    assert!(header::LAST_UPDATE.eq_ignore_ascii_case("X-GitLab-Last-Update"));
}
