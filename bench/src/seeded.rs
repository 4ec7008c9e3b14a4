//! The seeded corpus: realistic OpenClaw request bodies with secrets planted in them.
//!
//! Every document is a captured OpenClaw request body with text appended to one of its
//! messages: registry secrets in one of the encodings an agent may send them in, rule-format
//! secrets (each shipped rule's positive examples), and benign high-entropy decoys (UUIDs,
//! digests, provider ids, base64 media) that must come through untouched. Whole documents are
//! sometimes serialised the way Python does (`\uXXXX` for non-ASCII) or PHP does (`\/`).
//! The generator is deterministic for a seed.

use base64::Engine as _;

use crate::Rng;

/// How a registry secret was written into a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Encoding {
    /// As it is, in a message.
    Raw,
    /// Inside a JSON document inside a string (tool-call arguments).
    ToolArguments,
    /// Percent-encoded in a URL, upper-case hex.
    PercentUpper,
    /// Percent-encoded in a URL, lower-case hex.
    PercentLower,
    /// Hex, lower case.
    HexLower,
    /// Hex, upper case.
    HexUpper,
    /// Inside a longer standard base64 blob, at some alignment.
    Base64,
    /// Inside a longer URL-safe base64 blob, at some alignment.
    Base64Url,
}

impl Encoding {
    /// Every encoding, in order.
    pub const ALL: [Encoding; 8] = [
        Encoding::Raw,
        Encoding::ToolArguments,
        Encoding::PercentUpper,
        Encoding::PercentLower,
        Encoding::HexLower,
        Encoding::HexUpper,
        Encoding::Base64,
        Encoding::Base64Url,
    ];
}

/// A registry secret planted in a document: its name, value, and the encoded core that must
/// not survive redaction.
#[derive(Debug, Clone)]
pub struct PlantedSecret {
    /// The vault name.
    pub name: String,
    /// The value.
    pub value: String,
    /// How it was written.
    pub encoding: Encoding,
    /// The bytes that encode the value alone (for base64: the characters that depend on the
    /// value only), before the document's own JSON escaping.
    pub core: String,
}

/// A rule's example planted in a document.
#[derive(Debug, Clone)]
pub struct PlantedExample {
    /// The rule that must catch it.
    pub rule: String,
    /// The example text.
    pub text: String,
}

/// One document and what was planted in it.
#[derive(Debug, Clone)]
pub struct Document {
    /// The request body, as sent.
    pub body: Vec<u8>,
    /// Registry secrets planted.
    pub secrets: Vec<PlantedSecret>,
    /// Rule examples planted.
    pub examples: Vec<PlantedExample>,
    /// Decoys planted (text that must survive verbatim).
    pub decoys: Vec<String>,
    /// Whether the body was serialised with `\uXXXX` escapes for non-ASCII.
    pub ascii_only: bool,
    /// Whether `/` was written `\/`.
    pub escaped_slashes: bool,
}

const VALUE_ALPHABETS: [&[u8]; 3] = [
    crate::ALNUM,
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~ \"\\",
    b"abcdefghijklmnopqrstuvwxyz0123456789-_",
];

/// A registry secret's value: 12-40 characters, sometimes with quotes, backslashes, spaces
/// or non-ASCII.
fn secret_value(rng: &mut Rng) -> String {
    let alphabet = VALUE_ALPHABETS[(rng.next_u64() % 3) as usize];
    let len = 12 + (rng.next_u64() % 29) as usize;
    let mut value = rng.string(alphabet, len);
    if rng.next_u64() % 4 == 0 {
        let extra = ["é", "ß", "日本", "🔑", "ü"][(rng.next_u64() % 5) as usize];
        value.insert_str(len / 2, extra);
    }
    value
}

