//! Redacts one file in a loop with every layer on: a steady workload for a profiler.
//! Usage: `cargo run --release -p airlock-bench --bin redact-loop -- FILE SECONDS`
//! (`REDACT_RULES=FILE` runs it with that rule file in place of the shipped one;
//! `COLD_MB=N` writes N MB of other memory between runs and times only the redactions: a
//! request that arrives after the cache has moved on, as one every few seconds does;
//! `SECRETS=N` puts N registry secrets in the engine in place of 10, `SHORT=N` adds N of
//! 10 characters, as short passwords are; `REQUEST=1` redacts as the proxy does, in
//! remembered chunks, so every run after the first reads the memo; `REQUEST=new` does so
//! with a letter in every 256 bytes changed before each run, so no chunk is remembered).
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let mut args = std::env::args().skip(1);
    let input = std::fs::read(args.next().expect("FILE")).expect("readable");
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let count: usize = std::env::var("SECRETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut secrets = airlock_bench::registry_secrets(count, 1);
    let short: usize = std::env::var("SHORT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut rng = airlock_bench::Rng::new(2);
    secrets
        .extend((0..short).map(|i| (format!("short_{i}"), rng.string(airlock_bench::ALNUM, 10))));
    let engine = airlock_bench::engine(&secrets, true).unwrap();
    let cold_mb: usize = std::env::var("COLD_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut other = vec![0u8; cold_mb << 20];
    let as_request = std::env::var("REQUEST").is_ok_and(|v| !v.is_empty());
    let always_new = std::env::var("REQUEST").is_ok_and(|v| v == "new");
    let mut input = input;
    let started = std::time::Instant::now();
    let mut busy = std::time::Duration::ZERO;
    let mut runs = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        for line in other.chunks_mut(64) {
            line[0] = line[0].wrapping_add(1);
        }
        std::hint::black_box(&other);
        if always_new {
            // A different offset each run, so that bodies do not come back.
            let offset = (runs as usize * 97) % 256;
            for b in input.iter_mut().skip(offset).step_by(256) {
                if b.is_ascii_lowercase() {
                    *b = if *b == b'z' { b'a' } else { *b + 1 };
                }
            }
        }
        let run = std::time::Instant::now();
        if as_request {
            std::hint::black_box(engine.redact_request(&input));
        } else {
            std::hint::black_box(engine.redact(&input));
        }
        busy += run.elapsed();
        runs += 1;
    }
    let rate = (input.len() as f64 * runs as f64) / busy.as_secs_f64() / 1e6;
    let each = busy.as_secs_f64() * 1e6 / runs as f64;
    println!("{runs} runs, {rate:.0} MB/s, {each:.1} µs each");
}
