//! A job's artifacts over the protocol: download the archives of `dependencies` before the
//! script (§11), upload the job's own `artifacts` entries after `after_script` (§10).

use std::path::Path;

use pipewright_protocol::{ArtifactFormat, ArtifactSpec, JobResponse, When};
use reqwest::StatusCode;

use crate::archive;
use crate::client::{Client, UploadMeta};
use crate::style::{RESET, SECTION as BOLD_CYAN, SUCCESS as GREEN, WARNING as YELLOW};
use crate::trace::{TraceLog, backoff};
use crate::vars::{self, Vars};

/// Transfers tried at most this often (Go: 3 for uploads).
const ATTEMPTS: u32 = 3;

/// Downloads and extracts the archive of every dependency that has one.
pub(crate) async fn download_dependencies(
    client: &Client,
    job: &JobResponse,
    log: &TraceLog,
    project: &Path,
    tmp: &Path,
) -> Result<(), String> {
    let deps: Vec<_> = job
        .dependencies
        .iter()
        .filter(|d| d.artifacts_file.is_some())
        .collect();
    if deps.is_empty() {
        return Ok(());
    }
    log.line(&format!("{BOLD_CYAN}Downloading artifacts{RESET}"));
    for dep in deps {
        log.line(&format!(
            "Downloading artifacts for {} ({})...",
            dep.name, dep.id
        ));
        let dest = tmp.join(format!("dependency-{}.zip", dep.id));
        let mut attempt = 0;
        let status = loop {
            attempt += 1;
            let error = match client.download_artifacts(dep.id, &dep.token, &dest).await {
                Ok(status) if !status.is_server_error() || attempt >= ATTEMPTS => break status,
                Ok(status) => status.to_string(),
                Err(err) if attempt >= ATTEMPTS => {
                    return Err(format!(
                        "downloading artifacts of {} ({}): {err}",
                        dep.name, dep.id
                    ));
                }
                Err(err) => err.to_string(),
            };
            log.line(&format!(
                "{YELLOW}WARNING: Downloading artifacts from coordinator... {error}; retrying{RESET}"
            ));
            tokio::time::sleep(backoff(attempt)).await;
        };
        if status != StatusCode::OK {
            return Err(format!(
                "downloading artifacts of {} ({}): {status}",
                dep.name, dep.id
            ));
        }
        log.line(&format!(
            "Downloading artifacts from coordinator... ok  id={} responseStatus={status}",
            dep.id
        ));
        let (archive_path, dir) = (dest.clone(), project.to_path_buf());
        blocking(move || archive::extract_zip(&archive_path, &dir))
            .await
            .map_err(|e| format!("extracting artifacts of {} ({}): {e}", dep.name, dep.id))?;
        let _ = std::fs::remove_file(&dest);
    }
    Ok(())
}

/// Packs and uploads the entries of `job.artifacts` that apply to the job's result.
pub(crate) async fn upload(
    client: &Client,
    job: &JobResponse,
    log: &TraceLog,
    env: &Vars,
    project: &Path,
    tmp: &Path,
    succeeded: bool,
) -> Result<(), String> {
    let specs: Vec<&ArtifactSpec> = job
        .artifacts
        .iter()
        .flatten()
        .filter(|spec| applies(spec.when, succeeded))
        .collect();
    if specs.is_empty() {
        return Ok(());
    }
    let result = if succeeded { "successful" } else { "failed" };
    log.line(&format!(
        "{BOLD_CYAN}Uploading artifacts for {result} job{RESET}"
    ));
    for (index, spec) in specs.into_iter().enumerate() {
        upload_one(client, job, log, env, project, tmp, spec, index).await?;
    }
    Ok(())
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site, all of it context"
)]
async fn upload_one(
    client: &Client,
    job: &JobResponse,
    log: &TraceLog,
    env: &Vars,
    project: &Path,
    tmp: &Path,
    spec: &ArtifactSpec,
    index: usize,
) -> Result<(), String> {
    let format = spec.artifact_format.unwrap_or(ArtifactFormat::Zip);
    let artifact_type = if spec.artifact_type.is_empty() {
        "archive"
    } else {
        spec.artifact_type.as_str()
    };
    log.line("Uploading artifacts...");
    let (selection, untracked) = select_logged(
        project,
        &spec.paths,
        spec.untracked,
        &spec.exclude,
        env,
        log,
    )
    .await?;
    if spec.untracked {
        log.line(&format!("untracked: found {untracked} files"));
    }
    if selection.entries.is_empty() {
        log.line(&format!("{YELLOW}WARNING: No files to upload{RESET}"));
        return Ok(());
    }

    let file_name = archive::file_name(spec.name.as_deref(), format);
    let dest = tmp.join(format!("upload-{index}"));
    let (root, entries, path) = (project.to_path_buf(), selection.entries, dest.clone());
    blocking(move || archive::pack(&root, &entries, format, &path)).await?;

    let meta = UploadMeta {
        file_name: &file_name,
        artifact_type,
        artifact_format: format_name(format),
        expire_in: spec.expire_in.as_deref(),
    };
    let what = format!("Uploading artifacts as \"{artifact_type}\" to coordinator...");
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        match client
            .upload_artifact(job.id, &job.token, &dest, &meta)
            .await
        {
            Ok(StatusCode::CREATED) => break Ok(()),
            // Not worth retrying: refused or too large.
            Ok(status @ (StatusCode::FORBIDDEN | StatusCode::PAYLOAD_TOO_LARGE)) => {
                break Err(format!("{what} {status}"));
            }
            Ok(status) if attempt >= ATTEMPTS => break Err(format!("{what} {status}")),
            Err(err) if attempt >= ATTEMPTS => break Err(format!("{what} {err}")),
            Ok(status) => log.line(&format!(
                "{YELLOW}WARNING: {what} {status}; retrying{RESET}"
            )),
            Err(err) => log.line(&format!("{YELLOW}WARNING: {what} {err}; retrying{RESET}")),
        }
        tokio::time::sleep(backoff(attempt)).await;
    };
    let _ = std::fs::remove_file(&dest);
    outcome?;
    log.line(&format!(
        "{GREEN}{what} 201 Created{RESET}  id={} responseStatus=201 Created",
        job.id
    ));
    Ok(())
}

