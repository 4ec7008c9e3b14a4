//! Tables written as bracketed lists: `INSERT INTO users (email, password) VALUES (...), (...)`
//! (SQL dumps, migrations, query logs), `COPY users (email, password) FROM stdin;` with its
//! tab-separated rows (`pg_dump`), and JSON arrays of arrays whose first array names the
//! columns (`{"values": [["email", "password"], [...]]}` from spreadsheet APIs).
//!
//! Owns: finding the list a header name sits in, reading the rows that follow it in that
//! syntax, and reporting their secret cells. Must never: read a row whose cell count differs
//! from the header's, or scan further than a bounded distance back for the list's start.

use std::ops::Range;

use super::{
    is_column_name, is_newline, is_secret_value, read_rows, secret_name, trim, Delimiter, Header,
    Strength, MAX_HEADER, MAX_RECORD, MAX_ROWS,
};

/// If the name at `name` is a cell of a bracketed header, reads that table, reports its
/// secret cells and returns where it ends.
pub(super) fn scan(
    text: &[u8],
    name: Range<usize>,
    found: &mut impl FnMut(usize, usize),
) -> Option<usize> {
    if !between_commas(text, &name) {
        return None;
    }
    let open = list_open(text, name.start)?;
    let (cells, close) = cells(text, open)?;
    if !cells
        .iter()
        .any(|c| c.start <= name.start && name.end <= c.end + 1)
    {
        return None;
    }
    let mut columns = Vec::new();
    for (index, cell) in cells.iter().enumerate() {
        let cell = strip_quotes(text, cell.clone());
        let cell = &text[cell];
        if !is_column_name(cell) {
            return None;
        }
        if let Some(strength) = secret_name(cell) {
            columns.push((index, strength));
        }
    }
    if cells.len() < 2 || columns.is_empty() {
        return None;
    }
    let before = text[..open].trim_ascii_end();
    let after = close + 1;
    match text[open] {
        b'(' if ends_with_ignore_case(name_before(before), b"insert into") => {
            let values = skip_blanks(text, after);
            let rest = text.get(values..values + 6)?;
            if !rest.eq_ignore_ascii_case(b"values") {
                return None;
            }
            Some(read_lists(
                text,
                values + 6,
                b'(',
                None,
                cells.len(),
                &columns,
                found,
            ))
        }
        b'(' if ends_with_ignore_case(name_before(before), b"copy") => {
            // `FROM stdin;` then one tab-separated row a line, to `\.`.
            let line_end = after + text[after..].iter().position(|&b| is_newline(b))?;
            let header = Header {
                delimiter: Delimiter::Byte(b'\t'),
                cells: cells.len(),
                columns,
            };
            Some(read_rows(text, line_end, &header, found))
        }
        b'[' if before.last() == Some(&b'[') => Some(read_lists(
            text,
            after,
            b'[',
            Some(b','),
            cells.len(),
            &columns,
            found,
        )),
        _ => None,
    }
}

/// Whether the name (in its quotes, if any) stands between list punctuation: `(` `[` or `,`
/// before it, `,` `)` or `]` after it. Settles most names without a look back.
fn between_commas(text: &[u8], name: &Range<usize>) -> bool {
    let quoted = |i: usize| matches!(text.get(i), Some(b'\'' | b'"'));
    let mut before = name.start;
    if before > 0 && quoted(before - 1) {
        before -= 1;
    }
    let before = text[..before].trim_ascii_end().last();
    let mut after = name.end;
    if quoted(after) {
        after += 1;
    }
    let after = text.get(skip_blanks(text, after));
    matches!(before, Some(b'(' | b'[' | b',')) && matches!(after, Some(b',' | b')' | b']'))
}

/// The text before a list's `(` without the table name: `INSERT INTO public."users"`.
fn name_before(before: &[u8]) -> &[u8] {
    let name = before
        .iter()
        .rev()
        .take_while(|&&b| !b.is_ascii_whitespace())
        .count();
    before[..before.len() - name].trim_ascii_end()
}

