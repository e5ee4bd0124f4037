//! The runner-protocol scenarios: many runners racing for pending jobs, and many running jobs
//! streaming their logs in 4 KB chunks.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use hyper::{Method, StatusCode};

use crate::load::{Call, Conn, LoadResult, new_histogram, record};

/// What the dispatch race produced.
pub struct Dispatch {
    pub load: LoadResult,
    /// `(runner index, job id)` of every 201.
    pub handed_out: Vec<(usize, i64)>,
    /// 409 answers (all candidates taken meanwhile); retried, not errors.
    pub conflicts: u64,
}

/// Every runner asks for jobs until the server has none left for it, or `limit` passed (a
/// slow server then leaves jobs pending; the checks account for them).
pub async fn dispatch(
    addr: SocketAddr,
    runner_tokens: &[String],
    limit: Duration,
) -> anyhow::Result<Dispatch> {
    let mut conns = Vec::with_capacity(runner_tokens.len());
    for _ in runner_tokens {
        conns.push(Conn::open(addr).await?);
    }
    let started = Instant::now();
    let deadline = started + limit;
    let mut tasks = Vec::new();
    for (index, (mut conn, token)) in conns
        .into_iter()
        .zip(runner_tokens.iter().cloned())
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let call = Call {
                method: Method::POST,
                path: "/api/v4/jobs/request".into(),
                headers: vec![("content-type", "application/json".into())],
                body: Bytes::from(serde_json::to_vec(&serde_json::json!({
                    "token": token,
                    "info": {"name": "pipewright-bench", "features": {"trace_sections": true}}
                }))?),
            };
            let mut histogram = new_histogram()?;
            let (mut jobs, mut conflicts, mut errors) = (Vec::new(), 0u64, 0u64);
            let mut first_error = None;
            // Bounded: no more asks than there could be jobs plus retries.
            for _ in 0..1_000_000u32 {
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                let answer = conn.send(&call).await?;
                record(&mut histogram, sent.elapsed());
                match answer.status {
                    StatusCode::CREATED => {
                        let payload: serde_json::Value = serde_json::from_slice(&answer.body)?;
                        let id = payload["id"].as_i64().context("job payload without id")?;
                        jobs.push((index, id));
                    }
                    StatusCode::NO_CONTENT => break,
                    StatusCode::CONFLICT => conflicts += 1,
                    status => {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!(
                                "POST /jobs/request -> {status}: {}",
                                String::from_utf8_lossy(&answer.body)
                            )
                        });
                        if errors > 100 {
                            break;
                        }
                    }
                }
            }
            anyhow::Ok((jobs, conflicts, errors, histogram, first_error))
        }));
    }
    let mut handed_out = Vec::new();
    let (mut conflicts, mut errors) = (0, 0);
    let mut histogram = new_histogram()?;
    let mut first_error = None;
    for task in tasks {
        let (jobs, lost, failed, one, error) = task.await??;
        handed_out.extend(jobs);
        conflicts += lost;
        errors += failed;
        histogram.add(&one)?;
        first_error = first_error.or(error);
    }
    let elapsed = started.elapsed();
    Ok(Dispatch {
        load: LoadResult {
            requests: handed_out.len() as u64,
            errors,
            elapsed,
            histogram,
            first_error,
            bytes: 0,
        },
        handed_out,
        conflicts,
    })
}

/// Checks that no job was handed out twice or came from outside the seeded set; with
/// `complete`, also that every seeded job was handed out.
pub fn exactly_once(seeded: &[i64], handed_out: &[(usize, i64)], complete: bool) -> (bool, String) {
    let mut seen = HashSet::with_capacity(handed_out.len());
    let duplicates = handed_out
        .iter()
        .filter(|(_, id)| !seen.insert(*id))
        .count();
    let expected: HashSet<i64> = seeded.iter().copied().collect();
    let missing = expected.difference(&seen).count();
    let foreign = seen.difference(&expected).count();
    let ok = duplicates == 0 && foreign == 0 && (missing == 0 || !complete);
    (
        ok,
        format!(
            "{} handed out for {} pending: {duplicates} twice, {missing} not (yet), {foreign} not seeded",
            handed_out.len(),
            seeded.len()
        ),
    )
}

/// The bytes of chunk `chunk` of job `job`'s log; regenerated to check the stored log.
pub fn trace_chunk(job: i64, chunk: usize, size: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(size + 64);
    let mut line = 0;
    while bytes.len() < size {
        line += 1;
        bytes.extend_from_slice(
            format!("job {job} chunk {chunk} line {line}: \u{1b}[1mcompiling\u{1b}[0m something\n")
                .as_bytes(),
        );
    }
    bytes.truncate(size);
    bytes
}

