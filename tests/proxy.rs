//! End to end: the real `airlock` binary between a client and a recording TLS upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{json, Value};
use support::{post, post_json, send, Airlock, Upstream};

/// Seeded vault secrets: one with a quote and a backslash (escaped forms), one with spaces,
/// one shaped like a provider token (the registry must win over the regex layer).
const SECRETS: [(&str, &str); 4] = [
    ("db_password", "Tr0ub4dor&3-\"horse\"\\staple"),
    ("smtp_pass", "correct horse battery staple 42"),
    ("api_token", "tok_9f8e7d6c5b4a39281706"),
    ("stripe_live", "sk_live_51HgXqL2eZvKYlo2C0ffeeD00d"),
];

fn config(upstream: &Upstream, extra: &str) -> String {
    format!(
        "[proxy]\nlisten = \"127.0.0.1:0\"\n{extra}\n\
         [upstreams.anthropic]\nurl = \"{url}\"\nca_file = \"{ca}\"\n\
         [upstreams.openai]\nurl = \"{url}/openai-base\"\nca_file = \"{ca}\"\n",
        url = upstream.url(),
        ca = upstream.ca_file.display()
    )
}

fn secret(name: &str) -> &'static str {
    SECRETS.iter().find(|(n, _)| *n == name).unwrap().1
}

/// Appends `text` to a string value.
fn plant(value: &mut Value, text: &str) {
    let s = value.as_str().unwrap();
    *value = Value::String(format!("{s}\n{text}"));
}

/// The fixture body with secrets planted in the system prompt, a user message, a tool result
/// and a tool-call argument, in the wire shape of each API.
fn planted(fixture: &str) -> Value {
    let mut body = support::fixture(fixture)["body"].clone();
    let system = format!("db password: {}", secret("db_password"));
    let user = format!("mail with {}", secret("smtp_pass"));
    let tool_output = format!(
        "token={}\nstripe={}",
        secret("api_token"),
        secret("stripe_live")
    );
    let arguments =
        json!({ "command": format!("psql 'password={}' -c 'select 1'", secret("db_password")) });
    match fixture {
        "anthropic-messages.json" => {
            plant(&mut body["system"][0]["text"], &system);
            plant(&mut body["messages"][0]["content"][0]["text"], &user);
            let messages = body["messages"].as_array_mut().unwrap();
            messages.push(json!({ "role": "assistant", "content": [
                { "type": "tool_use", "id": "toolu_01", "name": "exec", "input": arguments }
            ]}));
            messages.push(json!({ "role": "user", "content": [
                { "type": "tool_result", "tool_use_id": "toolu_01", "content": tool_output }
            ]}));
        }
        "openai-responses.json" => {
            plant(&mut body["input"][0]["content"][0]["text"], &system);
            plant(&mut body["input"][1]["content"][0]["text"], &user);
            let input = body["input"].as_array_mut().unwrap();
            input.push(
                json!({ "type": "function_call", "call_id": "call_01", "name": "exec",
                "arguments": arguments.to_string() }),
            );
            input.push(json!({ "type": "function_call_output", "call_id": "call_01", "output": tool_output }));
        }
        "openai-chat-completions.json" => {
            plant(&mut body["messages"][0]["content"], &system);
            plant(&mut body["messages"][1]["content"], &user);
            let messages = body["messages"].as_array_mut().unwrap();
            messages.push(
                json!({ "role": "assistant", "content": null, "tool_calls": [
                    { "id": "call_01", "type": "function",
                      "function": { "name": "exec", "arguments": arguments.to_string() } }
                ]}),
            );
            messages
                .push(json!({ "role": "tool", "tool_call_id": "call_01", "content": tool_output }));
        }
        _ => unreachable!(),
    }
    body
}

/// What the upstream must receive: every string with each secret (raw, or JSON-escaped as it
/// stands inside tool-call arguments) replaced by its placeholder.
fn expected(value: &Value) -> Value {
    match value {
        Value::String(s) => {
            let mut s = s.clone();
            for (name, secret) in SECRETS {
                let escaped = serde_json::to_string(secret).unwrap();
                let escaped = &escaped[1..escaped.len() - 1];
                s = s.replace(escaped, &format!("SECRET_REF({name})"));
                s = s.replace(secret, &format!("SECRET_REF({name})"));
            }
            Value::String(s)
        }
        Value::Array(items) => Value::Array(items.iter().map(expected).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), expected(v))).collect())
        }
        other => other.clone(),
    }
}

