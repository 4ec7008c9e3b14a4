//! The encoded forms of a registry value: what a client or encoder writes when the value
//! passes through it. Pure byte transformations; never logs or keeps a value.

use zeroize::Zeroizing;

/// The forms of one value that the registry matches, raw first. Each is what some client or
/// encoder writes when the value passes through it:
/// - JSON-escaped as serde and JavaScript write it, with `\/` for `/` as some encoders do,
///   with non-ASCII as `\uXXXX` (Python's `ensure_ascii`, either hex case), and all of those
///   escaped twice, each level with its own choice of `\u` (tool-call arguments are a JSON
///   document inside a JSON string);
/// - percent-encoded (either hex case; `+` for space as in forms);
/// - hex (either case);
/// - base64, standard and URL-safe, at each of the three alignments a value can have inside a
///   longer encoded blob (a Basic auth header, a `.env` file encoded whole): only the
///   characters that depend on the value's bytes alone are kept;
/// - base32 (RFC 4648, upper case) at each of the five alignments, the same way;
/// - base85 (Ascii85, also JSON-escaped, and RFC 1924's alphabet) at each of the four
///   alignments, the same way;
/// - the value written backwards, in capitals, in small letters, spaced out, joined by
///   dashes, in groups of four between spaces or dashes, and in ROT13;
/// - its bytes as numbers: hex pairs between spaces, `\x` escapes (also JSON-escaped), and
///   decimal codes between commas.
pub(crate) fn encoded_forms(value: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut forms: Vec<Zeroizing<Vec<u8>>> = vec![Zeroizing::new(value.to_vec())];
    let mut push = |form: Zeroizing<Vec<u8>>| {
        if form.len() >= crate::MIN_SECRET_LEN && !forms.iter().any(|f| **f == *form) {
            forms.push(form);
        }
    };
    let mut json = Vec::new();
    const UNICODE: [Unicode; 3] = [Unicode::AsIs, Unicode::EscapedLower, Unicode::EscapedUpper];
    for inner in UNICODE {
        for slash in [false, true] {
            let once = json_escaped(value, inner, slash);
            // The outer document may escape non-ASCII on its own terms (a Python client
            // serialising arguments a JavaScript tool wrote).
            for outer in UNICODE {
                json.push(json_escaped(&once, outer, slash));
            }
            json.push(once);
        }
    }
    for form in json {
        push(form);
    }
    for upper in [false, true] {
        push(percent_encoded(value, upper, false));
        push(percent_encoded(value, upper, true));
        push(hex(value, upper));
    }
    for alphabet in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for alignment in 0..3 {
            push(base64_core(value, alignment, alphabet));
        }
    }
    // Two ways an agent told to "encode" or "obfuscate" a value sends it: base32 (RFC 4648,
    // at each of the five alignments a value can have inside a longer blob) and the value
    // written backwards.
    for alignment in 0..5 {
        push(base32_core(value, alignment));
    }
    push(Zeroizing::new(value.iter().rev().copied().collect()));
    // Base85, as Python's `base64.a85encode` (Ascii85) and `b85encode` (RFC 1924's alphabet,
    // as git's binary patches use) write it: the 4-byte groups the value fills alone, at each
    // of the four alignments. Ascii85 holds `"` and `\`, so its forms come JSON-escaped too.
    for alphabet in [Base85::Ascii85, Base85::Rfc1924] {
        for alignment in 0..4 {
            let core = base85_core(value, alignment, alphabet);
            if alphabet == Base85::Ascii85 {
                push(json_escaped(&core, Unicode::AsIs, false));
            }
            push(core);
        }
    }
    // And three ways it rewrites one "so that it is not the secret": in capitals, in small
    // letters (either leaves little to guess: two cases a letter), and spaced out a
    // character at a time. A value of letters alone is a word whose other cases are ordinary
    // text (`Production`, `PRODUCTION`): only the spaced form is kept for it.
    if value.iter().any(|b| !b.is_ascii_alphabetic()) {
        push(Zeroizing::new(value.to_ascii_uppercase()));
        push(Zeroizing::new(value.to_ascii_lowercase()));
    }
    push(grouped(value, 1, b' '));
    // What else an agent told to obfuscate a value writes: the characters joined by dashes,
    // ROT13, and the bytes as numbers, as `od -An -tx1` and Python's `bytes.hex(' ')` print
    // them, as printf, C and Python string literals escape them (`\x73`; `\\x73` once in
    // JSON), and as `list(b"...")`, `Array.from(buffer)` or a loop over `ord()` print them.
    push(grouped(value, 1, b'-'));
    // And how a key is read out or shown to be typed: in groups of four characters between
    // spaces or dashes (`Kx9m Q2vL p7Zr ...`), which no other form holds.
    push(grouped(value, 4, b' '));
    push(grouped(value, 4, b'-'));
    push(Zeroizing::new(value.iter().map(|&b| rot13(b)).collect()));
    // (Not every spelling: each form costs registry memory, about 4 bytes per byte of the
    // value for these, so upper-case `\X` escapes and decimal codes between spaces, rarer
    // than the others, are left out.)
    for digits in [Digits::HexLower, Digits::HexUpper] {
        push(byte_codes(value, b"", digits, b" "));
    }
    push(byte_codes(value, b"\\x", Digits::HexLower, b""));
    push(byte_codes(value, b"\\\\x", Digits::HexLower, b""));
    for separator in [&b", "[..], b","] {
        push(byte_codes(value, b"", Digits::Decimal, separator));
    }
    // Encoders that write `/` as `\/` (PHP, some Java) do it to encoded forms too: a base64
    // blob inside such JSON carries `\/` where the alphabet has `/`.
    let with_slash: Vec<Zeroizing<Vec<u8>>> = forms
        .iter()
        .skip(1)
        .filter(|f| f.contains(&b'/'))
        .map(|f| {
            let mut escaped = Zeroizing::new(Vec::with_capacity(f.len() + 4));
            for &b in f.iter() {
                if b == b'/' {
                    escaped.push(b'\\');
                }
                escaped.push(b);
            }
            escaped
        })
        .collect();
    for form in with_slash {
        if !forms.iter().any(|f| **f == *form) {
            forms.push(form);
        }
    }
    forms
}

