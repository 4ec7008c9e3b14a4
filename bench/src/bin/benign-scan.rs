//! Scans a benign corpus (directories of files with no real secrets: source trees, lockfiles,
//! logs) with every layer on and reports what was flagged, by rule: the false-positive check
//! used to tune the regex and entropy layers.
//!
//! Usage: `cargo run --release -p airlock-bench --bin benign-scan -- DIR... [--show N]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, out);
        } else if meta.is_file() && meta.len() < 4 << 20 {
            out.push(path);
        }
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let show = match args.iter().position(|a| a == "--show") {
        Some(i) => {
            let n = args[i + 1].parse().unwrap_or(5);
            args.drain(i..=i + 1);
            n
        }
        None => 5,
    };
    let mut files = Vec::new();
    for dir in &args {
        walk(Path::new(dir), &mut files);
    }
    let engine = airlock_bench::engine(&[], true).expect("engine");
    let mut by_rule: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let (mut bytes, mut scanned) = (0usize, 0usize);
    let started = std::time::Instant::now();
    for path in &files {
        let Ok(text) = std::fs::read(path) else {
            continue;
        };
        if text.contains(&0) {
            continue; // binary
        }
        bytes += text.len();
        scanned += 1;
        let out = engine.redact(&text);
        for f in out.findings() {
            let entry = by_rule.entry(f.source.clone()).or_default();
            entry.0 += 1;
            if entry.1.len() < show {
                let token = String::from_utf8_lossy(&text[f.span.clone()]);
                let token: String = token.chars().take(80).collect();
                entry.1.push(format!("{}: {token}", path.display()));
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{scanned} files, {:.1} MB in {seconds:.2}s ({:.0} MB/s), {} findings",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / seconds,
        by_rule.values().map(|v| v.0).sum::<usize>()
    );
    for (rule, (count, samples)) in &by_rule {
        println!("{count:6} {rule}");
        for sample in samples {
            println!("         {sample}");
        }
    }
}