fn assert_no_secret(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for (name, secret) in SECRETS {
        let escaped = serde_json::to_string(secret).unwrap();
        for form in [secret, &escaped[1..escaped.len() - 1]] {
            assert!(!text.contains(form), "{name} reached the upstream");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn openclaw_requests_reach_the_upstream_with_every_secret_replaced() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &SECRETS);
    let cases = [
        (
            "anthropic-messages.json",
            "/anthropic/v1/messages",
            "/v1/messages",
        ),
        (
            "openai-responses.json",
            "/openai/v1/responses",
            "/openai-base/v1/responses",
        ),
        (
            "openai-chat-completions.json",
            "/openai/v1/chat/completions",
            "/openai-base/v1/chat/completions",
        ),
    ];
    for (i, (fixture, path, upstream_path)) in cases.iter().enumerate() {
        let headers = support::fixture(fixture)["headers"].clone();
        let body = planted(fixture);
        let mut request = post_json(path, body.to_string());
        for (name, value) in headers.as_object().unwrap() {
            if !["host", "content-length", "connection"].contains(&name.as_str()) {
                request.headers_mut().insert(
                    hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.as_str().unwrap().parse().unwrap(),
                );
            }
        }
        let (status, _, answer) = send(airlock.addr, request).await;
        assert_eq!(
            status,
            200,
            "{fixture}: {}",
            String::from_utf8_lossy(&answer)
        );
        assert_eq!(&answer[..], b"{\"ok\":true}");

        let recorded = upstream.recorded();
        assert_eq!(recorded.len(), i + 1);
        let got = &recorded[i];
        assert_eq!(got.path, *upstream_path, "{fixture}");
        assert_no_secret(&got.body);
        let forwarded: Value =
            serde_json::from_slice(&got.body).expect("forwarded body is valid JSON");
        assert_eq!(
            forwarded,
            expected(&body),
            "{fixture}: forwarded body differs"
        );
        for (name, _) in SECRETS {
            assert!(
                String::from_utf8_lossy(&got.body).contains(&format!("SECRET_REF({name})")),
                "{fixture}: placeholder for {name} missing"
            );
        }
        // The provider credential the client sent travels on; what airlock rewrites does not.
        let h = &got.headers;
        assert!(
            h.contains_key("x-api-key") || h.contains_key("authorization"),
            "{fixture}"
        );
        assert_eq!(h["accept-encoding"], "identity");
        assert_eq!(h["content-length"], got.body.len().to_string().as_str());
        assert!(!h.contains_key("connection") && !h.contains_key("keep-alive"));
    }
    let log = airlock.log();
    for (_, secret) in SECRETS {
        assert!(!log.contains(secret), "a secret value reached the log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sse_frames_reach_the_client_one_by_one() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &SECRETS);
    let mut sender = support::connect(airlock.addr).await;
    let request = sender.send_request(post(
        "/anthropic/v1/sse/messages",
        &[
            ("content-type", "application/json"),
            ("accept-encoding", "gzip, deflate"),
        ],
        r#"{"stream":true,"messages":[]}"#,
    ));
    let response = tokio::time::timeout(Duration::from_secs(10), request)
        .await
        .expect("the response head was held back by the proxy")
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let mut received = Vec::new();
    for (i, frame) in support::SSE_FRAMES.iter().enumerate() {
        // The upstream holds frame i+1 back until the client has seen frame i: a proxy that
        // buffered the stream would never deliver, and this would time out.
        let mut got = Vec::new();
        while got.len() < frame.len() {
            let next = tokio::time::timeout(Duration::from_secs(10), body.frame())
                .await
                .unwrap_or_else(|_| panic!("frame {i} was held back by the proxy"))
                .expect("stream ended early")
                .unwrap();
            if let Ok(data) = next.into_data() {
                got.extend_from_slice(&data);
            }
        }
        assert_eq!(String::from_utf8(got.clone()).unwrap(), *frame);
        received.push(got);
        upstream.release();
    }
    assert!(
        body.frame().await.is_none(),
        "stream must end after the last frame"
    );
    assert_eq!(received.len(), 3);
}

async fn assert_refused(
    airlock: &Airlock,
    upstream: &Upstream,
    request: hyper::Request<http_body_util::Full<Bytes>>,
    status: u16,
    code: &str,
) {
    let before = upstream.recorded().len();
    let (got, headers, body) = send(airlock.addr, request).await;
    assert_eq!(got, status, "{code}: {}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/json");
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["code"], code);
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("airlock"));
    assert_eq!(
        upstream.recorded().len(),
        before,
        "{code}: something was forwarded"
    );
}

/// A request carrying a base64 PDF (an Anthropic `document` block) and one carrying a ZIP
/// (an OpenAI `file_data`, an .xlsx): the engine cannot read their compressed content.
fn document_requests() -> (String, String) {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    // What is inside does not matter: it is compressed, and no rule could read it.
    let mut pdf =
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Filter /FlateDecode >>\nstream\n".to_vec();
    pdf.extend((0..400u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let mut zip = b"PK\x03\x04\x14\x00\x06\x00\x08\x00".to_vec();
    zip.extend((0..400u32).map(|i| (i.wrapping_mul(40_503) >> 5) as u8));
    let anthropic = json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": b64(&pdf)}},
        {"type": "text", "text": "Summarise this."}]}]});
    let openai = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [
        {"type": "file", "file": {"filename": "logins.xlsx", "file_data": format!(
            "data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,{}", b64(&zip))}},
        {"type": "text", "text": "Read this."}]}]});
    (anthropic.to_string(), openai.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn encoded_documents_are_refused_unless_the_operator_forwards_them() {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &SECRETS);
    let (pdf, xlsx) = document_requests();
    assert_refused(
        &airlock,
        &upstream,
        post_json("/anthropic/v1/messages", pdf.clone()),
        422,
        "uninspectable_document",
    )
    .await;
    let (_, _, body) = send(
        airlock.addr,
        post_json("/openai/v1/chat/completions", xlsx.clone()),
    )
    .await;
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["code"], "uninspectable_document");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ZIP archive or Office document"));

    // Media passes, and an encoded text file is read like text: its secret is replaced.
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
    png.extend((0..600u32).map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8));
    let password = format!("Pw{}x", 7_919u32 * 104_729);
    let notes = b64(format!("host: db.internal\npassword: {password}\n").as_bytes());
    let media = json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(&png)}},
        {"type": "document", "source": {"type": "base64", "media_type": "text/plain", "data": notes}}]}]});
    let (status, _, _) = send(
        airlock.addr,
        post_json("/anthropic/v1/messages", media.to_string()),
    )
    .await;
    assert_eq!(status, 200);
    let sent = upstream.recorded().last().unwrap().body.clone();
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(
        sent["messages"][0]["content"][0]["source"]["data"],
        b64(&png)
    );
    let document = sent["messages"][0]["content"][1]["source"]["data"]
        .as_str()
        .unwrap();
    assert!(document.starts_with("SECRET_REF("), "{document}");

    // The operator can let documents through.
    let forwarding = Airlock::start(&config(&upstream, "documents = \"forward\""), &SECRETS);
    for (path, body) in [
        ("/anthropic/v1/messages", pdf),
        ("/openai/v1/chat/completions", xlsx),
    ] {
        let (status, _, _) = send(forwarding.addr, post_json(path, body.clone())).await;
        assert_eq!(status, 200);
        assert_eq!(upstream.recorded().last().unwrap().body, Bytes::from(body));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_answer_with_their_status_and_forward_nothing() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, "max_body_bytes = 65536"), &SECRETS);
    let json = &[("content-type", "application/json")];
    let ok = r#"{"messages":[]}"#;

    assert_refused(
        &airlock,
        &upstream,
        post("/nowhere/v1/messages", json, ok),
        404,
        "unknown_upstream",
    )
    .await;
    assert_refused(
        &airlock,
        &upstream,
        post("/", json, ok),
        404,
        "unknown_upstream",
    )
    .await;

    let big = format!("{{\"text\":\"{}\"}}", "a".repeat(70_000));
    assert_refused(
        &airlock,
        &upstream,
        post("/anthropic/v1/messages", json, big.clone()),
        413,
        "body_too_large",
    )
    .await;
    // Without a Content-Length (chunked), the limit holds while reading.
    let chunked = {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        tokio::spawn(async move {
            for _ in 0..20 {
                if tx.send(Bytes::from(vec![b' '; 8192])).await.is_err() {
                    break;
                }
            }
        });
        rx
    };
    let tcp = tokio::net::TcpStream::connect(airlock.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, ChunkedBody>(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let before = upstream.recorded().len();
    let response = sender
        .send_request(
            hyper::Request::post("/anthropic/v1/messages")
                .header("host", "127.0.0.1")
                .header("content-type", "application/json")
                .body(ChunkedBody(chunked))
                .unwrap(),
        )
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    assert_eq!(upstream.recorded().len(), before);

    let utf16: Bytes = "token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect::<Vec<u8>>()
        .into();
    let latin1 = Bytes::from_static(b"password=caf\xe9-Hunter2");
    // A gzip bomb: small on the wire, over the limit decoded.
    let bomb = support::encode("gzip", &vec![b' '; 200_000]);
    let zstd_bomb = support::encode("zstd", &vec![b' '; 200_000]);
    let gzip_json = &[
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    type Headers<'a> = &'a [(&'a str, &'a str)];
    // JSON text is UTF-8 (RFC 8259). Other bytes inside a string are letters the engine never
    // read that a lenient upstream might: an overlong `A` (C1 81) in a key, a stray byte.
    let not_utf8_json = Bytes::from_static(
        b"{\"messages\":[{\"role\":\"user\",\"content\":\"AKIA\xc1\x81IOSFODNN7EXAMPLE \xff\"}]}",
    );
    let cases: [(Headers, Bytes, u16, &str); 12] = [
        (gzip_json, bomb.into(), 413, "body_too_large"),
        (
            &[
                ("content-type", "application/json"),
                ("content-encoding", "zstd"),
            ],
            zstd_bomb.into(),
            413,
            "body_too_large",
        ),
        (
            &[
                ("content-type", "application/json"),
                ("content-encoding", "compress"),
            ],
            ok.into(),
            415,
            "unsupported_content_encoding",
        ),
        (
            &[("content-type", "application/octet-stream")],
            ok.into(),
            415,
            "unsupported_content_type",
        ),
        // Text the engine cannot read: UTF-16, declared or not (a NUL between the letters of
        // every token), or bytes that are not UTF-8 at all.
        (
            &[("content-type", "text/plain; charset=utf-16le")],
            utf16.clone(),
            415,
            "unsupported_content_type",
        ),
        (
            &[("content-type", "text/plain")],
            utf16.clone(),
            415,
            "unsupported_content_type",
        ),
        (&[], utf16, 415, "unsupported_content_type"),
        (
            &[("content-type", "application/x-www-form-urlencoded")],
            latin1,
            415,
            "unsupported_content_type",
        ),
        (
            &[("content-type", "application/json; charset=\"UTF-16\"")],
            ok.into(),
            415,
            "unsupported_content_type",
        ),
        (json, "{\"messages\": [}".into(), 400, "invalid_json"),
        (json, not_utf8_json, 400, "invalid_json"),
        (gzip_json, "not gzip".into(), 400, "unreadable_body"),
    ];
    for (headers, body, status, code) in cases {
        let request = post("/anthropic/v1/messages", headers, body);
        assert_refused(&airlock, &upstream, request, status, code).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compressed_requests_are_decoded_redacted_and_forwarded_plain() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &SECRETS);
    let body =
        json!({ "messages": [{ "role": "user", "content": secret("smtp_pass") }] }).to_string();
    for (i, coding) in CODINGS.iter().enumerate() {
        let request = post(
            "/anthropic/v1/messages",
            &[
                ("content-type", "application/json"),
                ("content-encoding", coding),
            ],
            support::encode(coding, body.as_bytes()),
        );
        let (status, _, _) = send(airlock.addr, request).await;
        assert_eq!(status, 200, "{coding}");
        let got = &upstream.recorded()[i];
        assert!(!got.headers.contains_key("content-encoding"), "{coding}");
        let forwarded: Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(
            forwarded["messages"][0]["content"], "SECRET_REF(smtp_pass)",
            "{coding}"
        );
    }
}

/// Every content coding airlock undoes.
const CODINGS: [&str; 4] = ["gzip", "deflate", "br", "zstd"];

#[tokio::test(flavor = "multi_thread")]
async fn compressed_responses_reach_the_client_decoded_and_are_metered() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    let body = json!({ "messages": [{ "role": "user", "content": "hi" }] }).to_string();
    for coding in CODINGS {
        for (path, name) in [
            ("/anthropic/canned/anthropic-stream", "anthropic-stream"),
            ("/openai/canned/chat-json", "chat-json"),
        ] {
            let headers = [
                ("content-type", "application/json"),
                ("x-airlock-agent", coding),
                ("x-test-encoding", coding),
            ];
            let (status, headers, received) =
                send(airlock.addr, post(path, &headers, body.clone())).await;
            assert_eq!(status, 200);
            assert!(!headers.contains_key("content-encoding"), "{coding}");
            let canned = support::CANNED
                .iter()
                .find(|(n, _, _)| *n == name)
                .unwrap()
                .2;
            assert_eq!(
                String::from_utf8_lossy(&received),
                canned,
                "{coding} {name}"
            );
        }
    }
    let rows = support::usage_rows(airlock.home.path(), None, 8);
    for coding in CODINGS {
        let row = |model: &str| {
            rows.as_array()
                .unwrap()
                .iter()
                .find(|r| r["agent"] == coding && r["model"] == model)
                .unwrap_or_else(|| panic!("no {coding} row for {model} in {rows}"))
                .clone()
        };
        let claude = row("claude-sonnet-4-5-20250929");
        assert_eq!(
            [&claude["input_tokens"], &claude["output_tokens"]],
            [25, 42],
            "{coding}"
        );
        let chat = row("gpt-4o-2024-08-06");
        assert_eq!(
            [&chat["input_tokens"], &chat["output_tokens"]],
            [476, 12],
            "{coding}"
        );
    }
}

/// Reads a streamed response until it ends; returns the bytes seen and whether it ended
/// with an error (rather than cleanly).
async fn read_stream(addr: std::net::SocketAddr, path: &str) -> (u16, Vec<u8>, bool) {
    let mut sender = support::connect(addr).await;
    let response = sender
        .send_request(post_json(path, r#"{"stream":true,"messages":[]}"#))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), body.frame()).await {
            Err(_) => panic!("the stream neither ended nor failed"),
            Ok(None) => return (status, seen, false),
            Ok(Some(Err(_))) => return (status, seen, true),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen.extend_from_slice(&data);
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_the_upstream_resets_or_leaves_silent_fails_visibly() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, "stream_idle_timeout = \"400ms\"\n"), &[]);
    for (path, reason) in [
        ("/anthropic/reset/messages", "reset"),
        ("/anthropic/idle/messages", "idle_timeout"),
    ] {
        let started = std::time::Instant::now();
        let (status, seen, failed) = read_stream(airlock.addr, path).await;
        assert_eq!(status, 200, "{path}");
        // What came before the failure was relayed; the end is an error, not a clean end.
        assert_eq!(
            String::from_utf8(seen).unwrap(),
            support::SSE_FRAMES[0],
            "{path}"
        );
        assert!(failed, "{path}: the client saw a clean end of a cut stream");
        if reason == "idle_timeout" {
            let waited = started.elapsed();
            assert!(
                waited >= Duration::from_millis(400) && waited < Duration::from_secs(5),
                "{waited:?}"
            );
        }
        let (_, metrics) = get_text(airlock.metrics, "/metrics").await;
        let line = format!(
            "airlock_stream_failures_total{{upstream=\"anthropic\",reason=\"{reason}\"}} 1"
        );
        assert!(metrics.contains(&line), "no {line} in\n{metrics}");
    }
    // The proxy still serves, and the failed streams gave their permits back.
    let (status, _, _) = send(airlock.addr, post_json("/anthropic/v1/messages", "{}")).await;
    assert_eq!(status, 200);
}

/// Opens `/anthropic/v1/sse/messages` on a connection of its own and reads the first frame.
async fn open_sse(addr: std::net::SocketAddr) -> Incoming {
    let mut sender = support::connect(addr).await;
    let response = sender
        .send_request(post_json(
            "/anthropic/v1/sse/messages",
            r#"{"stream":true}"#,
        ))
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], support::SSE_FRAMES[0].as_bytes());
    body
}

