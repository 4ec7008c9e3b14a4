//! Secrets in tables: the cells of a column whose header names a password, secret, token or
//! key. CSV and TSV files (password-manager exports among them), Markdown tables, `psql`
//! output and aligned listings name the column once, in the header, and put the secrets on
//! the rows below it, where no `name = value` rule can see them.
//!
//! Owns: recognising a header row (a short line split by one delimiter, one of whose cells is
//! a secret's name), splitting the rows under it into cells (CSV quoting included), and
//! reporting the spans of that column's cells. Must never: report a header cell, read a row
//! whose cell count differs from the header's (it is not part of the table), or look further
//! than a bounded distance around a name for its line (the scan stays linear on text with no
//! newlines, such as compact JSON).
//!
//! Tables written as bracketed lists (SQL `INSERT` and `COPY`, JSON arrays of arrays) are
//! read by `lists`.
//!
//! Tables reach the proxy inside JSON strings, where the view shows the string's quotes: the
//! header line may start after `"content":"` and the last row may end at the closing quote.
//! Both are cut off before the cells are split.

use std::ops::Range;

mod lists;

/// The rule id findings of this pass carry (placeholders, metrics, `--explain`).
pub(crate) const RULE_ID: &str = "generic.secret_column";
/// What the pass finds, for `airlock redact --explain`.
pub(crate) const DESCRIPTION: &str = "A cell of a table column whose header names a password, secret, token or key (CSV, TSV, Markdown, psql)";

/// How far around a name the pass looks for the ends of its line (or the start of its
/// bracketed list): a header is short.
const MAX_HEADER: usize = 1024;
/// How many rows under one header are read.
const MAX_ROWS: usize = 10_000;
/// How long one row may be (a quoted cell may hold line breaks; a bracketed row is a list).
const MAX_RECORD: usize = 64 * 1024;
/// How long a header cell may be: names, not sentences.
const MAX_NAME: usize = 64;

/// Stems every secret column name contains. The rule set's keyword scan reports where they
/// occur, and a hit opens a look at its line.
pub(crate) const STEMS: &[&str] = &["pass", "pwd", "secret", "token", "key", "totp"];

/// Reports the span of every secret cell of every table in `text` (view coordinates), given
/// where the [`STEMS`] occur in it (sorted; none inside media).
pub(crate) fn scan(text: &[u8], stems: &[usize], mut found: impl FnMut(usize, usize)) {
    if stems.is_empty() {
        return;
    }
    let lines = memchr::memchr(b'\n', text).is_some();
    let mut read_until = 0;
    for &at in stems {
        if at < read_until {
            continue;
        }
        // Most hits are words in JSON keys or prose (`max_tokens`, `"api_key":`): the name
        // around the hit settles them before any line is looked for.
        let name = name_around(text, at);
        read_until = name.end;
        if secret_name(strip_emphasis(&text[name.clone()])).is_none() {
            continue;
        }
        if let Some(end) = lists::scan(text, name.clone(), &mut found) {
            read_until = end;
            continue;
        }
        if !lines || !stands_as_cell(text, name) {
            continue;
        }
        let Some(line) = header_line(text, at) else {
            continue;
        };
        read_until = line.end;
        let Some(header) = Header::parse(text, line.clone()) else {
            continue;
        };
        read_until = read_rows(text, line.end, &header, &mut found);
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'*' | b'`')
}

/// The name the stem at `start` is part of: name bytes, and single spaces between words
/// (`Login Password`), at most [`MAX_NAME`] bytes each way.
fn name_around(text: &[u8], start: usize) -> Range<usize> {
    let word_space = |i: usize| {
        text[i] == b' '
            && i > 0
            && text[i - 1].is_ascii_alphanumeric()
            && text.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
    };
    let floor = start.saturating_sub(MAX_NAME);
    let mut from = start;
    while from > floor && (is_name_byte(text[from - 1]) || word_space(from - 1)) {
        from -= 1;
    }
    let ceiling = text.len().min(start + MAX_NAME);
    let mut to = start;
    while to < ceiling && (is_name_byte(text[to]) || word_space(to)) {
        to += 1;
    }
    from..to
}

