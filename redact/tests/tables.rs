//! Secrets in tables: the cells under a header that names a password, secret, token or key
//! are replaced, in every table format an agent reads, wherever the table sits in a request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{engine, redacted};

/// The cells of `column` in a redacted table (split the same simple way the table was built).
fn column(table: &str, delimiter: char, column: usize) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .map(|row| {
            row.split(delimiter)
                .nth(column)
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect()
}

/// Asserts the engine finds nothing in any of `texts`.
fn assert_quiet(engine: &airlock_redact::Redactor, texts: &[&str]) {
    for text in texts {
        let findings = engine.redact(text.as_bytes()).findings().len();
        assert_eq!(findings, 0, "{text}");
    }
}

#[test]
fn password_manager_exports_lose_every_password_and_totp_seed() {
    let engine = engine();
    // LastPass: url,username,password,totp,...; a row may leave the TOTP seed empty.
    let lastpass = [
        "url,username,password,totp,extra,name,grouping,fav",
        "https://bank.example,bob,Bank#Pass2024,,,Bank,,0",
        "https://mail.example,bob@mail.example,M4ilSecret!,JBSWY3DPEHPK3PXP,,Mail,,0",
    ]
    .join("\n");
    let out = redacted(&engine, &lastpass);
    assert_eq!(out.lines().next(), lastpass.lines().next(), "header kept");
    for cell in column(&out, ',', 2)
        .iter()
        .chain(&column(&out, ',', 3)[1..])
    {
        assert!(
            cell.starts_with("SECRET_REF(generic.secret_column."),
            "{out}"
        );
    }
    assert_eq!(
        column(&out, ',', 0),
        ["https://bank.example", "https://mail.example"]
    );
    assert_eq!(column(&out, ',', 1), ["bob", "bob@mail.example"]);

    // KeePass: every cell quoted, names with spaces, a password with spaces in it.
    let keepass = [
        r#""Account","Login Name","Password","Web Site","Comments""#,
        r#""Router","admin","R0uter pass 22","http://192.168.1.1","""#,
    ]
    .join("\n");
    let out = redacted(&engine, &keepass);
    assert!(!out.contains("R0uter"), "{out}");
    assert!(out.contains(r#""admin","SECRET_REF("#), "{out}");
    assert!(out.contains(r#")","http://192.168.1.1","""#), "{out}");
}

#[test]
fn markdown_psql_tab_separated_and_aligned_tables_are_read() {
    let engine = engine();
    let tables = [
        // Markdown, with its rule row and bold names.
        "| service | user | **Password** |\n|---|:---:|---|\n| mysql | root | Tr0ub4dor&3xK9pq |\n| redis | default | R3disPw55 |\n",
        // psql output: the rule row is `-` and `+`, a row count follows the table.
        " id | username | db_password \n----+----------+-------------\n  1 | bob      | Tr0ub4dor&3xK9pq\n  2 | al       | R3disPw55\n(2 rows)\n",
        "host\tuser\tpassword\ndb1\troot\tTr0ub4dor&3xK9pq\ndb2\troot\tR3disPw55\n",
        "NAME      USER     API_KEY\nprod-db   admin    Tr0ub4dor&3xK9pq\nstage-db  admin    R3disPw55\n",
    ];
    for table in tables {
        let out = redacted(&engine, table);
        assert!(
            !out.contains("Tr0ub4dor") && !out.contains("R3disPw55"),
            "{out}"
        );
        assert_eq!(out.matches("SECRET_REF(").count(), 2, "{out}");
        assert_eq!(
            out.lines().next(),
            table.lines().next(),
            "header kept: {out}"
        );
    }
}

#[test]
fn tables_inside_json_strings_are_read_to_their_last_row() {
    let engine = engine();
    // A tool result with no trailing newline: the last row ends at the string's quote.
    let csv =
        "url,username,password\nhttps://a.example,bob,Nest3dPw!x\nhttps://b.example,al,Last0neNoNL";
    let body = serde_json::json!({ "messages": [{ "role": "tool", "content": csv }] }).to_string();
    let out = redacted(&engine, &body);
    assert!(
        !out.contains("Nest3dPw") && !out.contains("Last0neNoNL"),
        "{out}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let content = parsed["messages"][0]["content"].as_str().unwrap();
    assert_eq!(column(content, ',', 1), ["bob", "al"]);

    // The same file written by a tool call: a JSON string inside a JSON string.
    let arguments = serde_json::json!({ "path": "creds.csv", "content": csv }).to_string();
    let body = serde_json::json!({ "tool_calls": [{ "function": { "arguments": arguments } }] })
        .to_string();
    let out = redacted(&engine, &body);
    assert!(
        !out.contains("Nest3dPw") && !out.contains("Last0neNoNL"),
        "{out}"
    );
    let outer: serde_json::Value = serde_json::from_str(&out).unwrap();
    let inner: serde_json::Value = serde_json::from_str(
        outer["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        column(inner["content"].as_str().unwrap(), ',', 1),
        ["bob", "al"]
    );

    // Quoted cells in a JSON string: the CSV quotes are escaped there.
    let keepass = "\"Account\",\"Password\"\n\"Router\",\"R0uter pass 22\"";
    let body = serde_json::json!({ "content": keepass }).to_string();
    let out = redacted(&engine, &body);
    assert!(!out.contains("R0uter"), "{out}");
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
}

#[test]
fn a_table_ends_where_its_rows_stop_matching_the_header() {
    let engine = engine();
    let text = "host,password\ndb1,Tr0ub4dor&3xK9pq\n\nNotes follow, written later\nhost,comment\n";
    let out = redacted(&engine, text);
    assert_eq!(out.matches("SECRET_REF(").count(), 1, "{out}");
    assert!(out.contains("\nNotes follow, written later\n"), "{out}");
    // Written by hand, a space after each comma: a made-up value is still read.
    let out = redacted(&engine, "user, password\nbob, Summer2024!\n");
    assert!(
        out.starts_with("user, password\nbob, SECRET_REF(generic.secret_column."),
        "{out}"
    );
}

#[test]
fn headers_that_only_mention_a_secret_open_no_table() {
    let engine = engine();
    let benign = [
        // Prose lists and code.
        "The form asks for email, password\nIf you forget it, click reset\nThen, click login\n",
        "    return username, password\n    x, y\n",
        "Use the password.  Then log in.\nIt is taped below.  Keep it safe.\n",
        "username, password\nNext, click\n",
        "fn login(user: &str, password: &str) -> bool {\n    check(user, password)\n}\n",
        // Columns whose names contain a secret word without naming a secret.
        "| token | pos |\n|---|---|\n| the | DET |\n| cat | NOUN |\n",
        "test,pass\nlogin,yes\nsignup,no\n",
        "model,max_tokens,input_tokens\ngpt-4o,4096,1200\n",
        "user,password_hint,password_changed\nbob,first pet,2026-01-02\n",
        // Masks and placeholders under a real name.
        "host,password\ndb1,********\ndb2,${DB_PASSWORD}\ndb3,<set me>\ndb4,n/a\n",
    ];
    assert_quiet(&engine, &benign);
}

#[test]
fn sql_inserts_pg_dump_copies_and_spreadsheet_arrays_are_read_by_column() {
    let engine = engine();
    let insert = "INSERT INTO users (id, email, password) VALUES (1, 'bob@x.io', 'Summer2024!'), (2, 'al@x.io', 'Autumn''s2025'), (3, 'c@x.io', NULL);";
    let out = redacted(&engine, insert);
    assert!(
        !out.contains("Summer2024") && !out.contains("Autumn"),
        "{out}"
    );
    assert!(out.contains("(1, 'bob@x.io', 'SECRET_REF("), "{out}");
    assert!(out.ends_with("(3, 'c@x.io', NULL);"), "{out}");

    // MySQL quotes names with backticks; a call in a row (NOW()) is one cell.
    let mysql =
        "INSERT INTO `accounts` (`id`,`created`,`api_key`) VALUES (7,NOW(),'ak_9f8e7d6c5b4a3x');";
    let out = redacted(&engine, mysql);
    assert!(out.contains("(7,NOW(),'SECRET_REF("), "{out}");

    // pg_dump: the header in COPY, tab-separated rows to `\.`.
    let copy = "COPY public.users (id, email, password) FROM stdin;\n1\tbob@x.io\tSummer2024!\n2\tal@x.io\tAutumn2025\n\\.\n";
    let out = redacted(&engine, copy);
    assert_eq!(out.matches("SECRET_REF(").count(), 2, "{out}");
    assert!(out.contains("\n1\tbob@x.io\tSECRET_REF("), "{out}");

    // A spreadsheet API's values, as a tool result (a JSON text inside a JSON string).
    let sheet = serde_json::json!({ "values": [
        ["Site", "Username", "Password"],
        ["bank", "bob", "Bank#Pass2024"],
        ["mail", "bob", "M4ilSecret!"],
    ]})
    .to_string();
    let body =
        serde_json::json!({ "messages": [{ "role": "tool", "content": sheet }] }).to_string();
    let out = redacted(&engine, &body);
    assert!(
        !out.contains("Bank#Pass") && !out.contains("M4ilSecret"),
        "{out}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sheet: serde_json::Value =
        serde_json::from_str(parsed["messages"][0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(sheet["values"][1][1], "bob");
}

#[test]
fn argument_lists_and_inserts_without_rows_open_no_table() {
    let engine = engine();
    let benign = [
        "def login(username, password): pass\nlogin(user, password)\nfoo(a, b)\n",
        "INSERT INTO users (id, password) SELECT id, crypt('x') FROM staging;",
        r#"{"required": ["username", "password"], "type": "object"}"#,
        r#"[["user", "password"], "misc"]"#,
    ];
    assert_quiet(&engine, &benign);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever the other cells hold (delimiters, quotes, backslashes, line breaks), a
    /// CSV table's password cells are replaced, raw and inside a JSON string; the JSON stays
    /// valid and a second pass changes nothing.
    #[test]
    fn every_password_cell_of_a_csv_is_replaced(
        rows in proptest::collection::vec(
            (r#"[a-z0-9 ,;"'\\|\t\n]{0,12}"#, "[A-Za-z]{4}[0-9]{4}[!#%]{1,2}[A-Za-z0-9]{2,8}"),
            1..8,
        ),
        trailing_newline in proptest::bool::ANY,
    ) {
        static ENGINE: std::sync::OnceLock<airlock_redact::Redactor> = std::sync::OnceLock::new();
        let engine = ENGINE.get_or_init(engine);
        let quote = |cell: &str| format!("\"{}\"", cell.replace('"', "\"\""));
        let mut csv = String::from("note,password,site");
        for (note, password) in &rows {
            csv.push('\n');
            csv.push_str(&format!("{},{password},example.org", quote(note)));
        }
        if trailing_newline {
            csv.push('\n');
        }
        let body = serde_json::json!({ "messages": [{ "role": "tool", "content": csv }] })
            .to_string();
        for input in [csv.as_str(), body.as_str()] {
            let out = redacted(engine, input);
            for (_, password) in &rows {
                proptest::prop_assert!(!out.contains(password.as_str()), "{out}");
            }
            proptest::prop_assert_eq!(redacted(engine, &out), out.clone());
        }
        let out = redacted(engine, &body);
        proptest::prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "{out}");
    }
}
