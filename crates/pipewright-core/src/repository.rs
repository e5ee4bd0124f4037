//! Repository writes (the Commits API, pushes) and the pipelines they start.

use std::collections::BTreeMap;

use pipewright_git::{Commit, CommitRequest};
use pipewright_store::model::{Project, User};

use crate::App;
use crate::abilities::ProjectAccess;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::pipelines::{NewPipelineRequest, OnConfigError, ZERO_SHA, create_pipeline};

/// `POST /projects/:id/repository/commits`: commits the actions and, like a push, starts a
/// pipeline for the branch.
pub async fn create_commit(
    app: &App,
    actor: &Actor,
    access: &ProjectAccess,
    mut request: CommitRequest,
) -> Result<Commit> {
    let user = actor.require_user()?.clone();
    actor.require_write_scope()?;
    // GitLab's `authorize_push_to_branch!`: role and protected-branch rules in one answer.
    if !crate::protected_refs::may_push_branch(app, access, &request.branch).await? {
        return Err(Error::forbidden_because(
            "You are not allowed to push into this branch",
        ));
    }
    if request.author_name.is_empty() {
        request.author_name = user.name.clone();
    }
    if request.author_email.is_empty() {
        request.author_email = user.email.clone();
    }
    request.committer = Some((user.name.clone(), user.email.clone()));
    let repo = app.repository(access.project.id);
    let branch = request.branch.clone();
    let (before, commit) = tokio::task::spawn_blocking(move || {
        let before = repo
            .resolve(&format!("refs/heads/{}", request.branch))
            .ok()
            .flatten();
        let commit = repo.create_commit(&request);
        (before, commit)
    })
    .await?;
    let commit = commit.map_err(|err| {
        if err.is_user_error() {
            Error::message(400, err.to_string())
        } else {
            Error::internal(err)
        }
    })?;
    start_push_pipeline(
        app,
        &access.project,
        &user,
        &branch,
        before.as_deref(),
        &commit.id,
    )
    .await;
    Ok(commit)
}

/// After a smart-HTTP push: one pipeline per updated branch or tag, as GitLab does.
pub async fn after_push(
    app: &App,
    project: &Project,
    user: &User,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) {
    for (full_ref, sha) in after {
        let old = before.get(full_ref);
        if old == Some(sha) {
            continue;
        }
        let short = full_ref
            .strip_prefix("refs/heads/")
            .or_else(|| full_ref.strip_prefix("refs/tags/"));
        if let Some(short) = short {
            start_push_pipeline(app, project, user, short, old.map(String::as_str), sha).await;
        }
    }
}

/// A pipeline failure here must not fail the push or the commit that caused it: log it.
async fn start_push_pipeline(
    app: &App,
    project: &Project,
    user: &User,
    ref_name: &str,
    before_sha: Option<&str>,
    sha: &str,
) {
    // GitLab: "Pipelines are disabled!" — with CI/CD off a push creates no pipeline.
    if project.builds_access_level == crate::project_features::DISABLED {
        return;
    }
    let request = NewPipelineRequest {
        ref_name: ref_name.to_owned(),
        sha: Some(sha.to_owned()),
        before_sha: Some(before_sha.unwrap_or(ZERO_SHA).to_owned()),
        source: "push".into(),
        variables: Vec::new(),
        inputs: Default::default(),
    };
    if let Err(err) = create_pipeline(
        app,
        project,
        user,
        request,
        OnConfigError::RecordFailedPipeline,
    )
    .await
    {
        tracing::error!(project_id = project.id, ref_name, error = %err, "could not create push pipeline");
    }
}

/// `GET /projects/:id/repository/commits/:sha`.
pub async fn find_commit(app: &App, access: &ProjectAccess, rev: &str) -> Result<Commit> {
    if !pipewright_git::validate::is_safe_rev(rev) {
        return Err(Error::not_found("Commit"));
    }
    let repo = app.repository(access.project.id);
    let rev = rev.to_owned();
    tokio::task::spawn_blocking(move || -> Result<Option<Commit>> {
        match repo.resolve(&rev)? {
            Some(sha) => Ok(repo.commit(&sha)?),
            None => Ok(None),
        }
    })
    .await??
    .ok_or_else(|| Error::not_found("Commit"))
}

pub async fn list_branches(
    app: &App,
    access: &ProjectAccess,
) -> Result<Vec<(pipewright_git::Branch, Option<Commit>)>> {
    let repo = app.repository(access.project.id);
    tokio::task::spawn_blocking(move || -> Result<Vec<_>> {
        let branches = repo.branches()?;
        let shas: Vec<String> = branches.iter().map(|branch| branch.sha.clone()).collect();
        let commits = repo.commits(&shas)?;
        Ok(branches
            .into_iter()
            .map(|branch| {
                let commit = commits.get(&branch.sha).cloned();
                (branch, commit)
            })
            .collect())
    })
    .await?
}
