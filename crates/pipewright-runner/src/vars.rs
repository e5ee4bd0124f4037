//! The environment of a job's scripts: the server's variables ("last one wins"), runner-side
//! variables, `$VAR` expansion and file-type variables.

use std::collections::HashMap;
use std::path::Path;

use pipewright_protocol::JobVariable;

/// Ordered, de-duplicated variables (a later `set` of a key replaces its value in place).
#[derive(Debug, Default, Clone)]
pub(crate) struct Vars {
    entries: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Vars {
    pub(crate) fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&i| self.entries[i].1.as_str())
    }

    pub(crate) fn as_slice(&self) -> &[(String, String)] {
        &self.entries
    }
}

/// Builds the environment: the job's variables, then `runner` (runner-side values win, like
/// GitLab's `CI_PROJECT_DIR`). Non-raw values get `$VAR`/`${VAR}` references to known
/// variables expanded (unknown ones stay literal); file variables are written below
/// `file_dir` and their path exported instead of their value.
pub(crate) fn build(
    job_vars: &[JobVariable],
    runner: &[(&str, String)],
    file_dir: &Path,
) -> std::io::Result<Vars> {
    let mut raw = Vars::default();
    let mut kinds: HashMap<&str, &JobVariable> = HashMap::new();
    for var in job_vars {
        if !valid_key(&var.key) {
            tracing::warn!(key = %var.key, "skipping a variable whose name bash cannot export");
            continue;
        }
        raw.set(var.key.clone(), var.value.clone());
        kinds.insert(var.key.as_str(), var);
    }
    for (key, value) in runner {
        raw.set(*key, value.clone());
        kinds.remove(key);
    }

    let mut env = Vars::default();
    for (key, value) in raw.as_slice() {
        let kind = kinds.get(key.as_str());
        let value = if kind.is_some_and(|v| v.file) {
            let path = file_dir.join(key);
            write_private(&path, value)?;
            path.to_string_lossy().into_owned()
        } else if kind.is_some_and(|v| v.raw) {
            value.clone()
        } else {
            expand(value, |name| raw.get(name))
        };
        if value.contains('\0') {
            tracing::warn!(%key, "skipping a variable whose value contains a NUL byte");
            continue;
        }
        env.set(key.clone(), value);
    }
    Ok(env)
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(value.as_bytes())
}

/// Expands `$NAME` and `${NAME}` when `lookup` knows `NAME`; everything else is kept as is.
pub(crate) fn expand<'a>(value: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (valid_key(name), lookup(name)) {
            (true, Some(found)) => {
                out.push_str(found);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_of_known_names_only() {
        let lookup = |name: &str| match name {
            "A" => Some("1"),
            "DIR" => Some("/b"),
            _ => None,
        };
        assert_eq!(expand("$A-${A}x", lookup), "1-1x");
        assert_eq!(expand("$DIR/sub", lookup), "/b/sub");
        assert_eq!(
            expand("$NOPE ${NOPE} $ ${ $$", lookup),
            "$NOPE ${NOPE} $ ${ $$"
        );
        assert_eq!(expand("cost: 5$", lookup), "cost: 5$");
        assert_eq!(expand("é$A€", lookup), "é1€");
    }

    #[test]
    fn build_resolves_duplicates_raw_and_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vars = vec![
            JobVariable::public("A", "first"),
            JobVariable::public("A", "second"),
            JobVariable::public("REF", "$A/$CI_PROJECT_DIR"),
            JobVariable {
                raw: true,
                ..JobVariable::public("RAW", "$A")
            },
            JobVariable {
                file: true,
                ..JobVariable::secret("CFG", "content $A")
            },
            JobVariable::public("CI_PROJECT_DIR", "/server/says"),
            JobVariable::public("bad-name", "x"),
        ];
        let env =
            build(&vars, &[("CI_PROJECT_DIR", "/builds/1".into())], dir.path()).expect("builds");
        assert_eq!(env.get("A"), Some("second"));
        assert_eq!(env.get("REF"), Some("second//builds/1"));
        assert_eq!(env.get("RAW"), Some("$A"));
        assert_eq!(env.get("CI_PROJECT_DIR"), Some("/builds/1"));
        assert_eq!(env.get("bad-name"), None);
        let path = env.get("CFG").expect("file var");
        assert_eq!(std::fs::read_to_string(path).expect("file"), "content $A");
    }
}
