//! The load generator: a fixed number of HTTP/1.1 keep-alive connections (hyper's
//! connection-level client, no pool to hide queueing), each sending one request at a time.
//!
//! Two shapes: closed loop (each connection sends as soon as its previous answer arrived,
//! which finds the saturation throughput) and fixed rate (requests are scheduled at a
//! target rate and latency is counted from the scheduled time, so a stalled server cannot
//! hide its queueing delay: the "coordinated omission" correction of wrk2).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Call {
    pub fn get(path: impl Into<String>) -> Call {
        Call {
            method: Method::GET,
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Call {
        self.headers.push((name, value.into()));
        self
    }
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends when the sender is dropped or the server closes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            sender,
            host: addr.to_string(),
        })
    }

    pub async fn send(&mut self, call: &Call) -> anyhow::Result<Answer> {
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(&call.path)
            .header("host", &self.host);
        for (name, value) in &call.headers {
            builder = builder.header(*name, value);
        }
        let request = builder.body(Full::new(call.body.clone()))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// Latencies in microseconds, up to one minute, 3 significant digits.
pub fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|err| anyhow!("histogram: {err}"))
}

pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.max(1));
}

/// Outcome of one load run.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Requests answered inside the measured window.
    pub requests: u64,
    /// Answers with an unexpected status, or transport errors.
    pub errors: u64,
    pub elapsed: Duration,
    pub histogram: Histogram<u64>,
    /// The first unexpected answer, to explain a failed run.
    pub first_error: Option<String>,
    pub bytes: u64,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn p_ms(&self, quantile: f64) -> f64 {
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// Builds the request a connection sends next: `(connection index, sequence number)`.
pub type CallFn = Arc<dyn Fn(usize, u64) -> Call + Send + Sync>;

/// How requests are paced.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Send again as soon as the answer is in.
    ClosedLoop,
    /// This many requests per second in total, spread evenly over the connections.
    Rate(f64),
}

pub struct Plan {
    pub addr: SocketAddr,
    pub connections: usize,
    pub warmup: Duration,
    pub measure: Duration,
    pub pace: Pace,
    pub expect: StatusCode,
    pub call: CallFn,
}

struct ConnResult {
    requests: u64,
    errors: u64,
    bytes: u64,
    histogram: Histogram<u64>,
    first_error: Option<String>,
}

/// Runs `plan` and returns what was measured after the warm-up.
pub async fn run(plan: Plan) -> anyhow::Result<LoadResult> {
    let connections = plan.connections.max(1);
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::open(plan.addr).await?);
    }
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + plan.warmup;
    let deadline = measure_from + plan.measure;
    let interval = match plan.pace {
        Pace::ClosedLoop => None,
        Pace::Rate(rate) => Some(Duration::from_secs_f64(connections as f64 / rate.max(1.0))),
    };
    let plan = Arc::new(plan);
    let mut tasks = Vec::with_capacity(connections);
    for (index, conn) in conns.into_iter().enumerate() {
        let plan = Arc::clone(&plan);
        // Stagger fixed-rate connections so the total rate is smooth.
        let offset = interval
            .map(|interval| interval.mul_f64(index as f64 / connections as f64))
            .unwrap_or_default();
        tasks.push(tokio::spawn(drive(
            plan,
            conn,
            index,
            start + offset,
            interval,
            measure_from,
            deadline,
        )));
    }
    let mut total = ConnResult {
        requests: 0,
        errors: 0,
        bytes: 0,
        histogram: new_histogram()?,
        first_error: None,
    };
    for task in tasks {
        let one = task.await??;
        total.requests += one.requests;
        total.errors += one.errors;
        total.bytes += one.bytes;
        total.histogram.add(&one.histogram)?;
        total.first_error = total.first_error.or(one.first_error);
    }
    Ok(LoadResult {
        requests: total.requests,
        errors: total.errors,
        elapsed: plan.measure,
        histogram: total.histogram,
        first_error: total.first_error,
        bytes: total.bytes,
    })
}

async fn drive(
    plan: Arc<Plan>,
    mut conn: Conn,
    index: usize,
    first_send: Instant,
    interval: Option<Duration>,
    measure_from: Instant,
    deadline: Instant,
) -> anyhow::Result<ConnResult> {
    let mut result = ConnResult {
        requests: 0,
        errors: 0,
        bytes: 0,
        histogram: new_histogram()?,
        first_error: None,
    };
    tokio::time::sleep_until(first_send.into()).await;
    let mut scheduled = first_send;
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // Fixed rate: latency counts from when the request should have left.
        let sent_at = match interval {
            Some(interval) => {
                if scheduled > now {
                    tokio::time::sleep_until(scheduled.into()).await;
                }
                let at = scheduled;
                scheduled += interval;
                at
            }
            None => now,
        };
        if sent_at >= deadline {
            break;
        }
        let call = (plan.call)(index, seq);
        seq += 1;
        // Warm-up is judged by when the request really leaves: behind schedule, the
        // scheduled times of a saturated server lag far behind the clock.
        let warming_up = Instant::now() < measure_from;
        let answer = conn.send(&call).await;
        let done = Instant::now();
        if warming_up {
            if let Err(err) = answer {
                return Err(err.context("during warm-up"));
            }
            continue;
        }
        result.requests += 1;
        record(&mut result.histogram, done - sent_at);
        match answer {
            Ok(answer) if answer.status == plan.expect => {
                result.bytes += answer.body.len() as u64;
            }
            Ok(answer) => {
                result.errors += 1;
                result.first_error.get_or_insert_with(|| {
                    format!(
                        "{} {} -> {}: {}",
                        call.method,
                        call.path,
                        answer.status,
                        String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
                    )
                });
            }
            Err(err) => {
                result.errors += 1;
                result
                    .first_error
                    .get_or_insert_with(|| format!("{} {} -> {err:#}", call.method, call.path));
                // The connection is unusable after a transport error; open a new one.
                conn = Conn::open(plan.addr).await?;
            }
        }
    }
    Ok(result)
}