/// `text` with every non-ASCII character written `\uXXXX` (UTF-16 units), as Python's
/// `json.dumps` writes it by default.
pub fn escape_non_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// `value` percent-encoded outside RFC 3986's unreserved characters, in either hex case.
pub fn percent_encoded(value: &str, upper: bool) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn hex(value: &str, upper: bool) -> String {
    value
        .bytes()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// The text to plant and the core that must not survive.
fn encode(rng: &mut Rng, value: &str, encoding: Encoding) -> (String, String) {
    match encoding {
        Encoding::Raw => (format!("the password is {value} ok"), value.to_owned()),
        Encoding::ToolArguments => {
            let args =
                serde_json::json!({ "command": format!("login --secret {value}") }).to_string();
            let escaped = serde_json::to_string(value).unwrap_or_default();
            (args, escaped[1..escaped.len() - 1].to_owned())
        }
        Encoding::PercentUpper | Encoding::PercentLower => {
            let encoded = percent_encoded(value, encoding == Encoding::PercentUpper);
            (
                format!("callback https://hooks.example.test/cb?key={encoded}&x=1"),
                encoded,
            )
        }
        Encoding::HexLower | Encoding::HexUpper => {
            let encoded = hex(value, encoding == Encoding::HexUpper);
            (format!("dump: {encoded}"), encoded)
        }
        Encoding::Base64 | Encoding::Base64Url => {
            let engine = if encoding == Encoding::Base64 {
                &base64::engine::general_purpose::STANDARD
            } else {
                &base64::engine::general_purpose::URL_SAFE
            };
            let (before_len, after_len) = (
                (rng.next_u64() % 40) as usize,
                (rng.next_u64() % 40) as usize,
            );
            let before = rng.string(crate::ALNUM, before_len);
            let after = rng.string(crate::ALNUM, after_len);
            let blob = format!("{before}{value}{after}");
            let encoded = engine.encode(blob.as_bytes());
            let first = (8 * before.len()).div_ceil(6);
            let last = (8 * (before.len() + value.len())) / 6;
            let core = encoded.get(first..last).unwrap_or_default().to_owned();
            (format!("attachment: {encoded}"), core)
        }
    }
}

/// Benign look-alikes that must come through untouched.
fn decoy(rng: &mut Rng) -> String {
    let hexd = |rng: &mut Rng, n| rng.string(b"0123456789abcdef", n);
    match rng.next_u64() % 6 {
        0 => format!(
            "{}-{}-4{}-a{}-{}",
            hexd(rng, 8),
            hexd(rng, 4),
            hexd(rng, 3),
            hexd(rng, 3),
            hexd(rng, 12)
        ),
        1 => format!("sha256:{}", hexd(rng, 64)),
        2 => format!("toolu_01{}", rng.string(crate::ALNUM, 22)),
        3 => format!("commit {}", hexd(rng, 40)),
        4 => format!("call_{}", rng.string(crate::ALNUM, 24)),
        _ => format!(
            "https://github.com/acme/app/blob/{}/src/main.rs",
            hexd(rng, 40)
        ),
    }
}

/// The string values of a request body that carry prompt text, as JSON pointers.
fn text_fields(body: &serde_json::Value, path: String, out: &mut Vec<String>) {
    match body {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                if key == "tools" {
                    continue;
                }
                let child = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                if value.is_string() && matches!(key.as_str(), "text" | "content") {
                    out.push(child);
                } else {
                    text_fields(value, child, out);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                text_fields(item, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Generates `count` documents from the fixture bodies, planting `secrets_per_doc` registry
/// secrets (named `seeded_<n>`, numbered across the corpus) and `examples_per_doc` rule
/// examples drawn from `examples`.
pub fn generate(
    fixtures: &[(String, Vec<u8>)],
    examples: &[(String, String)],
    count: usize,
    secrets_per_doc: usize,
    examples_per_doc: usize,
    seed: u64,
) -> Vec<Document> {
    let mut rng = Rng::new(seed);
    let mut documents = Vec::with_capacity(count);
    let mut next_secret = 0usize;
    let mut next_example = 0usize;
    for d in 0..count {
        let (_, raw) = &fixtures[d % fixtures.len()];
        let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(raw) else {
            continue;
        };
        let mut fields = Vec::new();
        text_fields(&body, String::new(), &mut fields);
        if fields.is_empty() {
            continue;
        }
        let mut planted = Vec::new();
        let mut secrets = Vec::new();
        for _ in 0..secrets_per_doc {
            let value = secret_value(&mut rng);
            let encoding = Encoding::ALL[next_secret % Encoding::ALL.len()];
            let (text, core) = encode(&mut rng, &value, encoding);
            planted.push(text);
            secrets.push(PlantedSecret {
                name: format!("seeded_{next_secret}"),
                value,
                encoding,
                core,
            });
            next_secret += 1;
        }
        let mut planted_examples = Vec::new();
        for _ in 0..examples_per_doc.min(examples.len()) {
            let (rule, text) = &examples[next_example % examples.len()];
            next_example += 1;
            planted.push(text.clone());
            planted_examples.push(PlantedExample {
                rule: rule.clone(),
                text: text.clone(),
            });
        }
        let decoys: Vec<String> = (0..3).map(|_| decoy(&mut rng)).collect();
        planted.extend(decoys.iter().cloned());
        for text in planted {
            let field = &fields[(rng.next_u64() % fields.len() as u64) as usize];
            if let Some(serde_json::Value::String(s)) = body.pointer_mut(field) {
                s.push_str("\n\n");
                s.push_str(&text);
                s.push('\n');
            }
        }
        let ascii_only = rng.next_u64() % 4 == 0;
        let escaped_slashes = rng.next_u64() % 4 == 0;
        let mut text = serde_json::to_string(&body).unwrap_or_default();
        if ascii_only {
            text = escape_non_ascii(&text);
        }
        if escaped_slashes {
            text = text.replace('/', "\\/");
        }
        documents.push(Document {
            body: text.into_bytes(),
            secrets,
            examples: planted_examples,
            decoys,
            ascii_only,
            escaped_slashes,
        });
    }
    documents
}
