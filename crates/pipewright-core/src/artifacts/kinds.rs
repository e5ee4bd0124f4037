//! Artifact types, their one accepted format and the file name the runner gets for reports
//! (GitLab's `Ci::JobArtifact` type/format pairs and default file names).

/// One artifact type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub file_type: &'static str,
    pub format: &'static str,
    pub default_name: &'static str,
}

const fn kind(file_type: &'static str, format: &'static str, default_name: &'static str) -> Kind {
    Kind {
        file_type,
        format,
        default_name,
    }
}

/// Types a runner may upload. `trace` is the server's own record of the log, never uploaded.
pub const KINDS: &[Kind] = &[
    kind("archive", "zip", "artifacts.zip"),
    kind("metadata", "gzip", "metadata.gz"),
    kind("junit", "gzip", "junit.xml"),
    kind("dotenv", "gzip", ".env"),
    kind("cobertura", "gzip", "cobertura-coverage.xml"),
    kind("jacoco", "gzip", "jacoco.xml"),
    kind("metrics", "gzip", "metrics.txt"),
    kind("cyclonedx", "gzip", "gl-sbom.cdx.json"),
    kind("annotations", "gzip", "gl-annotations.json"),
    kind("repository_xray", "gzip", "gl-repository-xray.json"),
    kind("lsif", "zip", "lsif.json"),
    kind("codequality", "raw", "gl-code-quality-report.json"),
    kind("sast", "raw", "gl-sast-report.json"),
    kind("secret_detection", "raw", "gl-secret-detection-report.json"),
    kind(
        "dependency_scanning",
        "raw",
        "gl-dependency-scanning-report.json",
    ),
    kind(
        "container_scanning",
        "raw",
        "gl-container-scanning-report.json",
    ),
    kind(
        "cluster_image_scanning",
        "raw",
        "gl-cluster-image-scanning-report.json",
    ),
    kind("dast", "raw", "gl-dast-report.json"),
    kind("license_scanning", "raw", "gl-license-scanning-report.json"),
    kind("performance", "raw", "performance.json"),
    kind("browser_performance", "raw", "browser-performance.json"),
    kind("load_performance", "raw", "load-performance.json"),
    kind("terraform", "raw", "tfplan.json"),
    kind("accessibility", "raw", "gl-accessibility.json"),
    kind("requirements", "raw", "requirements.json"),
    kind("coverage_fuzzing", "raw", "gl-coverage-fuzzing.json"),
    kind("api_fuzzing", "raw", "gl-api-fuzzing-report.json"),
];

pub fn by_type(file_type: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.file_type == file_type)
}

/// The artifact type of an `artifacts:reports:<kind>` entry (`coverage_report` names its
/// format: `cobertura` or `jacoco`).
pub fn report_kind(kind: &str, coverage_format: Option<&str>) -> Option<&'static Kind> {
    match kind {
        "coverage_report" => by_type(coverage_format.unwrap_or("cobertura")),
        "archive" | "metadata" => None,
        other => by_type(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_have_fixed_formats() {
        assert_eq!(report_kind("junit", None).map(|k| k.format), Some("gzip"));
        assert_eq!(
            report_kind("dotenv", None).map(|k| k.default_name),
            Some(".env")
        );
        assert_eq!(
            report_kind("coverage_report", Some("jacoco")).map(|k| k.file_type),
            Some("jacoco")
        );
        assert_eq!(report_kind("sast", None).map(|k| k.format), Some("raw"));
        assert!(report_kind("archive", None).is_none());
        assert!(report_kind("nope", None).is_none());
    }
}
