//! The job log: a local buffer the executor writes to ([`TraceLog`]) and the loop that streams
//! it to the server with `PATCH /jobs/:id/trace` ([`TraceSender`]).
//!
//! The whole log stays in memory so that a 416 answer can be honoured by re-sending from any
//! offset the server names, and so that the final checksum covers exactly what was sent.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use pipewright_protocol::{Crc32, JobState, Output, UpdateJobRequest};
use reqwest::StatusCode;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{Client, JobReply};
use crate::mask::Masker;

/// Stop collecting output past this size (Go's default is 4 MiB; builds can be chattier).
const LOG_LIMIT: usize = 16 * 1024 * 1024;
/// Largest PATCH body, like Go.
const MAX_PATCH: usize = 1024 * 1024;
/// PATCHes sent back to back in one tick when output piles up.
const CHUNKS_PER_TICK: usize = 4;
/// First send interval; later ones follow the server's header.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Never wait longer than this between sends, whatever the server says: cancellation is only
/// noticed on these answers.
const MAX_INTERVAL: Duration = Duration::from_secs(3);
/// Without new output, prove liveness (and learn about cancellation) with `PUT state=running`.
const KEEPALIVE_AFTER: Duration = Duration::from_secs(3);
/// Retries of the final flush and update when the server is unreachable.
const FINAL_ATTEMPTS: u32 = 12;
/// The same while the runner shuts down: the server may be going away too.
const SHUTDOWN_ATTEMPTS: u32 = 3;
/// GitLab stops asking runners to repeat the final update after 5 minutes.
const ACCEPTED_RETRY_WINDOW: Duration = Duration::from_secs(300);

/// The job's log as the runner sends it (secrets already masked).
#[derive(Clone)]
pub(crate) struct TraceLog(Arc<Mutex<LogInner>>);

struct LogInner {
    data: Vec<u8>,
    /// CRC of `data`, kept up to date so keep-alives need not rescan the log.
    crc: Crc32,
    masker: Masker,
    truncated: bool,
}