/// Lets the upstream send the rest of an [`open_sse`] stream and checks that every frame
/// arrives and the stream then ends; `held` names what would have held a frame back.
async fn finish_sse(upstream: &Upstream, body: &mut Incoming, held: &str) {
    let mut rest = Vec::new();
    for _ in 1..support::SSE_FRAMES.len() {
        upstream.release();
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .unwrap_or_else(|_| panic!("{held} held the stream back"))
            .unwrap()
            .unwrap();
        rest.extend_from_slice(&frame.into_data().unwrap());
    }
    assert_eq!(
        String::from_utf8(rest).unwrap(),
        support::SSE_FRAMES[1..].concat()
    );
    assert!(body.frame().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_an_in_flight_stream_finish() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    let mut body = open_sse(airlock.addr).await;
    let (pid, addr) = (airlock.pid(), airlock.addr);
    let exit = tokio::task::spawn_blocking(move || airlock.terminate());
    // SIGTERM is in: new connections are refused while the stream goes on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    finish_sse(&upstream, &mut body, "the draining proxy").await;
    let status = exit.await.unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_in_the_path_and_query_are_redacted_too() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &SECRETS);
    let request = hyper::Request::get(format!("/anthropic/v1/models?key={}", secret("api_token")))
        .header("host", "127.0.0.1")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let (status, _, _) = send(airlock.addr, request).await;
    assert_eq!(status, 200);
    assert_eq!(
        upstream.recorded()[0].path,
        "/v1/models?key=SECRET_REF(api_token)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_failures_are_clean_errors() {
    let upstream = Upstream::start().await;
    // An upstream nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let with_dead = format!(
        "{}[upstreams.dead]\nurl = \"http://127.0.0.1:{dead_port}\"\n",
        config(&upstream, "")
    );
    let airlock = Airlock::start(&with_dead, &SECRETS);
    assert_refused(
        &airlock,
        &upstream,
        post_json("/dead/v1/messages", "{}"),
        502,
        "upstream_unavailable",
    )
    .await;
    // A host that does not resolve.
    let unresolvable = Airlock::start(
        &format!(
            "{}[upstreams.nowhere]\nurl = \"https://no-such-host.invalid\"\n",
            config(&upstream, "")
        ),
        &SECRETS,
    );
    assert_refused(
        &unresolvable,
        &upstream,
        post_json("/nowhere/v1/messages", "{}"),
        502,
        "upstream_unavailable",
    )
    .await;
    // An upstream error status is relayed as it is.
    let (status, _, body) = send(airlock.addr, post_json("/anthropic/status/529", "{}")).await;
    assert_eq!(status, 529);
    assert_eq!(&body[..], b"{\"error\":\"upstream says no\"}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_never_accepts_hits_the_connect_timeout() {
    let upstream = Upstream::start().await;
    // A listener that never accepts, its queue filled: further SYNs are dropped, so a
    // connection attempt hangs until the caller gives up.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let stuck = socket.listen(0).unwrap();
    let stuck_addr = stuck.local_addr().unwrap();
    let mut fillers = Vec::new();
    loop {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(stuck_addr),
        )
        .await
        {
            Ok(Ok(stream)) => fillers.push(stream),
            Ok(Err(error)) => panic!("{error}"),
            Err(_) => break, // This one hung: the queue is full.
        }
        assert!(fillers.len() < 64, "the listen queue never filled");
    }
    let airlock = Airlock::start(
        &format!(
            "{}[upstreams.stuck]\nurl = \"http://{stuck_addr}\"\n",
            config(&upstream, "connect_timeout = \"500ms\"\n")
        ),
        &[],
    );
    let started = std::time::Instant::now();
    let (status, _, body) = send(airlock.addr, post_json("/stuck/v1/messages", "{}")).await;
    let waited = started.elapsed();
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let (_, metrics) = get_text(airlock.metrics, "/metrics").await;
    assert!(
        metrics.contains("airlock_upstream_errors_total{upstream=\"stuck\"} 1"),
        "{metrics}"
    );
    drop(stuck);
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_to_an_untrusted_upstream_is_refused() {
    let upstream = Upstream::start().await;
    // Same upstream, but without the test CA: the certificate must not be accepted.
    let config = format!(
        "[proxy]\nlisten = \"127.0.0.1:0\"\n[upstreams.anthropic]\nurl = \"{}\"\n",
        upstream.url()
    );
    let airlock = Airlock::start(&config, &[]);
    let (status, _, _) = send(airlock.addr, post_json("/anthropic/v1/messages", "{}")).await;
    assert_eq!(status, 502);
    assert!(upstream.recorded().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_proxy_cleanly() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    // Secrets in memory never reach a core file.
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", airlock.pid())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(),
        ["0", "0"],
        "{core}"
    );
    let status = tokio::task::spawn_blocking(move || airlock.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// A request body of unknown length, sent chunk by chunk.
struct ChunkedBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChunkedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_detected_token_is_learned_and_caught_later_in_another_encoding() {
    use base64::Engine as _;
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    let token = "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";
    let json = &[("content-type", "application/json")];
    let first = json!({ "messages": [{ "role": "user", "content": format!("use {token}") }] });
    let (status, _, _) = send(
        airlock.addr,
        post("/anthropic/v1/messages", json, first.to_string()),
    )
    .await;
    assert_eq!(status, 200);
    let forwarded: Value = serde_json::from_slice(&upstream.recorded()[0].body).unwrap();
    let handle = forwarded["messages"][0]["content"]
        .as_str()
        .unwrap()
        .trim_start_matches("use ")
        .to_owned();
    assert!(
        handle.starts_with("SECRET_REF(github.pat_classic."),
        "{handle}"
    );

    // Learning is asynchronous: wait until the registry holds the token. Sending the blob
    // earlier would let the entropy layer learn the whole blob first, and as the longer
    // registry match it would then win over the token inside it.
    let name = handle
        .trim_start_matches("SECRET_REF(")
        .trim_end_matches(')')
        .to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !airlock
        .log()
        .lines()
        .any(|l| l.contains("learned detected values") && l.contains(&name))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the detected token was not learned; airlock's log:\n{}",
            airlock.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The same token inside a base64 blob: no rule can see it there, the registry can.
    let blob = base64::engine::general_purpose::STANDARD.encode(format!("GITHUB_TOKEN={token}\n"));
    let second =
        json!({ "messages": [{ "role": "user", "content": format!("env file: {blob}") }] });
    let (status, _, _) = send(
        airlock.addr,
        post("/anthropic/v1/messages", json, second.to_string()),
    )
    .await;
    assert_eq!(status, 200);
    let body = upstream.recorded().last().unwrap().body.clone();
    assert!(
        String::from_utf8_lossy(&body).contains(&handle),
        "the learned token was not caught inside base64"
    );
    let (code, out, _) = support::run_cli(airlock.home.path(), &["vault", "list", "--json"], b"");
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| format!("SECRET_REF({})", e["name"].as_str().unwrap()) == handle)
        .expect("the token's handle is a vault name");
    assert_eq!(entry["source"], "detected");
    assert!(!airlock.log().contains(token), "the token reached the log");
}

/// A password the rules find once is replaced wherever else the same request holds it: typed
/// again bare in the agent's tool call and sent base64-encoded in a tool result, the upstream
/// gets one placeholder in all three places and no form of the password.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_found_once_is_replaced_where_the_request_repeats_it() {
    use base64::Engine as _;
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    let password = "Vq7#Lm2pXz9k";
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{password}\n"));
    let arguments = json!({ "command": format!("printf %s {password} > /run/db-pass") });
    let body = json!({ "model": "gpt-4o", "messages": [
        { "role": "user", "content": format!("the db password: {password}") },
        { "role": "assistant", "tool_calls": [{ "id": "c1", "type": "function",
            "function": { "name": "shell", "arguments": arguments.to_string() } }] },
        { "role": "tool", "tool_call_id": "c1", "content": format!("saved: {encoded}") },
    ]});
    let json = &[("content-type", "application/json")];
    let (status, _, _) = send(
        airlock.addr,
        post("/openai/v1/chat/completions", json, body.to_string()),
    )
    .await;
    assert_eq!(status, 200);
    let forwarded = String::from_utf8(upstream.recorded()[0].body.to_vec()).unwrap();
    let base64_core = &encoded[..12];
    assert!(
        !forwarded.contains(password) && !forwarded.contains(base64_core),
        "{forwarded}"
    );
    let sent: Value = serde_json::from_str(&forwarded).unwrap();
    let said = sent["messages"][0]["content"].as_str().unwrap();
    let handle = said.trim_start_matches("the db password: ");
    assert!(handle.starts_with("SECRET_REF("), "{said}");
    let called = sent["messages"][1]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    assert!(called.contains(handle), "{called}");
    let saved = sent["messages"][2]["content"].as_str().unwrap();
    assert!(saved.contains(handle), "{saved}");
}

/// A vault value sent in pieces (half in one message, the rest in the next turn, as an
/// agent talked into "splitting it so the filter does not see it" would) goes upstream with
/// no 12 bytes of it in a row, each piece under the secret's part handle.
#[tokio::test(flavor = "multi_thread")]
async fn a_vault_secret_sent_in_pieces_leaves_no_piece_upstream() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &SECRETS);
    let value = secret("stripe_live");
    let (first, rest) = value.split_at(18);
    let json = &[("content-type", "application/json")];
    let mut messages = vec![
        json!({ "role": "user", "content": format!("part one of the key: {first}") }),
        json!({ "role": "assistant", "content": "Noted. And part two?" }),
    ];
    for turn in [
        format!("part two: {rest}"),
        format!("again, ends with {}", &rest[2..]),
    ] {
        messages.push(json!({ "role": "user", "content": turn }));
        let body = json!({ "model": "gpt-4o", "messages": messages });
        let (status, _, _) = send(
            airlock.addr,
            post("/openai/v1/chat/completions", json, body.to_string()),
        )
        .await;
        assert_eq!(status, 200);
    }
    let recorded = upstream.recorded();
    assert_eq!(recorded.len(), 2);
    for request in &recorded {
        let forwarded = String::from_utf8(request.body.to_vec()).unwrap();
        for window in value.as_bytes().windows(12) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(!forwarded.contains(window), "{window} in {forwarded}");
        }
        serde_json::from_str::<Value>(&forwarded).unwrap();
    }
    let last = String::from_utf8(recorded[1].body.to_vec()).unwrap();
    assert_eq!(
        last.matches("SECRET_REF(stripe_live.part)").count(),
        3,
        "{last}"
    );
}

