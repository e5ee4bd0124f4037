//! The Commit entity of GitLab's API (jobs-api.md §5.5, minus `web_url`), read in batches.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, Utc};

use crate::{GitError, Repo};

/// A commit as GitLab presents it. Dates keep the author's/committer's offset and are
/// formatted `%Y-%m-%dT%H:%M:%S%.3f%:z`, e.g. `2015-12-24T16:51:14.000+01:00`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub id: String,
    /// First 8 characters of `id`.
    pub short_id: String,
    /// The committed date (GitLab's choice).
    pub created_at: String,
    pub parent_ids: Vec<String>,
    /// First line of the message, cut to 80 characters plus `…` when longer than 100.
    pub title: String,
    /// The full message as stored, including its trailing newline if it has one.
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    pub authored_date: String,
    pub committer_name: String,
    pub committer_email: String,
    pub committed_date: String,
    /// Trailer name → value (the last one wins when a name repeats).
    pub trailers: BTreeMap<String, String>,
    /// Trailer name → every value, in order.
    pub extended_trailers: BTreeMap<String, Vec<String>>,
}

/// Fields per commit in [`LOG_FORMAT`]; each one is NUL-terminated by `-z` and `%x00`.
const LOG_FIELDS: usize = 10;
/// Trailers come unfolded as `key \x1f value` pairs separated by `\x1e`.
const LOG_FORMAT: &str = "--format=%H%x00%P%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00\
%(trailers:only,unfold,separator=%x1e,key_value_separator=%x1f)%x00%B";

impl Repo {
    /// The commit a revision (sha, branch, tag) names, or `None`.
    pub fn commit(&self, rev: &str) -> Result<Option<Commit>, GitError> {
        let Some(sha) = self.resolve(rev)? else {
            return Ok(None);
        };
        Ok(self.commits(std::slice::from_ref(&sha))?.remove(&sha))
    }

    /// Many commits at once, with a single git process, keyed by full sha. Shas that do not
    /// name a commit in this repository are simply absent from the map. Every input must be
    /// a hex object id (full or at least 4 digits).
    pub fn commits(&self, shas: &[String]) -> Result<HashMap<String, Commit>, GitError> {
        if let Some(bad) = shas
            .iter()
            .find(|s| s.len() < 4 || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(GitError::invalid("sha", bad));
        }
        if shas.is_empty() || !self.exists() {
            return Ok(HashMap::new());
        }
        let mut input = shas.join("\n");
        input.push('\n');
        let out = self
            .git(&[
                "log",
                "--no-walk=unsorted",
                "--ignore-missing",
                "--stdin",
                "-z",
                "--date=raw",
                "--no-color",
                "--no-show-signature",
                "--no-notes",
                LOG_FORMAT,
            ])
            .stdin(input.into_bytes())
            .run()?;
        parse_log(&out)
    }
}

fn parse_log(out: &[u8]) -> Result<HashMap<String, Commit>, GitError> {
    let mut fields: Vec<&[u8]> = out.split(|&b| b == 0).collect();
    // The output ends with a NUL, which leaves one empty piece behind.
    if fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    if !fields.len().is_multiple_of(LOG_FIELDS) {
        return Err(GitError::parse("log", format!("{} fields", fields.len())));
    }
    let mut commits = HashMap::new();
    for record in fields.chunks(LOG_FIELDS) {
        let commit = parse_record(record)?;
        commits.insert(commit.id.clone(), commit);
    }
    Ok(commits)
}

fn parse_record(f: &[&[u8]]) -> Result<Commit, GitError> {
    let text =
        |i: usize| String::from_utf8_lossy(f.get(i).copied().unwrap_or_default()).into_owned();
    let id = text(0);
    if !crate::validate::is_full_sha(&id) {
        return Err(GitError::parse("log", format!("bad commit id {id:?}")));
    }
    let authored_date = git_date(&text(4)).ok_or_else(|| GitError::parse("log", text(4)))?;
    let committed_date = git_date(&text(7)).ok_or_else(|| GitError::parse("log", text(7)))?;
    let (trailers, extended_trailers) = parse_trailers(&text(8));
    let message = text(9);
    Ok(Commit {
        short_id: id.chars().take(8).collect(),
        id,
        created_at: committed_date.clone(),
        parent_ids: text(1)
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        title: title_of(&message),
        message,
        author_name: text(2),
        author_email: text(3),
        authored_date,
        committer_name: text(5),
        committer_email: text(6),
        committed_date,
        trailers,
        extended_trailers,
    })
}

/// GitLab's `Commit#title`: the first line, or `--no commit message` for a blank message;
/// longer than 100 characters becomes the first 80 plus `…`.
pub(crate) fn title_of(message: &str) -> String {
    if message.trim().is_empty() {
        return "--no commit message".to_owned();
    }
    let first = message.split('\n').next().unwrap_or_default();
    if first.chars().count() > 100 {
        let mut cut: String = first.chars().take(80).collect();
        cut.push('…');
        cut
    } else {
        first.to_owned()
    }
}

/// `--date=raw` (`1450972274 +0100`) to `2015-12-24T16:51:14.000+01:00`. An offset git
/// recorded but chrono cannot represent falls back to UTC rather than failing the commit.
pub(crate) fn git_date(raw: &str) -> Option<String> {
    let (secs, tz) = raw.trim().split_once(' ')?;
    let secs: i64 = secs.parse().ok()?;
    let utc: DateTime<Utc> = DateTime::from_timestamp(secs, 0)?;
    let at = match parse_offset(tz) {
        Some(offset) => utc.with_timezone(&offset),
        None => utc.fixed_offset(),
    };
    Some(at.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string())
}

fn parse_offset(tz: &str) -> Option<FixedOffset> {
    let (sign, digits) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

type Trailers = (BTreeMap<String, String>, BTreeMap<String, Vec<String>>);

fn parse_trailers(field: &str) -> Trailers {
    let mut last = BTreeMap::new();
    let mut all: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in field.split('\x1e').filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('\x1f') else {
            continue;
        };
        let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
        all.entry(key.clone()).or_default().push(value.clone());
        last.insert(key, value);
    }
    (last, all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_keep_their_offset() {
        assert_eq!(
            git_date("1450972274 +0100").as_deref(),
            Some("2015-12-24T16:51:14.000+01:00")
        );
        assert_eq!(
            git_date("1450972274 +0000").as_deref(),
            Some("2015-12-24T15:51:14.000+00:00")
        );
        assert_eq!(
            git_date("1450972274 -0530").as_deref(),
            Some("2015-12-24T10:21:14.000-05:30")
        );
        assert_eq!(git_date("garbage"), None);
    }

    #[test]
    fn titles() {
        assert_eq!(title_of("Fix it\n\nBody\n"), "Fix it");
        assert_eq!(title_of("  \n"), "--no commit message");
        let long = "x".repeat(101);
        assert_eq!(title_of(&long), format!("{}…", "x".repeat(80)));
        let exactly = "y".repeat(100);
        assert_eq!(title_of(&exactly), exactly);
    }

    #[test]
    fn trailers_last_wins_extended_keeps_all() {
        let (t, e) =
            parse_trailers("Signed-off-by\x1fA <a@b>\x1eFixes\x1f#1\x1eSigned-off-by\x1fC <c@d>");
        assert_eq!(t["Signed-off-by"], "C <c@d>");
        assert_eq!(e["Signed-off-by"], vec!["A <a@b>", "C <c@d>"]);
        assert_eq!(t["Fixes"], "#1");
    }
}
