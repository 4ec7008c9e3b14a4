//! Time each regex rule alone on a corpus, slowest first: which rule costs the regex layer
//! its throughput. Usage: `cargo run --release -p airlock-bench --bin rule-cost -- FILE`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use airlock_redact::{PlaceholderKey, Redactor, RuleSet};

fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let input = std::fs::read(&path).expect("readable corpus");
    let text = include_str!("../../../rules/redaction.toml");
    let all = RuleSet::from_toml("rules", text).unwrap();
    let mut costs = Vec::new();
    for rule in all.rules() {
        // One engine per rule: the rule file re-parsed and cut down to this rule's table.
        let start = text.find(&format!("id = \"{}\"", rule.id())).unwrap();
        let table_start = text[..start].rfind("[[rule]]").unwrap();
        let table_end = text[start..]
            .find("[[rule]]")
            .map_or(text.len(), |e| start + e);
        // The shared value filters come along: rules name them.
        let sets_start = text.find("\n[ignore_sets]").map_or(0, |at| at + 1);
        let sets_end = text[sets_start..]
            .find("[[rule]]")
            .map_or(sets_start, |e| sets_start + e);
        let one_rule = format!(
            "{}\n{}",
            &text[sets_start..sets_end],
            &text[table_start..table_end]
        );
        let one = RuleSet::from_toml("one", &one_rule).unwrap();
        let mut builder = Redactor::builder(PlaceholderKey::from_bytes(&[1u8; 32]).unwrap());
        builder.rules(one);
        let engine = builder.build().unwrap();
        let started = std::time::Instant::now();
        let mut runs = 0;
        while started.elapsed().as_millis() < 200 {
            std::hint::black_box(engine.redact(&input));
            runs += 1;
        }
        let per_run = started.elapsed().as_secs_f64() / runs as f64;
        costs.push((per_run, rule.id().to_owned()));
    }
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (seconds, id) in costs.iter().take(20) {
        println!("{:10.1} MB/s  {id}", input.len() as f64 / 1e6 / seconds);
    }
}
