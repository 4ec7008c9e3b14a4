//! Generated passwords in the places an agent meets them: how many survive redaction.
//!
//! Usage: `cargo run --release -p airlock-bench --bin password-slots -- [SEEDS] [PER_SEED]`
//! (`SEEDS` a range such as `101..111`, default `101..111`; `PER_SEED` passwords per seed and
//! slot, default 300; `REDACT_RULES=FILE` runs it with that rule file in place of the shipped
//! one; `--show` prints each survivor's document; `--max-percent P` exits with 1 when more
//! than P % survive, as CI runs it).
//!
//! Each password is 8-20 characters drawn from letters, digits and 28 symbols, with at least
//! one digit, as a password manager makes them. It is written into each slot with the slot's
//! own escaping (XML entities, percent-encoding in URLs, no quote of the slot's kind inside a
//! quoted value) and the document is redacted alone, with every layer on. A password survives
//! when any 6-byte run of it is still in the output: what a reader could take from it.
//!
//! This measures the generic rules (a name about a secret, then a value), which take a value
//! by its place, not by its shape; a symbol in the wrong spot can make a value look like code,
//! a template or a path to them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use airlock_bench::Rng;

const SYMBOLS: &[u8] = b"!#$%&()*+,-./:;<=>?@[]^_{|}~";