impl TraceLog {
    pub(crate) fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Self(Arc::new(Mutex::new(LogInner {
            data: Vec::new(),
            crc: Crc32::new(),
            masker: Masker::new(secrets),
            truncated: false,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, LogInner> {
        // A panic while holding the lock leaves plain bytes behind; keep using them.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self, bytes: &[u8]) {
        let mut inner = self.lock();
        let safe = inner.masker.push(bytes);
        inner.append(&safe);
    }

    /// Writes one line of runner output.
    pub(crate) fn line(&self, text: &str) {
        self.write(format!("{text}\n").as_bytes());
    }

    /// Releases output the masker held back (call when no more process output can come).
    pub(crate) fn settle(&self) {
        let mut inner = self.lock();
        let rest = inner.masker.finish();
        inner.append(&rest);
    }

    pub(crate) fn len(&self) -> u64 {
        self.lock().data.len() as u64
    }

    /// Up to `max` bytes from `from`.
    fn slice(&self, from: u64, max: usize) -> Bytes {
        let inner = self.lock();
        let start = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(inner.data.len());
        let end = start.saturating_add(max).min(inner.data.len());
        Bytes::copy_from_slice(&inner.data[start..end])
    }

    /// `output` of the final update: checksum and size of the whole log.
    pub(crate) fn output(&self) -> Output {
        let inner = self.lock();
        Output {
            checksum: Some(inner.crc.checksum()),
            bytesize: Some(inner.crc.len()),
        }
    }
}

impl LogInner {
    fn append(&mut self, bytes: &[u8]) {
        if self.truncated || bytes.is_empty() {
            return;
        }
        let room = LOG_LIMIT.saturating_sub(self.data.len());
        if bytes.len() <= room {
            self.push(bytes);
            return;
        }
        self.push(&bytes[..room]);
        self.truncated = true;
        self.push(
            format!(
                "\n\x1b[31;1mJob's log exceeded limit of {LOG_LIMIT} bytes.\n\
                 Job execution will continue but no more output will be collected.\x1b[0;m\n"
            )
            .as_bytes(),
        );
    }

    fn push(&mut self, bytes: &[u8]) {
        self.data.extend_from_slice(bytes);
        self.crc.update(bytes);
    }
}

/// How the server wants the job to go on, read from `Job-Status` and the status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Continue,
    /// `canceling`: stop the script, still run `after_script`, then report.
    Graceful,
    /// `canceled`/`failed` or 403: kill everything and stop talking about this job.
    Abort,
}

fn verdict(reply: &JobReply) -> Verdict {
    if reply.status == StatusCode::FORBIDDEN {
        return Verdict::Abort;
    }
    match reply.job_status.as_deref() {
        Some("canceling") => Verdict::Graceful,
        Some("canceled" | "failed") => Verdict::Abort,
        _ => Verdict::Continue,
    }
}

/// Cancellation signals of one job, shared by the executor and the sender.
#[derive(Clone)]
pub(crate) struct JobSignals {
    /// Server asked for a graceful cancel.
    pub graceful: CancellationToken,
    /// Kill everything now: the server aborted the job, or the runner shuts down.
    pub hard: CancellationToken,
    /// The server aborted the job: no more updates must be sent.
    pub server_abort: CancellationToken,
}

impl JobSignals {
    /// `shutdown` (runner-wide) also fires `hard`.
    pub(crate) fn new(shutdown: &CancellationToken) -> Self {
        Self {
            graceful: CancellationToken::new(),
            hard: shutdown.child_token(),
            server_abort: CancellationToken::new(),
        }
    }

    fn apply(&self, verdict: Verdict) {
        match verdict {
            Verdict::Continue => {}
            Verdict::Graceful => self.graceful.cancel(),
            Verdict::Abort => {
                self.server_abort.cancel();
                self.hard.cancel();
            }
        }
    }
}

/// Streams a [`TraceLog`] to the server and delivers the final update.
pub(crate) struct TraceSender {
    client: Client,
    job_id: i64,
    token: String,
    log: TraceLog,
    signals: JobSignals,
    /// How many bytes the server holds (our next `Content-Range` start).
    sent: u64,
    interval: Duration,
    last_contact: Instant,
    /// 404 on PATCH: the server no longer takes log for this job (Go stops sending too).
    trace_gone: bool,
}

impl TraceSender {
    pub(crate) fn new(
        client: Client,
        job_id: i64,
        token: String,
        log: TraceLog,
        signals: JobSignals,
    ) -> Self {
        Self {
            client,
            job_id,
            token,
            log,
            signals,
            sent: 0,
            interval: DEFAULT_INTERVAL,
            last_contact: Instant::now(),
            trace_gone: false,
        }
    }

    /// Sends new output every interval (or a keep-alive) until `done` fires or the server
    /// aborts the job.
    pub(crate) async fn run_until(&mut self, done: &CancellationToken) {
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                () = self.signals.server_abort.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
            if self.has_unsent() {
                // A chatty job may produce more than one PATCH per tick: catch up a little.
                for _ in 0..CHUNKS_PER_TICK {
                    if !self.send_chunk().await || !self.has_unsent() || self.aborted() {
                        break;
                    }
                }
            } else if self.last_contact.elapsed() >= KEEPALIVE_AFTER {
                self.keepalive().await;
            }
        }
    }

    fn has_unsent(&self) -> bool {
        !self.trace_gone && self.log.len() > self.sent
    }

    fn aborted(&self) -> bool {
        self.signals.server_abort.is_cancelled()
    }

    /// How often to try delivering the end of a job.
    fn attempts(&self) -> u32 {
        if self.signals.hard.is_cancelled() {
            SHUTDOWN_ATTEMPTS
        } else {
            FINAL_ATTEMPTS
        }
    }

    /// One PATCH of the bytes after `sent`. Returns false on a transport error.
    async fn send_chunk(&mut self) -> bool {
        let chunk = self.log.slice(self.sent, MAX_PATCH);
        if chunk.is_empty() {
            return true;
        }
        let len = chunk.len() as u64;
        let reply = match self
            .client
            .patch_trace(self.job_id, &self.token, self.sent, chunk)
            .await
        {
            Ok(reply) => reply,
            Err(err) => {
                tracing::warn!(job = self.job_id, error = %err, "sending the job log failed");
                return false;
            }
        };
        self.last_contact = Instant::now();
        match reply.status {
            StatusCode::ACCEPTED | StatusCode::OK => {
                self.sent = reply.range_total.unwrap_or(self.sent + len);
            }
            StatusCode::RANGE_NOT_SATISFIABLE => match reply.range_total {
                // The server holds a different amount than we thought (a lost answer, or it
                // lost data): continue from what it has.
                Some(total) => {
                    tracing::debug!(
                        job = self.job_id,
                        from = self.sent,
                        to = total,
                        "log resync"
                    );
                    self.sent = total;
                }
                None => {
                    tracing::warn!(job = self.job_id, "416 without Range; restarting the log");
                    self.sent = 0;
                }
            },
            StatusCode::NOT_FOUND => {
                tracing::warn!(job = self.job_id, "server no longer accepts this job's log");
                self.trace_gone = true;
            }
            status => {
                tracing::warn!(job = self.job_id, %status, "unexpected answer to a log update");
            }
        }
        // Never resume past what we have (a confused server must not make us skip output).
        self.sent = self.sent.min(self.log.len());
        self.adopt_interval(reply.interval);
        self.signals.apply(verdict(&reply));
        true
    }

    async fn keepalive(&mut self) {
        let body = UpdateJobRequest {
            token: Some(self.token.clone()),
            state: JobState::Running,
            output: Some(self.log.output()),
            ..UpdateJobRequest::default()
        };
        match self
            .client
            .update_job(self.job_id, &self.token, &body)
            .await
        {
            Ok(reply) => {
                self.last_contact = Instant::now();
                self.signals.apply(verdict(&reply));
            }
            Err(err) => tracing::warn!(job = self.job_id, error = %err, "keep-alive failed"),
        }
    }

    fn adopt_interval(&mut self, interval: Option<Duration>) {
        if let Some(interval) = interval.filter(|i| !i.is_zero()) {
            self.interval = interval.min(MAX_INTERVAL);
        }
    }

    /// Sends everything not yet sent. Gives up after repeated transport errors.
    pub(crate) async fn flush(&mut self) {
        let mut failures = 0;
        // Answers that do not move our offset (e.g. repeated 416 naming the same length).
        let mut stalls = 0;
        while self.has_unsent() && !self.aborted() {
            let before = self.sent;
            let delivered = self.send_chunk().await;
            if delivered && self.sent == before {
                stalls += 1;
                if stalls >= self.attempts() {
                    tracing::error!(
                        job = self.job_id,
                        "server keeps refusing the rest of the log"
                    );
                    return;
                }
            }
            if !delivered {
                failures += 1;
                if failures >= self.attempts() {
                    tracing::error!(job = self.job_id, "could not deliver the rest of the log");
                    return;
                }
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    }

    /// The final `PUT`, repeated while the server answers 202 (or is unreachable).
    pub(crate) async fn finish(&mut self, mut body: UpdateJobRequest) {
        body.token = Some(self.token.clone());
        body.output = Some(self.log.output());
        let started = Instant::now();
        let mut failures = 0;
        while !self.aborted() {
            let reply = match self
                .client
                .update_job(self.job_id, &self.token, &body)
                .await
            {
                Ok(reply) => reply,
                Err(err) => {
                    failures += 1;
                    tracing::warn!(job = self.job_id, error = %err, "final job update failed");
                    if failures >= self.attempts() {
                        return;
                    }
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
            };
            match reply.status {
                StatusCode::OK => return,
                // The server is still persisting the log: ask again after its interval.
                StatusCode::ACCEPTED if started.elapsed() < ACCEPTED_RETRY_WINDOW => {
                    let wait = reply
                        .interval
                        .unwrap_or(DEFAULT_INTERVAL)
                        .clamp(Duration::from_millis(100), Duration::from_secs(64));
                    tokio::time::sleep(wait).await;
                }
                StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                    tracing::warn!(job = self.job_id, status = %reply.status, "final update refused");
                    return;
                }
                status if status.is_server_error() => {
                    failures += 1;
                    if failures >= self.attempts() {
                        return;
                    }
                    tokio::time::sleep(backoff(failures)).await;
                }
                status => {
                    tracing::warn!(job = self.job_id, %status, "unexpected answer to the final update");
                    return;
                }
            }
        }
    }
}

/// 1, 2, 4, … seconds, at most 30.
pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_limit_truncates_once() {
        let log = TraceLog::new(Vec::new());
        log.write(&vec![b'a'; LOG_LIMIT - 2]);
        log.write(b"bcdef");
        log.write(b"more");
        let all = log.slice(0, usize::MAX);
        assert!(all.starts_with(&vec![b'a'; LOG_LIMIT - 2]));
        assert_eq!(&all[LOG_LIMIT - 2..LOG_LIMIT], b"bc");
        assert!(String::from_utf8_lossy(&all[LOG_LIMIT..]).contains("exceeded limit"));
        // Nothing written after the limit: the notice is the very end.
        assert!(all.ends_with(b"will be collected.\x1b[0;m\n"));
        let output = log.output();
        assert_eq!(output.bytesize, Some(all.len() as u64));
        assert_eq!(
            output.checksum,
            Some(pipewright_protocol::crc32_checksum(&all))
        );
    }

    #[test]
    fn verdicts() {
        let reply = |status: StatusCode, job_status: Option<&str>| JobReply {
            status,
            job_status: job_status.map(str::to_owned),
            range_total: None,
            interval: None,
        };
        assert_eq!(
            verdict(&reply(StatusCode::ACCEPTED, Some("running"))),
            Verdict::Continue
        );
        assert_eq!(
            verdict(&reply(StatusCode::ACCEPTED, None)),
            Verdict::Continue
        );
        assert_eq!(
            verdict(&reply(StatusCode::ACCEPTED, Some("canceling"))),
            Verdict::Graceful
        );
        assert_eq!(
            verdict(&reply(StatusCode::FORBIDDEN, Some("canceled"))),
            Verdict::Abort
        );
        assert_eq!(
            verdict(&reply(StatusCode::OK, Some("failed"))),
            Verdict::Abort
        );
        assert_eq!(verdict(&reply(StatusCode::FORBIDDEN, None)), Verdict::Abort);
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(20), Duration::from_secs(30));
    }
}
