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

/// Random YAML trees over CI keys and values, serialized, so most inputs parse and reach
/// the deeper steps (extends, rules, needs, parallel).
fn tree() -> impl Strategy<Value = String> {
    use serde_norway::{Mapping, Value};
    let leaf = prop::sample::select(vec![
        Value::Null,
        Value::Bool(true),
        Value::Bool(false),
        Value::Number(2.into()),
        Value::Number(300.into()),
        Value::String("echo".into()),
        Value::String("build".into()),
        Value::String(".tmpl".into()),
        Value::String("manual".into()),
        Value::String("delayed".into()),
        Value::String("1 week".into()),
        Value::String("$CI_COMMIT_BRANCH == \"main\" || $X =~ /a(b/".into()),
        Value::String("**/*.rs".into()),
        Value::String("job".into()),
        Value::String("test".into()),
        Value::String("/re/".into()),
    ]);
    let key = prop::sample::select(vec![
        "job",
        ".tmpl",
        "script",
        "stage",
        "stages",
        "when",
        "rules",
        "if",
        "changes",
        "exists",
        "needs",
        "optional",
        "extends",
        "parallel",
        "matrix",
        "variables",
        "value",
        "expand",
        "image",
        "name",
        "services",
        "default",
        "include",
        "local",
        "only",
        "except",
        "refs",
        "artifacts",
        "reports",
        "junit",
        "trigger",
        "include",
        "strategy",
        "retry",
        "max",
        "timeout",
        "tags",
        "allow_failure",
        "exit_codes",
        "start_in",
        "environment",
        "workflow",
        "dependencies",
        "inherit",
        "coverage",
        "resource_group",
        "interruptible",
        "A",
    ]);
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Sequence),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|pairs| {
                let mut map = Mapping::new();
                for (k, v) in pairs {
                    map.insert(Value::String(k.to_owned()), v);
                }
                Value::Mapping(map)
            }),
        ]
    })
    .prop_map(|value| serde_norway::to_string(&value).unwrap_or_default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn plan_never_panics_on_yamlish_input(source in yamlish()) {
        let _ = plan(&source, &ctx());
    }

    #[test]
    fn plan_never_panics_on_random_trees(source in tree()) {
        let _ = plan(&source, &ctx());
    }

    #[test]
    fn plan_never_panics_on_arbitrary_text(source in ".{0,400}") {
        let _ = plan(&source, &ctx());
    }
}
