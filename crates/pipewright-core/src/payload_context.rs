//! What a job's payload needs beyond the job itself — its project, namespace, user, the
//! pipeline's variables, whether the ref is protected, the trigger's short token — kept per
//! (pipeline, user) in memory. Jobs of one pipeline are handed out in bursts, and each of
//! those reads cost a round trip through a connection's worker thread.
//!
//! An entry is used only while the store's `access` generation (users, projects,
//! namespaces, protected refs, triggers, ...) is the one read before it was built, as the
//! access cache does. The pipeline's variables and its trigger never change after the
//! pipeline is created.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use pipewright_store::model::{Namespace, Pipeline, PipelineVariable, Project, User};

use crate::App;
use crate::error::{Error, Result};

/// Entries kept before the table starts over (bounded memory, no bookkeeping).
const CAPACITY: usize = 1024;

pub(crate) struct PayloadContext {
    pub project: Project,
    pub namespace: Namespace,
    pub user: Option<User>,
    pub pipeline_variables: Vec<PipelineVariable>,
    pub ref_protected: bool,
    pub trigger_short_token: Option<String>,
}

type Key = (i64, Option<i64>);

#[derive(Default)]
pub(crate) struct PayloadContexts {
    entries: Mutex<HashMap<Key, (u64, Arc<PayloadContext>)>>,
}

impl PayloadContexts {
    fn get(&self, key: Key, generation: Option<u64>) -> Option<Arc<PayloadContext>> {
        let generation = generation?;
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(&key) {
            Some((read_at, context)) if *read_at == generation => Some(Arc::clone(context)),
            _ => None,
        }
    }

    fn put(&self, key: Key, generation: Option<u64>, context: &Arc<PayloadContext>) {
        let Some(generation) = generation else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (generation, Arc::clone(context)));
    }
}

/// The context of a payload for a job of `pipeline` owned by `user_id`.
pub(crate) async fn context(
    app: &App,
    pipeline: &Pipeline,
    user_id: Option<i64>,
) -> Result<Arc<PayloadContext>> {
    let contexts = app.queue.payload_contexts();
    let key = (pipeline.id, user_id);
    // Read before the database is asked: a write meanwhile makes the answer unusable.
    let generation = app.store.access_generation();
    if let Some(context) = contexts.get(key, generation) {
        return Ok(context);
    }
    let project = app
        .store
        .project_by_id(pipeline.project_id)
        .await?
        .ok_or_else(|| Error::internal("pipeline without project"))?;
    let namespace = app
        .store
        .namespace_by_id(project.namespace_id)
        .await?
        .ok_or_else(|| Error::internal("project without namespace"))?;
    let user = match user_id {
        Some(id) => app.store.user_by_id(id).await?,
        None => None,
    };
    let pipeline_variables = app.store.pipeline_variables(pipeline.id).await?;
    let ref_protected =
        crate::protected_refs::is_ref_protected(app, &project, &pipeline.ref_name, pipeline.tag)
            .await?;
    let trigger_short_token = crate::triggers::pipeline_short_token(app, pipeline).await?;
    let context = Arc::new(PayloadContext {
        project,
        namespace,
        user,
        pipeline_variables,
        ref_protected,
        trigger_short_token,
    });
    contexts.put(key, generation, &context);
    Ok(context)
}
