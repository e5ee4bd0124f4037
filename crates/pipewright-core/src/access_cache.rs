//! The caller's membership level in a project, cached per (user, project) until the next write
//! to an access table (users, members, projects, namespaces, tokens: see
//! `pipewright_store::Store::access_generation`). Every project-scoped request asks it, and it
//! costs a query per namespace level on the way up; a membership change takes effect with the
//! commit that makes it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pipewright_store::model::Project;

use crate::App;
use crate::error::Result;

/// Levels kept before the cache starts over (bounded memory, no bookkeeping).
const CAPACITY: usize = 4096;

/// (user, project, project's namespace).
type Key = (i64, i64, i64);

/// Key → (generation read at, level).
#[derive(Clone, Default)]
pub struct AccessCache {
    levels: Arc<Mutex<HashMap<Key, (u64, i32)>>>,
}

/// The user's maximum access level in the project: direct membership, or membership of the
/// namespace it lives in and its ancestors (0 = none).
pub async fn project_level(app: &App, user_id: i64, project: &Project) -> Result<i32> {
    let key = (user_id, project.id, project.namespace_id);
    let generation = app.store.access_generation();
    if let Some(generation) = generation
        && let Ok(levels) = app.access.levels.lock()
        && let Some((read_at, level)) = levels.get(&key)
        && *read_at == generation
    {
        return Ok(*level);
    }
    let direct = app
        .store
        .member_access_level("project", project.id, user_id)
        .await?;
    let inherited = app
        .store
        .namespace_access_level(user_id, project.namespace_id)
        .await?;
    let level = direct.max(inherited).unwrap_or(0);
    if let Some(generation) = generation
        && let Ok(mut levels) = app.access.levels.lock()
    {
        if levels.len() >= CAPACITY {
            levels.clear();
        }
        levels.insert(key, (generation, level));
    }
    Ok(level)
}