/// How a slot escapes what it holds.
#[derive(Clone, Copy)]
enum Escape {
    /// These characters cannot stand in the slot (its quote, a table's `|`, a connection
    /// string's `;`): each becomes an `x`.
    Without(&'static [char]),
    /// XML entities for `&`, `<`, `>` and `"`.
    Xml,
    /// Percent-encoded outside the unreserved characters (URLs).
    Percent,
}

const NO_SINGLE_QUOTE: Escape = Escape::Without(&['\'']);
const NO_DOUBLE_QUOTE: Escape = Escape::Without(&['"', '\\']);

const SLOTS: &[(&str, &str, Escape)] = &[
    ("json", "{\"password\": \"{v}\"}", NO_DOUBLE_QUOTE),
    ("yaml", "db:\n  password: \"{v}\"\n", NO_DOUBLE_QUOTE),
    ("yaml_plain", "db:\n  password: {v}\n", NO_SINGLE_QUOTE),
    ("env_sq", "DB_PASSWORD='{v}'\n", NO_SINGLE_QUOTE),
    ("env_plain", "DB_PASSWORD={v}\n", NO_SINGLE_QUOTE),
    ("ini", "[db]\npassword = {v}\n", NO_SINGLE_QUOTE),
    ("py", "client_secret = \"{v}\"\n", NO_DOUBLE_QUOTE),
    ("prose", "The database password is {v}\n", NO_SINGLE_QUOTE),
    ("cli", "mysql -u root -p'{v}' app\n", NO_SINGLE_QUOTE),
    ("url", "postgres://app:{v}@db:5432/app\n", Escape::Percent),
    (
        "xml_el",
        "<config>\n  <password>{v}</password>\n</config>\n",
        Escape::Xml,
    ),
    (
        "xml_attr",
        "<add key=\"DbPassword\" value=\"{v}\" />\n",
        Escape::Xml,
    ),
    ("toml", "[database]\npassword = \"{v}\"\n", NO_DOUBLE_QUOTE),
    (
        "php_array",
        "$config = [\n  'password' => '{v}',\n];\n",
        NO_SINGLE_QUOTE,
    ),
    (
        "properties",
        "spring.datasource.password={v}\n",
        NO_SINGLE_QUOTE,
    ),
    (
        "compose",
        "    environment:\n      - POSTGRES_PASSWORD={v}\n",
        NO_SINGLE_QUOTE,
    ),
    (
        "k8s",
        "        - name: DB_PASSWORD\n          value: \"{v}\"\n",
        NO_DOUBLE_QUOTE,
    ),
    (
        "md_table",
        "| user | password |\n|---|---|\n| admin | {v} |\n",
        Escape::Without(&['\'', '|']),
    ),
    (
        "connection",
        "Server=db;Database=app;User Id=sa;Password={v};\n",
        Escape::Without(&['\'', ';']),
    ),
    (
        "jdbc",
        "jdbc:mysql://db:3306/app?user=app&password={v}&useSSL=true\n",
        Escape::Percent,
    ),
    (
        "curl",
        "curl -u admin:{v} https://api.example.com\n",
        NO_SINGLE_QUOTE,
    ),
    (
        "netrc",
        "machine api.example.com login bob password {v}\n",
        NO_SINGLE_QUOTE,
    ),
    (
        "nested_json",
        "{\"credentials\": {\"username\": \"bob\", \"secret\": \"{v}\"}}",
        NO_DOUBLE_QUOTE,
    ),
];

fn password(rng: &mut Rng, alphabet: &[u8]) -> String {
    let len = 8 + (rng.next_u64() % 13) as usize;
    let mut value = rng.string(alphabet, len);
    if !value.bytes().any(|b| b.is_ascii_digit()) {
        value.pop();
        value.push(char::from(b'0' + (rng.next_u64() % 10) as u8));
    }
    value
}

fn escaped(value: &str, escape: Escape) -> String {
    match escape {
        Escape::Without(bad) => value
            .chars()
            .map(|c| if bad.contains(&c) { 'x' } else { c })
            .collect(),
        Escape::Xml => value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
        Escape::Percent => airlock_bench::seeded::percent_encoded(value, true),
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let show = args.iter().any(|a| a == "--show");
    args.retain(|a| a != "--show");
    let max_percent: Option<f64> = args.iter().position(|a| a == "--max-percent").map(|at| {
        let value = args
            .get(at + 1)
            .expect("--max-percent takes a number")
            .parse();
        args.drain(at..at + 2);
        value.expect("--max-percent takes a number")
    });
    let mut numbers = args.iter();
    let seeds = numbers
        .next()
        .and_then(|r| r.split_once(".."))
        .map(|(a, b)| a.parse::<u64>().unwrap()..b.parse::<u64>().unwrap())
        .unwrap_or(101..111);
    let per_seed: usize = numbers.next().map(|n| n.parse().unwrap()).unwrap_or(300);

    let engine = airlock_bench::engine(&[], true).expect("engine");

    let alphabet: Vec<u8> = airlock_bench::ALNUM
        .iter()
        .chain(SYMBOLS)
        .copied()
        .collect();
    let mut survived = vec![0usize; SLOTS.len()];
    let mut placed = 0usize;
    for seed in seeds.clone() {
        let mut rng = Rng::new(seed);
        for _ in 0..per_seed {
            let value = password(&mut rng, &alphabet);
            for (i, (_, template, escape)) in SLOTS.iter().enumerate() {
                let value = escaped(&value, *escape);
                let document = template.replace("{v}", &value);
                let out = engine.redact(document.as_bytes());
                if airlock_bench::leaves_a_run(out.as_bytes(), value.as_bytes(), 6) {
                    survived[i] += 1;
                    if show {
                        // A closed pipe (`| head`) ends the listing, not the run.
                        let mut stdout = std::io::stdout().lock();
                        let _ = writeln!(stdout, "{}", document.trim_end().replace('\n', " / "));
                    }
                }
            }
            placed += 1;
        }
    }
    println!(
        "seeds {}..{}, {placed} passwords in each of {} slots",
        seeds.start,
        seeds.end,
        SLOTS.len()
    );
    for ((name, _, _), count) in SLOTS.iter().zip(&survived) {
        println!("  {name:<12} {count:>5} survive");
    }
    let total: usize = survived.iter().sum();
    let percent = 100.0 * total as f64 / (placed * SLOTS.len()) as f64;
    println!(
        "survived: {total} of {} ({percent:.2} %)",
        placed * SLOTS.len()
    );
    if let Some(max) = max_percent {
        if percent > max {
            eprintln!("password-slots: {percent:.2} % survived, more than {max} %");
            std::process::exit(1);
        }
    }
}
