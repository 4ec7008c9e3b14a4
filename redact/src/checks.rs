//! Structure checks a rule can ask of a value its regex found: a checksum or an encoded
//! header that random look-alikes fail. A value that fails is not this rule's finding (the
//! entropy layer still judges it on its own). Pure functions; values are never kept.

use std::ops::Range;

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
    /// An assignment's name names a secret, not something about one: not its type, kind,
    /// length, file, URL or prompt (`token_type = 'cfws'`, `password_file: "/run/pw"`), not a
    /// verb (`passing "-c mingw32"`, `trivially_copy_pass_by_ref = "warn"`), not a tokenizer.
    /// Read from the match before the value: the first name in it that holds a secret's stem.
    NamesASecret,
}

impl Check {
    /// Whether `value` (the span the rule found in `text`) has the structure, where `lead`
    /// is the rule's match up to the value.
    pub(crate) fn passes_found(self, text: &[u8], lead: Range<usize>, value: &[u8]) -> bool {
        match self {
            Check::NamesASecret => {
                // A match can start inside a name (at a keyword: `com|pass`): the lead is
                // read from where the name starts.
                let name_before = text[..lead.start]
                    .iter()
                    .rev()
                    .take(64)
                    .take_while(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b))
                    .count();
                let after = text.get(lead.end + value.len()..).unwrap_or_default();
                names_a_secret(&text[lead.start - name_before..lead.end], value, after)
            }
            _ => self.passes(value),
        }
    }

    /// Whether `value` (the span the rule found) has the structure. Checks that read the name
    /// before a value pass here: see [`Check::passes_found`].
    pub(crate) fn passes(self, value: &[u8]) -> bool {
        match self {
            Check::NamesASecret => true,
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

/// Stems of the names [`Check::NamesASecret`] looks for in a match's lead.
const SECRET_STEMS: &[&[u8]] = &[
    b"pass",
    b"pwd",
    b"pw",
    b"psk",
    b"secret",
    b"token",
    b"key",
    b"cred",
    b"auth",
    b"seed",
    b"recovery",
    b"pepper",
];

/// Words of a name that make it a verb or a tool, not a secret (`passing`, `tokenizer`).
const NOT_SECRET_WORDS: &[&[u8]] = &[
    b"passing",
    b"passed",
    b"passes",
    b"passthru",
    b"tokenize",
    b"tokenizer",
    b"tokenizers",
    b"tokenized",
    b"tokenizing",
    b"tokenization",
    b"secretary",
    b"by",
];

/// Beginnings of words that hold `pass` and are not passwords (`passive`, `bypass_hosts`).
const NOT_SECRET_STARTS: &[&[u8]] = &[
    b"passiv",
    b"passag",
    b"passeng",
    b"passthrough",
    b"passport",
    b"bypass",
    b"compass",
    b"surpass",
    b"trespass",
    b"encompass",
    b"getpass",
];

/// Words before `key` that make it a key that opens nothing: a database's or a map's key, a
/// public or publishable key, a shortcut's (`primary_key`, `sortKey`, `RECAPTCHA_SITE_KEY`,
/// `short_key`). `storage_key` stays a secret (an Azure storage account's key).
const NOT_SECRET_KEYS: &[&[u8]] = &[
    b"public",
    b"pub",
    b"publishable",
    b"site",
    b"primary",
    b"foreign",
    b"sort",
    b"partition",
    b"hash",
    b"range",
    b"row",
    b"composite",
    b"unique",
    b"index",
    b"cache",
    b"idempotency",
    b"dedup",
    b"dedupe",
    b"lookup",
    b"map",
    b"dict",
    b"object",
    b"s3",
    b"bucket",
    b"group",
    b"routing",
    b"cluster",
    b"shard",
    b"column",
    b"field",
    b"element",
    b"list",
    b"item",
    b"node",
    b"entry",
    b"record",
    b"table",
    b"i18n",
    b"translation",
    b"hot",
    b"short",
    b"shortcut",
    b"next",
    b"start",
    b"last",
    b"page",
    b"continuation",
    b"resume",
    b"gpg",
    b"pgp",
    b"react",
    b"sub",
    b"search",
    // What an application keys by: an agent's session (OpenClaw's `sessionKey`), a request,
    // a job, a message. A random secret under such a name is still the entropy layer's.
    b"session",
    b"request",
    b"correlation",
    b"trace",
    b"message",
    b"event",
    b"job",
    b"task",
    b"run",
    b"thread",
    b"conversation",
    b"order",
    b"flag",
    b"feature",
    b"experiment",
    b"metric",
    b"issue",
    b"project",
    b"template",
    b"label",
    b"setting",
    b"redis",
    b"lock",
    b"queue",
];

/// Words that end in `key` and are no key of anyone's (`hotkey = ...`).
const KEY_ENDED_WORDS: &[&[u8]] = &[
    b"hotkey", b"monkey", b"turkey", b"donkey", b"whiskey", b"passkey",
];

/// Last words of a name that say something about a secret, not what it is.
const ATTRIBUTE_WORDS: &[&[u8]] = &[
    b"type",
    b"types",
    b"kind",
    b"kinds",
    b"class",
    b"stmt",
    b"count",
    b"len",
    b"length",
    b"url",
    b"uri",
    b"endpoint",
    b"path",
    b"file",
    b"filename",
    b"dir",
    b"hint",
    b"placement",
    b"prompt",
    b"label",
    b"field",
    b"policy",
    b"ttl",
    b"lifetime",
    b"strength",
    b"format",
    b"style",
    b"name",
    b"names",
    b"min",
    b"max",
    b"enabled",
    b"required",
    b"pattern",
    b"regex",
    b"validator",
    b"error",
    b"errors",
    b"message",
    b"msg",
    b"title",
    b"placeholder",
    b"expiry",
    b"expires",
    b"expiration",
    b"in",
    b"at",
    b"start",
    b"end",
    b"index",
    b"idx",
    b"pos",
    b"position",
    b"offset",
    b"number",
    b"num",
    b"state",
    b"status",
    b"mode",
];

fn names_a_secret(lead: &[u8], value: &[u8], after: &[u8]) -> bool {
    let name_byte = |b: &u8| b.is_ascii_alphanumeric() || b"_.-".contains(b);
    let holds_stem = |name: &[u8]| {
        let lower = name.to_ascii_lowercase();
        SECRET_STEMS
            .iter()
            .any(|stem| lower.windows(stem.len()).any(|w| w == *stem))
    };
    // The first run of name bytes that holds a stem.
    let mut start = 0;
    let name_at = loop {
        if start >= lead.len() {
            return true;
        }
        let len = lead[start..].iter().take_while(|b| name_byte(b)).count();
        if len > 0 && holds_stem(&lead[start..start + len]) {
            break start..start + len;
        }
        start += len.max(1);
    };
    let (name, separator) = (&lead[name_at.clone()], &lead[name_at.end..]);
    // `pass` or `token` and a quoted word after a space is prose: `to pass "--quiet" down`,
    // `the token "record"`. A password named so has `=` or `:` between.
    let prose_verb = [&b"pass"[..], b"token", b"tokens"]
        .iter()
        .any(|word| name.eq_ignore_ascii_case(word))
        && separator.iter().all(|b| b" \t\"'".contains(b));
    if prose_verb {
        return false;
    }
    // A quoted label after a name and a space, then a brace, is a block of HCL (Terraform's
    // `credentials "app.terraform.io" {`), not an assignment.
    let label_then_block = separator.iter().all(|b| b" \t\"'".contains(b))
        && after.iter().find(|b| !b"\"' \t".contains(b)) == Some(&b'{');
    if label_then_block {
        return false;
    }
    // Words split at `_`, `-`, `.` and where a lower-case letter meets a capital (camelCase).
    let mut words: Vec<Vec<u8>> = vec![Vec::new()];
    for (i, &b) in name.iter().enumerate() {
        let camel = i > 0 && name[i - 1].is_ascii_lowercase() && b.is_ascii_uppercase();
        if b"_.-".contains(&b) || camel {
            words.push(Vec::new());
        }
        if b.is_ascii_alphanumeric() {
            if let Some(word) = words.last_mut() {
                word.push(b.to_ascii_lowercase());
            }
        }
    }
    words.retain(|word| !word.is_empty());
    let last_is_attribute = words
        .last()
        .is_some_and(|last| ATTRIBUTE_WORDS.contains(&last.as_slice()));
    // A key named for what it keys, when `key` is the name's last word: `primary_key`. A
    // bare `key` names nothing (a map's, a list item's, a setting's).
    let key_of_something_else = match words.as_slice() {
        [.., before, last] if last == b"key" => NOT_SECRET_KEYS.contains(&before.as_slice()),
        [only] if only == b"key" => true,
        [.., last] => KEY_ENDED_WORDS.contains(&last.as_slice()),
        [] => false,
    };
    let not_secret = |word: &Vec<u8>| {
        NOT_SECRET_WORDS.contains(&word.as_slice())
            || NOT_SECRET_STARTS
                .iter()
                .any(|start| word.starts_with(start))
    };
    // An object's field set from a variable: `self.token = nextchar` (not from a string:
    // `self.token = "..."`).
    let field_from_variable = words
        .first()
        .is_some_and(|first| [&b"self"[..], b"this", b"cls"].contains(&first.as_slice()))
        && !separator.iter().any(|b| b"\"'`".contains(b))
        && value
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    !last_is_attribute
        && !key_of_something_else
        && !field_from_variable
        && !words.iter().any(not_secret)
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

    #[test]
    fn names_of_secrets_pass_and_names_about_them_do_not() {
        let check = |lead: &str, value: &str| {
            let text = format!("{lead}{value}");
            Check::NamesASecret.passes_found(text.as_bytes(), 0..lead.len(), value.as_bytes())
        };
        for lead in [
            "password = ",
            "export DB_PASSWORD=",
            "- **Password:** ",
            "client_secret: \"",
            "tokenSecret = '",
            "passphrase: ",
            "aws_secret_access_key = ",
            "password '",
            "self.api_key = ",
            "AZURE_FUNCTION_KEY=",
            "adobeKey = ",
            "x-functions-key: ",
            "Ocp-Apim-Subscription-Key: ",
            "storage_key: \"",
        ] {
            assert!(check(lead, "Xk9pQ2vL7wRt"), "{lead}");
        }
        for lead in [
            "token_type = '",
            "tokenType: \"",
            "trivially_copy_pass_by_ref = \"",
            "Passing '",
            "to pass \"",
            "the token \"",
            "password_file: \"",
            "refresh_token_expires_in = ",
            "pi.bypass_hosts = ",
            "getpass = ",
            "MODULE_PWD_STATE=",
            "primary_key = ",
            "sortKey: \"",
            "RECAPTCHA_SITE_KEY=",
            "STRIPE_PUBLISHABLE_KEY=",
            "hotkey = ",
            "sessionKey: \"",
            "key: ",
            "\"Key\": \"",
        ] {
            assert!(!check(lead, "Xk9pQ2vL7wRt"), "{lead}");
        }
        // A quoted label before a block is HCL, not a value; before anything else, a value.
        // (Built with format!, so that this file holds no assignment the rules would take.)
        let in_text = |text: &str, lead: &str, value: &str| {
            Check::NamesASecret.passes_found(text.as_bytes(), 0..lead.len(), value.as_bytes())
        };
        let (lead, host, value) = ("credentials \"", "app.terraform.io", "Xk9pQ2vL7wRt");
        let block = format!("{lead}{host}\" {{\n  token = var.t\n}}");
        assert!(!in_text(&block, lead, host));
        let prose = format!("{lead}{value}\" for the staging box");
        assert!(in_text(&prose, lead, value));
        // A field set from a variable is code; from a literal, a value.
        assert!(!check("        self.token = ", "nextchar"));
        assert!(check("        self.token = ", "Xk9pQ2vL7wRt"));
        assert!(check("        self.token = \"", "nextchar"));
    }

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
