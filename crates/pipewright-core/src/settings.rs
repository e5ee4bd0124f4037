//! Instance settings (`/application/settings`) and the per-user rate limit of the project job
//! list (jobs-api.md §1.7).
//!
//! Settings are cached in memory and refreshed on every change made through this process;
//! several server instances would need a shared notification (DESIGN.md §5) to stay in step.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use crate::App;
use crate::auth::Actor;
use crate::error::{Error, Result};

/// The settings Pipewright honours, with GitLab's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationSettings {
    /// Requests per minute per user on `GET /projects/:id/jobs`; 0 disables the limit.
    pub project_jobs_api_rate_limit: i64,
}

impl Default for ApplicationSettings {
    fn default() -> Self {
        ApplicationSettings {
            project_jobs_api_rate_limit: 600,
        }
    }
}

/// Cached settings plus the rate limiter's fixed one-minute windows.
#[derive(Clone, Default)]
pub struct Settings {
    current: Arc<RwLock<Option<ApplicationSettings>>>,
    windows: Arc<Mutex<Windows>>,
}

/// Request counts per user in the current minute (GitLab's fixed-window limiter).
#[derive(Default)]
struct Windows {
    minute: i64,
    counts: HashMap<i64, i64>,
}

impl Settings {
    fn cached(&self) -> Option<ApplicationSettings> {
        self.current.read().ok().and_then(|guard| guard.clone())
    }

    fn store(&self, settings: ApplicationSettings) {
        if let Ok(mut guard) = self.current.write() {
            *guard = Some(settings);
        }
    }
}

/// The current settings (loaded once, then served from memory).
pub async fn current(app: &App) -> Result<ApplicationSettings> {
    if let Some(settings) = app.settings.cached() {
        return Ok(settings);
    }
    let mut settings = ApplicationSettings::default();
    for (name, value) in app.store.application_settings().await? {
        if name == "project_jobs_api_rate_limit"
            && let Ok(limit) = serde_json::from_str::<i64>(&value)
        {
            settings.project_jobs_api_rate_limit = limit;
        }
    }
    app.settings.store(settings.clone());
    Ok(settings)
}

/// `GET /application/settings` (admin).
pub async fn get(app: &App, actor: &Actor) -> Result<ApplicationSettings> {
    require_admin(actor)?;
    current(app).await
}

/// `PUT /application/settings` (admin): only the given settings change.
pub async fn update(
    app: &App,
    actor: &Actor,
    project_jobs_api_rate_limit: Option<i64>,
) -> Result<ApplicationSettings> {
    require_admin(actor)?;
    actor.require_write_scope()?;
    if let Some(limit) = project_jobs_api_rate_limit {
        if limit < 0 {
            return Err(Error::Message {
                status: 400,
                message: serde_json::json!({
                    "project_jobs_api_rate_limit": ["must be greater than or equal to 0"]
                }),
            });
        }
        app.store
            .put_application_setting("project_jobs_api_rate_limit", &limit.to_string())
            .await?;
    }
    // Reload from the database so the cache reflects what is stored.
    if let Ok(mut guard) = app.settings.current.write() {
        *guard = None;
    }
    current(app).await
}

fn require_admin(actor: &Actor) -> Result<()> {
    actor.require_user()?;
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden())
    }
}

/// Counts one `GET /projects/:id/jobs` for the caller and refuses it past the per-minute limit
/// with GitLab's nested 429 body. Job-token callers count as their user.
pub async fn throttle_project_jobs(app: &App, actor: &Actor) -> Result<()> {
    let Some(user) = actor.user() else {
        return Ok(());
    };
    let limit = current(app).await?.project_jobs_api_rate_limit;
    if limit <= 0 {
        return Ok(());
    }
    let minute = pipewright_store::now_ms() / 60_000;
    let mut windows = app
        .settings
        .windows
        .lock()
        .map_err(|_| Error::internal("rate limiter lock poisoned"))?;
    if windows.minute != minute {
        // A new window: earlier counts no longer matter.
        windows.minute = minute;
        windows.counts.clear();
    }
    let count = windows.counts.entry(user.id).or_insert(0);
    *count += 1;
    if *count > limit {
        return Err(Error::Message {
            status: 429,
            message: serde_json::json!({
                "error": "This endpoint has been requested too many times. Try again later."
            }),
        });
    }
    Ok(())
}