/// Whether the name is a whole cell: what is next to it on each side is a line end, a
/// delimiter, a CSV quote or blanks, never `:` or `=` (a key) or more text.
fn stands_as_cell(text: &[u8], name: Range<usize>) -> bool {
    let side = |b: Option<&u8>| {
        b.is_none_or(|&b| matches!(b, b'\n' | b'\r' | b',' | b';' | b'|' | b'\t' | b' ' | b'"'))
    };
    let before = name.start.checked_sub(1).map(|i| &text[i]);
    let after = text.get(name.end);
    // A quoted name is a cell only if its closing quote is followed by a delimiter or the
    // line's end: `"api_key":` is a JSON key.
    let after_quote = || match after {
        Some(b'"') => side(text.get(name.end + 1)) && text.get(name.end + 1) != Some(&b'"'),
        _ => true,
    };
    side(before) && side(after) && after_quote()
}

fn is_newline(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// The line around `at`, when both its ends are within [`MAX_HEADER`] and a newline follows
/// it (a header with no row under it holds nothing). The JSON around a string that starts on
/// this line is cut off.
fn header_line(text: &[u8], at: usize) -> Option<Range<usize>> {
    let floor = at.saturating_sub(MAX_HEADER);
    let start = match memchr::memrchr2(b'\n', b'\r', &text[floor..at]) {
        Some(i) => floor + i + 1,
        None if floor == 0 => 0,
        None => return None,
    };
    let ceiling = text.len().min(at + MAX_HEADER);
    let end = at + memchr::memchr2(b'\n', b'\r', &text[at..ceiling])?;
    // `..."content":"url,username,password`: the table starts after the last `":"`.
    let line = &text[start..at];
    let json_start = memchr::memmem::rfind(line, b"\":\"")
        .map(|i| i + 3)
        .into_iter()
        .chain(memchr::memmem::rfind(line, b"\": \"").map(|i| i + 4))
        .max();
    Some(json_start.map_or(start, |s| start + s)..end)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Delimiter {
    Byte(u8),
    /// Two spaces or more: aligned columns (`column -t`, CLI listings).
    Spaces,
}

/// How much a name asks of the values under it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// `password`, `api_key`, `client_secret`: any value that is not a placeholder.
    Named,
    /// `pass`, `token`: also a test result or a word, so the value must look made up.
    Loose,
}

struct Header {
    delimiter: Delimiter,
    cells: usize,
    /// The secret columns and how much each asks of its values.
    columns: Vec<(usize, Strength)>,
}

impl Header {
    fn parse(text: &[u8], line: Range<usize>) -> Option<Header> {
        let mut line = &text[line];
        // A JSON string that opens on this line leaves its quote unbalanced.
        if line.first() == Some(&b'"') && line.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            line = &line[1..];
        }
        let delimiter = [b'\t', b'|', b',', b';']
            .into_iter()
            .find(|&d| memchr::memchr(d, line).is_some())
            .map_or(Delimiter::Spaces, Delimiter::Byte);
        // A Markdown row that opens with `|` closes with one; a line that only opens with
        // one continues an expression (`| FLAG_A | FLAG_B`).
        let trimmed = line.trim_ascii();
        if trimmed.first() == Some(&b'|') && trimmed.last() != Some(&b'|') {
            return None;
        }
        let (cells, _, _) = split(line, delimiter);
        // Two names at least: a one-column list with trailing commas is not a table. A CSV
        // header names its last column too; a list that ends in a comma is code.
        let listed = matches!(delimiter, Delimiter::Byte(b',' | b';'))
            && cells.last().is_some_and(|c| c.is_empty());
        if listed || cells.iter().filter(|c| !c.is_empty()).count() < 2 {
            return None;
        }
        let mut columns = Vec::new();
        for (index, cell) in cells.iter().enumerate() {
            let quoted = cell.start > 0 && line[cell.start - 1] == b'"';
            let name = strip_emphasis(&line[cell.clone()]);
            // Every cell of a header is a name. In comma or semicolon lists a name with a
            // space must be quoted (`Enter username, password` is prose), and in aligned
            // columns a name is one word (`Use the password.  Then log in` is prose too).
            let spaced_ok = match delimiter {
                Delimiter::Byte(b',' | b';') => quoted,
                Delimiter::Spaces => false,
                Delimiter::Byte(_) => true,
            };
            if !is_column_name(name) || (!spaced_ok && name.contains(&b' ')) {
                return None;
            }
            if let Some(strength) = secret_name(name) {
                columns.push((index, strength));
            }
        }
        // Names listed with a space after each comma are as often prose (`username,
        // password` then `Next, click`) as a hand-written table: the values under them must
        // look made up, as under a loose name.
        let prose_like = matches!(delimiter, Delimiter::Byte(b',' | b';'))
            && line
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b',' || b == b';')
                .all(|(i, _)| line.get(i + 1) == Some(&b' '));
        if prose_like {
            for column in &mut columns {
                column.1 = Strength::Loose;
            }
        }
        (!columns.is_empty()).then_some(Header {
            delimiter,
            cells: cells.len(),
            columns,
        })
    }
}

