//! The SQLite and PostgreSQL migrations are one schema: the same files, the
//! same statements, differing only in the allowed type spellings.

use std::collections::BTreeMap;
use std::path::Path;

/// Type spellings that may differ: each backend's own spelling of a type,
/// mapped to one canonical form (so BYTEA on SQLite or BLOB on PostgreSQL
/// still counts as a difference).
const SQLITE_SPELLINGS: &[(&str, &str)] = &[("BLOB", "BYTES")];
const POSTGRES_SPELLINGS: &[(&str, &str)] = &[("BYTEA", "BYTES")];

fn migrations(backend: &str) -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name")
            .to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        files.insert(name, text);
    }
    files
}

/// The statements of a migration: comments dropped, whitespace collapsed,
/// the allowed spellings made canonical (outside string literals only).
fn statements(sql: &str, spellings: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let code = match line.find("--") {
            Some(at) if !in_string(&line[..at]) => &line[..at],
            _ => line,
        };
        current.push(' ');
        current.push_str(code);
    }
    for statement in split_statements(&current) {
        let words: Vec<String> = tokens(&statement)
            .into_iter()
            .map(|token| {
                spellings
                    .iter()
                    .find(|(spelling, _)| token.eq_ignore_ascii_case(spelling))
                    .map_or(token.clone(), |(_, canonical)| canonical.to_string())
            })
            .collect();
        if !words.is_empty() {
            out.push(words.join(" "));
        }
    }
    out
}

fn in_string(prefix: &str) -> bool {
    prefix.matches('\'').count() % 2 == 1
}

/// Split on `;` outside string literals.
fn split_statements(sql: &str) -> Vec<String> {
    let (mut parts, mut current, mut quoted) = (Vec::new(), String::new(), false);
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// Words, punctuation and string literals, in order.
fn tokens(statement: &str) -> Vec<String> {
    let (mut out, mut word, mut quoted) = (Vec::new(), String::new(), false);
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(std::mem::take(word));
        }
    };
    for c in statement.chars() {
        if quoted {
            word.push(c);
            if c == '\'' {
                quoted = false;
                flush(&mut word, &mut out);
            }
        } else if c == '\'' {
            flush(&mut word, &mut out);
            word.push(c);
            quoted = true;
        } else if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

/// What differs between two sets of migrations (empty: equal).
fn differences(
    sqlite: &BTreeMap<String, String>,
    postgres: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for name in sqlite.keys().filter(|n| !postgres.contains_key(*n)) {
        out.push(format!("{name}: only in sqlite/"));
    }
    for name in postgres.keys().filter(|n| !sqlite.contains_key(*n)) {
        out.push(format!("{name}: only in postgres/"));
    }
    for (name, lite) in sqlite {
        let Some(pg) = postgres.get(name) else {
            continue;
        };
        let (lite, pg) = (
            statements(lite, SQLITE_SPELLINGS),
            statements(pg, POSTGRES_SPELLINGS),
        );
        if lite.len() != pg.len() {
            out.push(format!(
                "{name}: {} statements on SQLite, {} on PostgreSQL",
                lite.len(),
                pg.len()
            ));
        }
        for (i, (a, b)) in lite.iter().zip(&pg).enumerate() {
            if a != b {
                out.push(format!(
                    "{name}, statement {}:\n  sqlite:   {a}\n  postgres: {b}",
                    i + 1
                ));
            }
        }
    }
    out
}

#[test]
fn sqlite_and_postgres_migrations_differ_only_in_allowed_type_spellings() {
    let (sqlite, postgres) = (migrations("sqlite"), migrations("postgres"));
    assert!(sqlite.len() >= 10, "migrations found: {:?}", sqlite.keys());
    let differences = differences(&sqlite, &postgres);
    assert!(
        differences.is_empty(),
        "the migrations differ:\n{}",
        differences.join("\n")
    );
}

/// The comparison itself catches what it must (and only that).
#[test]
fn the_comparison_sees_a_column_a_file_and_a_type_but_not_comments_or_blob_spelling() {
    let one = |name: &str, sql: &str| BTreeMap::from([(name.to_string(), sql.to_string())]);
    let base = "-- SQLite\nCREATE TABLE t (id TEXT PRIMARY KEY, sealed BLOB NOT NULL);\n";
    let same = "-- PostgreSQL, keep in step\nCREATE TABLE t (\n  id TEXT PRIMARY KEY,\n  sealed BYTEA NOT NULL\n);";
    assert!(differences(&one("0001.sql", base), &one("0001.sql", same)).is_empty());
    let extra_column = "CREATE TABLE t (id TEXT PRIMARY KEY, sealed BYTEA NOT NULL, extra BIGINT);";
    assert_eq!(
        differences(&one("0001.sql", base), &one("0001.sql", extra_column)).len(),
        1
    );
    let other_type = "CREATE TABLE t (id BIGINT PRIMARY KEY, sealed BYTEA NOT NULL);";
    assert_eq!(
        differences(&one("0001.sql", base), &one("0001.sql", other_type)).len(),
        1
    );
    let literal = "INSERT INTO t VALUES ('BLOB', 'x -- y');";
    assert_eq!(
        differences(
            &one("0001.sql", literal),
            &one("0001.sql", "INSERT INTO t VALUES ('BYTEA', 'x -- y');")
        )
        .len(),
        1,
        "a spelling inside a string is data, not a type"
    );
    let wrong_spelling = "CREATE TABLE t (id TEXT PRIMARY KEY, sealed BLOB NOT NULL);";
    assert_eq!(
        differences(&one("0001.sql", base), &one("0001.sql", wrong_spelling)).len(),
        1,
        "BLOB is SQLite's spelling, not PostgreSQL's"
    );
    assert_eq!(
        differences(&one("0001.sql", base), &one("0002.sql", base)).len(),
        2
    );
}
