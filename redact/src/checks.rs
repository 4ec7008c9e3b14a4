//! Structure checks a rule can ask of a value its regex found: a checksum or an encoded
//! header that random look-alikes fail. A value that fails is not this rule's finding (the
//! entropy layer still judges it on its own). Pure functions; values are never kept.

use serde::Deserialize;

/// A rule's optional `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// GitHub and npm tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `npm_`): after the prefix, 30
    /// random characters and 6 that are their CRC32 in base62 (`0-9A-Za-z`, most
    /// significant first).
    Crc32Base62,
    /// A JSON Web Token: the first segment decodes (base64url) to a JSON object with `alg`.
    JwtHeader,
    /// A Discord bot token: the first segment decodes (base64) to the bot's numeric user
    /// id (a snowflake of 17 to 20 digits).
    DiscordUserId,
    /// A password stated in prose: letters and digits both, not a word of the sentence.
    LettersAndDigits,
    /// A password stated in prose, looser: letters with a digit or with a symbol that
    /// passwords use and words do not (`!@#$%^&*+=?~|`). `lAR$UsRJ*lNO` passes; `e-mail`,
    /// `user's`, `and/or` and `required` do not.
    PasswordLike,
    /// HTTP Basic credentials: standard base64 of printable `user:password`, the password
    /// not empty.
    BasicCredentials,
    /// SASL PLAIN credentials (SMTP, IMAP, XMPP `AUTH PLAIN`): standard base64 of
    /// `[authzid] NUL user NUL password`, printable apart from the two NULs, the password
    /// not empty.
    SaslPlain,
    /// Key material written as a list of decimal byte values (`174,47,154,...`, a Solana
    /// keypair file): every number is a byte, and the list is as varied as random bytes are.
    /// Three in four values are distinct (64 random bytes hold about 57), they reach both ends
    /// of the byte range, and they rise from one to the next about half the time. Tables in
    /// code fail one of these: zeros and flags, sequences up or down, a permutation of
    /// `0..64` (a bit-reversal table).
    RandomBytes,
}

impl Check {
    /// Whether `value` (the span the rule found) has the structure.
    pub(crate) fn passes(self, value: &[u8]) -> bool {
        match self {
            Check::Crc32Base62 => crc32_base62(value),
            Check::JwtHeader => jwt_header(value),
            Check::DiscordUserId => discord_user_id(value),
            Check::LettersAndDigits => {
                value.iter().any(u8::is_ascii_alphabetic) && value.iter().any(u8::is_ascii_digit)
            }
            Check::PasswordLike => {
                value.iter().any(u8::is_ascii_alphabetic)
                    && value
                        .iter()
                        .any(|b| b.is_ascii_digit() || b"!@#$%^&*+=?~|".contains(b))
            }
            Check::BasicCredentials => basic_credentials(value),
            Check::SaslPlain => sasl_plain(value),
            Check::RandomBytes => random_bytes(value),
        }
    }
}

fn crc32_base62(value: &[u8]) -> bool {
    let Some(underscore) = value.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &value[underscore + 1..];
    if body.len() != 36 {
        return false;
    }
    let (random, checksum) = body.split_at(30);
    let mut decoded: u64 = 0;
    for &c in checksum {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            _ => return false,
        };
        decoded = decoded * 62 + u64::from(digit);
    }
    decoded == u64::from(crc32fast::hash(random))
}

fn jwt_header(value: &[u8]) -> bool {
    use base64::Engine as _;
    let header = value.split(|&b| b == b'.').next().unwrap_or_default();
    let header = header
        .strip_suffix(b"==")
        .or_else(|| header.strip_suffix(b"="))
        .unwrap_or(header);
    let Ok(decoded) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&decoded)
        .is_ok_and(|object| object.get("alg").is_some_and(serde_json::Value::is_string))
}

fn discord_user_id(value: &[u8]) -> bool {
    use base64::Engine as _;
    let id = value.split(|&b| b == b'.').next().unwrap_or_default();
    // Issued without padding.
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let Ok(decoded) = engine.decode(id) else {
        return false;
    };
    (17..=20).contains(&decoded.len())
        && decoded[0] != b'0'
        && decoded.iter().all(u8::is_ascii_digit)
}

fn basic_credentials(value: &[u8]) -> bool {
    let Some(decoded) = decoded_text(value, &[]) else {
        return false;
    };
    let password = decoded
        .iter()
        .position(|&b| b == b':')
        .map(|colon| &decoded[colon + 1..]);
    password.is_some_and(|p| !p.is_empty())
}

