//! `expire_in` and the sweeper that removes expired artifacts (records and files). The job's
//! `artifacts_expire_at` stays: it is how a later job tells "expired" from "never had any".

use std::time::Duration;

use crate::App;
use crate::artifact_store::artifact_key;
use crate::error::{Error, Result};

/// GitLab's instance default for `expire_in` (30 days).
pub const DEFAULT_EXPIRE_IN_SECS: u64 = 30 * 86_400;

/// What `expire_in` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireIn {
    Never,
    After(u64),
}

/// `1 week`, `30 days`, `3h 20m`, `2 hrs and 5 mins`, `3600` (seconds), `never`; `None`
/// when the text is not a duration.
pub fn parse_expire_in(text: &str) -> Option<ExpireIn> {
    let text = text.trim().to_ascii_lowercase();
    if text == "never" {
        return Some(ExpireIn::Never);
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    let mut rest = text.as_str();
    let mut seen = false;
    while !rest.is_empty() {
        let c = rest.chars().next()?;
        if c.is_ascii_digit() {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if let Some(previous) = number.replace(rest[..end].parse().ok()?) {
                // Two numbers in a row: the first one had no unit (seconds).
                total = total.checked_add(previous)?;
            }
            rest = &rest[end..];
            seen = true;
        } else if c.is_ascii_alphabetic() {
            let end = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            if word == "and" {
                continue;
            }
            let unit = unit_seconds(word)?;
            total = total.checked_add(number.take()?.checked_mul(unit)?)?;
        } else if c.is_whitespace() || c == ',' {
            rest = &rest[c.len_utf8()..];
        } else {
            return None;
        }
    }
    if let Some(seconds) = number {
        total = total.checked_add(seconds)?;
    }
    seen.then_some(ExpireIn::After(total))
}

fn unit_seconds(word: &str) -> Option<u64> {
    Some(match word {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "wk" | "wks" | "week" | "weeks" => 7 * 86_400,
        "mo" | "mos" | "month" | "months" => 30 * 86_400,
        "y" | "yr" | "yrs" | "year" | "years" => 365 * 86_400,
        _ => return None,
    })
}

/// The `expire_at` (ms) for an upload at `now`: `expire_in` or the configured default.
pub fn expire_at(app: &App, expire_in: Option<&str>, now: i64) -> Result<Option<i64>> {
    let wanted = match expire_in.filter(|text| !text.trim().is_empty()) {
        Some(text) => {
            parse_expire_in(text).ok_or_else(|| Error::Param("expire_in is invalid".into()))?
        }
        None => match app.config.default_artifacts_expire_in {
            Some(seconds) => ExpireIn::After(seconds),
            None => ExpireIn::Never,
        },
    };
    Ok(match wanted {
        ExpireIn::Never => None,
        ExpireIn::After(seconds) => Some(
            i64::try_from(seconds)
                .ok()
                .and_then(|seconds| seconds.checked_mul(1000))
                .and_then(|ms| now.checked_add(ms))
                .unwrap_or(i64::MAX),
        ),
    })
}

/// Records removed per statement batch.
const BATCH: i64 = 500;

/// One pass: removes every artifact whose `expire_at` is at or before `now`; returns how
/// many were removed. A record kept meanwhile ("keep") is left alone.
pub async fn sweep_expired(app: &App, now: i64) -> Result<usize> {
    let mut removed = 0;
    loop {
        let expired = app.store.expired_artifacts(now, BATCH).await?;
        let batch = expired.len();
        for artifact in expired {
            if app.store.delete_expired_artifact(artifact.id, now).await? {
                let key = artifact_key(artifact.project_id, artifact.job_id, &artifact.file_type);
                app.artifacts.delete(&key).await.map_err(Error::internal)?;
                removed += 1;
            }
        }
        if batch < usize::try_from(BATCH).unwrap_or(usize::MAX) {
            return Ok(removed);
        }
    }
}

/// Runs [`sweep_expired`] every `every` until the task is dropped or aborted.
pub fn spawn_sweeper(app: App, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match sweep_expired(&app, pipewright_store::now_ms()).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "expired artifacts removed"),
                Err(err) => tracing::warn!(error = %err, "artifact expiry sweep failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_human_durations() {
        let after = |s: u64| Some(ExpireIn::After(s));
        assert_eq!(parse_expire_in("never"), Some(ExpireIn::Never));
        assert_eq!(parse_expire_in("1 week"), after(604_800));
        assert_eq!(parse_expire_in("30 days"), after(2_592_000));
        assert_eq!(parse_expire_in("3h 20m"), after(12_000));
        assert_eq!(parse_expire_in("3h20m"), after(12_000));
        assert_eq!(parse_expire_in("2 hrs and 5 mins"), after(7_500));
        assert_eq!(parse_expire_in("42"), after(42));
        assert_eq!(parse_expire_in("1 mo"), after(2_592_000));
        assert_eq!(parse_expire_in("soon"), None);
        assert_eq!(parse_expire_in(""), None);
        assert_eq!(parse_expire_in("5 parsecs"), None);
    }
}
