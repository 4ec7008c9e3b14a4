//! How long building the engine takes, and how much memory its automata hold, for a
//! registry of N secrets. Usage: `cargo run --release -p airlock-bench --bin registry-build -- N`
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let secrets = airlock_bench::registry_secrets(n, 1);
    let started = std::time::Instant::now();
    let engine = airlock_bench::engine(&secrets, false).unwrap();
    println!(
        "{n} secrets: built in {:.2}s, automata {:.1} MB",
        started.elapsed().as_secs_f64(),
        engine.memory_usage() as f64 / 1e6
    );
}
