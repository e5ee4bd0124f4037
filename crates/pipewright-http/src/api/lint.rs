//! `POST /projects/:id/ci/lint`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use pipewright_core::{App, lint, projects};
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::params::Params;

/// GitLab's lint answer: `{valid, errors, warnings, merged_yaml, includes}` plus `jobs`
/// when `include_jobs` is set. `dry_run` is accepted; rules are always evaluated.
pub async fn lint_project(
    State(app): State<App>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    actor.require_user()?;
    let content = params.required_string("content")?;
    params.bool("dry_run")?;
    let include_jobs = params.bool("include_jobs")?.unwrap_or(false);
    let ref_name = params.string("ref")?;
    let access = projects::find_project(&app, &actor, &id).await?;
    let result = lint::lint(&app, &actor, &access, content, ref_name).await?;
    let mut body = json!({
        "valid": result.valid,
        "errors": result.errors,
        "warnings": result.warnings,
        "merged_yaml": result.merged_yaml,
        "includes": result.includes,
    });
    if include_jobs && let Value::Object(map) = &mut body {
        map.insert("jobs".into(), json!(result.jobs));
    }
    Ok(Json(body).into_response())
}
