//! Lookups cached in memory and checked against what the writer changed since.
//!
//! The request paths ask the same questions over and over (which job owns this token, which
//! runner, which personal access token), and with sqlx-sqlite each question costs a round trip
//! through a connection's worker thread. The answers change only when the single writer
//! connection writes, so each kind of answer carries the [`Generation`] of the tables it
//! depends on, and an answer is used only while that generation has not moved:
//!
//! - the writer's update hook marks a generation *changing* (odd) at the first row written to
//!   one of its tables; while it is odd nothing is cached or served from the cache;
//! - when the writer connection goes back to the pool its transaction is over, so the
//!   generation *settles* (the next even number), which no earlier answer carries.
//!
//! An answer is tagged with the generation read *before* the database was asked, so a write
//! that starts while the answer is being read makes it useless at once. A revoked token, a
//! paused runner or a finished job is therefore never served from the cache once the write
//! that made it so has been acknowledged. One process owns the database (the embedded
//! deployment); several server processes would need the change feed of DESIGN.md §5 instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{Job, PersonalAccessToken, Project, Runner, User};

/// Tables whose writes do not change who a credential belongs to or what it may do: the
/// per-job and per-pipeline bookkeeping that runs all day. Writes to every other table (users,
/// tokens, members, projects, namespaces, allowlists, and tables added later) move the
/// `access` generation.
const BOOKKEEPING: [&str; 9] = [
    "jobs",
    "pipelines",
    "runners",
    "runner_managers",
    "job_artifacts",
    "job_dotenv_variables",
    "pipeline_variables",
    "pipeline_links",
    "_sqlx_migrations",
];

/// Answers kept per cache before it starts over (bounded memory, no bookkeeping).
const CAPACITY: usize = 4096;

/// A change counter: even while settled, odd while a write to its tables is in flight.
#[derive(Default)]
pub(crate) struct Generation(AtomicU64);

impl Generation {
    fn begin_change(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |value| {
                value.is_multiple_of(2).then_some(value + 1)
            });
    }

    fn settle(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |value| {
                (!value.is_multiple_of(2)).then_some(value + 1)
            });
    }

    /// The settled value, or `None` while a change is in flight.
    pub(crate) fn current(&self) -> Option<u64> {
        let value = self.0.load(Ordering::SeqCst);
        value.is_multiple_of(2).then_some(value)
    }
}

/// The generations the caches depend on.
#[derive(Default)]
pub(crate) struct Watch {
    pub(crate) jobs: Generation,
    pub(crate) runners: Generation,
    pub(crate) access: Generation,
}

impl Watch {
    /// Called by the writer's update hook for every row it inserts, updates or deletes.
    pub(crate) fn changed(&self, table: &str) {
        match table {
            "jobs" => self.jobs.begin_change(),
            "runners" => self.runners.begin_change(),
            _ if BOOKKEEPING.contains(&table) => {}
            _ => self.access.begin_change(),
        }
    }

    /// Called when the writer connection is released: its changes are committed or gone.
    pub(crate) fn settle(&self) {
        self.jobs.settle();
        self.runners.settle();
        self.access.settle();
    }
}

/// Answers by key, each with the generation it was read at.
pub(crate) struct GenCache<V> {
    entries: Mutex<HashMap<String, (u64, V)>>,
}

impl<V> Default for GenCache<V> {
    fn default() -> Self {
        GenCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> GenCache<V> {
    /// The answer for `key` if it was read at `generation` (the current one).
    pub(crate) fn get(&self, key: &str, generation: Option<u64>) -> Option<V> {
        let generation = generation?;
        let entries = self.entries.lock().ok()?;
        match entries.get(key) {
            Some((read_at, value)) if *read_at == generation => Some(value.clone()),
            _ => None,
        }
    }

    /// Keeps `value`, read after `generation` was observed.
    pub(crate) fn put(&self, key: &str, generation: Option<u64>, value: &V) {
        let Some(generation) = generation else {
            return;
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key.to_owned(), (generation, value.clone()));
        }
    }
}

/// The cached lookups. Only found records are kept: unknown tokens or ids must not fill memory.
#[derive(Default)]
pub(crate) struct Caches {
    /// By token hash (`jobs` generation).
    pub(crate) job_by_token: GenCache<Job>,
    /// By token hash (`runners` generation).
    pub(crate) runner_by_token: GenCache<Runner>,
    /// By token hash (`access` generation).
    pub(crate) personal_access_token: GenCache<PersonalAccessToken>,
    /// By id (`access` generation): every authenticated request and every job entity's user.
    pub(crate) user_by_id: GenCache<User>,
    /// By id, and by lower-cased full path (`access` generation): every project route.
    pub(crate) project_by_id: GenCache<Project>,
    pub(crate) project_by_path: GenCache<Project>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_used_only_in_the_generation_it_was_read_in() {
        let watch = Watch::default();
        let cache = GenCache::<i32>::default();
        let read_at = watch.access.current();
        cache.put("token", read_at, &1);
        assert_eq!(cache.get("token", watch.access.current()), Some(1));

        // Bookkeeping writes leave it alone.
        watch.changed("pipelines");
        watch.settle();
        assert_eq!(cache.get("token", watch.access.current()), Some(1));

        // A write to a table it depends on: unusable while in flight, and after.
        watch.changed("members");
        assert_eq!(watch.access.current(), None);
        assert_eq!(cache.get("token", watch.access.current()), None);
        // An answer read meanwhile is not kept.
        cache.put("other", watch.access.current(), &2);
        watch.settle();
        assert_eq!(cache.get("token", watch.access.current()), None);
        assert_eq!(cache.get("other", watch.access.current()), None);
    }

    #[test]
    fn an_answer_read_while_a_write_began_is_never_used() {
        let watch = Watch::default();
        let cache = GenCache::<i32>::default();
        // Observed before the database is asked...
        let read_at = watch.jobs.current();
        // ...a write starts and commits while the answer is being read...
        watch.changed("jobs");
        watch.settle();
        // ...so the (possibly old) answer is stale from the start.
        cache.put("token", read_at, &1);
        assert_eq!(cache.get("token", watch.jobs.current()), None);
    }
}
