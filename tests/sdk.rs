//! The official OpenAI and Anthropic Python SDKs, pointed at airlock as their base URL,
//! streaming and not, with tool calls: every response parses as it would from the provider,
//! and the secret in the prompt never reaches the upstream.
//!
//! The SDKs come from PyPI (versions pinned in `tests/sdk/requirements.txt`) into a virtual
//! environment under Cargo's target directory, created on first run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};
use support::{Airlock, Upstream};

/// The virtual environment with the pinned SDKs, created (once) if missing.
fn python_with_sdks() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sdk-venv");
    let python = dir.join("bin/python");
    let requirements = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/requirements.txt");
    let stamp = dir.join("requirements.installed");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return python;
    }
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .expect("python3 is needed for the SDK tests (python3 -m venv)");
    assert!(status.success(), "python3 -m venv failed");
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install of the SDKs failed (PyPI must be reachable): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&stamp, wanted).unwrap();
    python
}

#[tokio::test(flavor = "multi_thread")]
async fn official_sdks_parse_every_response_through_airlock() {
    let python = python_with_sdks();
    let upstream = Upstream::start().await;
    let config = format!(
        "[proxy]\nlisten = \"127.0.0.1:0\"\n\
         [upstreams.anthropic]\nurl = \"{url}\"\nca_file = \"{ca}\"\n\
         [upstreams.openai]\nurl = \"{url}/openai-base\"\nca_file = \"{ca}\"\n",
        url = upstream.url(),
        ca = upstream.ca_file.display()
    );
    let secret = "crm-api-token-7a9f3e1c5b2d4f6a";
    let airlock = Airlock::start(&config, &[("crm_token", secret)]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/clients.py");
    let base = format!("http://{}", airlock.addr);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(base)
            .arg(secret)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "an SDK failed: {}\nairlock: {}",
        String::from_utf8_lossy(&out.stderr),
        airlock.log()
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let paris = json!({"city": "Paris"});
    assert_eq!(
        parsed["anthropic"],
        json!({"text": "Hello", "tool": "get_weather", "input": paris, "output_tokens": 20})
    );
    assert_eq!(
        parsed["anthropic_stream"],
        json!({"deltas": ["Hel", "lo"], "tool": "get_weather", "input": paris, "output_tokens": 20})
    );
    assert_eq!(
        parsed["chat"],
        json!({"text": "Hello", "tool": "get_weather", "arguments": paris, "total_tokens": 50})
    );
    assert_eq!(
        parsed["chat_stream"],
        json!({"text": "Hello", "tool": "get_weather", "arguments": paris, "total_tokens": 50})
    );
    assert_eq!(
        parsed["chat_stream_plain"],
        json!({"text": "Hello", "usage_chunks": 0, "empty_choices": 0})
    );
    assert_eq!(
        parsed["responses"],
        json!({"text": "Hello", "output_tokens": 20})
    );
    assert_eq!(
        parsed["responses_stream"],
        json!({"deltas": ["Hel", "lo"], "text": "Hello", "output_tokens": 20})
    );

    // Seven requests, every one redacted before it left.
    let recorded = upstream.recorded();
    assert_eq!(recorded.len(), 7);
    // The plain stream was asked for its usage upstream.
    let plain: Value = serde_json::from_slice(&recorded[4].body).unwrap();
    assert_eq!(plain["stream_options"]["include_usage"], true);
    for request in &recorded {
        let body = String::from_utf8_lossy(&request.body);
        assert!(
            !body.contains(secret),
            "the secret reached the upstream: {}",
            request.path
        );
        assert!(body.contains("SECRET_REF(crm_token)"), "{body}");
        assert!(request.headers.get("x-airlock-agent").is_none());
    }

    // Every response was metered for the SDK's agent, the plain stream included.
    let home = airlock.home.path().to_owned();
    let rows = tokio::task::spawn_blocking(move || support::usage_rows(&home, Some("sdk-test"), 7))
        .await
        .unwrap();
    let requests = support::metered(&rows, Some("sdk-test"));
    assert_eq!(requests, 7, "metered {requests} of 7: {rows}");
}
