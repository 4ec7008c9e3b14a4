//! airlock's token usage store.
//!
//! This crate owns `home/usage.db`: token counts per hour, agent, upstream and model, added
//! to as responses finish and read back by `airlock usage`. It holds counts and names only,
//! never request or response content. SQLite in WAL mode; each record is one upsert.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection};

/// What went wrong with the usage store.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// SQLite refused an operation.
    #[error("usage database: {0}")]
    Database(#[from] rusqlite::Error),
}

/// Counts for one agent, upstream and model: what one flush adds to an hour (`at` is when the
/// responses finished), or an hour's totals as [`UsageStore::since`] reads them (`at` is the
/// start of the hour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When the responses finished; the start of the hour in what is read back.
    pub at: SystemTime,
    /// Who sent the requests.
    pub agent: String,
    /// Which upstream answered.
    pub upstream: String,
    /// The model the provider reported.
    pub model: String,
    /// How many responses these counts add up.
    pub requests: u64,
    /// Prompt tokens at the normal rate.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_creation_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cache_read_tokens: u64,
}

impl Record {
    /// No responses yet for `agent`, `upstream` and `model`, at `at`.
    pub fn empty(at: SystemTime, agent: String, upstream: String, model: String) -> Self {
        Record {
            at,
            agent,
            upstream,
            model,
            requests: 0,
            input_tokens: 0,
            output_tokens: 0,
            cache_creation_tokens: 0,
            cache_read_tokens: 0,
        }
    }
}

/// The open store.
pub struct UsageStore {
    conn: Connection,
}

impl UsageStore {
    /// Opens (creating) `home/usage.db`.
    ///
    /// # Errors
    /// [`UsageError::Database`].
    pub fn open(home: &Path) -> Result<Self, UsageError> {
        let conn = Connection::open(home.join("usage.db"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS usage (
                 hour INTEGER NOT NULL,
                 agent TEXT NOT NULL,
                 upstream TEXT NOT NULL,
                 model TEXT NOT NULL,
                 requests INTEGER NOT NULL,
                 input_tokens INTEGER NOT NULL,
                 output_tokens INTEGER NOT NULL,
                 cache_creation_tokens INTEGER NOT NULL,
                 cache_read_tokens INTEGER NOT NULL,
                 PRIMARY KEY (hour, agent, upstream, model)
             ) STRICT;",
        )?;
        Ok(UsageStore { conn })
    }

    /// Adds responses' counts, each to its hour, in one transaction (the proxy's writer batches what
    /// arrived while it was busy).
    ///
    /// # Errors
    /// [`UsageError::Database`]; then none of them is recorded.
    pub fn record_all(&mut self, records: &[Record]) -> Result<(), UsageError> {
        let tx = self.conn.transaction()?;
        for record in records {
            insert(&tx, record)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Adds `record` to its hour's row.
fn insert(conn: &Connection, record: &Record) -> Result<(), UsageError> {
    let secs = record
        .at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let hour = i64::try_from(secs - secs % 3600).unwrap_or(i64::MAX);
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    conn.execute(
        "INSERT INTO usage VALUES (?1, ?2, ?3, ?4, ?9, ?5, ?6, ?7, ?8)
             ON CONFLICT (hour, agent, upstream, model) DO UPDATE SET
                 requests = requests + excluded.requests,
                 input_tokens = input_tokens + excluded.input_tokens,
                 output_tokens = output_tokens + excluded.output_tokens,
                 cache_creation_tokens = cache_creation_tokens + excluded.cache_creation_tokens,
                 cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens",
        params![
            hour,
            record.agent,
            record.upstream,
            record.model,
            n(record.input_tokens),
            n(record.output_tokens),
            n(record.cache_creation_tokens),
            n(record.cache_read_tokens),
            n(record.requests)
        ],
    )?;
    Ok(())
}

impl UsageStore {
    /// Every hour's totals from `since` on, oldest first.
    ///
    /// # Errors
    /// [`UsageError::Database`].
    pub fn since(&self, since: SystemTime) -> Result<Vec<Record>, UsageError> {
        let secs = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let from = i64::try_from(secs - secs % 3600).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare(
            "SELECT hour, agent, upstream, model, requests, input_tokens, output_tokens,
                    cache_creation_tokens, cache_read_tokens
             FROM usage WHERE hour >= ?1 ORDER BY hour, agent, upstream, model",
        )?;
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        let rows = stmt.query_map(params![from], |r| {
            Ok(Record {
                at: UNIX_EPOCH + Duration::from_secs(u(r.get(0)?)),
                agent: r.get(1)?,
                upstream: r.get(2)?,
                model: r.get(3)?,
                requests: u(r.get(4)?),
                input_tokens: u(r.get(5)?),
                output_tokens: u(r.get(6)?),
                cache_creation_tokens: u(r.get(7)?),
                cache_read_tokens: u(r.get(8)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_add_up_per_hour_agent_upstream_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = UsageStore::open(dir.path()).unwrap();
        let base = UNIX_EPOCH + Duration::from_secs(1_800_000_000); // a whole hour
        let record = |minute: u64, agent: &str, model: &str, input: u64| Record {
            at: base + Duration::from_secs(minute * 60),
            agent: agent.into(),
            upstream: "anthropic".into(),
            model: model.into(),
            requests: 1,
            input_tokens: input,
            output_tokens: 10,
            cache_creation_tokens: 1,
            cache_read_tokens: 2,
        };
        store
            .record_all(&[record(1, "main", "claude", 100)])
            .unwrap();
        store
            .record_all(&[record(59, "main", "claude", 50)])
            .unwrap();
        store
            .record_all(&[record(61, "main", "claude", 7)])
            .unwrap();
        store.record_all(&[record(5, "ops", "claude", 1)]).unwrap();
        // A pre-summed record counts as the responses it stands for.
        let mut summed = record(6, "ops", "claude", 2);
        summed.requests = 3;
        store.record_all(&[summed]).unwrap();
        let rows = store.since(base).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (
                rows[0].agent.as_str(),
                rows[0].requests,
                rows[0].input_tokens,
                rows[0].output_tokens
            ),
            ("main", 2, 150, 20)
        );
        assert_eq!(
            (rows[0].cache_creation_tokens, rows[0].cache_read_tokens),
            (2, 4)
        );
        assert_eq!(
            (
                rows[1].agent.as_str(),
                rows[1].requests,
                rows[1].input_tokens
            ),
            ("ops", 4, 3)
        );
        assert_eq!(rows[2].at, base + Duration::from_secs(3600));
        assert_eq!(
            store.since(base + Duration::from_secs(3600)).unwrap().len(),
            1
        );
    }
}
