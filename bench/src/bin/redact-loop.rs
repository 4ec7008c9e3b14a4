//! Redacts one file in a loop with every layer on: a steady workload for a profiler.
//! Usage: `cargo run --release -p airlock-bench --bin redact-loop -- FILE SECONDS`
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let mut args = std::env::args().skip(1);
    let input = std::fs::read(args.next().expect("FILE")).expect("readable");
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let engine = airlock_bench::engine(&airlock_bench::registry_secrets(10, 1), true).unwrap();
    let started = std::time::Instant::now();
    let mut runs = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        std::hint::black_box(engine.redact(&input));
        runs += 1;
    }
    let rate = (input.len() as f64 * runs as f64) / started.elapsed().as_secs_f64() / 1e6;
    println!("{runs} runs, {rate:.0} MB/s");
}