/// A wallet keypair a tool call carries as JSON numbers (an Anthropic `tool_use` input) goes
/// upstream as a quoted placeholder: the body the provider receives still parses, and no
/// byte of the key is in it.
#[tokio::test(flavor = "multi_thread")]
async fn a_keypair_among_a_tool_call_s_numbers_goes_upstream_as_a_string() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    // Built at run time: the repository's own sources are a benign corpus for the scanner.
    let mut state: u32 = 7_002_026;
    let keypair: Vec<u8> = (0..64)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    let body = json!({ "model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [
        { "role": "user", "content": "save my wallet" },
        { "role": "assistant", "content": [{ "type": "tool_use", "id": "toolu_1",
            "name": "write_keypair", "input": { "path": "id.json", "keypair": keypair } }] },
        { "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "toolu_1",
            "content": "saved" }] },
    ]});
    let json = &[("content-type", "application/json")];
    let (status, _, _) = send(
        airlock.addr,
        post("/anthropic/v1/messages", json, body.to_string()),
    )
    .await;
    assert_eq!(status, 200);
    let forwarded = String::from_utf8(upstream.recorded()[0].body.to_vec()).unwrap();
    let sent: Value = serde_json::from_str(&forwarded).unwrap();
    let input = &sent["messages"][1]["content"][0]["input"];
    assert!(
        input["keypair"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("SECRET_REF(crypto.keypair_byte_array.")),
        "{input}"
    );
    let head: Vec<String> = keypair[..8].iter().map(u8::to_string).collect();
    assert!(!forwarded.contains(&head.join(",")), "{forwarded}");
}

