//! "Getting source from Git repository": the bash commands that fetch `git_info` into a fresh
//! project directory with the `git` binary.

use std::path::Path;

use pipewright_protocol::{GitInfo, Hook};

use crate::shell::quote;

/// Environment variable carrying the clone URL, so the credentials it embeds never appear in
/// the script text.
pub(crate) const REPO_URL_ENV: &str = "PIPEWRIGHT_REPO_URL";

/// Refspecs used when the server sends none: everything, so that `sha` is reachable.
const DEFAULT_REFSPECS: [&str; 2] = [
    "+refs/heads/*:refs/remotes/origin/*",
    "+refs/tags/*:refs/tags/*",
];

/// The body of the get-sources script (see [`crate::shell::runner_script`]).
pub(crate) fn fetch_script(git: &GitInfo, project_dir: &Path, hooks: &[Hook]) -> String {
    let dir = quote(&project_dir.to_string_lossy());
    let mut s = String::new();
    s.push_str(&format!("mkdir -p {dir}\ncd {dir}\n"));
    push_hook(&mut s, hooks, "pre_get_sources_script");

    let object_format = if git.repo_object_format == "sha256" {
        " --object-format=sha256"
    } else {
        ""
    };
    s.push_str(&format!(
        "git -c init.defaultBranch=main init -q{object_format} .\n\
         echo 'Created fresh repository.'\n\
         git remote add origin \"${REPO_URL_ENV}\"\n"
    ));

    let depth = if git.depth > 0 {
        s.push_str(&format!(
            "echo 'Fetching changes with git depth set to {}...'\n",
            git.depth
        ));
        format!(" --depth {}", git.depth)
    } else {
        s.push_str("echo 'Fetching changes...'\n");
        String::new()
    };
    let refspecs: Vec<String> = if git.refspecs.is_empty() {
        DEFAULT_REFSPECS.iter().map(|r| quote(r)).collect()
    } else {
        git.refspecs.iter().map(|r| quote(r)).collect()
    };
    s.push_str(&format!(
        "git -c advice.detachedHead=false fetch --no-tags --prune{depth} origin {}\n",
        refspecs.join(" ")
    ));

    let short = git.sha.get(..8).unwrap_or(&git.sha);
    s.push_str(&format!(
        "echo {}\n\
         git -c advice.detachedHead=false checkout -f -q {}\n",
        quote(&format!(
            "Checking out {short} as detached HEAD (ref is {})...",
            git.r#ref
        )),
        quote(&git.sha),
    ));
    push_hook(&mut s, hooks, "post_get_sources_script");
    s
}

fn push_hook(s: &mut String, hooks: &[Hook], name: &str) {
    for hook in hooks.iter().filter(|h| h.name == name) {
        s.push_str(&crate::shell::echoed_commands(&hook.script));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_uses_refspecs_depth_and_sha() {
        let git = GitInfo {
            repo_url: "http://gitlab-ci-token:secret@h/p.git".into(),
            r#ref: "main".into(),
            sha: "0123456789abcdef0123456789abcdef01234567".into(),
            refspecs: vec!["+refs/heads/main:refs/remotes/origin/main".into()],
            depth: 20,
            ..GitInfo::default()
        };
        let hooks = vec![Hook {
            name: "post_get_sources_script".into(),
            script: vec!["echo hooked".into()],
        }];
        let s = fetch_script(&git, Path::new("/b/1"), &hooks);
        assert!(!s.contains("secret"), "credentials stay out of the script");
        assert!(s.contains("--depth 20 origin '+refs/heads/main:refs/remotes/origin/main'"));
        assert!(s.contains("checkout -f -q '0123456789abcdef0123456789abcdef01234567'"));
        assert!(s.contains("Checking out 01234567 as detached HEAD (ref is main)"));
        assert!(s.ends_with("echo hooked\n"));
    }
}
