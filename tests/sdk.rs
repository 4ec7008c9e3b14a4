//! The official OpenAI and Anthropic SDKs, for Python and for Node, pointed at airlock as their
//! base URL, streaming and not, with tool calls: every response parses as it would from the
//! provider, and the secret in the prompt never reaches the upstream.
//!
//! The Python SDKs come from PyPI (versions pinned in `tests/sdk/requirements.txt`) into a
//! virtual environment, the Node ones from npm (pinned in `tests/sdk/package.json`), both under
//! Cargo's target directory and installed on first run.
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

/// A directory with the pinned Node SDKs installed and the client script beside them (Node
/// resolves `import "openai"` from the script's own directory).
fn node_with_sdks() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sdk-node");
    let sources = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    let manifest = std::fs::read_to_string(sources.join("package.json")).unwrap();
    let stamp = dir.join("package.installed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(sources.join("clients.mjs"), dir.join("clients.mjs")).unwrap();
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(manifest.as_str()) {
        return dir;
    }
    std::fs::write(dir.join("package.json"), &manifest).unwrap();
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .output()
        .expect("npm is needed for the Node SDK tests");
    assert!(
        out.status.success(),
        "npm install of the SDKs failed (the npm registry must be reachable): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&stamp, manifest).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn official_python_sdks_parse_every_response_through_airlock() {
    let python = python_with_sdks();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/clients.py");
    sdks_parse_every_response(move |base, secret| {
        let mut command = Command::new(python);
        command.arg(script).arg(base).arg(secret);
        command
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn official_node_sdks_parse_every_response_through_airlock() {
    let dir = node_with_sdks();
    sdks_parse_every_response(move |base, secret| {
        let mut command = Command::new("node");
        command.arg(dir.join("clients.mjs")).arg(base).arg(secret);
        command
    })
    .await;
}

/// Runs one SDK client script (`client(base_url, secret)`) against airlock in front of an
/// upstream that answers as the providers do, and checks what it parsed and what was sent.
async fn sdks_parse_every_response(client: impl FnOnce(&str, &str) -> Command + Send + 'static) {
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
    let base = format!("http://{}", airlock.addr);
    let out = tokio::task::spawn_blocking(move || client(&base, secret).output().unwrap())
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
