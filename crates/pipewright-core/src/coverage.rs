//! `coverage:` (ci-yaml.md §3.23): the job's coverage read from its log once it succeeds.

use regex::Regex;
use std::sync::LazyLock;

use pipewright_store::model::Job;

use crate::App;
use crate::error::{Error, Result};
use crate::job_options::ProcessingOptions;

/// Logs longer than this are scanned from their end only (coverage lines come last).
const MAX_SCANNED_BYTES: usize = 4 * 1024 * 1024;

static NUMBER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\d+(\.\d+)?").ok());

/// GitLab's `Trace::Stream#extract_coverage`: lines from the last one backwards; in the first
/// line the pattern matches, the last match (its last capture group when it has groups), and
/// the first number inside that. A matching line without a number is passed over.
pub fn extract_coverage(log: &str, pattern: &str) -> Option<f64> {
    let pattern = pattern
        .strip_prefix('/')
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or(pattern);
    let regex = Regex::new(pattern).ok()?;
    let number = NUMBER.as_ref()?;
    for line in log.lines().rev() {
        let Some(captures) = regex.captures_iter(line).last() else {
            continue;
        };
        let matched = if captures.len() > 1 {
            captures.iter().skip(1).flatten().last()
        } else {
            captures.get(0)
        };
        let Some(matched) = matched else {
            continue;
        };
        if let Some(found) = number.find(matched.as_str()) {
            return found.as_str().parse().ok();
        }
    }
    None
}

/// Reads the finished job's log and stores its coverage, if it has a `coverage:` pattern.
pub(crate) async fn record(app: &App, job: &Job) -> Result<()> {
    let Some(pattern) = ProcessingOptions::of(job).coverage else {
        return Ok(());
    };
    let bytes = app.traces.read_all(job.id).await.map_err(Error::internal)?;
    let start = bytes.len().saturating_sub(MAX_SCANNED_BYTES);
    let log = String::from_utf8_lossy(&bytes[start..]);
    if let Some(coverage) = extract_coverage(&log, &pattern) {
        app.store.set_job_coverage(job.id, coverage).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::extract_coverage;

    #[test]
    fn takes_the_last_matching_line() {
        let log = "Total coverage: 10.5%\nnoise\nTotal coverage: 87.25%\ndone\n";
        assert_eq!(
            extract_coverage(log, r"/Total coverage: \d+\.\d+%/"),
            Some(87.25)
        );
    }

    #[test]
    fn uses_the_last_capture_group_and_its_first_number() {
        let log = "lines 12 of 40 (coverage 30%)";
        assert_eq!(extract_coverage(log, r"coverage (\d+)%"), Some(30.0));
        assert_eq!(extract_coverage("a 1 b 2", r"\w \d"), Some(2.0));
    }

    #[test]
    fn skips_matches_without_numbers_and_bad_patterns() {
        assert_eq!(
            extract_coverage("Coverage: 42%\nCoverage: n/a", r"Coverage: \S+"),
            Some(42.0)
        );
        assert_eq!(extract_coverage("Coverage: 42%", r"("), None);
        assert_eq!(extract_coverage("nothing here", r"Coverage"), None);
    }
}
