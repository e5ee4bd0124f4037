//! The dispatch state runners' requests share: a version that changes whenever a job becomes
//! pending, the long-polling runners waiting for it to change, which runner configurations
//! just found nothing in the queue, and the payload contexts of recent hand-outs.
//!
//! In-process for the embedded server; at scale the same role moves to PostgreSQL
//! LISTEN/NOTIFY (DESIGN.md §5).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::payload_context::PayloadContexts;

/// How long "nothing in the queue for this runner configuration" is trusted at an unchanged
/// version. Every path that makes a job pending ticks, so this only bounds the delay should
/// one ever not.
const IDLE_TRUST: Duration = Duration::from_secs(3);

/// Idle-scan memo entries kept before the table starts over.
const IDLE_CAPACITY: usize = 4096;

#[derive(Clone, Default)]
pub struct JobQueue {
    inner: Arc<Inner>,
}

/// A job that just became pending, as a waiting runner's filter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub project_id: i64,
    pub tag_list: Vec<String>,
}

type Accepts = Box<dyn Fn(&Enqueued) -> bool + Send + Sync>;

struct Waiter {
    id: u64,
    accepts: Accepts,
    notify: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    version: AtomicU64,
    /// Everyone waiting without a filter (`changed`, `wait_for_change`).
    notify: Notify,
    waiters: Mutex<Vec<Waiter>>,
    next_waiter: AtomicU64,
    /// Runner configuration → (version, when) of a scan that found nothing it may take.
    idle: Mutex<HashMap<String, (u64, Instant)>>,
    payload_contexts: PayloadContexts,
}

/// Removes a filtered waiter when its request ends, however it ends.
struct Registration<'a> {
    inner: &'a Inner,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.inner
            .waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|waiter| waiter.id != self.id);
    }
}

impl JobQueue {
    /// The opaque value runners echo back as `last_update`.
    pub fn version(&self) -> String {
        format!("{:x}", self.version_number())
    }

    fn version_number(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    /// Called after jobs became pending when which ones is not at hand: bumps the version and
    /// wakes every waiting runner.
    pub fn tick(&self) {
        self.inner.version.fetch_add(1, Ordering::AcqRel);
        self.inner.notify.notify_waiters();
        for waiter in self.waiters().iter() {
            waiter.notify.notify_one();
        }
    }

    /// Called after `jobs` became pending: bumps the version (every runner's next request
    /// scans again) but wakes only the long-polling runners that may take one of them.
    pub fn tick_for(&self, jobs: &[Enqueued]) {
        if jobs.is_empty() {
            return;
        }
        self.inner.version.fetch_add(1, Ordering::AcqRel);
        self.inner.notify.notify_waiters();
        for waiter in self.waiters().iter() {
            if jobs.iter().any(|job| (waiter.accepts)(job)) {
                waiter.notify.notify_one();
            }
        }
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, Vec<Waiter>> {
        self.inner
            .waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves at the next `tick`.
    pub async fn changed(&self) {
        self.inner.notify.notified().await;
    }

    /// Waits up to `limit` for the version to differ from `seen`; returns the version then.
    /// The wake-up is registered before the comparison, so a tick in between is not lost.
    pub async fn wait_for_change(&self, seen: &str, limit: Duration) -> String {
        let notified = self.inner.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.version() != seen {
            return self.version();
        }
        let _ = tokio::time::timeout(limit, notified).await;
        self.version()
    }

    /// Waits up to `limit` for a job `accepts` takes to become pending (or for a plain
    /// [`JobQueue::tick`]), as long as the version is still `seen`; returns the version then.
    /// Jobs for other runners change the version without waking this one.
    pub async fn wait_for_job(
        &self,
        seen: &str,
        limit: Duration,
        accepts: impl Fn(&Enqueued) -> bool + Send + Sync + 'static,
    ) -> String {
        let notify = Arc::new(Notify::new());
        let id = self.inner.next_waiter.fetch_add(1, Ordering::Relaxed);
        self.waiters().push(Waiter {
            id,
            accepts: Box::new(accepts),
            notify: Arc::clone(&notify),
        });
        let _registration = Registration {
            inner: &self.inner,
            id,
        };
        // Registered before the comparison: a tick in between leaves a permit behind.
        if self.version() != seen {
            return self.version();
        }
        let _ = tokio::time::timeout(limit, notify.notified()).await;
        self.version()
    }

    /// Whether a scan for `runner_key` at the current version would find nothing: an earlier
    /// one did, at this version, moments ago.
    pub(crate) fn known_idle(&self, runner_key: &str) -> bool {
        let version = self.version_number();
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(runner_key)
            .is_some_and(|(at_version, at)| *at_version == version && at.elapsed() < IDLE_TRUST)
    }

    /// Records that a scan begun at `version` (read before it) found nothing for
    /// `runner_key`.
    pub(crate) fn record_idle(&self, runner_key: &str, version: &str) {
        let Ok(version) = u64::from_str_radix(version, 16) else {
            return;
        };
        let mut idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() >= IDLE_CAPACITY {
            idle.clear();
        }
        idle.insert(runner_key.to_owned(), (version, Instant::now()));
    }

    pub(crate) fn payload_contexts(&self) -> &PayloadContexts {
        &self.inner.payload_contexts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(tags: &[&str]) -> Enqueued {
        Enqueued {
            project_id: 1,
            tag_list: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        }
    }

    #[tokio::test]
    async fn a_filtered_waiter_wakes_only_for_jobs_it_accepts() {
        let queue = JobQueue::default();
        let seen = queue.version();
        let waiting = {
            let queue = queue.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                queue
                    .wait_for_job(&seen, Duration::from_secs(30), |job| {
                        job.tag_list.iter().all(|tag| tag == "gpu")
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        queue.tick_for(&[job(&["docker"])]);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a job for other runners woke it");
        assert_ne!(queue.version(), seen, "the version moves for every job");
        queue.tick_for(&[job(&["gpu"])]);
        let version = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .ok()
            .and_then(Result::ok);
        assert_eq!(version, Some(queue.version()));
        assert!(queue.waiters().is_empty(), "the waiter deregistered");
    }

    #[tokio::test]
    async fn a_tick_between_registration_and_wait_is_not_lost() {
        let queue = JobQueue::default();
        let seen = queue.version();
        queue.tick();
        let version = queue
            .wait_for_job(&seen, Duration::from_secs(30), |_| false)
            .await;
        assert_ne!(version, seen);
    }

    #[test]
    fn idle_memos_hold_only_at_their_version() {
        let queue = JobQueue::default();
        assert!(!queue.known_idle("untagged"));
        queue.record_idle("untagged", &queue.version());
        assert!(queue.known_idle("untagged"));
        assert!(!queue.known_idle("gpu"));
        queue.tick_for(&[job(&[])]);
        assert!(!queue.known_idle("untagged"));
    }
}
