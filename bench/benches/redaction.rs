//! Redaction throughput: each layer alone and all together, on the OpenClaw fixtures and on
//! synthetic inputs, with registries of 10, 1,000 and 10,000 secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use airlock_bench::{engine, openclaw_bodies, registry_secrets, Rng};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
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

criterion_group!(benches, layers);
criterion_main!(benches);
