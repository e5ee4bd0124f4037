//! Parallel expansion: `rspec` with `parallel: 3` becomes `rspec 1/3` ..., and `needs` /
//! `dependencies` naming it are rewritten to every instance.

use std::collections::HashMap;

use crate::error::{Result, invalid};
use crate::fields;
use crate::job::JobSpec;
use crate::model::{ParallelInstance, Variable};
use crate::needs::NeedSpec;
use crate::parallel;

/// A job after expansion, remembering the name it was written under.
#[derive(Debug, Clone)]
pub(crate) struct Expanded {
    pub spec: JobSpec,
    /// Needs after rewriting (job names are concrete instance names).
    pub needs: Option<Vec<NeedSpec>>,
}

pub(crate) fn expand(jobs: Vec<JobSpec>) -> Result<Vec<Expanded>> {
    // Written name → instance names, for rewriting references.
    let mut instances_of: HashMap<String, Vec<String>> = HashMap::new();
    let mut out = Vec::new();
    for job in jobs {
        match &job.parallel {
            None => {
                instances_of.insert(job.name.clone(), vec![job.name.clone()]);
                out.push(job);
            }
            Some(spec) => {
                let instances = parallel::instances(&job.name, spec);
                instances_of.insert(
                    job.name.clone(),
                    instances.iter().map(|i| i.name.clone()).collect(),
                );
                for instance in instances {
                    let mut copy = job.clone();
                    copy.name = instance.name;
                    copy.options.parallel = Some(ParallelInstance {
                        index: instance.index,
                        total: instance.total,
                    });
                    for (key, value) in instance.variables {
                        fields::upsert(
                            &mut copy.options.variables,
                            Variable {
                                key,
                                value,
                                raw: false,
                            },
                        );
                    }
                    out.push(copy);
                }
            }
        }
    }
    out.into_iter()
        .map(|mut spec| {
            let needs = spec
                .needs
                .as_ref()
                .map(|needs| rewrite_needs(&spec.name, needs, &instances_of))
                .transpose()?;
            if let Some(rules) = spec.rules.as_mut() {
                for rule in rules.iter_mut() {
                    if let Some(needs) = &rule.needs {
                        rule.needs = Some(rewrite_needs(&spec.name, needs, &instances_of)?);
                    }
                }
            }
            if let Some(deps) = &spec.options.dependencies {
                spec.options.dependencies = Some(
                    deps.iter()
                        .flat_map(|d| {
                            instances_of
                                .get(d)
                                .cloned()
                                .unwrap_or_else(|| vec![d.clone()])
                        })
                        .collect(),
                );
            }
            Ok(Expanded { spec, needs })
        })
        .collect()
}

fn rewrite_needs(
    job: &str,
    needs: &[NeedSpec],
    instances_of: &HashMap<String, Vec<String>>,
) -> Result<Vec<NeedSpec>> {
    let mut out = Vec::new();
    for need in needs {
        let names = match (&need.matrix, instances_of.get(&need.job)) {
            (Some(rows), Some(known)) => {
                let wanted = parallel::selected_names(&need.job, rows);
                if let Some(missing) = wanted.iter().find(|w| !known.contains(w)) {
                    if need.optional {
                        continue;
                    }
                    return Err(invalid(format!("{job} job: undefined need: {missing}")));
                }
                wanted
            }
            (None, Some(known)) => known.clone(),
            // Unknown names stay as written; validation reports them.
            (_, None) => vec![need.job.clone()],
        };
        for name in names {
            out.push(NeedSpec {
                job: name,
                artifacts: need.artifacts,
                optional: need.optional,
                matrix: None,
            });
        }
    }
    Ok(out)
}