/// Each job's log is written by one connection, chunk after chunk, as a runner does.
pub async fn append_traces(
    addr: SocketAddr,
    jobs: &[(i64, String)],
    connections: usize,
    chunks: usize,
    chunk_bytes: usize,
) -> anyhow::Result<LoadResult> {
    let connections = connections.clamp(1, jobs.len().max(1));
    let jobs = Arc::new(jobs.to_vec());
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::open(addr).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (index, mut conn) in conns.into_iter().enumerate() {
        let jobs = Arc::clone(&jobs);
        tasks.push(tokio::spawn(async move {
            let mine: Vec<&(i64, String)> = jobs.iter().skip(index).step_by(connections).collect();
            let mut histogram = new_histogram()?;
            let (mut requests, mut errors, mut first_error) = (0u64, 0u64, None);
            for chunk in 0..chunks {
                for (job, token) in &mine {
                    let body = trace_chunk(*job, chunk, chunk_bytes);
                    let start = chunk * chunk_bytes;
                    let call = Call {
                        method: Method::PATCH,
                        path: format!("/api/v4/jobs/{job}/trace"),
                        headers: vec![
                            ("job-token", token.clone()),
                            (
                                "content-range",
                                format!("{start}-{}", start + body.len() - 1),
                            ),
                            ("content-type", "text/plain".into()),
                        ],
                        body: Bytes::from(body),
                    };
                    let sent = Instant::now();
                    let answer = conn.send(&call).await?;
                    record(&mut histogram, sent.elapsed());
                    requests += 1;
                    if answer.status != StatusCode::ACCEPTED {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!("PATCH {} -> {}", call.path, answer.status)
                        });
                    }
                }
            }
            anyhow::Ok((requests, errors, histogram, first_error))
        }));
    }
    let (mut requests, mut errors, mut first_error) = (0, 0, None);
    let mut histogram = new_histogram()?;
    for task in tasks {
        let (sent, failed, one, error) = task.await??;
        requests += sent;
        errors += failed;
        histogram.add(&one)?;
        first_error = first_error.or(error);
    }
    Ok(LoadResult {
        requests,
        errors,
        elapsed: started.elapsed().max(Duration::from_micros(1)),
        histogram,
        first_error,
        bytes: (requests as usize * chunk_bytes) as u64,
    })
}

/// Reads every log back through the Jobs API and compares it with what was sent.
pub async fn verify_traces(
    addr: SocketAddr,
    project: i64,
    root_token: &str,
    jobs: &[(i64, String)],
    chunks: usize,
    chunk_bytes: usize,
) -> anyhow::Result<(bool, String)> {
    let mut conn = Conn::open(addr).await?;
    let mut mismatched = Vec::new();
    for (job, _) in jobs {
        let answer = conn
            .send(
                &Call::get(format!("/api/v4/projects/{project}/jobs/{job}/trace"))
                    .header("private-token", root_token),
            )
            .await?;
        if answer.status != StatusCode::OK {
            bail!("GET trace of job {job} -> {}", answer.status);
        }
        let expected: Vec<u8> = (0..chunks)
            .flat_map(|chunk| trace_chunk(*job, chunk, chunk_bytes))
            .collect();
        if answer.body.as_ref() != expected.as_slice() {
            mismatched.push(*job);
        }
    }
    Ok((
        mismatched.is_empty(),
        format!(
            "{} logs of {} bytes read back, {} differ{}",
            jobs.len(),
            chunks * chunk_bytes,
            mismatched.len(),
            if mismatched.is_empty() {
                String::new()
            } else {
                format!(" (jobs {mismatched:?})")
            }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_once_catches_duplicates_strays_and_gaps() {
        let seeded = [1, 2, 3];
        assert!(exactly_once(&seeded, &[(0, 1), (1, 2), (0, 3)], true).0);
        assert!(!exactly_once(&seeded, &[(0, 1), (1, 1), (0, 3)], false).0);
        assert!(!exactly_once(&seeded, &[(0, 1), (1, 9)], false).0);
        assert!(!exactly_once(&seeded, &[(0, 1)], true).0);
        assert!(exactly_once(&seeded, &[(0, 1)], false).0);
    }

    #[test]
    fn trace_chunks_have_the_asked_size_and_differ() {
        let a = trace_chunk(7, 0, 4096);
        assert_eq!(a.len(), 4096);
        assert_ne!(a, trace_chunk(7, 1, 4096));
        assert_ne!(a, trace_chunk(8, 0, 4096));
    }
}
