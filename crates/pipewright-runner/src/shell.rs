//! The shell executor's primitive: run one generated bash script in its own process group,
//! stream its merged output into the job log, and stop it on timeout or cancellation.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::trace::TraceLog;

/// After the script's shell is gone, how long stray children may keep its pipes open.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Bash preamble of every script: GitLab's `set -eo pipefail` semantics, stderr merged
/// into stdout so the log keeps the order in which lines were written.
const PREAMBLE: &str = "set -eo pipefail\nset +o noclobber\nexec 2>&1\n";

/// Variables of the runner's (and server's) own environment that jobs never inherit.
const PRIVATE_ENV_PREFIX: &str = "PIPEWRIGHT_";

/// How a script run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepEnd {
    /// The shell exited by itself with this code (128 + n when killed by signal n).
    Exited(i32),
    TimedOut,
    /// The `graceful` token fired.
    Canceled,
    /// The `hard` token fired.
    Killed,
}

/// When to stop a running script early.
pub(crate) struct Stops<'a> {
    pub deadline: Instant,
    /// `None` for steps that must survive a graceful cancel (`after_script`).
    pub graceful: Option<&'a CancellationToken>,
    pub hard: &'a CancellationToken,
}

/// A bash script that echoes each command as `$ <cmd>` (green, like GitLab) before running it.
pub(crate) fn user_script(lines: &[String]) -> String {
    format!("{PREAMBLE}{}", echoed_commands(lines))
}

/// The commands of `lines`, each preceded by its `$ <cmd>` echo (no preamble).
pub(crate) fn echoed_commands(lines: &[String]) -> String {
    let mut script = String::new();
    for line in lines {
        script.push_str(&echo_command(line));
        script.push_str(line);
        script.push('\n');
    }
    script
}

/// A bash script of runner-written commands, run as-is.
pub(crate) fn runner_script(body: &str) -> String {
    format!("{PREAMBLE}{body}")
}

fn echo_command(line: &str) -> String {
    let mut lines = line.trim().lines();
    let first = lines.next().unwrap_or_default();
    let shown = if lines.next().is_some() {
        format!("{first} # collapsed multi-line command")
    } else {
        first.to_owned()
    };
    format!("printf '\\033[32;1m$ %s\\033[0;m\\n' {}\n", quote(&shown))
}

/// Single-quotes `text` for bash.
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Runs `script_path` with bash in `cwd`, adding `env` to the runner's own environment.
pub(crate) async fn run(
    script_path: &Path,
    cwd: &Path,
    env: &[(String, String)],
    log: &TraceLog,
    stops: Stops<'_>,
) -> std::io::Result<StepEnd> {
    let mut command = Command::new("bash");
    // Our own settings (runner and registration tokens, the root token of `serve`) are no
    // business of the job: a script could print them. The job's variables come after.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with(PRIVATE_ENV_PREFIX) {
            command.env_remove(key);
        }
    }
    let mut child = command
        .arg("--noprofile")
        .arg("--norc")
        .arg(script_path)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that everything the script started can be killed at once.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let pgid = child.id();
    let mut readers = tokio::task::JoinSet::new();
    if let Some(out) = child.stdout.take() {
        readers.spawn(pump(out, log.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.spawn(pump(err, log.clone()));
    }

    let never = CancellationToken::new();
    let graceful = stops.graceful.unwrap_or(&never);
    let end = tokio::select! {
        status = child.wait() => StepEnd::Exited(exit_code(status?)),
        () = tokio::time::sleep_until(stops.deadline) => StepEnd::TimedOut,
        () = graceful.cancelled() => StepEnd::Canceled,
        () = stops.hard.cancelled() => StepEnd::Killed,
    };
    // Also after a normal exit: background processes of the script must not outlive it.
    if let Some(pgid) = pgid {
        kill_group(pgid).await;
    }
    if !matches!(end, StepEnd::Exited(_)) {
        // The group kill normally did it already; this covers a failed `kill`.
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    let drained = tokio::time::timeout(DRAIN_GRACE, async {
        while readers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        // Something outside the group still holds the pipes; stop reading it.
        readers.abort_all();
    }
    Ok(end)
}

async fn pump(mut source: impl AsyncRead + Unpin, log: TraceLog) {
    let mut buf = vec![0u8; 8192];
    loop {
        match source.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => log.write(&buf[..n]),
        }
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// SIGKILL to the whole process group (bash's builtin `kill` understands `-- -pgid`).
async fn kill_group(pgid: u32) {
    let result = Command::new("bash")
        .arg("-c")
        .arg(format!("kill -KILL -- -{pgid} 2>/dev/null"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if let Err(err) = result {
        tracing::warn!(pgid, error = %err, "could not kill the script's process group");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn script_echoes_each_command() {
        let script = user_script(&["echo hi".into(), "if true; then\n  echo x\nfi".into()]);
        assert!(script.starts_with(PREAMBLE));
        assert!(script.contains("printf '\\033[32;1m$ %s\\033[0;m\\n' 'echo hi'\necho hi\n"));
        assert!(script.contains("'if true; then # collapsed multi-line command'"));
    }
}
