//! The read scenarios of the Jobs API, as load plans over the seeded data.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hyper::StatusCode;

use crate::config::Sizes;
use crate::load::{self, Call, CallFn, LoadResult, Pace, Plan};
use crate::report::{Row, Target};
use crate::seed::Seeded;

/// A read scenario: name, request builder, connections and goal.
pub struct ReadScenario {
    pub name: String,
    pub connections: usize,
    pub call: CallFn,
    pub target: Target,
}

/// A well-mixed pseudo-random number from a connection and a sequence number.
fn spread(connection: usize, seq: u64) -> u64 {
    let mut x = (connection as u64) << 40 ^ seq ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// GitLab's keyset cursor for "jobs older than `id`".
pub fn cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(format!("{{\"id\":\"{id}\",\"_kd\":\"n\"}}"))
}

fn fixed(path: String, token: &str) -> CallFn {
    let call = Call::get(path).header("private-token", token);
    Arc::new(move |_, _| call.clone())
}

pub fn version(token: &str, connections: usize) -> ReadScenario {
    ReadScenario {
        name: "GET /version (baseline)".into(),
        connections,
        call: fixed("/api/v4/version".into(), token),
        target: Target::default(),
    }
}

/// The list scenarios of the issue, in the order they are run.
pub fn lists(seeded: &Seeded, sizes: &Sizes) -> Vec<ReadScenario> {
    let project = seeded.list_project;
    let token = &seeded.root_token;
    let conns = sizes.list_connections;
    let list_target = Target {
        min_rps: Some(5_000.0),
        max_p99_ms: Some(10.0),
        ..Target::default()
    };
    let base = format!("/api/v4/projects/{project}/jobs?per_page=20");
    // The last keyset page: the 20 oldest builds.
    let end_cursor = cursor(seeded.first_job + 20);
    let last_offset_page = sizes.total_jobs().div_ceil(100).max(1);
    vec![
        ReadScenario {
            name: "jobs per_page=20 offset page 1".into(),
            connections: conns,
            call: fixed(base.clone(), token),
            target: list_target.clone(),
        },
        ReadScenario {
            name: "jobs per_page=20 keyset page 1".into(),
            connections: conns,
            call: fixed(format!("{base}&pagination=keyset"), token),
            target: list_target.clone(),
        },
        ReadScenario {
            name: "jobs scope[]=failed offset page 1".into(),
            connections: conns,
            call: fixed(format!("{base}&scope[]=failed"), token),
            target: list_target.clone(),
        },
        ReadScenario {
            name: "jobs scope[]=failed keyset page 1".into(),
            connections: conns,
            call: fixed(format!("{base}&scope[]=failed&pagination=keyset"), token),
            target: list_target.clone(),
        },
        ReadScenario {
            name: "jobs keyset last page".into(),
            connections: conns,
            call: fixed(
                format!("{base}&pagination=keyset&cursor={end_cursor}"),
                token,
            ),
            target: list_target,
        },
        ReadScenario {
            name: format!("jobs per_page=100 offset page {last_offset_page} (1 conn)"),
            connections: 1,
            call: fixed(
                format!("/api/v4/projects/{project}/jobs?per_page=100&page={last_offset_page}"),
                token,
            ),
            target: Target {
                max_p50_ms: Some(50.0),
                ..Target::default()
            },
        },
    ]
}

/// One pipeline's jobs and one job, picked at random over the whole data set.
pub fn items(seeded: &Seeded, sizes: &Sizes) -> Vec<ReadScenario> {
    let project = seeded.list_project;
    let header = ("private-token", seeded.root_token.clone());
    let item_target = Target {
        min_rps: Some(8_000.0),
        max_p99_ms: Some(5.0),
        ..Target::default()
    };
    let (first_pipeline, pipelines) = (
        seeded.first_pipeline,
        (seeded.last_pipeline - seeded.first_pipeline + 1).max(1) as u64,
    );
    let (first_job, jobs) = (
        seeded.first_job,
        (seeded.last_job - seeded.first_job + 1).max(1) as u64,
    );
    let pipeline_header = header.clone();
    vec![
        ReadScenario {
            name: "pipelines/:pid/jobs (random pipeline)".into(),
            connections: sizes.item_connections,
            call: Arc::new(move |conn, seq| {
                let pipeline = first_pipeline + (spread(conn, seq) % pipelines) as i64;
                Call::get(format!(
                    "/api/v4/projects/{project}/pipelines/{pipeline}/jobs"
                ))
                .header(pipeline_header.0, pipeline_header.1.clone())
            }),
            target: item_target.clone(),
        },
        ReadScenario {
            name: "jobs/:job_id (random job)".into(),
            connections: sizes.item_connections,
            call: Arc::new(move |conn, seq| {
                let job = first_job + (spread(conn, seq) % jobs) as i64;
                Call::get(format!("/api/v4/projects/{project}/jobs/{job}"))
                    .header(header.0, header.1.clone())
            }),
            target: item_target,
        },
    ]
}

/// The last 4 KB of a log, by `byte_offset`.
pub fn log_tail(seeded: &Seeded, job: i64, log_bytes: usize, label: &str) -> ReadScenario {
    let offset = log_bytes.saturating_sub(4096);
    ReadScenario {
        name: format!("trace tail of a {label} log"),
        connections: 8,
        call: fixed(
            format!(
                "/api/v4/projects/{}/jobs/{job}/trace?byte_offset={offset}",
                seeded.list_project
            ),
            &seeded.root_token,
        ),
        target: Target::default(),
    }
}

/// Runs one scenario closed-loop (and, when asked, again at its target rate).
pub async fn run(
    addr: SocketAddr,
    scenario: &ReadScenario,
    warmup: Duration,
    measure: Duration,
    pace: Pace,
) -> anyhow::Result<(Row, LoadResult)> {
    let result = load::run(Plan {
        addr,
        connections: scenario.connections,
        warmup,
        measure,
        pace,
        expect: StatusCode::OK,
        call: Arc::clone(&scenario.call),
    })
    .await?;
    let (pace_text, target) = match pace {
        // As fast as it goes, throughput is judged; latency then is mostly queueing, which
        // the fixed-rate run judges instead.
        Pace::ClosedLoop => (
            "closed".to_owned(),
            match scenario.target.min_rps {
                Some(min_rps) => Target {
                    min_rps: Some(min_rps),
                    ..Target::default()
                },
                None => scenario.target.clone(),
            },
        ),
        Pace::Rate(rate) => (
            format!("{rate:.0}/s"),
            // At a fixed rate the throughput is given; only latency is judged.
            Target {
                min_rps: None,
                ..scenario.target.clone()
            },
        ),
    };
    let row = Row::new(
        &scenario.name,
        scenario.connections,
        &pace_text,
        &result,
        &target,
    );
    Ok((row, result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_is_gitlabs_keyset_cursor() {
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(cursor(42))
            .unwrap_or_default();
        assert_eq!(decoded, br#"{"id":"42","_kd":"n"}"#);
    }
}
