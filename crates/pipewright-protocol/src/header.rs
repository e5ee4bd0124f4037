//! Header names of the runner protocol.
//!
//! HTTP header names are case-insensitive. The constants are lowercase (how hyper and HTTP/2
//! put them on the wire, and the only form `http::HeaderName::from_static` accepts); the doc
//! of each shows GitLab's spelling.

/// `JOB-TOKEN`: the job token on job-scoped calls (trace, artifacts, optionally PUT).
pub const JOB_TOKEN: &str = "job-token";
/// `RUNNER-TOKEN`: sent by Go on runner calls; GitLab reads it only for router discovery.
pub const RUNNER_TOKEN: &str = "runner-token";
/// `Job-Status`: the job's current status on PUT/PATCH answers (how cancellation reaches a runner).
pub const JOB_STATUS: &str = "job-status";
/// `Range`: `0-<total log length>` on trace PATCH answers (202 and 416).
pub const RANGE: &str = "range";
/// `Content-Range`: `<start>-<end>` (inclusive, no unit, no total) on trace PATCH requests.
pub const CONTENT_RANGE: &str = "content-range";
/// `X-GitLab-Last-Update`: the runner's opaque queue version, echoed back as `last_update`.
pub const LAST_UPDATE: &str = "x-gitlab-last-update";
/// `X-GitLab-Trace-Update-Interval`: seconds until the runner's next trace send / final PUT retry.
pub const TRACE_UPDATE_INTERVAL: &str = "x-gitlab-trace-update-interval";
/// `Gitlab-Ci-Builds-Polling`: `yes` on the long-polled job request route (informative).
pub const BUILDS_POLLING: &str = "gitlab-ci-builds-polling";
