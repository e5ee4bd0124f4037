//! Checks across jobs, run after expansion (GitLab's "logical validations"):
//! stages exist, `dependencies`/`needs` name earlier-or-same-stage jobs, no cycles.

use std::collections::HashMap;

use crate::error::{Result, invalid};
use crate::needs::NeedSpec;
use crate::normalize::Expanded;

pub(crate) fn validate(stages: &[String], jobs: &[Expanded]) -> Result<()> {
    let stage_of: HashMap<&str, Option<usize>> = jobs
        .iter()
        .map(|j| {
            (
                j.spec.name.as_str(),
                stages.iter().position(|s| *s == j.spec.stage),
            )
        })
        .collect();

    for job in jobs {
        let name = job.spec.name.as_str();
        let Some(own_idx) = stage_of.get(name).copied().flatten() else {
            return Err(invalid(format!(
                "{name} job: chosen stage {} does not exist; available stages are {}",
                job.spec.stage,
                stages.join(", ")
            )));
        };
        check_on_stop(name, job, jobs)?;
        let artifact_jobs = job
            .spec
            .options
            .trigger
            .iter()
            .flat_map(|t| t.include_artifacts.iter().map(|a| a.job.as_str()));
        for dep in artifact_jobs {
            check_reference(name, own_idx, dep, "dependency", false, &stage_of)?;
        }
        if let Some(deps) = &job.spec.options.dependencies {
            for dep in deps {
                check_reference(name, own_idx, dep, "dependency", false, &stage_of)?;
            }
            if let Some(needs) = &job.needs {
                let missing: Vec<&str> = deps
                    .iter()
                    .filter(|d| !needs.iter().any(|n| n.job == **d))
                    .map(String::as_str)
                    .collect();
                if !missing.is_empty() {
                    return Err(invalid(format!(
                        "jobs:{name} dependencies the {} should be part of needs",
                        missing.join(", ")
                    )));
                }
            }
        }
        if let Some(needs) = &job.needs {
            check_needs(name, own_idx, needs, &stage_of)?;
        }
        for rule in job.spec.rules.iter().flatten() {
            if let Some(needs) = &rule.needs {
                check_needs(name, own_idx, needs, &stage_of)?;
            }
        }
    }
    check_cycles(jobs)
}

/// `environment:on_stop` must name a job stopping the same environment.
fn check_on_stop(name: &str, job: &Expanded, jobs: &[Expanded]) -> Result<()> {
    let Some(env) = &job.spec.options.environment else {
        return Ok(());
    };
    let Some(on_stop) = &env.on_stop else {
        return Ok(());
    };
    let Some(stop_job) = jobs.iter().find(|j| j.spec.name == *on_stop) else {
        return Err(invalid(format!(
            "{name} job: on_stop job {on_stop} is not defined"
        )));
    };
    let Some(stop_env) = &stop_job.spec.options.environment else {
        return Err(invalid(format!(
            "{name} job: on_stop job {on_stop} does not have environment defined"
        )));
    };
    if stop_env.name != env.name {
        return Err(invalid(format!(
            "{name} job: on_stop job {on_stop} have different environment name"
        )));
    }
    if stop_env.action != "stop" {
        return Err(invalid(format!(
            "{name} job: on_stop job {on_stop} needs to have action stop defined"
        )));
    }
    Ok(())
}

fn check_needs(
    name: &str,
    own_idx: usize,
    needs: &[NeedSpec],
    stage_of: &HashMap<&str, Option<usize>>,
) -> Result<()> {
    for need in needs {
        check_reference(name, own_idx, &need.job, "need", need.optional, stage_of)?;
    }
    let mut duplicated: Vec<&str> = Vec::new();
    for (i, need) in needs.iter().enumerate() {
        if needs[..i].iter().any(|n| n.job == need.job) && !duplicated.contains(&need.job.as_str())
        {
            duplicated.push(&need.job);
        }
    }
    if !duplicated.is_empty() {
        return Err(invalid(format!(
            "{name} has the following needs duplicated: {}.",
            duplicated.join(", ")
        )));
    }
    Ok(())
}

fn check_reference(
    name: &str,
    own_idx: usize,
    target: &str,
    kind: &str,
    optional: bool,
    stage_of: &HashMap<&str, Option<usize>>,
) -> Result<()> {
    match stage_of.get(target) {
        None if optional => Ok(()),
        None => Err(invalid(format!("{name} job: undefined {kind}: {target}"))),
        Some(idx) if idx.is_some_and(|i| i <= own_idx) => Ok(()),
        Some(_) => Err(invalid(format!(
            "{name} job: {kind} {target} is not defined in current or prior stages"
        ))),
    }
}

/// Depth-first search over `needs` edges.
fn check_cycles(jobs: &[Expanded]) -> Result<()> {
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.spec.name.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = jobs
        .iter()
        .map(|j| {
            j.needs
                .iter()
                .flatten()
                .filter_map(|n| index.get(n.job.as_str()).copied())
                .collect()
        })
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; jobs.len()];
    for start in 0..jobs.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = 1;
        while let Some((node, next)) = stack.pop() {
            if let Some(&target) = edges[node].get(next) {
                stack.push((node, next + 1));
                match state[target] {
                    1 => return Err(invalid("The pipeline has circular dependencies")),
                    0 => {
                        state[target] = 1;
                        stack.push((target, 0));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
            }
        }
    }
    Ok(())
}