/// The forms a value takes most often when it is repeated inside one request: as it came,
/// JSON-escaped once and twice (a tool call's arguments), percent-encoded, and in base64 at
/// each alignment (a Basic auth header, an encoded file). A few, so that one body can be
/// searched for each of them directly (see `replace_repeats` in the crate root).
pub(crate) fn common_forms(value: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut forms: Vec<Zeroizing<Vec<u8>>> = vec![Zeroizing::new(value.to_vec())];
    let once = json_escaped(value, Unicode::AsIs, false);
    let twice = json_escaped(&once, Unicode::AsIs, false);
    let mut candidates = vec![once, twice, percent_encoded(value, true, false)];
    for alignment in 0..3 {
        candidates.push(base64_core(
            value,
            alignment,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
        ));
    }
    for form in candidates {
        if form.len() >= crate::MIN_SECRET_LEN && !forms.iter().any(|f| **f == *form) {
            forms.push(form);
        }
    }
    forms
}

/// The value's characters (its bytes, if it is not UTF-8) in groups of `size`, with
/// `separator` between the groups: one a group spaces the value out, four reads it out as a
/// key is shown.
fn grouped(value: &[u8], size: usize, separator: u8) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() + value.len() / size));
    let mut in_group = 0;
    let mut push = |unit: &[u8]| {
        if in_group == size {
            out.push(separator);
            in_group = 0;
        }
        out.extend_from_slice(unit);
        in_group += 1;
    };
    match std::str::from_utf8(value) {
        Ok(text) => {
            for ch in text.chars() {
                push(ch.encode_utf8(&mut [0u8; 4]).as_bytes());
            }
        }
        Err(_) => {
            for b in value {
                push(std::slice::from_ref(b));
            }
        }
    }
    out
}

fn rot13(b: u8) -> u8 {
    match b {
        b'a'..=b'z' => b'a' + (b - b'a' + 13) % 26,
        b'A'..=b'Z' => b'A' + (b - b'A' + 13) % 26,
        _ => b,
    }
}

#[derive(Clone, Copy)]
enum Digits {
    HexLower,
    HexUpper,
    Decimal,
}

/// Each byte of the value as a number in `digits` after `prefix`, with `separator` between.
/// Written straight into the form: no intermediate string holds the value's bytes.
fn byte_codes(value: &[u8], prefix: &[u8], digits: Digits, separator: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * (prefix.len() + 5)));
    for (i, &b) in value.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(separator);
        }
        out.extend_from_slice(prefix);
        match digits {
            Digits::HexLower => out.extend_from_slice(&hex_pair(b, false)),
            Digits::HexUpper => out.extend_from_slice(&hex_pair(b, true)),
            Digits::Decimal => {
                if b >= 100 {
                    out.push(b'0' + b / 100);
                }
                if b >= 10 {
                    out.push(b'0' + b / 10 % 10);
                }
                out.push(b'0' + b % 10);
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unicode {
    AsIs,
    EscapedLower,
    EscapedUpper,
}

/// The value inside a JSON string: `"` `\` and control characters escaped, optionally `/` as
/// `\/` and non-ASCII as `\uXXXX` (surrogate pairs beyond the BMP). A value that is not UTF-8
/// has no `\u` form; its ASCII specials are escaped byte by byte.
fn json_escaped(value: &[u8], unicode: Unicode, slash: bool) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() + 8));
    let upper = unicode == Unicode::EscapedUpper;
    let unit_escape = |out: &mut Vec<u8>, unit: u32| {
        let text = if upper {
            format!("\\u{unit:04X}")
        } else {
            format!("\\u{unit:04x}")
        };
        out.extend_from_slice(text.as_bytes());
    };
    let escape_ascii = |out: &mut Vec<u8>, b: u8| match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        b'/' if slash => out.extend_from_slice(b"\\/"),
        c if c < 0x20 => unit_escape(out, u32::from(c)),
        c => out.push(c),
    };
    match std::str::from_utf8(value) {
        Ok(text) if unicode != Unicode::AsIs => {
            for ch in text.chars() {
                if ch.is_ascii() {
                    escape_ascii(&mut out, ch as u8);
                } else {
                    let mut units = [0u16; 2];
                    for unit in ch.encode_utf16(&mut units) {
                        unit_escape(&mut out, u32::from(*unit));
                    }
                }
            }
        }
        _ => {
            for &b in value {
                escape_ascii(&mut out, b);
            }
        }
    }
    out
}

