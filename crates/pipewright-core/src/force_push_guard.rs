//! Force pushes to protected branches. Whether an update rewrites history is only known once
//! receive-pack holds the pushed objects, so the check runs where GitLab runs it: in a
//! `pre-receive` hook. Before each push the server writes the project's rules next to the
//! hook; the hook refuses a non-fast-forward update of a protected branch that no matching
//! rule allows to force-push, with GitLab's message.

use std::path::Path;

use crate::App;
use crate::error::{Error, Result};
use crate::protected_refs::BranchRules;

/// Rules the hook reads: `allow <pattern>` or `deny <pattern>` per line.
const POLICY_FILE: &str = "pipewright-force-push";

const HOOK: &str = r#"#!/bin/sh
# Written by Pipewright (force_push_guard.rs): refuses force pushes to protected branches.
policy="${GIT_DIR:-.}/pipewright-force-push"
[ -f "$policy" ] || exit 0
status=0
while read -r old new ref; do
  case "$ref" in refs/heads/*) ;; *) continue ;; esac
  # All-zero names (SHA-1 or SHA-256) mark created and deleted refs.
  case "$old" in *[!0]*) ;; *) continue ;; esac
  case "$new" in *[!0]*) ;; *) continue ;; esac
  branch=${ref#refs/heads/}
  matched=0
  allowed=0
  while read -r mode pattern; do
    case "$branch" in
      $pattern) matched=1; [ "$mode" = allow ] && allowed=1 ;;
    esac
  done < "$policy"
  if [ "$matched" = 1 ] && [ "$allowed" = 0 ] && ! git merge-base --is-ancestor "$old" "$new" 2>/dev/null; then
    echo "GitLab: You are not allowed to force push code to a protected branch on this project." >&2
    status=1
  fi
done
exit $status
"#;

fn write_executable(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Writes the hook and the project's current rules into its repository.
pub async fn prepare_receive(app: &App, project_id: i64) -> Result<()> {
    let rules = BranchRules::load(app, project_id).await?;
    let policy: String = rules
        .rules
        .iter()
        .map(|rule| {
            let mode = if rule.allow_force_push {
                "allow"
            } else {
                "deny"
            };
            format!("{mode} {}\n", rule.name)
        })
        .collect();
    let repo = app.repository_path(project_id);
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let hooks = repo.join("hooks");
        std::fs::create_dir_all(&hooks)?;
        let hook = hooks.join("pre-receive");
        if std::fs::read_to_string(&hook).ok().as_deref() != Some(HOOK) {
            write_executable(&hook, HOOK)?;
        }
        std::fs::write(repo.join(POLICY_FILE), policy)
    })
    .await?
    .map_err(Error::internal)
}
