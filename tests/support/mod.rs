//! Test harness: a recording TLS upstream with a test CA, the real `airlock` binary, a client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::{mpsc, Notify};

pub const BIN: &str = env!("CARGO_BIN_EXE_airlock");

/// The fixtures captured from OpenClaw, beside the checkout.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/openclaw")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (../shared must sit beside the checkout)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// A certificate authority made for one test, and a `localhost` leaf it signed.
pub struct TestCa {
    pub ca_pem: String,
    pub leaf_chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    pub leaf_key: rustls_pki_types::PrivateKeyDer<'static>,
}

impl TestCa {
    pub fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "airlock test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        TestCa {
            ca_pem: ca_cert.pem(),
            leaf_chain: vec![leaf.der().clone()],
            leaf_key: rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        }
    }
}

/// What the upstream received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// A TLS upstream that records every request. `/sse/...` paths answer with an SSE stream
/// whose frames are released one by one by [`Upstream::release`]; `/status/N` answers N;
/// anything else answers a small JSON document.
pub struct Upstream {
    pub addr: SocketAddr,
    pub ca_file: PathBuf,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    release: Arc<Signals>,
    _dir: tempfile::TempDir,
}

/// What the test drives the upstream's streams with, and what they report back.
#[derive(Default)]
pub struct Signals {
    release: Notify,
    /// SSE streams whose reader went away before the last frame.
    cancelled: std::sync::atomic::AtomicUsize,
}

pub const SSE_FRAMES: [&str; 3] = [
    "event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hello\"}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
];

