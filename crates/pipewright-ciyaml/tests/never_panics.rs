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
        inputs: Default::default(),
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

/// A `spec:inputs` header and a config document full of interpolation blocks, with random
/// pipeline inputs.
fn interpolated() -> impl Strategy<Value = (String, serde_json::Map<String, serde_json::Value>)> {
    let spec = prop::sample::select(vec![
        "",
        "default: x",
        "type: number",
        "type: boolean\n      default: true",
        "type: array\n      default: [a, b]",
        "options: [a, b]",
        "regex: '^v\\d+('",
        "regex: ^[a-z]+$\n      default: abc",
        "type: nope",
        "default: 1",
        "options: 3",
        "description: [x]",
    ]);
    let block = prop::sample::select(vec![
        "$[[ inputs.a ]]",
        "$[[ inputs.b | truncate(1,2) ]]",
        "$[[ inputs.a | expand_vars | posix_escape ]]",
        "$[[inputs.c|truncate(99999999999999999999999,1)]]",
        "$[[ inputs ]]",
        "$[[ inputs.a.b.c.d.e.f ]]",
        "$[[ matrix.x ]]",
        "$[[ inputs.a | f | g | h | i ]]",
        "$[[ inputs.a | truncate(1, ]]",
        "$[[ x ]]",
        "$[[ inputs.b ]] and $[[ inputs.a ]]",
        "$[[",
        "]]",
    ]);
    let arg = prop::sample::select(vec![
        serde_json::json!("v12"),
        serde_json::json!(3),
        serde_json::json!(true),
        serde_json::json!(["x", {"k": 1}]),
        serde_json::json!({"k": "v"}),
        serde_json::json!("[1, 2]"),
        serde_json::Value::Null,
    ]);
    let names = prop::sample::select(vec!["a", "b", "c"]);
    (
        prop::collection::vec((names.clone(), spec), 0..4),
        prop::collection::vec((0usize..3, block.clone(), block), 1..8),
        prop::collection::vec((names, arg), 0..3),
    )
        .prop_map(|(specs, lines, args)| {
            let mut text = String::from("spec:\n  inputs:\n");
            for (name, spec) in specs {
                text.push_str(&format!("    {name}:\n      {spec}\n"));
            }
            text.push_str("---\n");
            for (i, (indent, key, value)) in lines.into_iter().enumerate() {
                let indent = "  ".repeat(indent.min(i));
                text.push_str(&format!("{indent}\"{key}\": \"{value}\"\n"));
            }
            let args = args
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect();
            (text, args)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn interpolation_never_panics((source, inputs) in interpolated()) {
        let mut ctx = ctx();
        ctx.inputs = inputs;
        let _ = plan(&source, &ctx);
    }

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