/// Whether a header cell reads as a column's name: short, words only.
fn is_column_name(name: &[u8]) -> bool {
    name.len() <= MAX_NAME
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b' '))
}

/// A Markdown header cell without its `**bold**` or `` `code` `` marks.
fn strip_emphasis(name: &[u8]) -> &[u8] {
    let marks = |b: &u8| matches!(b, b'*' | b'_' | b'`');
    let start = name.iter().position(|b| !marks(b)).unwrap_or(name.len());
    let end = name
        .iter()
        .rposition(|b| !marks(b))
        .map_or(start, |i| i + 1);
    &name[start..end.max(start)]
}

/// Whether a header cell names a secret, by its last word (or last two): `Login Password`,
/// `login_totp`, `apiKey`, `DB_PASSWORD`, but not `password_hint` or `max_tokens`.
fn secret_name(name: &[u8]) -> Option<Strength> {
    // The last two words (split at `_ - . space` and at camelCase humps), and how many.
    let (mut before, mut last): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let mut words = 0;
    let mut start = None;
    let mut end_word = |from: usize, to: usize| {
        before = last;
        last = Some(&name[from..to]);
        words += 1;
    };
    for (i, &b) in name.iter().enumerate() {
        if b.is_ascii_alphanumeric() {
            let hump = b.is_ascii_uppercase()
                && i > 0
                && (name[i - 1].is_ascii_lowercase() || name[i - 1].is_ascii_digit());
            match start {
                Some(from) if hump => {
                    end_word(from, i);
                    start = Some(i);
                }
                Some(_) => {}
                None => start = Some(i),
            }
        } else {
            if let Some(from) = start.take() {
                end_word(from, i);
            }
            // Words only: a cell with other text in it is not a name.
            if !matches!(b, b'_' | b'-' | b' ' | b'.') {
                return None;
            }
        }
    }
    if let Some(from) = start {
        end_word(from, name.len());
    }
    if words > 4 {
        return None;
    }
    let is = |word: Option<&[u8]>, names: &[&str]| {
        word.is_some_and(|w| names.iter().any(|n| w.eq_ignore_ascii_case(n.as_bytes())))
    };
    const NAMED: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "passcode",
        "secret",
        "totp",
        "apikey",
        "pat",
    ];
    const BEFORE_KEY: &[&str] = &[
        "api", "access", "secret", "private", "auth", "license", "master",
    ];
    const BEFORE_TOKEN: &[&str] = &[
        "auth", "access", "refresh", "api", "bearer", "bot", "session",
    ];
    if is(last, NAMED)
        || (is(last, &["key"]) && is(before, BEFORE_KEY))
        || (is(last, &["token"]) && is(before, BEFORE_TOKEN))
    {
        Some(Strength::Named)
    } else if words == 1 && is(last, &["pass", "token"]) {
        // Alone only: `ISpeechObjectToken` in a list of type names is no column.
        Some(Strength::Loose)
    } else {
        None
    }
}