impl Upstream {
    pub async fn start() -> Self {
        let ca = TestCa::new();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &ca.ca_pem).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(ca.leaf_chain, ca.leaf_key)
            .unwrap();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let release = Arc::new(Signals::default());
        let (rec, rel) = (recorded.clone(), release.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, rec, rel) = (acceptor.clone(), rec.clone(), rel.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let (rec, rel) = (rec.clone(), rel.clone());
                        async move { Ok::<_, std::convert::Infallible>(answer(req, rec, rel).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Upstream {
            addr,
            ca_file,
            recorded,
            release,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    /// Lets the SSE stream send its next frame.
    pub fn release(&self) {
        self.release.release.notify_one();
    }

    /// How many SSE streams lost their reader before their last frame.
    pub fn cancelled_streams(&self) -> usize {
        self.release
            .cancelled
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type TestBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// `text` compressed with a content coding (`x-test-encoding` on a request asks for it).
pub fn encode(coding: &str, text: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                e.write_all(text).unwrap();
            }
            out
        }
        "zstd" => zstd::encode_all(text, 3).unwrap(),
        other => panic!("no test encoder for {other}"),
    }
}

/// A response whose body goes out in `piece`-byte frames, as they straddle events on the wire;
/// compressed first when `coding` says so.
fn in_pieces(
    content_type: &str,
    text: &[u8],
    piece: usize,
    coding: Option<&str>,
) -> Response<TestBody> {
    let bytes = match coding {
        Some(coding) => encode(coding, text),
        None => text.to_vec(),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, BoxError>>(4);
    tokio::spawn(async move {
        for chunk in bytes.chunks(piece) {
            if tx.send(Ok(Bytes::copy_from_slice(chunk))).await.is_err() {
                return;
            }
        }
    });
    let mut builder = Response::builder().header("content-type", content_type);
    if let Some(coding) = coding {
        builder = builder.header("content-encoding", coding);
    }
    builder.body(BodyExt::boxed(ChannelBody(rx))).unwrap()
}

async fn answer(
    req: Request<Incoming>,
    rec: Arc<Mutex<Vec<Recorded>>>,
    release: Arc<Signals>,
) -> Response<TestBody> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let coding = parts
        .headers
        .get("x-test-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    let emulated = parts
        .headers
        .contains_key("x-test-emulate")
        .then(|| emulate(&path, &body))
        .flatten();
    rec.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        headers: parts.headers,
        body,
    });
    if let Some((content_type, text)) = emulated {
        return in_pieces(content_type, text.as_bytes(), 61, coding.as_deref());
    }
    // One SSE frame, then a reset (`/reset/`) or silence (`/idle/`).
    if path.contains("/reset/") || path.contains("/idle/") {
        let reset = path.contains("/reset/");
        let (tx, rx) = mpsc::channel::<Result<Bytes, BoxError>>(4);
        tokio::spawn(async move {
            let _ = tx
                .send(Ok(Bytes::from_static(SSE_FRAMES[0].as_bytes())))
                .await;
            // Long enough for the frame to reach the client before the failure.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if reset {
                let _ = tx.send(Err("upstream reset".into())).await;
            } else {
                tokio::time::sleep(Duration::from_secs(120)).await;
                drop(tx);
            }
        });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(BodyExt::boxed(ChannelBody(rx)))
            .unwrap();
    }
    if path.contains("/sse/") {
        let (tx, rx) = mpsc::channel::<Result<Bytes, BoxError>>(4);
        tokio::spawn(async move {
            for (i, frame) in SSE_FRAMES.iter().enumerate() {
                if i > 0 {
                    release.release.notified().await;
                }
                if tx
                    .send(Ok(Bytes::from_static(frame.as_bytes())))
                    .await
                    .is_err()
                {
                    release
                        .cancelled
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
            }
        });
        return Response::builder()
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .body(BodyExt::boxed(ChannelBody(rx)))
            .unwrap();
    }
    if let Some(name) = path.split("/canned/").nth(1) {
        if let Some((_, content_type, text)) = CANNED.iter().find(|(n, _, _)| *n == name) {
            return in_pieces(content_type, text.as_bytes(), 37, coding.as_deref());
        }
    }
    if path.contains("/hang/") {
        // Accepts the request and never answers.
        tokio::time::sleep(Duration::from_secs(120)).await;
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let code: u16 = code.parse().unwrap_or(500);
        return Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(BodyExt::boxed(
                Full::new(Bytes::from_static(b"{\"error\":\"upstream says no\"}"))
                    .map_err(|never| match never {}),
            ))
            .unwrap();
    }
    Response::builder()
        .header("content-type", "application/json")
        .header("connection", "keep-alive")
        .body(BodyExt::boxed(
            Full::new(Bytes::from_static(b"{\"ok\":true}")).map_err(|never| match never {}),
        ))
        .unwrap()
}

/// Answers as the provider would (requests carrying `x-test-emulate`): Anthropic messages,
/// OpenAI chat completions and responses, streamed or not, each with a text part and a
/// `get_weather` tool call for Paris, and usage.
fn emulate(path: &str, body: &[u8]) -> Option<(&'static str, String)> {
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    let stream = request["stream"] == true;
    let sse = |events: &[(&str, serde_json::Value)]| -> String {
        events
            .iter()
            .map(|(name, data)| {
                if name.is_empty() {
                    format!("data: {data}\n\n")
                } else {
                    format!("event: {name}\ndata: {data}\n\n")
                }
            })
            .collect()
    };
    let args = r#"{"city":"Paris"}"#;
    if path.ends_with("/v1/messages") {
        let usage = serde_json::json!({"input_tokens": 30, "output_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
        if !stream {
            return Some(("application/json", serde_json::json!({
                "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [
                    {"type": "text", "text": "Hello"},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null, "usage": usage
            }).to_string()));
        }
        return Some((
            "text/event-stream",
            sse(&[
                (
                    "message_start",
                    serde_json::json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 30, "output_tokens": 1}}}),
                ),
                (
                    "content_block_start",
                    serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                ),
                (
                    "content_block_delta",
                    serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
                ),
                (
                    "content_block_delta",
                    serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
                ),
                (
                    "content_block_stop",
                    serde_json::json!({"type": "content_block_stop", "index": 0}),
                ),
                (
                    "content_block_start",
                    serde_json::json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}}),
                ),
                (
                    "content_block_delta",
                    serde_json::json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
                ),
                (
                    "content_block_delta",
                    serde_json::json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
                ),
                (
                    "content_block_stop",
                    serde_json::json!({"type": "content_block_stop", "index": 1}),
                ),
                (
                    "message_delta",
                    serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 20}}),
                ),
                ("message_stop", serde_json::json!({"type": "message_stop"})),
            ]),
        ));
    }
    if path.ends_with("/chat/completions") {
        let usage =
            serde_json::json!({"prompt_tokens": 30, "completion_tokens": 20, "total_tokens": 50});
        if !stream {
            return Some(("application/json", serde_json::json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null, "message": {
                    "role": "assistant", "content": "Hello", "refusal": null,
                    "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": args}}]
                }}],
                "usage": usage
            }).to_string()));
        }
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
            serde_json::json!({
                "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "gpt-4o",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]
            })
        };
        let mut events = vec![
            (
                "",
                chunk(
                    serde_json::json!({"role": "assistant", "content": "Hel"}),
                    serde_json::Value::Null,
                ),
            ),
            (
                "",
                chunk(
                    serde_json::json!({"content": "lo"}),
                    serde_json::Value::Null,
                ),
            ),
            (
                "",
                chunk(
                    serde_json::json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":"}}]}),
                    serde_json::Value::Null,
                ),
            ),
            (
                "",
                chunk(
                    serde_json::json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
                    serde_json::Value::Null,
                ),
            ),
            (
                "",
                chunk(serde_json::json!({}), serde_json::json!("tool_calls")),
            ),
        ];
        if request["stream_options"]["include_usage"] == true {
            events.push(("", serde_json::json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "gpt-4o", "choices": [], "usage": usage})));
        }
        let mut text = sse(&events);
        text.push_str("data: [DONE]\n\n");
        return Some(("text/event-stream", text));
    }
    if path.ends_with("/responses") {
        let response = |status: &str, output: serde_json::Value, usage: serde_json::Value| {
            serde_json::json!({
                "id": "resp_1", "object": "response", "created_at": 1_700_000_000, "status": status,
                "model": "gpt-5", "output": output, "usage": usage, "parallel_tool_calls": true,
                "tool_choice": "auto", "tools": [], "error": null, "incomplete_details": null,
                "instructions": null, "metadata": {}, "temperature": 1.0, "top_p": 1.0
            })
        };
        let output = serde_json::json!([
            {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Hello", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": args, "status": "completed"}
        ]);
        let usage = serde_json::json!({"input_tokens": 30, "output_tokens": 20, "total_tokens": 50,
            "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}});
        if !stream {
            return Some((
                "application/json",
                response("completed", output, usage).to_string(),
            ));
        }
        return Some((
            "text/event-stream",
            sse(&[
                (
                    "response.created",
                    serde_json::json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress", serde_json::json!([]), serde_json::Value::Null)}),
                ),
                (
                    "response.output_text.delta",
                    serde_json::json!({"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Hel", "logprobs": []}),
                ),
                (
                    "response.output_text.delta",
                    serde_json::json!({"type": "response.output_text.delta", "sequence_number": 2, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "lo", "logprobs": []}),
                ),
                (
                    "response.completed",
                    serde_json::json!({"type": "response.completed", "sequence_number": 3, "response": response("completed", output, usage)}),
                ),
            ]),
        ));
    }
    None
}

/// Provider responses with usage, in each wire format: `/canned/NAME` answers them.
pub const CANNED: &[(&str, &str, &str)] = &[
    (
        "anthropic-stream",
        "text/event-stream",
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":300,\"cache_read_input_tokens\":4000,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":42}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ),
    (
        "chat-json",
        "application/json",
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1500,\"completion_tokens\":12,\"total_tokens\":1512,\"prompt_tokens_details\":{\"cached_tokens\":1024}}}",
    ),
    (
        "responses-stream",
        "text/event-stream; charset=utf-8",
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-5-2025-08-07\",\"status\":\"in_progress\",\"usage\":null}}\n\n\
event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n\
event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-5-2025-08-07\",\"status\":\"completed\",\"usage\":{\"input_tokens\":800,\"input_tokens_details\":{\"cached_tokens\":200},\"output_tokens\":64,\"total_tokens\":864}}}\n\n",
    ),
];

