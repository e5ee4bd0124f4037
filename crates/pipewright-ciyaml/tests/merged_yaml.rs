//! `merged_yaml` (the lint API's view of a configuration) snapshot-tested on fixtures:
//! includes merged under the file, `extends` and `!reference` resolved, `.pre`/`.post` added.

use std::collections::HashMap;

use pipewright_ciyaml::{PipelineContext, merged_yaml};

fn merged(source: &str, files: &[(&str, &str)]) -> Option<String> {
    let files: HashMap<String, String> = files
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    let ctx = PipelineContext {
        variables: vec![("CI_COMMIT_BRANCH".to_owned(), "main".to_owned())],
        changed_paths: None,
        files: &files,
        inputs: Default::default(),
    };
    merged_yaml(source, &ctx)
}

#[test]
fn includes_extends_and_references_are_resolved() {
    let source = "\
include:
  - local: ci/base.yml
stages: [build, test]
.defaults:
  image: ruby
  script: [echo default]
unit:
  extends: .defaults
  stage: test
  script: !reference [.setup, script]
";
    let base = "\
.setup:
  script: [bundle install]
build:
  stage: build
  script: make
";
    insta::assert_snapshot!(merged(source, &[("ci/base.yml", base)]).unwrap_or_default());
}

#[test]
fn a_config_failing_validation_still_has_its_merged_yaml() {
    let text = merged("job:\n  stage: build\n", &[]);
    assert_eq!(text.as_deref(), Some("---\njob:\n  stage: build\n"));
}

#[test]
fn no_merged_yaml_when_the_config_cannot_be_built() {
    assert_eq!(merged("a: [", &[]), None);
    assert_eq!(merged("include: missing.yml\n", &[]), None);
    assert_eq!(merged("a:\n  extends: .nope\n  script: x\n", &[]), None);
}

#[test]
fn edge_stages_are_added_once() {
    let text = merged(
        "stages: [.pre, build]\nb:\n  stage: build\n  script: x\n",
        &[],
    );
    assert_eq!(
        text.as_deref(),
        Some("---\nstages:\n- .pre\n- build\n- .post\nb:\n  stage: build\n  script: x\n")
    );
}

#[test]
fn includes_are_listed_in_the_order_they_were_read() {
    let files: HashMap<String, String> = [
        ("ci/a.yml", "include: ci/nested.yml\na:\n  script: x\n"),
        ("ci/nested.yml", "n:\n  script: x\n"),
        ("ci/b.yml", "b:\n  script: x\n"),
    ]
    .iter()
    .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
    .collect();
    let ctx = PipelineContext {
        variables: Vec::new(),
        changed_paths: None,
        files: &files,
        inputs: Default::default(),
    };
    let merged = pipewright_ciyaml::merged("include: [/ci/a.yml, ci/b.yml]\n", &ctx);
    let locations: Vec<(String, String)> = merged
        .map(|m| m.includes)
        .unwrap_or_default()
        .into_iter()
        .map(|file| (file.kind, file.location))
        .collect();
    assert_eq!(
        locations,
        [
            ("local".to_owned(), "ci/a.yml".to_owned()),
            ("local".to_owned(), "ci/nested.yml".to_owned()),
            ("local".to_owned(), "ci/b.yml".to_owned()),
        ]
    );
}
