//! Wake-ups for runners: a version that changes whenever a job becomes pending.
//!
//! In-process for the embedded server; at scale the same role moves to PostgreSQL
//! LISTEN/NOTIFY (DESIGN.md §5).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct JobQueue {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    version: AtomicU64,
    notify: Notify,
}

impl JobQueue {
    /// The opaque value runners echo back as `last_update`.
    pub fn version(&self) -> String {
        format!("{:x}", self.inner.version.load(Ordering::Acquire))
    }

    /// Called after jobs became pending: bumps the version and wakes waiting runners.
    pub fn tick(&self) {
        self.inner.version.fetch_add(1, Ordering::AcqRel);
        self.inner.notify.notify_waiters();
    }

    /// Resolves at the next `tick`.
    pub async fn changed(&self) {
        self.inner.notify.notified().await;
    }

    /// Waits up to `limit` for the version to differ from `seen`; returns the version then.
    /// The wake-up is registered before the comparison, so a tick in between is not lost.
    pub async fn wait_for_change(&self, seen: &str, limit: std::time::Duration) -> String {
        let notified = self.inner.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.version() != seen {
            return self.version();
        }
        let _ = tokio::time::timeout(limit, notified).await;
        self.version()
    }
}
