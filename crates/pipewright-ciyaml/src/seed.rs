//! Evaluates workflow rules and each job's rules / only / except against the pipeline,
//! and builds the plan of the jobs that remain.

use std::collections::HashMap;

use pipewright_domain::When;

use crate::PipelineContext;
use crate::error::{ConfigError, Result, invalid};
use crate::fields;
use crate::model::{JobPlan, Need, PipelinePlan, Variable};
use crate::normalize::Expanded;
use crate::policy::{self, Policy};
use crate::root::{Config, POST, PRE};
use crate::rules::{self, Context};

const MAX_NEEDS: usize = 50;

pub(crate) fn seed(
    config: Config,
    jobs: Vec<Expanded>,
    ctx: &PipelineContext<'_>,
) -> Result<PipelinePlan> {
    let rule_ctx = Context::new(ctx.changed_paths.as_deref(), ctx.files);
    let pipeline_vars: HashMap<String, String> = ctx.variables.iter().cloned().collect();

    let mut workflow_variables = Vec::new();
    let mut auto_cancel = config.workflow.auto_cancel.clone();
    if let Some(rules) = &config.workflow.rules {
        let vars = scope(&[], &config.variables, &pipeline_vars);
        match rules::first_match(rules, &vars, &rule_ctx)? {
            Some(rule) if rule.when != Some(When::Never) => {
                workflow_variables = rule.variables.clone();
                if rule.auto_cancel.is_some() {
                    auto_cancel = rule.auto_cancel.clone();
                }
            }
            _ => return Err(ConfigError::filtered_out()),
        }
    }
    let has_workflow_rules = config.workflow.rules.is_some();

    let mut planned: Vec<(JobPlan, Option<Vec<crate::needs::NeedSpec>>)> = Vec::new();
    for job in jobs {
        let spec = &job.spec;
        let mut variables = fields::merge_variables(
            &fields::merge_variables(&spec.globals, &workflow_variables),
            &spec.options.variables,
        );
        let predefined = [
            ("CI_JOB_NAME".to_owned(), spec.name.clone()),
            ("CI_JOB_STAGE".to_owned(), spec.stage.clone()),
        ];
        let vars = scope(&predefined, &variables, &pipeline_vars);

        let job_when = spec.when.unwrap_or_default();
        let mut when = job_when;
        // Without an explicit value, a job-level manual job may fail (GitLab's "optional").
        let mut allow_failure = spec.allow_failure.unwrap_or(job_when == When::Manual);
        let mut options = spec.options.clone();
        let mut needs = job.needs.clone();

        if let Some(job_rules) = &spec.rules {
            let matched = rules::first_match(job_rules, &vars, &rule_ctx).map_err(|e| {
                invalid(format!(
                    "Failed to parse rule for {}: {}",
                    spec.name,
                    e.message()
                ))
            })?;
            let Some(rule) = matched else {
                continue;
            };
            when = rule.when.unwrap_or(job_when);
            if when == When::Never {
                continue;
            }
            if let Some(af) = rule.allow_failure {
                allow_failure = af;
                options.allow_failure_exit_codes.clear();
            }
            if let Some((text, seconds)) = &rule.start_in {
                options.start_in = Some(text.clone());
                options.start_in_seconds = Some(*seconds);
            }
            if let Some(interruptible) = rule.interruptible {
                options.interruptible = interruptible;
            }
            if !rule.variables.is_empty() {
                variables = fields::merge_variables(&variables, &rule.variables);
            }
            if rule.needs.is_some() {
                needs = rule.needs.clone();
            }
        } else {
            let default_only = (!has_workflow_rules).then(Policy::default_only);
            let only = spec.only.clone().or(default_only);
            let included = only
                .as_ref()
                .is_none_or(|p| policy::all_match(p, &vars, &rule_ctx))
                && !spec
                    .except
                    .as_ref()
                    .is_some_and(|p| policy::any_match(p, &vars, &rule_ctx));
            if !included {
                continue;
            }
        }
        if when != When::Delayed {
            options.start_in = None;
            options.start_in_seconds = None;
        }
        options.variables = variables;
        let stage_idx = config
            .stages
            .iter()
            .position(|s| *s == spec.stage)
            .map_or(0, |i| i as i32);
        planned.push((
            JobPlan {
                name: spec.name.clone(),
                stage: spec.stage.clone(),
                stage_idx,
                when,
                allow_failure,
                needs: None,
                options,
            },
            needs,
        ));
    }

    let present: Vec<String> = planned.iter().map(|(j, _)| j.name.clone()).collect();
    let mut out_jobs = Vec::with_capacity(planned.len());
    for (mut job, needs) in planned {
        if let Some(needs) = needs {
            if needs.len() > MAX_NEEDS {
                return Err(invalid(format!(
                    "{}: one job can only need {MAX_NEEDS} others, but you have listed {}. See needs keyword documentation for more details",
                    job.name,
                    needs.len()
                )));
            }
            let mut kept = Vec::with_capacity(needs.len());
            for need in needs {
                if present.contains(&need.job) {
                    kept.push(Need {
                        job: need.job,
                        artifacts: need.artifacts,
                        optional: need.optional,
                    });
                } else if !need.optional {
                    return Err(invalid(format!(
                        "'{job}' job needs '{need}' job, but '{need}' does not exist in the pipeline. This might be because of the only, except, or rules keywords. To need a job that sometimes does not exist in the pipeline, use needs:optional.",
                        job = job.name,
                        need = need.job
                    )));
                }
            }
            job.needs = Some(kept);
        }
        if let Some(deps) = job.options.dependencies.as_mut() {
            deps.retain(|d| present.contains(d));
        }
        out_jobs.push(job);
    }

    let stages: Vec<String> = config
        .stages
        .iter()
        .filter(|s| out_jobs.iter().any(|j| j.stage == **s))
        .cloned()
        .collect();
    if stages.iter().all(|s| s == PRE || s == POST) {
        return Err(ConfigError::empty());
    }
    Ok(PipelinePlan {
        stages,
        jobs: out_jobs,
        name: config.workflow.name.clone(),
        auto_cancel,
        workflow_variables,
    })
}

/// Variables visible to `rules:if`: predefined job values, then YAML variables, then the
/// pipeline's own (predefined + user-given), later ones winning.
fn scope(
    predefined: &[(String, String)],
    yaml: &[Variable],
    pipeline: &HashMap<String, String>,
) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = predefined.iter().cloned().collect();
    for v in yaml {
        vars.insert(v.key.clone(), v.value.clone());
    }
    vars.extend(pipeline.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars
}
