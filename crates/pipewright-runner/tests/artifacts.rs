//! Artifacts through the protocol: a job uploads its archive and a report, a later job
//! downloads the archive as a dependency.

mod support;

use std::io::Read;

use pipewright_protocol::{ArtifactFile, ArtifactFormat, ArtifactSpec, Dependency, JobState, When};
use support::{Harness, Knobs, shell_job};

fn archive(paths: &[&str], when: When) -> ArtifactSpec {
    ArtifactSpec {
        name: None,
        paths: paths.iter().map(|p| p.to_string()).collect(),
        when: Some(when),
        expire_in: Some("1 week".into()),
        artifact_type: "archive".into(),
        artifact_format: Some(ArtifactFormat::Zip),
        ..ArtifactSpec::default()
    }
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
    let mut names: Vec<String> = zip
        .file_names()
        .map(|n| n.expect("entry name").into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn artifacts_are_uploaded_and_passed_to_dependent_jobs() {
    let h = Harness::start(1).await;

    let mut build = shell_job(
        20,
        &[
            "mkdir -p dist/tmp",
            "echo built > dist/out.txt",
            "echo scratch > dist/tmp/x",
            "echo '<testsuite/>' > report.xml",
        ],
        None,
    );
    let mut dist = archive(&["dist/", "$CI_PROJECT_DIR/missing"], When::OnSuccess);
    dist.exclude = vec!["dist/tmp".into()];
    build.artifacts = Some(vec![
        dist,
        ArtifactSpec {
            name: Some("junit.xml".into()),
            paths: vec!["report.xml".into()],
            when: Some(When::Always),
            artifact_type: "junit".into(),
            artifact_format: Some(ArtifactFormat::Gzip),
            ..ArtifactSpec::default()
        },
        // Only for failed jobs: not uploaded here.
        archive(&["report.xml"], When::OnFailure),
    ]);
    h.fake.push(build, Knobs::default());
    assert_eq!(h.fake.wait_final(20).await.state, JobState::Success);
    let job = h.fake.job(20);
    assert_eq!(job.artifacts.len(), 2, "{}", job.log);
    let zip = &job.artifacts[0];
    assert_eq!(
        (
            zip.artifact_type.as_str(),
            zip.artifact_format.as_str(),
            zip.file_name.as_str()
        ),
        ("archive", "zip", "artifacts.zip")
    );
    assert_eq!(zip.expire_in.as_deref(), Some("1 week"));
    assert_eq!(zip_names(&zip.bytes), ["dist/", "dist/out.txt"]);
    let junit = &job.artifacts[1];
    assert_eq!(
        (
            junit.artifact_type.as_str(),
            junit.artifact_format.as_str(),
            junit.file_name.as_str()
        ),
        ("junit", "gzip", "junit.xml.gz")
    );
    let mut xml = String::new();
    flate2::read::MultiGzDecoder::new(junit.bytes.as_slice())
        .read_to_string(&mut xml)
        .expect("gunzip");
    assert_eq!(xml, "<testsuite/>\n");
    assert!(
        job.log
            .contains("dist/: found 2 matching artifact files and directories"),
        "{}",
        job.log
    );
    assert!(
        job.log.contains("missing: no matching files"),
        "{}",
        job.log
    );
    assert!(
        job.log
            .contains("Uploading artifacts as \"junit\" to coordinator... 201 Created")
    );

    // A dependent job gets `dist/` back, fails, and uploads on failure only.
    let mut test = shell_job(21, &["cat dist/out.txt", "exit 1"], None);
    test.dependencies = vec![
        Dependency {
            id: 20,
            name: "build".into(),
            token: test.token.clone(),
            artifacts_file: Some(ArtifactFile {
                filename: "artifacts.zip".into(),
                size: zip.bytes.len() as i64,
            }),
        },
        // No archive: skipped.
        Dependency {
            id: 19,
            name: "lint".into(),
            token: test.token.clone(),
            artifacts_file: None,
        },
    ];
    test.artifacts = Some(vec![
        archive(&["dist/out.txt"], When::OnSuccess),
        archive(&["dist"], When::OnFailure),
    ]);
    h.fake.push(test, Knobs::default());
    let update = h.fake.wait_final(21).await;
    let job = h.fake.job(21);
    assert_eq!(update.state, JobState::Failed);
    assert_eq!(
        update.failure_reason.as_deref(),
        Some("script_failure"),
        "{}",
        job.log
    );
    assert!(
        job.log.contains("Downloading artifacts for build (20)..."),
        "{}",
        job.log
    );
    assert!(job.log.contains("built\n"), "{}", job.log);
    assert_eq!(job.artifacts.len(), 1);
    assert_eq!(
        zip_names(&job.artifacts[0].bytes),
        ["dist/", "dist/out.txt"]
    );
    h.stop().await;
}

#[tokio::test]
async fn missing_dependency_archive_fails_the_job() {
    let h = Harness::start(1).await;
    let mut job = shell_job(22, &["echo never-runs"], None);
    job.dependencies = vec![Dependency {
        id: 999,
        name: "gone".into(),
        token: job.token.clone(),
        artifacts_file: Some(ArtifactFile {
            filename: "artifacts.zip".into(),
            size: 1,
        }),
    }];
    h.fake.push(job, Knobs::default());
    let update = h.fake.wait_final(22).await;
    let job = h.fake.job(22);
    assert_eq!(update.state, JobState::Failed);
    assert_eq!(
        update.failure_reason.as_deref(),
        Some("runner_system_failure")
    );
    assert!(job.log.contains("404 Not Found"), "{}", job.log);
    assert!(!job.log.contains("never-runs\n"), "{}", job.log);
    h.stop().await;
}
