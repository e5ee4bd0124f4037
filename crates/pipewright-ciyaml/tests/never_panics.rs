//! `plan` must answer (plan or error) for any input, never panic.

use pipewright_ciyaml::{NoFiles, PipelineContext, plan};
use proptest::prelude::*;

fn ctx() -> PipelineContext<'static> {
    PipelineContext {
        variables: vec![
            ("CI_PIPELINE_SOURCE".to_owned(), "push".to_owned()),
            ("CI_COMMIT_BRANCH".to_owned(), "main".to_owned()),
        ],
        changed_paths: Some(vec!["a.md".to_owned()]),
        files: &NoFiles,
    }
}

/// Lines built from CI-ish keys and values, so the generator reaches deep validation.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "stages",
        "build",
        ".tmpl",
        "script",
        "stage",
        "when",
        "rules",
        "- if",
        "needs",
        "extends",
        "parallel",
        "matrix",
        "variables",
        "image",
        "services",
        "default",
        "include",
        "only",
        "except",
        "artifacts",
        "trigger",
        "retry",
        "timeout",
        "tags",
        "<<",
        "- job",
        "allow_failure",
        "start_in",
        "environment",
        "workflow",
        "changes",
        "exists",
        "dependencies",
    ]);
    let value = prop::sample::select(vec![
        "",
        "echo hi",
        "[a, b]",
        "3",
        "manual",
        "delayed",
        "'$CI == \"x\" && ($A || $B =~ /y/i)'",
        "{ job: build, optional: true }",
        "&a",
        "*a",
        "!reference [.tmpl, script]",
        "[]",
        "{}",
        "null",
        "true",
        "1h 30m",
        "[build, test]",
        "[{A: [x, y], B: z}]",
        "test",
        ".pre",
    ]);
    let line = (0usize..4, key, value)
        .prop_map(|(indent, k, v)| format!("{}{k}: {v}", "  ".repeat(indent)));
    prop::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn plan_never_panics_on_yamlish_input(source in yamlish()) {
        let _ = plan(&source, &ctx());
    }

    #[test]
    fn plan_never_panics_on_arbitrary_text(source in ".{0,400}") {
        let _ = plan(&source, &ctx());
    }
}