/// The two hex digits of a byte.
fn hex_pair(b: u8, upper: bool) -> [u8; 2] {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    [digits[usize::from(b >> 4)], digits[usize::from(b & 15)]]
}

fn percent_encoded(value: &[u8], upper: bool, plus_for_space: bool) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 3));
    for &b in value {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else if b == b' ' && plus_for_space {
            out.push(b'+');
        } else {
            out.push(b'%');
            out.extend_from_slice(&hex_pair(b, upper));
        }
    }
    out
}

fn hex(value: &[u8], upper: bool) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 2));
    for &b in value {
        out.extend_from_slice(&hex_pair(b, upper));
    }
    out
}

/// The base32 characters (RFC 4648 alphabet, upper case) that depend on `value`'s bytes
/// alone when it follows `alignment` bytes of a longer blob.
fn base32_core(value: &[u8], alignment: usize) -> Zeroizing<Vec<u8>> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut padded = Zeroizing::new(vec![0u8; alignment]);
    padded.extend_from_slice(value);
    let bits = padded.len() * 8;
    let mut encoded = Zeroizing::new(Vec::with_capacity(bits.div_ceil(5)));
    for at in (0..bits).step_by(5) {
        // The 5 bits from bit `at`, zero past the end.
        let byte = |i: usize| u16::from(padded.get(i).copied().unwrap_or(0));
        let pair = (byte(at / 8) << 8) | byte(at / 8 + 1);
        let index = (pair >> (11 - at % 8)) & 0x1f;
        encoded.push(ALPHABET[usize::from(index)]);
    }
    let first = (8 * alignment).div_ceil(5);
    let last = (8 * (alignment + value.len())) / 5;
    Zeroizing::new(encoded[first..last.min(encoded.len())].to_vec())
}

/// The two base85 alphabets in use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Base85 {
    /// Adobe's Ascii85 (`!` to `u`; `z` for a group of four zero bytes).
    Ascii85,
    /// RFC 1924's digits, letters and punctuation, as Python's `b85encode` and git write them.
    Rfc1924,
}

impl Base85 {
    fn digit(self, d: u32) -> u8 {
        const RFC1924: &[u8; 85] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
        match self {
            // `d` < 85.
            Base85::Ascii85 => b'!' + d as u8,
            Base85::Rfc1924 => RFC1924[d as usize],
        }
    }
}

/// The base85 characters that encode `value` alone when it starts `alignment` bytes into a
/// 4-byte group: five for each group it fills whole (a group's digits are one number, so a
/// group shared with the bytes around the value has none of its own).
fn base85_core(value: &[u8], alignment: usize, alphabet: Base85) -> Zeroizing<Vec<u8>> {
    let own = value.get((4 - alignment % 4) % 4..).unwrap_or_default();
    let mut out = Zeroizing::new(Vec::with_capacity(own.len() / 4 * 5));
    for group in own.chunks_exact(4) {
        let mut number = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        if number == 0 && alphabet == Base85::Ascii85 {
            out.push(b'z');
            continue;
        }
        let mut digits = Zeroizing::new([0u8; 5]);
        for digit in digits.iter_mut().rev() {
            *digit = alphabet.digit(number % 85);
            number /= 85;
        }
        out.extend_from_slice(&*digits);
    }
    out
}

/// The base64 characters that encode `value` alone when it starts `alignment` bytes into a
/// 3-byte group: character `i` carries bits `6i..6i+6`, so with `8a` bits before the value
/// the ones from `ceil(8a/6)` up to (not including) `floor(8(a+len)/6)` are the value's own.
fn base64_core(
    value: &[u8],
    alignment: usize,
    engine: &base64::engine::GeneralPurpose,
) -> Zeroizing<Vec<u8>> {
    use base64::Engine as _;
    let mut padded = Zeroizing::new(vec![0u8; alignment]);
    padded.extend_from_slice(value);
    let encoded = Zeroizing::new(engine.encode(&*padded));
    let first = (8 * alignment).div_ceil(6);
    let last = (8 * (alignment + value.len())) / 6;
    Zeroizing::new(encoded.as_bytes()[first..last.min(encoded.len())].to_vec())
}
