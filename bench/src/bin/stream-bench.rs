//! SSE streams for proxy benchmarks: a fake provider that streams timestamped events, and a
//! driver that holds many streams open and measures how long each event took to arrive.
//!
//! ```text
//! stream-bench serve ADDR
//! stream-bench drive URL [--streams N] [--frames F] [--interval-ms I] [--seconds S]
//! ```
//! `serve` answers every POST with an Anthropic-shaped event stream: F events (the request's
//! `x-frames` header, default 20) `I` ms apart (`x-interval-ms`, default 50), each carrying
//! the wall-clock time it was written. `drive` keeps N streams open against URL, opening a new
//! one whenever one ends, until S seconds have passed (default: one round of N streams), and
//! prints the per-event delivery latency (receive time − write time) as percentiles. Run it
//! against the fake directly and through a proxy: the difference is the proxy's per-event
//! cost. Both ends read the same clock on the same machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match args.first().map(String::as_str) {
        Some("serve") => runtime.block_on(serve(
            args.get(1).cloned().unwrap_or("127.0.0.1:9100".into()),
        )),
        Some("drive") => runtime.block_on(drive(&args[1..])),
        _ => {
            eprintln!("usage: stream-bench serve ADDR | drive URL [--streams N] [--frames F] [--interval-ms I] [--seconds S]");
            std::process::exit(2);
        }
    }
}

async fn serve(addr: String) {
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    eprintln!("stream upstream on {addr}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(
                |request: hyper::Request<hyper::body::Incoming>| async move {
                    let header = |name: &str, default: u64| {
                        request
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(default)
                    };
                    let (frames, interval) = (header("x-frames", 20), header("x-interval-ms", 50));
                    let _ = request.into_body().collect().await;
                    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
                    tokio::spawn(async move {
                        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"bench-model\",\"usage\":{\"input_tokens\":900,\"output_tokens\":1}}}\n\n";
                        if tx.send(Bytes::from_static(start.as_bytes())).await.is_err() {
                            return;
                        }
                        let mut tick = tokio::time::interval(Duration::from_millis(interval));
                        tick.tick().await;
                        for i in 0..frames {
                            tick.tick().await;
                            let event = format!(
                            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"token {i} of the answer \"}},\"t\":{}}}\n\n",
                            now_nanos()
                        );
                            if tx.send(Bytes::from(event)).await.is_err() {
                                return;
                            }
                        }
                        let end = format!("event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}},\"usage\":{{\"output_tokens\":{frames}}}}}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n");
                        let _ = tx.send(Bytes::from(end)).await;
                    });
                    let body = ChannelBody(rx);
                    Ok::<_, Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "text/event-stream")
                            .body(body)
                            .unwrap(),
                    )
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// An event stream fed from a channel, frame by frame.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

struct Options {
    url: String,
    streams: usize,
    frames: u64,
    interval_ms: u64,
    seconds: Option<u64>,
}

fn options(args: &[String]) -> Options {
    let mut o = Options {
        url: args.first().cloned().expect("drive URL"),
        streams: 1,
        frames: 20,
        interval_ms: 50,
        seconds: None,
    };
    let mut i = 1;
    while i + 1 < args.len() {
        let value = &args[i + 1];
        match args[i].as_str() {
            "--streams" => o.streams = value.parse().expect("--streams"),
            "--frames" => o.frames = value.parse().expect("--frames"),
            "--interval-ms" => o.interval_ms = value.parse().expect("--interval-ms"),
            "--seconds" => o.seconds = Some(value.parse().expect("--seconds")),
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

async fn drive(args: &[String]) {
    let o = Arc::new(options(args));
    let latencies = Arc::new(Mutex::new(Vec::<u64>::new()));
    let (failed, completed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = o.seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let uri: hyper::Uri = o.url.parse().expect("URL");
    let authority = uri.authority().expect("URL with host").clone();
    let mut tasks = Vec::new();
    for _ in 0..o.streams {
        let (o, latencies, failed, completed, uri, authority) = (
            o.clone(),
            latencies.clone(),
            failed.clone(),
            completed.clone(),
            uri.clone(),
            authority.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                match one_stream(&o, &uri, &authority).await {
                    Ok(mut seen) => {
                        latencies.lock().unwrap().append(&mut seen);
                        completed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("stream failed: {error}");
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                if deadline.is_none_or(|d| Instant::now() >= d) {
                    return;
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut all = std::mem::take(&mut *latencies.lock().unwrap());
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        all[((all.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
    };
    println!(
        "streams {} completed {} failed {} events {}: latency µs p50 {:.0} p90 {:.0} p99 {:.0} max {:.0}",
        o.streams,
        completed.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        all.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
}

/// One stream: returns each event's delivery latency in nanoseconds.
async fn one_stream(
    o: &Options,
    uri: &hyper::Uri,
    authority: &hyper::http::uri::Authority,
) -> Result<Vec<u64>, String> {
    let tcp = tokio::net::TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    let request = hyper::Request::post(uri.path())
        .header("host", authority.as_str())
        .header("content-type", "application/json")
        .header("x-frames", o.frames.to_string())
        .header("x-interval-ms", o.interval_ms.to_string())
        .body(Full::new(Bytes::from_static(
            br#"{"model":"bench-model","stream":true,"max_tokens":64,"messages":[{"role":"user","content":"Stream me an answer."}]}"#,
        )))
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    let mut body = response.into_body();
    let mut seen = Vec::with_capacity(o.frames as usize);
    let mut pending = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("body: {e}"))?;
        let received = now_nanos();
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        // Every complete `"t":NANOS` in what has arrived so far.
        while let Some(at) = find(&pending, b"\"t\":") {
            let digits: Vec<u8> = pending[at + 4..]
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            if at + 4 + digits.len() >= pending.len() {
                break; // The number may go on in the next frame.
            }
            let sent: u64 = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(received);
            seen.push(received.saturating_sub(sent));
            pending.drain(..at + 4 + digits.len());
        }
    }
    if seen.len() as u64 != o.frames {
        return Err(format!("{} of {} events arrived", seen.len(), o.frames));
    }
    Ok(seen)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
