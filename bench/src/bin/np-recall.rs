//! Recall and false-positive rate on Nosey Parker's rule examples (a public corpus, read from
//! `../shared/corpora/noseyparker-rule-examples.jsonl`, never copied here).
//!
//! Usage: `cargo run --release -p airlock-bench --bin np-recall [-- --misses]`
//! Prints the share of `secret` examples with at least one finding, the share of `no-secret`
//! examples with any finding, and with `--misses` every example on the wrong side.
//!
//! Nosey Parker's examples are per rule: a rule's negative example is often another rule's
//! positive (a Slack user token is a negative for the bot-token rule). A detector that says
//! whether a text holds *a* secret cannot get both right, so the negatives are also reported
//! without the texts the corpus lists as a positive elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

fn main() {
    let show = std::env::args().any(|a| a == "--misses");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpora/noseyparker-rule-examples.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let engine = airlock_bench::engine(&[], true).expect("engine");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("jsonl row"))
        .collect();
    let positive_texts: std::collections::HashSet<&str> = rows
        .iter()
        .filter(|r| r["expect"] == "secret")
        .filter_map(|r| r["text"].as_str())
        .collect();
    let (mut positives, mut caught, mut negatives, mut flagged) = (0, 0, 0, 0);
    let (mut plain_negatives, mut plain_flagged) = (0, 0);
    let mut missed_by_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_layer: BTreeMap<&'static str, usize> = BTreeMap::new();
    for row in &rows {
        let sample = row["text"].as_str().unwrap_or_default();
        let rule = row["rule"].as_str().unwrap_or_default();
        let out = engine.redact(sample.as_bytes());
        let hit = !out.findings().is_empty();
        if row["expect"] == "secret" {
            positives += 1;
            if hit {
                caught += 1;
                let layer = out.findings()[0].layer.as_str();
                *by_layer.entry(layer).or_default() += 1;
            } else {
                *missed_by_rule.entry(rule.to_owned()).or_default() += 1;
                if show {
                    println!("MISSED {rule}: {}", sample.replace('\n', "\\n"));
                }
            }
        } else {
            negatives += 1;
            let plain = !positive_texts.contains(sample);
            plain_negatives += usize::from(plain);
            if hit {
                flagged += 1;
                plain_flagged += usize::from(plain);
                if show {
                    let sources: Vec<&str> =
                        out.findings().iter().map(|f| f.source.as_str()).collect();
                    println!(
                        "FLAGGED {rule} by {sources:?}: {}",
                        sample.replace('\n', "\\n")
                    );
                }
            }
        }
    }
    println!(
        "positives caught: {caught}/{positives} ({:.1}%), first layer: {by_layer:?}",
        100.0 * caught as f64 / positives as f64
    );
    println!(
        "negatives flagged: {flagged}/{negatives} ({:.1}%)",
        100.0 * flagged as f64 / negatives as f64
    );
    println!(
        "negatives flagged, leaving out texts that are another rule's positive: {plain_flagged}/{plain_negatives} ({:.1}%)",
        100.0 * plain_flagged as f64 / plain_negatives.max(1) as f64
    );
    println!("rules with misses: {}", missed_by_rule.len());
}
