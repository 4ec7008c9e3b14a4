//! Redaction throughput: each layer alone and all together, on the OpenClaw fixtures and on
//! synthetic inputs, with registries of 10, 1,000 and 10,000 secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use airlock_bench::{engine, openclaw_bodies, registry_secrets, Rng};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

fn corpora() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let fixtures = openclaw_bodies().expect("../shared/fixtures/openclaw");
    let all: Vec<u8> = fixtures
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    out.push(("openclaw-fixtures".to_owned(), all));
    // 1 MB of code-heavy prompt: the fixtures' text repeated, as a long agent session would.
    let mut code = Vec::with_capacity(1 << 20);
    while code.len() < 1 << 20 {
        code.extend_from_slice(&fixtures[0].1);
    }
    code.truncate(1 << 20);
    out.push(("code-1MB".to_owned(), code));
    // 1 MB of base64 media, as in an image content block.
    let mut rng = Rng::new(7);
    let media = format!(
        "{{\"type\":\"image\",\"source\":{{\"type\":\"base64\",\"data\":\"{}\"}}}}",
        rng.string(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            1 << 20
        )
    );
    out.push(("base64-media-1MB".to_owned(), media.into_bytes()));
    out
}

fn layers(c: &mut Criterion) {
    let corpora = corpora();
    let mut group = c.benchmark_group("redact");
    for registry_size in [10usize, 1_000, 10_000] {
        let secrets = registry_secrets(registry_size, 1);
        let registry_only = engine(&secrets, false).unwrap();
        let all_layers = engine(&secrets, true).unwrap();
        for (name, input) in &corpora {
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("registry/{registry_size}"), name),
                input,
                |b, input| {
                    b.iter(|| {
                        black_box(registry_only.redact(black_box(input)))
                            .findings()
                            .len()
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new(format!("all-layers/{registry_size}"), name),
                input,
                |b, input| {
                    b.iter(|| {
                        black_box(all_layers.redact(black_box(input)))
                            .findings()
                            .len()
                    })
                },
            );
        }
    }
    let rules_only = engine(&[], true).unwrap();
    for (name, input) in &corpora {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::new("regex", name), input, |b, input| {
            b.iter(|| {
                black_box(rules_only.redact(black_box(input)))
                    .findings()
                    .len()
            })
        });
    }
    group.finish();
}

/// A body like `body` with one more user message at the end of its conversation: the next
/// turn of the same agent.
fn next_turn(body: &[u8], turn: u64) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(body).unwrap();
    let key = if value.get("input").is_some() {
        "input"
    } else {
        "messages"
    };
    let list = value[key].as_array_mut().unwrap();
    list.push(serde_json::json!({
        "role": "user",
        "content": format!("Turn {turn}: thanks. Now check the deploy log for errors and summarise them."),
    }));
    serde_json::to_vec(&value).unwrap()
}

/// A body like `body` with a mark in every string: nothing of it was seen before.
fn all_new(body: &[u8], mark: u64) -> Vec<u8> {
    fn walk(value: &mut serde_json::Value, mark: u64) {
        match value {
            serde_json::Value::String(s) => s.push_str(&format!(" {mark}")),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, mark)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| walk(v, mark)),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(body).unwrap();
    walk(&mut value, mark);
    serde_json::to_vec(&value).unwrap()
}

/// The proxy's request path (`redact_request`): a body redacted whole, the same body again
/// (every chunk remembered), a body never seen (whole and in chunks), and the next turn of
/// the conversation (one new message).
fn requests(c: &mut Criterion) {
    let secrets = registry_secrets(10, 1);
    let engine = engine(&secrets, true).unwrap();
    let mut group = c.benchmark_group("request");
    for (name, body) in openclaw_bodies().expect("../shared/fixtures/openclaw") {
        // Each fixture as the body the agent sends, so that the next turn is the same shape.
        let body = next_turn(&body, 0);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("whole", &name), &body, |b, body| {
            b.iter(|| black_box(engine.redact(black_box(body))).findings().len())
        });
        group.bench_with_input(BenchmarkId::new("remembered", &name), &body, |b, body| {
            b.iter(|| {
                black_box(engine.redact_request(black_box(body)))
                    .findings()
                    .len()
            })
        });
        // A body seen for the first time, whole and through the memo: what a miss costs.
        let mut mark = 0;
        for (id, chunked) in [("new-whole", false), ("new-chunked", true)] {
            group.bench_with_input(BenchmarkId::new(id, &name), &body, |b, body| {
                b.iter_batched(
                    || {
                        mark += 1;
                        all_new(body, mark)
                    },
                    |new| {
                        let redaction = if chunked {
                            engine.redact_request(black_box(&new))
                        } else {
                            engine.redact(black_box(&new))
                        };
                        black_box(redaction).findings().len()
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        let mut turn = 0;
        group.bench_with_input(BenchmarkId::new("next-turn", &name), &body, |b, body| {
            b.iter_batched(
                || {
                    turn += 1;
                    next_turn(body, turn)
                },
                |next| {
                    black_box(engine.redact_request(black_box(&next)))
                        .findings()
                        .len()
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, layers, requests);
criterion_main!(benches);
