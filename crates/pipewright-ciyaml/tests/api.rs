//! The public API as the server uses it.

use std::collections::HashMap;

use pipewright_ciyaml::{ErrorKind, NoFiles, PipelineContext, PipelinePlan, When, plan};

fn branch_push() -> Vec<(String, String)> {
    vec![
        ("CI_PIPELINE_SOURCE".to_owned(), "push".to_owned()),
        ("CI_COMMIT_BRANCH".to_owned(), "main".to_owned()),
        ("CI_COMMIT_REF_NAME".to_owned(), "main".to_owned()),
    ]
}

fn plan_ok(source: &str) -> PipelinePlan {
    let ctx = PipelineContext {
        variables: branch_push(),
        changed_paths: None,
        files: &NoFiles,
        inputs: Default::default(),
    };
    match plan(source, &ctx) {
        Ok(plan) => plan,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[test]
fn plan_round_trips_through_json() {
    let plan = plan_ok(
        "build:\n  script: make\n  parallel: 2\n  artifacts:\n    reports:\n      junit: r.xml\n\
         deploy:\n  stage: deploy\n  needs: [build]\n  when: manual\n  script: deploy\n  environment: prod\n",
    );
    let json = serde_json::to_string(&plan).expect("serializes");
    let back: PipelinePlan = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, plan);
    assert_eq!(plan.jobs.len(), 3);
    assert_eq!(plan.jobs[2].when, When::Manual);
    assert!(plan.jobs[2].allow_failure);
    let needs: Vec<&str> = plan.jobs[2]
        .needs
        .iter()
        .flatten()
        .map(|n| n.job.as_str())
        .collect();
    assert_eq!(needs, ["build 1/2", "build 2/2"]);
}

#[test]
fn node_variables_for_parallel_and_plain_jobs() {
    let plan = plan_ok("a:\n  script: x\n  parallel: 2\nb:\n  script: y\n");
    assert_eq!(
        plan.jobs[1].node_variables(),
        [
            ("CI_NODE_INDEX".to_owned(), "2".to_owned()),
            ("CI_NODE_TOTAL".to_owned(), "2".to_owned())
        ]
    );
    assert_eq!(
        plan.jobs[2].node_variables(),
        [("CI_NODE_TOTAL".to_owned(), "1".to_owned())]
    );
}

#[test]
fn error_kinds_separate_invalid_from_filtered() {
    let ctx = PipelineContext {
        variables: branch_push(),
        changed_paths: None,
        files: &NoFiles,
        inputs: Default::default(),
    };
    let kind = |source: &str| plan(source, &ctx).err().map(|e| e.kind());
    assert_eq!(kind("build:\n  scirpt: x\n"), Some(ErrorKind::Invalid));
    assert_eq!(
        kind("workflow:\n  rules:\n    - if: $CI_COMMIT_TAG\nbuild:\n  script: x\n"),
        Some(ErrorKind::FilteredOut)
    );
    assert_eq!(
        kind("build:\n  script: x\n  rules:\n    - if: $CI_COMMIT_TAG\n"),
        Some(ErrorKind::Empty)
    );
    let err = plan("build:\n  scirpt: x\n  script: x\n", &ctx).err();
    assert_eq!(
        err.map(|e| e.to_string()),
        Some("jobs:build config contains unknown keys: scirpt".to_owned())
    );
}

#[test]
fn files_feed_include_and_exists() {
    let mut files = HashMap::new();
    files.insert(
        "ci/jobs.yml".to_owned(),
        "lint:\n  script: lint\n".to_owned(),
    );
    files.insert("Cargo.toml".to_owned(), "[package]\n".to_owned());
    let ctx = PipelineContext {
        variables: branch_push(),
        changed_paths: Some(vec!["README.md".to_owned()]),
        files: &files,
        inputs: Default::default(),
    };
    let source = "include: /ci/jobs.yml\n\
                  rust:\n  script: cargo test\n  rules:\n    - exists: [Cargo.toml]\n\
                  docs:\n  script: mdbook\n  rules:\n    - changes: [docs/**/*]\n";
    let names: Vec<String> = plan(source, &ctx)
        .map(|p| p.jobs.into_iter().map(|j| j.name).collect())
        .unwrap_or_default();
    assert_eq!(names, ["lint", "rust"]);
}

#[test]
fn alias_and_reference_bombs_end_with_an_error() {
    let ctx = PipelineContext {
        variables: branch_push(),
        changed_paths: None,
        files: &NoFiles,
        inputs: Default::default(),
    };
    let mut laughs = String::from(".l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        laughs.push_str(&format!(
            ".l{i}: &l{i} [*l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}, *l{p}]\n"
        ));
    }
    laughs.push_str("job:\n  script: *l9\n");
    assert!(plan(&laughs, &ctx).is_err());

    let mut refs = String::from(".r0: [x]\n");
    for i in 1..10 {
        let p = i - 1;
        let items = vec![format!("!reference [.r{p}]"); 10].join(", ");
        refs.push_str(&format!(".r{i}: [{items}]\n"));
    }
    refs.push_str("job:\n  script: !reference [.r9]\n");
    assert!(plan(&refs, &ctx).is_err());
}
