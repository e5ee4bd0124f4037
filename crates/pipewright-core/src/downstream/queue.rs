//! An in-process queue of pipelines whose bridges need attention, with one worker task that
//! exists only while there is work. At scale this becomes a job table polled by every
//! instance (DESIGN.md §5); the handling itself is idempotent either way.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::App;

#[derive(Clone, Default)]
pub struct DownstreamQueue {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    /// Signalled whenever the worker stops because the queue is empty.
    idle: Notify,
}

#[derive(Default)]
struct State {
    pipelines: VecDeque<i64>,
    worker_running: bool,
}

impl DownstreamQueue {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a plain queue: a panic elsewhere cannot leave it inconsistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `pipeline_id` (once) and starts the worker if none runs. Outside a Tokio
    /// runtime the pipeline waits for the next [`DownstreamQueue::drain`].
    pub(crate) fn push(&self, app: &App, pipeline_id: i64) {
        let start = {
            let mut state = self.state();
            if !state.pipelines.contains(&pipeline_id) {
                state.pipelines.push_back(pipeline_id);
            }
            !std::mem::replace(&mut state.worker_running, true)
        };
        if !start {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(work(app.clone()));
            }
            Err(_) => self.state().worker_running = false,
        }
    }

    /// Waits until every queued pipeline has been handled, including the work that handling
    /// queued in turn (downstream pipelines, upstream bridges). Runs the work itself when no
    /// worker is running.
    pub async fn drain(app: &App) {
        let queue = &app.downstream;
        loop {
            let idle = queue.inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            let run_here = {
                let mut state = queue.state();
                if state.pipelines.is_empty() && !state.worker_running {
                    return;
                }
                !std::mem::replace(&mut state.worker_running, true)
            };
            if run_here {
                work(app.clone()).await;
            } else {
                idle.await;
            }
        }
    }

    /// Pipelines waiting to be handled (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.state().pipelines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The worker: handles queued pipelines in order until the queue is empty.
async fn work(app: App) {
    loop {
        let next = {
            let mut state = app.downstream.state();
            let next = state.pipelines.pop_front();
            if next.is_none() {
                state.worker_running = false;
            }
            next
        };
        let Some(pipeline_id) = next else {
            app.downstream.inner.idle.notify_waiters();
            return;
        };
        if let Err(err) = super::handle_pipeline(&app, pipeline_id).await {
            tracing::error!(pipeline_id, error = %err, "handling bridges of a pipeline failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn app(dir: &tempfile::TempDir) -> App {
        let store = pipewright_store::Store::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .expect("store");
        App::new(store, crate::Config::new(dir.path(), "http://pw.test")).expect("app")
    }

    #[tokio::test]
    async fn a_pipeline_is_queued_once_and_drain_waits_for_the_worker() {
        let dir = tempfile::tempdir().expect("dir");
        let app = app(&dir).await;
        // Nothing runs before this task yields: the worker is only spawned.
        app.downstream.push(&app, 41);
        app.downstream.push(&app, 42);
        app.downstream.push(&app, 41);
        assert_eq!(app.downstream.len(), 2);
        DownstreamQueue::drain(&app).await;
        assert!(app.downstream.is_empty());
        // Drained twice: nothing to wait for.
        DownstreamQueue::drain(&app).await;
    }

    #[test]
    fn outside_a_runtime_the_work_waits_for_drain() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("dir");
        let app = runtime.block_on(app(&dir));
        app.downstream.push(&app, 7);
        assert_eq!(app.downstream.len(), 1);
        runtime.block_on(DownstreamQueue::drain(&app));
        assert!(app.downstream.is_empty());
    }
}
