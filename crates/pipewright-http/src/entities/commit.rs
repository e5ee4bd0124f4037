use std::collections::BTreeMap;

use pipewright_core::model::Commit;
use serde::Serialize;

/// The commit entity (jobs-api.md §5.5); dates keep their original offset.
#[derive(Debug, Serialize)]
pub struct CommitEntity {
    pub id: String,
    pub short_id: String,
    pub created_at: String,
    pub parent_ids: Vec<String>,
    pub title: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    pub authored_date: String,
    pub committer_name: String,
    pub committer_email: String,
    pub committed_date: String,
    pub trailers: BTreeMap<String, String>,
    pub extended_trailers: BTreeMap<String, Vec<String>>,
    pub web_url: String,
}

impl CommitEntity {
    pub fn new(commit: &Commit, project_web_url: &str) -> CommitEntity {
        CommitEntity {
            id: commit.id.clone(),
            short_id: commit.short_id.clone(),
            created_at: commit.created_at.clone(),
            parent_ids: commit.parent_ids.clone(),
            title: commit.title.clone(),
            message: commit.message.clone(),
            author_name: commit.author_name.clone(),
            author_email: commit.author_email.clone(),
            authored_date: commit.authored_date.clone(),
            committer_name: commit.committer_name.clone(),
            committer_email: commit.committer_email.clone(),
            committed_date: commit.committed_date.clone(),
            trailers: commit.trailers.clone(),
            extended_trailers: commit.extended_trailers.clone(),
            web_url: format!("{project_web_url}/-/commit/{}", commit.id),
        }
    }
}