/// An agent resends its conversation every turn, and the proxy scans only what it has not
/// seen (remembered chunks): a resent turn must go out exactly as before, a new turn's secret
/// must be caught, and a value added to the vault must be caught in the turns already seen.
#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_resent_each_turn_is_redacted_like_new() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, "[redaction]\nlearn = false\n"), &SECRETS);
    let path = "/openai/v1/chat/completions";
    let later_secret = "later-vault-value-Kq7-nobody-guesses";
    let mut body = planted("openai-chat-completions.json");
    // An early message holds a value the vault does not know yet, in the middle of the
    // conversation (a chunk the proxy will remember).
    plant(
        &mut body["messages"][1]["content"],
        &format!("the crm login is {later_secret}"),
    );
    let forward = |body: Value| {
        let (addr, upstream) = (airlock.addr, &upstream);
        async move {
            let (status, _, _) = send(addr, post_json(path, body.to_string())).await;
            assert_eq!(status, 200);
            upstream.recorded().last().unwrap().body.clone()
        }
    };

    let first = forward(body.clone()).await;
    assert_no_secret(&first);
    assert_eq!(
        serde_json::from_slice::<Value>(&first).unwrap(),
        expected(&body)
    );
    assert_eq!(forward(body.clone()).await, first, "a resent turn changed");
    // The resent turn came from the memo: every chunk of it remembered, none scanned again.
    let counted = |text: &str, outcome: &str| -> u64 {
        let line = format!("airlock_redaction_chunks_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .map_or(0, |n| n.trim().parse().unwrap())
    };
    let (_, metrics) = get_text(airlock.metrics, "/metrics").await;
    let scanned = counted(&metrics, "scanned");
    assert!(scanned >= 4, "{metrics}");
    assert_eq!(counted(&metrics, "remembered"), scanned, "{metrics}");

    // The next turn: the same conversation and a new message with secrets in it.
    let token = "ghp_Z8kT2mXq7LpR4sWz8NcY3bHf6JdA1e0pL3Xa";
    let mut next = body.clone();
    next["messages"].as_array_mut().unwrap().push(json!({
        "role": "user",
        "content": format!("mail {} and use {token}", secret("smtp_pass")),
    }));
    let second = forward(next.clone()).await;
    assert_no_secret(&second);
    let text = String::from_utf8_lossy(&second);
    assert!(!text.contains(token), "the new turn's token was forwarded");
    let forwarded: Value = serde_json::from_slice(&second).unwrap();
    let messages = forwarded["messages"].as_array().unwrap();
    assert_eq!(
        messages[..messages.len() - 1],
        serde_json::from_slice::<Value>(&first).unwrap()["messages"]
            .as_array()
            .unwrap()[..],
        "the earlier turns changed"
    );

    // The vault learns the early value: the remembered turns are read under the new vault.
    assert!(String::from_utf8_lossy(&first).contains(later_secret));
    let (code, _, err) = support::run_cli(
        airlock.home.path(),
        &["vault", "add", "crm_login"],
        later_secret.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let again = forward(next.clone()).await;
        if !String::from_utf8_lossy(&again).contains(later_secret) {
            assert!(String::from_utf8_lossy(&again).contains("SECRET_REF(crm_login)"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a value added to the vault still left in a remembered turn"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn vault_changes_reach_the_running_proxy_within_a_second() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(
        &config(&upstream, "[redaction]\nentropy = false\nlearn = false\n"),
        &[],
    );
    let json = &[("content-type", "application/json")];
    let forwarded = |text: &str| {
        let body = json!({ "messages": [{ "role": "user", "content": text }] }).to_string();
        let (addr, upstream) = (airlock.addr, &upstream);
        async move {
            let (status, _, _) = send(addr, post("/anthropic/v1/messages", json, body)).await;
            assert_eq!(status, 200);
            String::from_utf8_lossy(&upstream.recorded().last().unwrap().body).into_owned()
        }
    };
    // Polls until `check` holds for what the upstream receives, or one second has passed.
    async fn within_a_second<F, Fut>(mut attempt: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while std::time::Instant::now() < deadline {
            if attempt().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }
    let first = "plain-value-only-the-vault-knows-4471";
    let second = "rotated-value-only-the-vault-knows-8812";
    assert!(forwarded(first).await.contains(first), "not a secret yet");

    let (code, _, err) = support::run_cli(
        airlock.home.path(),
        &["vault", "add", "crm_token"],
        first.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        within_a_second(|| async { forwarded(first).await.contains("SECRET_REF(crm_token)") })
            .await,
        "an added secret was not redacted within a second"
    );

    let (code, _, err) = support::run_cli(
        airlock.home.path(),
        &["vault", "set", "crm_token"],
        second.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        within_a_second(|| async { !forwarded(second).await.contains(second) }).await,
        "a rotated value was not redacted within a second"
    );
    // The old value stays redacted while it is retained.
    assert!(!forwarded(first).await.contains(first));

    let (code, _, err) = support::run_cli(airlock.home.path(), &["vault", "rm", "crm_token"], b"");
    assert_eq!(code, 0, "{err}");
    assert!(
        within_a_second(|| async { forwarded(second).await.contains(second) }).await,
        "a removed secret was still redacted after a second"
    );
    assert!(!airlock.log().contains(first) && !airlock.log().contains(second));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_proxies_on_one_home_do_not_reload_each_other() {
    // Each reload writes an audit entry, which another process sees as a vault change. The
    // watchers used to reload on any change: two proxies on one home reloaded each other
    // without end, each time decrypting every value and rebuilding the engine.
    let upstream = Upstream::start().await;
    let first = Airlock::start(&config(&upstream, ""), &SECRETS);
    let second_config = first.home.path().join("second.toml");
    std::fs::write(
        &second_config,
        config(&upstream, "") + "\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let mut second = std::process::Command::new(support::BIN)
        .args(["serve", "--config"])
        .arg(&second_config)
        .env("AIRLOCK_HOME", first.home.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    // The second proxy must have started and stayed up, or the quiet proves nothing.
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second proxy exited"
    );
    let reloads = first
        .log()
        .matches("vault changed; registry reloaded")
        .count();
    let _ = second.kill();
    let _ = second.wait();
    assert_eq!(reloads, 0, "the first proxy reloaded {reloads} times");

    // A real change still reaches it.
    let (code, _, err) = support::run_cli(
        first.home.path(),
        &["vault", "add", "added_later"],
        b"a-value-added-while-both-run-5521",
    );
    assert_eq!(code, 0, "{err}");
    assert!(first.wait_for_log("vault changed; registry reloaded", 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_keys_come_from_the_vault_and_the_client_key_never_leaves() {
    let upstream = Upstream::start().await;
    let config = format!(
        "[proxy]\nlisten = \"127.0.0.1:0\"\n\
         [agents]\n\"sk-dummy-openclaw\" = \"openclaw-main\"\n\
         [upstreams.anthropic]\nurl = \"{url}\"\nca_file = \"{ca}\"\n\
         auth = {{ header = \"x-api-key\", secret = \"anthropic_api_key\" }}\n\
         [upstreams.openai]\nurl = \"{url}/openai-base\"\nca_file = \"{ca}\"\n\
         auth = {{ bearer = \"openai_api_key\" }}\n",
        url = upstream.url(),
        ca = upstream.ca_file.display()
    );
    let real_anthropic = "sk-ant-api03-RealKeyFromTheVault0000000000000000";
    let airlock = Airlock::start(&config, &[("anthropic_api_key", real_anthropic)]);
    let body = json!({ "messages": [{ "role": "user", "content": "hi" }] }).to_string();

    // The client's dummy key is replaced by the vault's; airlock's agent header stays home.
    let (status, _, _) = send(
        airlock.addr,
        post(
            "/anthropic/v1/messages",
            &[
                ("content-type", "application/json"),
                ("x-api-key", "sk-dummy-openclaw"),
                ("authorization", "Bearer sk-dummy-openclaw"),
                ("x-airlock-agent", "openclaw-main"),
            ],
            body.clone(),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let seen = upstream.recorded().last().unwrap().headers.clone();
    assert_eq!(seen.get("x-api-key").unwrap(), real_anthropic);
    assert!(
        seen.get("authorization").is_none(),
        "the client's bearer key was forwarded"
    );
    assert!(seen.get("x-airlock-agent").is_none());
    assert!(
        airlock.wait_for_log("agent=openclaw-main", 1),
        "{}",
        airlock.log()
    );

    // An upstream whose secret the vault lacks: refused, nothing forwarded, dummy key kept home.
    let openai_chat = async || {
        send(
            airlock.addr,
            post(
                "/openai/v1/chat/completions",
                &[
                    ("content-type", "application/json"),
                    ("authorization", "Bearer sk-dummy-openclaw"),
                ],
                body.clone(),
            ),
        )
        .await
    };
    let before = upstream.recorded().len();
    let (status, _, answer) = openai_chat().await;
    assert_eq!(status, 503);
    assert!(String::from_utf8_lossy(&answer).contains("upstream_credential_missing"));
    assert_eq!(
        upstream.recorded().len(),
        before,
        "nothing may be forwarded"
    );
    assert!(
        airlock.wait_for_log("openai_api_key", 1),
        "the log names the missing secret"
    );

    // Added to the vault, it is used within a second, as a bearer token.
    let real_openai = "sk-proj-RealOpenAIKeyFromTheVault111111111111";
    let (code, _, err) = support::run_cli(
        airlock.home.path(),
        &["vault", "add", "openai_api_key"],
        real_openai.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let (status, _, _) = openai_chat().await;
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new credential was not used within a second"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let seen = upstream.recorded().last().unwrap().headers.clone();
    assert_eq!(
        seen.get("authorization").unwrap(),
        &format!("Bearer {real_openai}")
    );
    // A new version of the key replaces the old one as the credential (the old one stays
    // only as a value to redact).
    let rotated_openai = "sk-proj-RotatedOpenAIKeyFromTheVault2222222222";
    let (code, _, err) = support::run_cli(
        airlock.home.path(),
        &["vault", "set", "openai_api_key"],
        rotated_openai.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let (status, _, _) = openai_chat().await;
        assert_eq!(status, 200);
        let seen = upstream.recorded().last().unwrap().headers.clone();
        if seen.get("authorization").unwrap() == &format!("Bearer {rotated_openai}") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rotated credential was not used within a second"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The agent came from the mapped dummy key this time.
    assert!(airlock.wait_for_log("agent=openclaw-main", 2));
    for value in [real_anthropic, real_openai] {
        assert!(
            !airlock.log().contains(value),
            "a provider key reached the log"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_usage_is_metered_per_agent_upstream_and_model() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    let json = ("content-type", "application/json");
    let body = json!({ "messages": [{ "role": "user", "content": "hi" }] }).to_string();
    for (path, agent) in [
        ("/anthropic/canned/anthropic-stream", "main"),
        ("/anthropic/canned/anthropic-stream", "main"),
        ("/openai/canned/chat-json", "ops"),
        ("/openai/canned/responses-stream", "main"),
    ] {
        let (status, _, received) = send(
            airlock.addr,
            post(path, &[json, ("x-airlock-agent", agent)], body.clone()),
        )
        .await;
        assert_eq!(status, 200);
        // The client gets exactly what the provider sent.
        let name = path.rsplit('/').next().unwrap();
        let canned = support::CANNED
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap()
            .2;
        assert_eq!(String::from_utf8_lossy(&received), canned);
    }
    let rows = support::usage_rows(airlock.home.path(), None, 4);
    let find = |agent: &str, model: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["agent"] == agent && r["model"] == model)
            .unwrap_or_else(|| panic!("no row for {agent}/{model} in {rows}"))
            .clone()
    };
    let claude = find("main", "claude-sonnet-4-5-20250929");
    assert_eq!(claude["upstream"], "anthropic");
    // Two streams; each one's cumulative message_delta counts are taken once, not summed.
    assert_eq!(
        [
            &claude["requests"],
            &claude["input_tokens"],
            &claude["output_tokens"],
            &claude["cache_creation_tokens"],
            &claude["cache_read_tokens"]
        ],
        [2, 50, 84, 600, 8000]
    );
    let chat = find("ops", "gpt-4o-2024-08-06");
    assert_eq!(
        [
            &chat["input_tokens"],
            &chat["output_tokens"],
            &chat["cache_read_tokens"]
        ],
        [476, 12, 1024]
    );
    let responses = find("main", "gpt-5-2025-08-07");
    assert_eq!(
        [
            &responses["input_tokens"],
            &responses["output_tokens"],
            &responses["cache_read_tokens"]
        ],
        [600, 64, 200]
    );
    let (code, table, _) = support::run_cli(airlock.home.path(), &["usage", "--since", "1h"], b"");
    assert_eq!(code, 0);
    assert!(
        table.contains("claude-sonnet-4-5-20250929") && table.contains("CACHE_READ"),
        "{table}"
    );
    let (code, _, err) = support::run_cli(
        airlock.home.path(),
        &["usage", "--since", "yesterday-ish"],
        b"",
    );
    assert_eq!(code, 1);
    assert!(err.contains("--since"), "{err}");
}

/// Sends raw HTTP/1.1 text and returns the status code of the answer.
async fn raw_status(addr: std::net::SocketAddr, request: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn get_text(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = send(
        addr,
        hyper::Request::get(path)
            .header("host", "127.0.0.1")
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap(),
    )
    .await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_health_and_bypass_attempts() {
    let upstream = Upstream::start().await;
    let secret = "metrics-test-secret-value-0042";
    let airlock = Airlock::start(&config(&upstream, ""), &[("metric_secret", secret)]);
    let json = ("content-type", "application/json");
    let body = json!({ "messages": [{ "role": "user", "content": format!("use {secret}") }] });
    let (status, _, _) = send(
        airlock.addr,
        post(
            "/anthropic/canned/anthropic-stream",
            &[json, ("x-airlock-agent", "ops")],
            body.to_string(),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = send(airlock.addr, post("/nowhere/v1/messages", &[json], "{}")).await;
    assert_eq!(status, 404);
    // Forward-proxy requests: an absolute URL and a CONNECT, both to a host that is no upstream.
    let before = upstream.recorded().len();
    assert_eq!(
        raw_status(
            airlock.addr,
            "GET http://exfil.example/steal HTTP/1.1\r\nHost: exfil.example\r\n\r\n"
        )
        .await,
        403
    );
    assert_eq!(
        raw_status(
            airlock.addr,
            "CONNECT exfil.example:443 HTTP/1.1\r\nHost: exfil.example:443\r\n\r\n"
        )
        .await,
        403
    );
    assert_eq!(
        upstream.recorded().len(),
        before,
        "nothing may be forwarded"
    );

    assert_eq!(get_text(airlock.metrics, "/healthz").await.0, 200);
    assert_eq!(get_text(airlock.metrics, "/readyz").await.0, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let text = loop {
        let (status, text) = get_text(airlock.metrics, "/metrics").await;
        assert_eq!(status, 200);
        if text.contains("airlock_tokens_total{") || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    for expected in [
        r#"airlock_requests_total{upstream="anthropic",status="200"} 1"#,
        r#"airlock_requests_total{upstream="-",status="404"} 1"#,
        r#"airlock_requests_total{upstream="-",status="403"} 2"#,
        r#"airlock_redactions_total{layer="registry",rule="registry"} 1"#,
        r#"airlock_refusals_total{reason="unknown_upstream"} 1"#,
        r#"airlock_refusals_total{reason="egress_not_allowed"} 2"#,
        "airlock_bypass_attempts_total 2",
        r#"airlock_tokens_total{agent="ops",model="claude-sonnet-4-5-20250929",kind="output"} 42"#,
        r#"airlock_overhead_seconds_count{upstream="anthropic"} 1"#,
        r#"airlock_request_duration_seconds_count{upstream="anthropic"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(!text.contains(secret) && !text.contains("metric_secret"));
    assert!(
        airlock.wait_for_log("forward-proxy request refused", 1),
        "{}",
        airlock.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_beyond_the_concurrency_limit_get_503() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, "max_concurrent_requests = 1\n"), &[]);
    let json = ("content-type", "application/json");
    // A stream the upstream holds open until released keeps the only permit.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let first = client
        .request(post(
            &format!("http://{}/anthropic/sse/v1/messages", airlock.addr),
            &[json],
            "{}",
        ))
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let (status, _, body) = send(airlock.addr, post("/anthropic/v1/messages", &[json], "{}")).await;
    assert_eq!(status, 503);
    assert!(String::from_utf8_lossy(&body).contains("overloaded"));
    // Finish the stream: the permit comes back.
    for _ in 0..support::SSE_FRAMES.len() {
        upstream.release();
    }
    http_body_util::BodyExt::collect(first.into_body())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let (status, _, _) =
            send(airlock.addr, post("/anthropic/v1/messages", &[json], "{}")).await;
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the permit was not returned"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_config_and_rules_and_a_bad_reload_keeps_the_old() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    let json = ("content-type", "application/json");
    let config_path = airlock.home.path().join("airlock.toml");
    let original = std::fs::read_to_string(&config_path).unwrap();
    let marker = "ACME-INTERNAL-7731-XYZZY";
    let body = json!({ "messages": [{ "role": "user", "content": format!("ticket {marker}") }] })
        .to_string();
    let (status, _, _) = send(
        airlock.addr,
        post("/anthropic/v1/messages", &[json], body.clone()),
    )
    .await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&upstream.recorded().last().unwrap().body).contains(marker));

    // A site rule file and a third upstream, then SIGHUP.
    let rules = airlock.home.path().join("site.toml");
    std::fs::write(
        &rules,
        r#"[[rule]]
id = "site.ticket"
description = "Internal ticket ids"
regex = '''\b(ACME-INTERNAL-\d{4}-[A-Z]+)\b'''
keywords = ["ACME-INTERNAL-"]
examples = ["ACME-INTERNAL-1234-ABC"]
negative_examples = ["ACME-EXTERNAL-1234-ABC"]
"#,
    )
    .unwrap();
    let updated = original.replacen(
        "[proxy]",
        &format!(
            "[redaction]\nrule_files = [\"{}\"]\n[proxy]",
            rules.display()
        ),
        1,
    ) + &format!(
        "[upstreams.local]\nurl = \"{}/local-base\"\nca_file = \"{}\"\n",
        upstream.url(),
        upstream.ca_file.display()
    );
    std::fs::write(&config_path, updated).unwrap();
    let hup = |pid: u32| {
        assert!(std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success());
    };
    // A stream in flight across the reload.
    let mut stream = open_sse(airlock.addr).await;
    hup(airlock.pid());
    assert!(
        airlock.wait_for_log("reloaded configuration and rules", 1),
        "no reload: {}",
        airlock.log()
    );
    let (status, _, _) = send(
        airlock.addr,
        post("/local/v1/messages", &[json], body.clone()),
    )
    .await;
    assert_eq!(status, 200, "the new upstream");
    // The stream opened before the reload goes on to its end.
    finish_sse(&upstream, &mut stream, "the reload").await;
    let forwarded = String::from_utf8_lossy(&upstream.recorded().last().unwrap().body).into_owned();
    assert!(
        !forwarded.contains(marker) && forwarded.contains("SECRET_REF(site.ticket."),
        "{forwarded}"
    );

    // A broken file: the reload is refused, the running configuration keeps working.
    std::fs::write(&config_path, "[proxy\nthis is not toml").unwrap();
    hup(airlock.pid());
    assert!(
        airlock.wait_for_log("reload failed", 1),
        "no failed reload: {}",
        airlock.log()
    );
    let (status, _, _) = send(airlock.addr, post("/local/v1/messages", &[json], body)).await;
    assert_eq!(status, 200, "still the reloaded configuration");
    let forwarded = String::from_utf8_lossy(&upstream.recorded().last().unwrap().body).into_owned();
    assert!(!forwarded.contains(marker));
}

/// TLS on `tcp` to server name `localhost`, trusting only the CA in `ca_pem`, offering `alpn`.
async fn tls_to_localhost(
    tcp: tokio::net::TcpStream,
    ca_pem: &str,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![alpn.to_vec()];
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls))
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .expect("the certificate chains to airlock's CA")
}

/// POSTs `body` as JSON over TLS on `tcp` (HTTP/1.1, server name `localhost`), trusting only
/// the CA in `ca_pem`; returns the response status.
async fn post_over_tls(
    tcp: tokio::net::TcpStream,
    ca_pem: &str,
    host: &str,
    path: &str,
    body: String,
) -> hyper::StatusCode {
    let stream = tls_to_localhost(tcp, ca_pem, b"http/1.1").await;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header("host", host)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    sender.send_request(request).await.unwrap().status()
}

/// Opens a CONNECT tunnel through airlock to `target` and returns the status line's code and,
/// on 200, the stream (still plain TCP: the caller speaks TLS through it).
async fn open_tunnel(airlock: std::net::SocketAddr, target: &str) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(airlock).await.unwrap();
    tcp.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    (status, tcp)
}

#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_tunnels_to_upstreams_are_intercepted_and_redacted() {
    let upstream = Upstream::start().await;
    let secret = "tunnel-secret-value-55aa77cc";
    let airlock = Airlock::start(&config(&upstream, ""), &[("tunnel_secret", secret)]);
    let (code, ca_pem, err) = support::run_cli(airlock.home.path(), &["ca", "export"], b"");
    assert_eq!(code, 0, "{err}");
    assert!(ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));

    // A host that is no upstream: refused, counted, nothing relayed.
    let (status, _) = open_tunnel(airlock.addr, "exfil.example:443").await;
    assert_eq!(status, 403);

    // The upstream's own host: intercepted with a certificate from airlock's CA.
    let target = upstream.url().trim_start_matches("https://").to_owned();
    let (status, tcp) = open_tunnel(airlock.addr, &target).await;
    assert_eq!(status, 200);
    let body = json!({ "messages": [{ "role": "user", "content": format!("key {secret}") }] });
    let status = post_over_tls(
        tcp,
        &ca_pem,
        &target,
        "/v1/messages?beta=true",
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let recorded = upstream.recorded();
    let last = recorded.last().unwrap();
    assert_eq!(
        last.path, "/v1/messages?beta=true",
        "the path is the upstream's own"
    );
    let forwarded = String::from_utf8_lossy(&last.body);
    assert!(
        !forwarded.contains(secret) && forwarded.contains("SECRET_REF(tunnel_secret)"),
        "{forwarded}"
    );
    let (_, metrics) = get_text(airlock.metrics, "/metrics").await;
    assert!(
        metrics.contains("airlock_bypass_attempts_total 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_logs_never_hold_a_secret() {
    let upstream = Upstream::start().await;
    let vault_value = "debug-log-vault-secret-90ab";
    let airlock = Airlock::start(
        &config(&upstream, "max_body_bytes = 4096\n"),
        &[("log_secret", vault_value)],
    );
    let token = "ghp_LogCheckQ9vT2mXk7LpR4sWz8NcY3bHf6Jd";
    let random = "Zx8Kq2Vn7Lm4Pw9Rt3Hs6Jd1Fg5Bc0Ny2Ue7Ia4Ko8";
    let json = ("content-type", "application/json");
    let seeded = format!("{vault_value} {token} api_key={random}");
    let body = json!({ "messages": [{ "role": "user", "content": seeded }] }).to_string();
    for path in [
        "/anthropic/v1/messages",
        "/openai/v1/chat/completions",
        "/openai/v1/responses",
        "/anthropic/canned/anthropic-stream",
    ] {
        let (status, _, _) = send(
            airlock.addr,
            post(
                path,
                &[
                    json,
                    ("x-api-key", vault_value),
                    ("x-airlock-agent", "log-test"),
                ],
                body.clone(),
            ),
        )
        .await;
        assert_eq!(status, 200);
    }
    // Refusals carrying the secrets: invalid JSON, too large, unknown upstream, in the query.
    let broken = format!("{{\"content\": \"{vault_value} {token}\"");
    let (status, _, _) = send(
        airlock.addr,
        post("/anthropic/v1/messages", &[json], broken),
    )
    .await;
    assert_eq!(status, 400);
    let large = format!("{{\"content\": \"{}{vault_value}\"}}", "x".repeat(5000));
    let (status, _, _) = send(airlock.addr, post("/anthropic/v1/messages", &[json], large)).await;
    assert_eq!(status, 413);
    let (status, _, _) = send(
        airlock.addr,
        post(&format!("/{vault_value}/v1"), &[json], "{}"),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = send(
        airlock.addr,
        post(
            &format!("/anthropic/v1/messages?key={token}"),
            &[json],
            "{}",
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        airlock.wait_for_log("learned detected values", 1),
        "{}",
        airlock.log()
    );
    let log = airlock.log();
    assert!(log.contains("DEBUG"), "debug logging is on");
    for value in [vault_value, token, random] {
        assert!(!log.contains(value), "a secret value reached the log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_listener_speaks_tls_with_a_certificate_from_the_local_ca() {
    let upstream = Upstream::start().await;
    let secret = "tls-listener-secret-33dd44ee";
    let airlock = Airlock::start(
        &config(&upstream, "tls = \"local-ca\"\n"),
        &[("tls_secret", secret)],
    );
    assert!(
        airlock.wait_for_log("listening on https://", 1),
        "{}",
        airlock.log()
    );
    let (code, ca_pem, err) = support::run_cli(airlock.home.path(), &["ca", "export"], b"");
    assert_eq!(code, 0, "{err}");
    let tcp = tokio::net::TcpStream::connect(airlock.addr).await.unwrap();
    let body = json!({ "messages": [{ "role": "user", "content": format!("key {secret}") }] });
    let forwarded_redacted = || {
        let forwarded = upstream.recorded().last().unwrap().body.clone();
        let forwarded = String::from_utf8_lossy(&forwarded);
        !forwarded.contains(secret) && forwarded.contains("SECRET_REF(tls_secret)")
    };
    let status = post_over_tls(
        tcp,
        &ca_pem,
        "localhost",
        "/anthropic/v1/messages",
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(forwarded_redacted());
    // A client that negotiates HTTP/2 by ALPN is served the same way.
    let tcp = tokio::net::TcpStream::connect(airlock.addr).await.unwrap();
    let stream = tls_to_localhost(tcp, &ca_pem, b"h2").await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let status = post_h2(
        stream,
        "localhost",
        "/anthropic/v1/messages",
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(forwarded_redacted());
    assert_eq!(upstream.recorded().len(), 2);
    // Plain HTTP on the TLS port gets no HTTP answer.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut plain = tokio::net::TcpStream::connect(airlock.addr).await.unwrap();
    plain
        .write_all(
            b"POST /anthropic/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), plain.read(&mut buf))
        .await
        .map_or(0, |r| r.unwrap_or(0));
    assert!(!String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_in_request_headers_are_redacted_but_the_client_key_is_not() {
    let upstream = Upstream::start().await;
    let tool_secret = "header-tool-secret-77ff00aa";
    let provider_key = "sk-ant-api03-ClientOwnKeyKeptAsIs0000000";
    let airlock = Airlock::start(
        &config(&upstream, ""),
        &[("tool_secret", tool_secret), ("provider_key", provider_key)],
    );
    let (status, _, _) = send(
        airlock.addr,
        post(
            "/anthropic/v1/messages",
            &[
                ("content-type", "application/json"),
                ("x-tool-context", &format!("token={tool_secret}")),
                ("x-debug-auth", "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"),
                ("x-api-key", provider_key),
            ],
            "{}",
        ),
    )
    .await;
    assert_eq!(status, 200);
    let seen = upstream.recorded().last().unwrap().headers.clone();
    assert_eq!(
        seen.get("x-tool-context").unwrap(),
        "token=SECRET_REF(tool_secret)"
    );
    // Without `auth` on the upstream, the client's key is the provider key: it passes.
    assert_eq!(seen.get("x-api-key").unwrap(), provider_key);
    // A token found in a header is replaced, and learned like one found in a body.
    let debug = seen
        .get("x-debug-auth")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        debug.starts_with("SECRET_REF(github.pat_classic."),
        "{debug}"
    );
    assert!(
        airlock.wait_for_log("learned detected values", 1),
        "{}",
        airlock.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_never_answers_times_out_cleanly() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, "upstream_timeout = \"300ms\"\n"), &[]);
    let started = std::time::Instant::now();
    let (status, _, body) = send(
        airlock.addr,
        post(
            "/anthropic/hang/v1/messages",
            &[("content-type", "application/json")],
            "{}",
        ),
    )
    .await;
    assert_eq!(status, 504);
    assert!(String::from_utf8_lossy(&body).contains("upstream_timeout"));
    assert!(started.elapsed() < Duration::from_secs(5));
    // The proxy is still serving.
    let (status, _, _) = send(
        airlock.addr,
        post(
            "/anthropic/v1/messages",
            &[("content-type", "application/json")],
            "{}",
        ),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_leaving_mid_stream_cancels_the_upstream_request() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &[]);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let response = client
        .request(post(
            &format!("http://{}/anthropic/sse/v1/messages", airlock.addr),
            &[("content-type", "application/json")],
            "{}",
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let first = http_body_util::BodyExt::frame(&mut body)
        .await
        .unwrap()
        .unwrap();
    assert!(first.data_ref().is_some());
    // The client goes away after the first frame.
    drop(body);
    drop(client);
    // The upstream's next frame finds nobody reading: airlock dropped its side too.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while upstream.cancelled_streams() == 0 {
        upstream.release();
        assert!(
            std::time::Instant::now() < deadline,
            "the upstream stream was not cancelled"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // And airlock keeps serving.
    let (status, _, _) = send(
        airlock.addr,
        post(
            "/anthropic/v1/messages",
            &[("content-type", "application/json")],
            "{}",
        ),
    )
    .await;
    assert_eq!(status, 200);
}

/// Each worker listens on its own `SO_REUSEPORT` socket; a second airlock started on the same
/// address must still fail with the address named, not quietly take half the connections.
#[tokio::test]
async fn a_second_airlock_on_a_taken_address_fails_to_start() {
    let upstream = Upstream::start().await;
    let first = Airlock::start(&config(&upstream, ""), &[]);
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("airlock.toml");
    let taken = format!("listen = \"{}\"", first.addr);
    let second = config(&upstream, "").replacen("listen = \"127.0.0.1:0\"", &taken, 1)
        + "[metrics]\nlisten = \"127.0.0.1:0\"\n";
    std::fs::write(&path, second).unwrap();
    let mut child = std::process::Command::new(support::BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .env("AIRLOCK_HOME", home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("a second airlock on {} kept running", first.addr);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(
        err.contains(&format!("cannot listen on {}", first.addr)),
        "{err}"
    );
    // The first one still answers.
    let (status, _, _) = send(first.addr, post_json("/nosuch/v1/messages", "{}")).await;
    assert_eq!(status, 404);
}

/// POSTs `body` as JSON over HTTP/2 on `io` (prior knowledge, or TLS with ALPN `h2`); returns
/// the response status.
async fn post_h2<T>(io: T, authority: &str, path: &str, body: String) -> hyper::StatusCode
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(io),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post(format!("http://{authority}{path}"))
        .version(hyper::Version::HTTP_2)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    sender.send_request(request).await.unwrap().status()
}

/// HTTP/2 clients (prior knowledge here) name airlock in `:authority`: that is not a
/// forward-proxy request, and the request is routed, redacted and forwarded by its path.
#[tokio::test(flavor = "multi_thread")]
async fn http2_requests_are_routed_by_path_and_redacted() {
    let upstream = Upstream::start().await;
    let secret = "h2-client-secret-55aa66bb";
    let airlock = Airlock::start(&config(&upstream, ""), &[("h2_secret", secret)]);
    let tcp = tokio::net::TcpStream::connect(airlock.addr).await.unwrap();
    let body = json!({ "messages": [{ "role": "user", "content": format!("key {secret}") }] });
    let authority = airlock.addr.to_string();
    let status = post_h2(tcp, &authority, "/anthropic/v1/messages", body.to_string()).await;
    assert_eq!(status, 200, "{}", airlock.log());
    let forwarded = String::from_utf8_lossy(&upstream.recorded().last().unwrap().body).into_owned();
    assert!(!forwarded.contains(secret) && forwarded.contains("SECRET_REF(h2_secret)"));
    // An unknown upstream is still unknown, whatever the authority says.
    let tcp = tokio::net::TcpStream::connect(airlock.addr).await.unwrap();
    let status = post_h2(tcp, "api.anthropic.com", "/v1/messages", body.to_string()).await;
    assert_eq!(status, 404);
    assert_eq!(upstream.recorded().len(), 1);
}

/// A vault value an agent sends as a hex dump of the file holding it, or spelled out in `\u`
/// escapes, reaches the upstream replaced; the rest of the request is untouched JSON.
#[tokio::test(flavor = "multi_thread")]
async fn vault_values_in_dumps_and_spelled_out_reach_the_upstream_replaced() {
    let upstream = Upstream::start().await;
    let airlock = Airlock::start(&config(&upstream, ""), &SECRETS);
    let password = secret("db_password");
    let file = format!("APP_NAME=demo\nDB_HOST=db.internal\nDB_PASSWORD={password}\n");
    // `xxd` output: offset, eight groups of two bytes, the character column.
    let mut dump = String::new();
    for (i, line) in file.as_bytes().chunks(16).enumerate() {
        let hex: Vec<String> = line
            .chunks(2)
            .map(|g| g.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        let chars: String = line
            .iter()
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        dump += &format!("{:08x}: {:<39}  {chars}\n", i * 16, hex.join(" "));
    }
    let spelled: String = password
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let body = format!(
        r#"{{"model":"gpt-4o","messages":[{{"role":"tool","tool_call_id":"call_1","content":{dump}}},{{"role":"user","content":"the value is {spelled}"}}]}}"#,
        dump = serde_json::to_string(&dump).unwrap(),
    );
    let (status, _, _) = send(airlock.addr, post_json("/openai/v1/chat/completions", body)).await;
    assert_eq!(status, 200);
    let sent = upstream.recorded().last().unwrap().body.clone();
    let sent_text = String::from_utf8(sent.to_vec()).unwrap();
    assert_no_secret(&sent);
    let hex_start: String = password
        .bytes()
        .take(2)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!sent_text.contains(&hex_start), "{sent_text}");
    assert!(!sent_text.contains(&spelled[..18]), "{sent_text}");
    let sent: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(
        sent["messages"][0]["content"], "SECRET_REF(db_password)\n",
        "the dump is replaced whole"
    );
    assert_eq!(
        sent["messages"][1]["content"],
        "the value is SECRET_REF(db_password)"
    );
}