/// Whether an entry's `when` asks for an upload given the job's result.
fn applies(when: Option<When>, succeeded: bool) -> bool {
    match when.unwrap_or_default() {
        When::Always => true,
        When::OnFailure => !succeeded,
        When::OnSuccess | When::Unknown => succeeded,
    }
}

fn format_name(format: ArtifactFormat) -> &'static str {
    match format {
        ArtifactFormat::Zip => "zip",
        ArtifactFormat::Gzip => "gzip",
        ArtifactFormat::Raw => "raw",
        ArtifactFormat::Zipzstd => "zipzstd",
        ArtifactFormat::Tarzstd => "tarzstd",
        ArtifactFormat::Unknown => "unknown",
    }
}

/// The files `paths` (variables expanded, relative to the project), the untracked files when
/// asked and not `exclude`d select, logging each pattern's count as GitLab Runner does;
/// also returns how many untracked files there were.
pub(crate) async fn select_logged(
    project: &Path,
    paths: &[String],
    untracked: bool,
    exclude: &[String],
    env: &Vars,
    log: &TraceLog,
) -> Result<(archive::Selection, usize), String> {
    let patterns: Vec<String> = paths
        .iter()
        .filter_map(|p| relative_pattern(&vars::expand(p, |k| env.get(k)), project, log))
        .collect();
    let untracked = if untracked {
        untracked_files(project).await
    } else {
        Vec::new()
    };
    let untracked_count = untracked.len();
    let (root, exclude) = (project.to_path_buf(), exclude.to_vec());
    let selection = blocking(move || {
        archive::select(&root, &patterns, &untracked, &exclude).map_err(|e| e.to_string())
    })
    .await?;
    for (pattern, count) in &selection.counts {
        if *count == 0 {
            log.line(&format!(
                "{YELLOW}WARNING: {pattern}: no matching files. Ensure that the artifact path is \
                 relative to the working directory ({}){RESET}",
                project.display()
            ));
        } else {
            log.line(&format!(
                "{pattern}: found {count} matching artifact files and directories"
            ));
        }
    }
    Ok((selection, untracked_count))
}

/// Makes an (expanded) path pattern relative to the project; patterns pointing outside it
/// are dropped with a warning, like GitLab Runner does.
pub(crate) fn relative_pattern(pattern: &str, project: &Path, log: &TraceLog) -> Option<String> {
    let path = Path::new(pattern);
    if !path.is_absolute() {
        if path
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            log.line(&format!(
                "{YELLOW}WARNING: {pattern}: artifact path is not a subpath of the project directory{RESET}"
            ));
            return None;
        }
        return Some(pattern.to_owned());
    }
    match path.strip_prefix(project) {
        Ok(rel) if !rel.as_os_str().is_empty() => Some(rel.to_string_lossy().into_owned()),
        Ok(_) => Some("**".to_owned()),
        Err(_) => {
            log.line(&format!(
                "{YELLOW}WARNING: {pattern}: artifact path is not a subpath of the project directory{RESET}"
            ));
            None
        }
    }
}

/// Untracked files of the checkout (`git ls-files -o`), empty without a repository.
pub(crate) async fn untracked_files(project: &Path) -> Vec<String> {
    if !project.join(".git").exists() {
        return Vec::new();
    }
    let output = tokio::process::Command::new("git")
        .args(["ls-files", "-o", "-z"])
        .current_dir(project)
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    match output {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("archive task failed: {e}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_rules() {
        assert!(applies(None, true));
        assert!(!applies(None, false));
        assert!(applies(Some(When::Always), false));
        assert!(applies(Some(When::OnFailure), false));
        assert!(!applies(Some(When::OnFailure), true));
    }

    #[test]
    fn patterns_are_made_relative() {
        let log = TraceLog::new(Vec::new());
        let project = Path::new("/builds/7");
        assert_eq!(
            relative_pattern("dist/", project, &log).as_deref(),
            Some("dist/")
        );
        assert_eq!(
            relative_pattern("/builds/7/out", project, &log).as_deref(),
            Some("out")
        );
        assert_eq!(
            relative_pattern("/builds/7", project, &log).as_deref(),
            Some("**")
        );
        assert_eq!(relative_pattern("/etc/passwd", project, &log), None);
        assert_eq!(relative_pattern("../x", project, &log), None);
    }
}