/// An SSE body fed frame by frame from a channel; an error item fails the body (the
/// connection is reset).
struct ChannelBody(mpsc::Receiver<Result<Bytes, BoxError>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|frame| frame.map(|item| item.map(Frame::data)))
    }
}

/// A running `airlock serve`, killed on drop.
pub struct Airlock {
    pub addr: SocketAddr,
    /// Where `/metrics`, `/healthz` and `/readyz` answer.
    pub metrics: SocketAddr,
    pub home: tempfile::TempDir,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

/// Runs `airlock` with `home` as AIRLOCK_HOME, `stdin` piped in; returns (status, stdout, stderr).
/// The `airlock usage --json` rows, once the requests they count (only `agent`'s, when given)
/// add up to `requests` (usage is recorded asynchronously), or after 5 s.
pub fn usage_rows(home: &Path, agent: Option<&str>, requests: u64) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (code, out, err) = run_cli(home, &["usage", "--json"], b"");
        assert_eq!(code, 0, "{err}");
        let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
        if metered(&rows, agent) == requests || std::time::Instant::now() > deadline {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many requests `rows` count (only `agent`'s, when given).
pub fn metered(rows: &serde_json::Value, agent: Option<&str>) -> u64 {
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| agent.is_none_or(|a| r["agent"] == a))
        .map(|r| r["requests"].as_u64().unwrap())
        .sum()
}

pub fn run_cli(home: &Path, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    run_cli_with(home, args, stdin, &[])
}

/// [`run_cli`] with extra environment variables.
pub fn run_cli_with(
    home: &Path,
    args: &[&str],
    stdin: &[u8],
    env: &[(&str, &Path)],
) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("AIRLOCK_HOME", home)
        .env_remove("AIRLOCK_CONFIG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading stdin (a refused name): a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Airlock {
    /// Seeds the vault with `secrets`, writes `config` (TOML, without `home`) and starts the
    /// proxy on an ephemeral port.
    pub fn start(config: &str, secrets: &[(&str, &str)]) -> Self {
        let home = tempfile::tempdir().unwrap();
        for (name, value) in secrets {
            let (code, _, err) = run_cli(home.path(), &["vault", "add", name], value.as_bytes());
            assert_eq!(code, 0, "vault add {name}: {err}");
        }
        let config_path = home.path().join("airlock.toml");
        // Tests run side by side: each proxy's metrics go on a port of its own.
        let config = if config.contains("[metrics]") {
            config.to_owned()
        } else {
            format!("{config}\n[metrics]\nlisten = \"127.0.0.1:0\"\n")
        };
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config_path)
            .env("AIRLOCK_HOME", home.path())
            .env("AIRLOCK_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        let metrics_addr = Arc::new(Mutex::new(None));
        let metrics_sink = metrics_addr.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("metrics on http://") {
                    if let Ok(addr) = line[at + 18..]
                        .trim_end_matches("/metrics")
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .parse::<SocketAddr>()
                    {
                        *metrics_sink.lock().unwrap() = Some(addr);
                    }
                }
                if let Some(at) = line.find("listening on http") {
                    let after = &line[at + 17..];
                    let after = after.strip_prefix("s").unwrap_or(after);
                    let addr: SocketAddr = after[3..]
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("airlock did not start: {}", log.lock().unwrap().join("\n"));
            }
        };
        let metrics = metrics_addr
            .lock()
            .unwrap()
            .expect("the metrics line comes first");
        Airlock {
            addr,
            metrics,
            home,
            child,
            log,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to 3 s) until the log holds `needle` at least `times` times: another thread
    /// reads airlock's stderr, so a line written just now may not be here yet.
    pub fn wait_for_log(&self, needle: &str, times: usize) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        loop {
            if self.log().matches(needle).count() >= times {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything airlock wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Airlock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 client connection to airlock.
pub async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

/// Sends one request and collects the answer.
pub async fn send(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> (u16, hyper::HeaderMap, Bytes) {
    let mut sender = connect(addr).await;
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    (
        status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

/// A JSON POST of `body` to `path`.
pub fn post_json(path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    post(path, &[("content-type", "application/json")], body)
}

/// A POST of `body` to `path` with the given headers.
pub fn post(path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    let mut builder = Request::post(path).header("host", "127.0.0.1");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(body.into())).unwrap()
}