fn sasl_plain(value: &[u8]) -> bool {
    let Some(decoded) = decoded_text(value, &[0]) else {
        return false;
    };
    let mut parts = decoded.split(|&b| b == 0);
    let (Some(_authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !user.is_empty() && !password.is_empty()
}

fn random_bytes(value: &[u8]) -> bool {
    let mut seen = [false; 256];
    let (mut count, mut distinct, mut rises) = (0usize, 0usize, 0usize);
    let (mut low, mut high) = (u8::MAX, 0);
    let mut previous = None;
    for number in value
        .split(|b| !b.is_ascii_digit())
        .filter(|n| !n.is_empty())
    {
        let Some(byte) = std::str::from_utf8(number)
            .ok()
            .and_then(|n| n.parse::<u8>().ok())
        else {
            return false;
        };
        count += 1;
        if !seen[usize::from(byte)] {
            seen[usize::from(byte)] = true;
            distinct += 1;
        }
        if previous.is_some_and(|p| p < byte) {
            rises += 1;
        }
        previous = Some(byte);
        (low, high) = (low.min(byte), high.max(byte));
    }
    // For 64 random bytes each test fails about once in a hundred million or less (odds
    // worked out, not sampled).
    count >= 16
        && distinct * 4 >= count * 3
        && (low < 64 && high >= 192)
        && (count..count * 3).contains(&(rises * 4))
}

/// `value` decoded from standard base64, when that is UTF-8 text without control characters
/// (except the `separators` a format puts between its fields).
fn decoded_text(value: &[u8], separators: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    let printable = decoded
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || b >= 0x80 || separators.contains(&b));
    (printable && std::str::from_utf8(&decoded).is_ok()).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token with a correct checksum, built the way the issuer does.
    fn with_checksum(prefix: &str, random: &str) -> String {
        const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut crc = u64::from(crc32fast::hash(random.as_bytes()));
        let mut checksum = [b'0'; 6];
        for slot in checksum.iter_mut().rev() {
            *slot = DIGITS[(crc % 62) as usize];
            crc /= 62;
        }
        format!("{prefix}_{random}{}", String::from_utf8_lossy(&checksum))
    }

    #[test]
    fn byte_lists_pass_only_when_varied_and_unordered() {
        // A keypair-like list: 64 bytes from a fixed shuffle, built at run time.
        let varied: Vec<String> = (0u32..64)
            .map(|i| ((i * 167 + 89) % 256).to_string())
            .collect();
        let mixed = |list: &[String]| {
            let mut out = list.to_vec();
            // Interleave halves, so the list is not in order.
            out.sort_by_key(|n| n.parse::<u32>().map_or(0, |v| (v * 73) % 97));
            out.join(",")
        };
        let key = mixed(&varied);
        assert!(Check::RandomBytes.passes(key.as_bytes()));
        assert!(Check::RandomBytes.passes(key.replace(',', ", ").as_bytes()));
        // A number that is no byte, a run in order, a list of few values, a short list.
        assert!(!Check::RandomBytes.passes(key.replacen(',', ",256,", 1).as_bytes()));
        let ordered: Vec<String> = (0..64).map(|i: u32| (i * 4).to_string()).collect();
        assert!(!Check::RandomBytes.passes(ordered.join(",").as_bytes()));
        let reversed: Vec<String> = ordered.iter().rev().cloned().collect();
        assert!(!Check::RandomBytes.passes(reversed.join(",").as_bytes()));
        // Bit-reversed indices: varied, unordered, but all below 64.
        let table: Vec<String> = (0..64u8)
            .map(|i| (i.reverse_bits() >> 2).to_string())
            .collect();
        assert!(!Check::RandomBytes.passes(table.join(",").as_bytes()));
        let flags: Vec<String> = (0..64).map(|i: u32| (i % 4).to_string()).collect();
        assert!(!Check::RandomBytes.passes(flags.join(",").as_bytes()));
        assert!(!Check::RandomBytes.passes(b"174,47,154"));
    }

    #[test]
    fn a_correct_checksum_passes_and_any_change_fails() {
        // Built at run time: the repository's own sources are a benign corpus for the scanner.
        let random: String = "abcdefghij".repeat(3).chars().rev().collect();
        let token = with_checksum("ghp", &random);
        assert!(Check::Crc32Base62.passes(token.as_bytes()));
        let mut bytes = token.clone().into_bytes();
        for i in 4..bytes.len() {
            let original = bytes[i];
            bytes[i] = if original == b'x' { b'y' } else { b'x' };
            assert!(!Check::Crc32Base62.passes(&bytes), "changed at {i}");
            bytes[i] = original;
        }
        assert!(!Check::Crc32Base62.passes(b"ghp_short"));
        assert!(!Check::Crc32Base62.passes(b"no-underscore-at-all"));
    }

    #[test]
    fn jwt_header_must_be_a_json_object_with_alg() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = |header: &str| format!("{}.{}.signature", b64(header), b64(r#"{"sub":"1"}"#));
        assert!(Check::JwtHeader.passes(jwt(r#"{"alg":"HS256","typ":"JWT"}"#).as_bytes()));
        // JSON, but no algorithm; not JSON; not base64.
        assert!(!Check::JwtHeader.passes(jwt(r#"{"typ":"JWT"}"#).as_bytes()));
        assert!(!Check::JwtHeader.passes(jwt(r#"{"alg":"HS256","#).as_bytes()));
        assert!(!Check::JwtHeader.passes(b"eyJ!!!.x.y"));
    }

    #[test]
    fn discord_user_id_must_decode_to_a_snowflake() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        // Built at run time: the repository's own sources are a benign corpus for the scanner.
        let hmac = "q8Zr3vLm".repeat(4);
        let token = |id: &str| format!("{}.GkT2xB.{hmac}", b64(id));
        assert!(Check::DiscordUserId.passes(token("1185746435793891328").as_bytes()));
        assert!(Check::DiscordUserId.passes(token("81384788765712384").as_bytes()));
        // Too short, a leading zero, not digits, not base64.
        assert!(!Check::DiscordUserId.passes(token("1234567890").as_bytes()));
        assert!(!Check::DiscordUserId.passes(token("0185746435793891328").as_bytes()));
        assert!(!Check::DiscordUserId.passes(token("118574643579389132x").as_bytes()));
        assert!(!Check::DiscordUserId.passes(format!("M!!!.GkT2xB.{hmac}").as_bytes()));
    }

    #[test]
    fn sasl_plain_decodes_to_two_nuls_and_a_password() {
        use base64::Engine as _;
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(Check::SaslPlain.passes(b64(b"\0alice\0SmtpPass2024!").as_bytes()));
        assert!(Check::SaslPlain.passes(b64(b"admin\0alice\0pw").as_bytes()));
        // No password, one NUL only, a control byte, not base64.
        assert!(!Check::SaslPlain.passes(b64(b"\0alice\0").as_bytes()));
        assert!(!Check::SaslPlain.passes(b64(b"alice\0password").as_bytes()));
        assert!(!Check::SaslPlain.passes(b64(b"\0al\x01ce\0pw").as_bytes()));
        assert!(!Check::SaslPlain.passes(b"not base64!"));
    }

    #[test]
    fn basic_credentials_decode_to_user_colon_password() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(Check::BasicCredentials.passes(b64("admin:hunter22").as_bytes()));
        assert!(Check::BasicCredentials.passes(b64(":only-a-password").as_bytes()));
        // No password, no colon, binary, not base64.
        assert!(!Check::BasicCredentials.passes(b64("admin:").as_bytes()));
        assert!(!Check::BasicCredentials.passes(b64("just a sentence").as_bytes()));
        assert!(!Check::BasicCredentials.passes(b"\x01\x02:\x03".as_slice()));
        assert!(!Check::BasicCredentials.passes(b"authentication"));
    }

    #[test]
    fn letters_and_digits_needs_both() {
        assert!(Check::LettersAndDigits.passes(b"Kangaroo#42"));
        assert!(!Check::LettersAndDigits.passes(b"required"));
        assert!(!Check::LettersAndDigits.passes(b"12345678"));
        assert!(!Check::LettersAndDigits.passes(b"set-by-admin"));
    }

    #[test]
    fn password_like_needs_letters_and_a_digit_or_a_password_symbol() {
        assert!(Check::PasswordLike.passes(b"lAR$UsRJ*lNO"));
        assert!(Check::PasswordLike.passes(b"Kangaroo42"));
        assert!(!Check::PasswordLike.passes(b"required"));
        assert!(!Check::PasswordLike.passes(b"e-mail"));
        assert!(!Check::PasswordLike.passes(b"and/or"));
        assert!(!Check::PasswordLike.passes(b"user's"));
        assert!(!Check::PasswordLike.passes(b"!@#$%^&*"));
    }
}