fn ends_with_ignore_case(text: &[u8], suffix: &[u8]) -> bool {
    text.len() >= suffix.len() && text[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

fn skip_blanks(text: &[u8], mut at: usize) -> usize {
    while text.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Where the list holding the name at `at` opens: the nearest `(` or `[` before it, with
/// nothing between that closes a list or ends a statement.
fn list_open(text: &[u8], at: usize) -> Option<usize> {
    let floor = at.saturating_sub(MAX_HEADER);
    let back = text[floor..at]
        .iter()
        .rposition(|&b| matches!(b, b'(' | b'[' | b')' | b']' | b';' | b'{' | b'}'))?;
    let open = floor + back;
    matches!(text[open], b'(' | b'[').then_some(open)
}

/// The cells of the list opening at `open` (trimmed, quotes kept) and where it closes.
/// Quotes (`'…'` with `''`, `"…"`, `` `…` ``) and nested parentheses (`NOW()`) are honoured.
fn cells(text: &[u8], open: usize) -> Option<(Vec<Range<usize>>, usize)> {
    let close_byte = if text[open] == b'(' { b')' } else { b']' };
    let limit = text.len().min(open + MAX_RECORD);
    let mut cells = Vec::new();
    let mut start = open + 1;
    let mut at = start;
    let mut depth = 0usize;
    while at < limit {
        match text[at] {
            quote @ (b'\'' | b'"' | b'`') => at = after_quoted(text, at, quote, limit)?,
            b'(' | b'[' => {
                depth += 1;
                at += 1;
            }
            b',' if depth == 0 => {
                cells.push(trim(text, start, at));
                at += 1;
                start = at;
            }
            b if b == close_byte && depth == 0 => {
                cells.push(trim(text, start, at));
                return Some((cells, at));
            }
            b')' | b']' => {
                depth = depth.checked_sub(1)?;
                at += 1;
            }
            _ => at += 1,
        }
    }
    None
}

/// Where a quoted literal opening at `open` ends (past its closing quote).
fn after_quoted(text: &[u8], open: usize, quote: u8, limit: usize) -> Option<usize> {
    let mut at = open + 1;
    while at < limit {
        match text[at] {
            b'\\' => at += 2,
            b if b == quote && text.get(at + 1) == Some(&quote) => at += 2,
            b if b == quote => return Some(at + 1),
            _ => at += 1,
        }
    }
    None
}

fn strip_quotes(text: &[u8], cell: Range<usize>) -> Range<usize> {
    let bytes = &text[cell.clone()];
    match (bytes.first(), bytes.last()) {
        (Some(&a), Some(&b)) if bytes.len() >= 2 && a == b && matches!(a, b'\'' | b'"' | b'`') => {
            cell.start + 1..cell.end - 1
        }
        _ => cell,
    }
}

/// Reads the lists after a header, from `at`: each opens with `open`, and they are separated
/// by commas (`separator` says one also comes before the first: JSON rows follow the header
/// array). Reports the secret cells; returns where the last row ends.
fn read_lists(
    text: &[u8],
    mut at: usize,
    open: u8,
    mut separator: Option<u8>,
    width: usize,
    columns: &[(usize, Strength)],
    found: &mut impl FnMut(usize, usize),
) -> usize {
    for _ in 0..MAX_ROWS {
        let mut next = skip_blanks(text, at);
        if let Some(separator) = separator {
            if text.get(next) != Some(&separator) {
                break;
            }
            next = skip_blanks(text, next + 1);
        }
        if text.get(next) != Some(&open) {
            break;
        }
        let Some((cells, close)) = cells(text, next) else {
            break;
        };
        if cells.len() != width {
            break;
        }
        for &(column, strength) in columns {
            let cell = strip_quotes(text, cells[column].clone());
            if is_secret_value(&text[cell.clone()], strength) {
                found(cell.start, cell.end);
            }
        }
        at = close + 1;
        separator = Some(b',');
    }
    at
}