/// How a cell ends.
enum After {
    /// Another cell of the record starts here.
    Cell(usize),
    /// The record ends here (at its line break, or the end of the text given).
    Record(usize),
    /// A bare `"` here closes the JSON string holding the table: nothing after it is a row.
    Closed(usize),
}

/// Splits one record of `text` (from its start) into cell spans, trimmed and without CSV
/// quotes; says where the record ends and whether the JSON string holding the table closed
/// there. A record is one line, except that a quoted cell may hold line breaks (CSV allows
/// them, and a literal `\n` in a cell reads as one in the view).
fn split(text: &[u8], delimiter: Delimiter) -> (Vec<Range<usize>>, usize, bool) {
    let mut cells = Vec::new();
    let mut at = 0;
    loop {
        // Leading blanks.
        while at < text.len()
            && (text[at] == b' ' || (text[at] == b'\t' && delimiter != Delimiter::Byte(b'\t')))
        {
            at += 1;
        }
        let (cell, after) = if text.get(at) == Some(&b'"') {
            quoted_cell(text, at, delimiter)
        } else {
            plain_cell(text, at, delimiter)
        };
        cells.push(cell);
        match after {
            After::Cell(next) => at = next,
            After::Record(end) => return (cells, end, false),
            After::Closed(end) => return (cells, end, true),
        }
    }
}

/// A cell in CSV quotes starting at `open`: its content and how it ends.
fn quoted_cell(text: &[u8], open: usize, delimiter: Delimiter) -> (Range<usize>, After) {
    let mut at = open + 1;
    while let Some(i) = memchr::memchr(b'"', &text[at..]) {
        let quote = at + i;
        // `""` is an escaped quote, unless the second one closes the JSON string holding
        // the table (`"last cell""}`). Before a comma it is one (`"a"",b"`); should the
        // JSON string end there instead (`"cell"","key":`), the span found is still cut at
        // the string's raw closing quote.
        if text.get(quote + 1) == Some(&b'"')
            && !matches!(text.get(quote + 2), None | Some(b'}' | b']'))
        {
            at = quote + 2;
            continue;
        }
        let content = open + 1..quote;
        let blanks = text[quote + 1..].iter().take_while(|&&b| b == b' ').count();
        let after = quote + 1 + blanks;
        return match text.get(after) {
            None => (content, After::Record(after)),
            Some(&b) if is_newline(b) => (content, After::Record(after)),
            Some(b'"') => (content, After::Closed(after)),
            Some(_) => match delimiter_at(text, after, delimiter) {
                Some(next) => (content, After::Cell(next)),
                // Text after the closing quote: not a CSV cell; the row ends here.
                None => (content, After::Closed(after)),
            },
        };
    }
    // Unclosed: the rest of the line is the cell.
    let end = open
        + text[open..]
            .iter()
            .position(|&b| is_newline(b))
            .unwrap_or(text.len() - open);
    (trim(text, open + 1, end), After::Record(end))
}

/// A cell without quotes starting at `start`: it runs to the delimiter, the line's end or a
/// bare `"` (where the JSON string holding the table closes).
fn plain_cell(text: &[u8], start: usize, delimiter: Delimiter) -> (Range<usize>, After) {
    let mut at = start;
    while at < text.len() {
        match text[at] {
            b'"' => return (trim(text, start, at), After::Closed(at)),
            b if is_newline(b) => return (trim(text, start, at), After::Record(at)),
            _ => {}
        }
        if let Some(next) = delimiter_at(text, at, delimiter) {
            return (trim(text, start, at), After::Cell(next));
        }
        at += 1;
    }
    (trim(text, start, text.len()), After::Record(text.len()))
}

