//! The seeded-corpus bench: recall per layer, encoding and rule, false positives on decoys,
//! and throughput, on OpenClaw requests with planted secrets; and parts of vault values sent
//! without the rest.
//!
//! Usage: `cargo run --release -p airlock-bench --bin seeded-bench -- [--docs N] [--seed S]
//! [--vault N] [--check]`. With `--check` it exits 1 when any registry secret survives, in
//! any encoding, whole or in the proxy's remembered chunks (CI runs it so).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use airlock_bench::seeded::{self, Document, Encoding};
use airlock_redact::RuleSet;

fn flag(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How `text`, planted in a message, appears in the document's bytes.
fn as_in_document(text: &str, doc: &Document) -> String {
    let escaped = serde_json::to_string(text).unwrap();
    let mut inner = escaped[1..escaped.len() - 1].to_owned();
    if doc.ascii_only {
        inner = seeded::escape_non_ascii(&inner);
    }
    if doc.escaped_slashes {
        inner = inner.replace('/', "\\/");
    }
    inner
}

/// Whether the planted registry secret is replaced under its name and no 12 bytes of it are
/// left.
fn secret_caught(secret: &seeded::PlantedSecret, doc: &Document, output: &[u8]) -> bool {
    let core = as_in_document(&secret.core, doc);
    contains(output, format!("SECRET_REF({})", secret.name).as_bytes())
        && !survives(output, core.as_bytes())
}

/// Whether `text` (a rule example or a decoy) no longer stands in the output as planted.
fn replaced(text: &str, doc: &Document, output: &[u8]) -> bool {
    !contains(output, as_in_document(text, doc).as_bytes())
}

/// `text` as a JSON string's content writes it.
fn as_in_json(text: &str) -> String {
    let escaped = serde_json::to_string(text).unwrap();
    escaped[1..escaped.len() - 1].to_owned()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

fn survives(output: &[u8], core: &[u8]) -> bool {
    airlock_bench::leaves_a_run(output, core, 12)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let docs = flag(&args, "--docs", 200) as usize;
    let seed = flag(&args, "--seed", 1);
    let extra_vault = flag(&args, "--vault", 1000) as usize;
    let check = args.iter().any(|a| a == "--check");

    let fixtures = airlock_bench::openclaw_bodies().expect("../shared/fixtures/openclaw");
    let fixtures: Vec<_> = fixtures
        .into_iter()
        .filter(|(n, _)| !n.contains("all-tools"))
        .collect();
    let rules = RuleSet::from_toml("rules", include_str!("../../../rules/redaction.toml")).unwrap();
    let examples: Vec<(String, String)> = rules
        .rules()
        .iter()
        .flat_map(|r| r.examples().iter().map(|e| (r.id().to_owned(), e.clone())))
        .collect();
    let corpus = seeded::generate(&fixtures, &examples, docs, 4, 3, seed);

    // The vault: every planted secret plus unplanted ones, as a real vault holds many.
    let mut vault: Vec<(String, String)> = corpus
        .iter()
        .flat_map(|d| d.secrets.iter().map(|s| (s.name.clone(), s.value.clone())))
        .collect();
    vault.extend(airlock_bench::registry_secrets(
        extra_vault,
        seed ^ 0xdead_beef,
    ));
    let engine = airlock_bench::engine(&vault, true).expect("engine");

    let mut by_encoding: BTreeMap<Encoding, (usize, usize)> = BTreeMap::new();
    let mut by_rule: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let (mut decoys, mut decoys_hit) = (0usize, 0usize);
    let mut missed_registry = Vec::new();
    let mut bytes = 0usize;
    let mut elapsed = std::time::Duration::ZERO;
    for doc in &corpus {
        let started = std::time::Instant::now();
        let out = engine.redact(&doc.body);
        elapsed += started.elapsed();
        bytes += doc.body.len();
        let output = out.as_bytes();
        for secret in &doc.secrets {
            let caught = secret_caught(secret, doc, output);
            let entry = by_encoding.entry(secret.encoding).or_default();
            entry.1 += 1;
            if caught {
                entry.0 += 1;
            } else {
                missed_registry.push(format!("{} ({:?})", secret.name, secret.encoding));
                if std::env::var_os("SEEDED_DEBUG").is_some() {
                    let core = as_in_document(&secret.core, doc);
                    eprintln!(
                        "value {:?} core-in-doc {:?} ascii {} slash {}",
                        secret.value, core, doc.ascii_only, doc.escaped_slashes
                    );
                }
            }
        }
        let text = String::from_utf8_lossy(output);
        for example in &doc.examples {
            let entry = by_rule.entry(example.rule.clone()).or_default();
            entry.2 += 1;
            if replaced(&example.text, doc, output) {
                entry.0 += 1;
                if text.contains(&format!("SECRET_REF({}.", example.rule)) {
                    entry.1 += 1;
                }
            }
        }
        for decoy in &doc.decoys {
            decoys += 1;
            if replaced(decoy, doc, output) {
                decoys_hit += 1;
                if std::env::var_os("SEEDED_DEBUG").is_some() {
                    let planted = as_in_document(decoy, doc);
                    let at = String::from_utf8_lossy(&doc.body)
                        .find(&planted)
                        .unwrap_or(0);
                    let by: Vec<&str> = out
                        .findings()
                        .iter()
                        .filter(|f| f.span.start < at + planted.len() && f.span.end > at)
                        .map(|f| f.source.as_str())
                        .collect();
                    eprintln!("decoy redacted: {decoy:?} by {by:?}");
                }
            }
        }
    }
    let planted: usize = by_encoding.values().map(|v| v.1).sum();
    let caught: usize = by_encoding.values().map(|v| v.0).sum();
    println!(
        "{} documents, {:.1} MB, vault of {} secrets; redaction {:.0} MB/s",
        corpus.len(),
        bytes as f64 / 1e6,
        vault.len(),
        bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    println!("registry: {caught}/{planted} planted secrets caught");
    for (encoding, (ok, all)) in &by_encoding {
        println!("  {encoding:?}: {ok}/{all}");
    }
    let examples_all: usize = by_rule.values().map(|v| v.2).sum();
    let examples_caught: usize = by_rule.values().map(|v| v.0).sum();
    let examples_own: usize = by_rule.values().map(|v| v.1).sum();
    println!(
        "rule examples: {examples_caught}/{examples_all} redacted ({:.1}%), {examples_own} under their own rule",
        100.0 * examples_caught as f64 / examples_all.max(1) as f64
    );
    for (rule, (ok, own, all)) in &by_rule {
        if ok < all {
            println!("  missed: {rule} {ok}/{all}");
        }
        if own < ok {
            println!("  under another rule's name: {rule} {}/{ok}", ok - own);
        }
    }
    println!("decoys: {decoys_hit}/{decoys} wrongly redacted");

    // The proxy redacts a body in chunks and remembers each (`Redactor::redact_request`):
    // every document again that way, twice (scanned, then from the memo). A rule's window
    // does not reach from one top-level element into the next there, so the outputs may
    // differ from the whole body's; what was planted must be caught all the same.
    let mut chunked_missed = Vec::new();
    let (mut differ, mut chunked_examples, mut chunked_decoys) = (0usize, 0usize, 0usize);
    for (index, doc) in corpus.iter().enumerate() {
        let whole = engine.redact(&doc.body);
        for round in ["scanned", "remembered"] {
            let chunked = engine.redact_request(&doc.body);
            let output = chunked.as_bytes();
            differ += usize::from(output != whole.as_bytes());
            for secret in doc
                .secrets
                .iter()
                .filter(|s| !secret_caught(s, doc, output))
            {
                chunked_missed.push(format!("{} in document {index} ({round})", secret.name));
            }
            chunked_examples += doc
                .examples
                .iter()
                .filter(|e| replaced(&e.text, doc, output))
                .count();
            chunked_decoys += doc
                .decoys
                .iter()
                .filter(|d| replaced(d, doc, output))
                .count();
        }
    }
    println!(
        "in chunks, twice: registry {}/{planted} missed, rule examples {}/{}, decoys {}/{} wrongly redacted; {} of {} outputs differ from the whole body's",
        chunked_missed.len(),
        chunked_examples,
        2 * examples_all,
        chunked_decoys,
        2 * decoys,
        differ,
        2 * corpus.len()
    );
    // Parts of vault values sent alone (the first, middle or last 60 % of a value, as an agent
    // shows "the start of the key" or splits it across messages): no 12 bytes of the value
    // may be left. Token-shaped values (the unplanted ones) and the planted ones (ASCII only:
    // symbols, quotes, spaces) are counted apart. Stretches under 12 bytes are not planted.
    let unplanted = vault.len() - extra_vault;
    let groups = [
        ("token-shaped", &vault[unplanted..]),
        ("planted, ASCII", &vault[..unplanted]),
    ];
    for (group, values) in groups {
        let (mut parts, mut parts_left) = (0usize, Vec::new());
        for (name, value) in values.iter().filter(|(_, v)| v.is_ascii()).take(400) {
            let n = value.len();
            let len = (n * 3).div_ceil(5);
            for start in [0, n / 5, n - len] {
                let part = &value[start..start + len];
                if part.len() < 12 {
                    continue;
                }
                parts += 1;
                let body = serde_json::json!({ "messages": [
                    { "role": "user", "content": format!("the key I was given: {part} (that is all of it I have)") },
                ]})
                .to_string();
                let out = engine.redact(body.as_bytes());
                if survives(out.as_bytes(), as_in_json(value).as_bytes()) {
                    parts_left.push(format!("{name} {start}..{} of {value:?}", start + len));
                }
            }
        }
        println!(
            "parts of vault values, {group}: {}/{parts} leave no 12 bytes of their value",
            parts - parts_left.len()
        );
        if std::env::var_os("SEEDED_DEBUG").is_some() {
            for left in &parts_left {
                eprintln!("part left: {left}");
            }
        }
    }
    if check && !missed_registry.is_empty() {
        eprintln!(
            "seeded-bench: registry secrets survived: {}",
            missed_registry.join(", ")
        );
        std::process::exit(1);
    }
    if check && !chunked_missed.is_empty() {
        eprintln!(
            "seeded-bench: registry secrets survived redaction in chunks: {}",
            chunked_missed.join(", ")
        );
        std::process::exit(1);
    }
}