/// If a delimiter starts at `at`, where the next cell starts.
fn delimiter_at(line: &[u8], at: usize, delimiter: Delimiter) -> Option<usize> {
    match delimiter {
        Delimiter::Byte(d) => (line[at] == d).then_some(at + 1),
        Delimiter::Spaces => {
            let run = line[at..]
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            (run >= 2 || line[at] == b'\t').then_some(at + run)
        }
    }
}

/// `start..end` of `text` without the blanks at either end.
fn trim(text: &[u8], mut start: usize, mut end: usize) -> Range<usize> {
    while start < end && text[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && text[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    start..end
}

/// Reads the rows after the header line (which ends at `from`), reporting the secret cells;
/// returns where the table ends.
fn read_rows(
    text: &[u8],
    from: usize,
    header: &Header,
    found: &mut impl FnMut(usize, usize),
) -> usize {
    let mut at = from;
    let mut rows = 0;
    while rows < MAX_ROWS {
        // One line break (`\n` or `\r\n`); a blank line ends the table.
        let Some(&b) = text.get(at) else { break };
        if !is_newline(b) {
            break;
        }
        at += if text.get(at..at + 2) == Some(b"\r\n") {
            2
        } else {
            1
        };
        let line_end = at
            + text[at..]
                .iter()
                .position(|&b| is_newline(b))
                .unwrap_or(text.len() - at);
        let line = &text[at..line_end];
        if line
            .iter()
            .all(|&b| matches!(b, b'-' | b'+' | b'|' | b':' | b'=' | b' ' | b'\t'))
        {
            if line.is_empty() {
                break;
            }
            // Markdown and psql rules under the header.
            at = line_end;
            continue;
        }
        let record = &text[at..text.len().min(at + MAX_RECORD)];
        let (cells, end, closed) = split(record, header.delimiter);
        if cells.len() != header.cells {
            break;
        }
        rows += 1;
        for &(column, strength) in &header.columns {
            let cell = cells[column].clone();
            if is_secret_value(&record[cell.clone()], strength) {
                found(at + cell.start, at + cell.end);
            }
        }
        at += end;
        if closed {
            break;
        }
    }
    at
}

/// Whether a cell under a secret's name holds one: not empty, a mask, a placeholder, a word
/// like `none`, or a sentence.
fn is_secret_value(value: &[u8], strength: Strength) -> bool {
    if value.len() < 3 || value.len() > 512 {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    let placeholder = matches!(
        lower.as_slice(),
        b"n/a"
            | b"none"
            | b"null"
            | b"nil"
            | b"true"
            | b"false"
            | b"yes"
            | b"no"
            | b"empty"
            | b"hidden"
            | b"redacted"
            | b"[redacted]"
            | b"(none)"
            | b"unknown"
            | b"not set"
            | b"password"
            | b"secret"
            | b"token"
            | b"changeme"
            | b"undefined"
    ) || value.starts_with(b"SECRET_REF(")
        || value.starts_with(b"${")
        || value.starts_with(b"{{")
        || (value.starts_with(b"<") && value.ends_with(b">"))
        || value.iter().all(|&b| b == value[0])
        || value.iter().all(|&b| !b.is_ascii_alphanumeric());
    if placeholder || value.split(|&b| b == b' ').count() > 4 {
        return false;
    }
    match strength {
        Strength::Named => true,
        Strength::Loose => {
            value.len() >= 8
                && !value.contains(&b' ')
                && value.iter().any(u8::is_ascii_alphabetic)
                && value.iter().any(|b| !b.is_ascii_alphabetic())
        }
    }
}
