//! Querying the audit log by run, action, agent, kind and time, backed by
//! indexes; and the index itself, derived from each entry's body when it
//! is appended (and, once, for the entries written before the index
//! existed). The index is not part of an entry's hash: it is a function of
//! the body, which is.

use super::{AuditError, AuditLog, Entry, row_entry};
use rusqlite::types::Value;

/// Which entries [`AuditLog::query`] returns: those matching every filter
/// given, in log order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Entries of this run.
    pub run_id: Option<String>,
    /// Entries concerning this action: the run that decided it, and its
    /// outcomes.
    pub action_id: Option<String>,
    /// Entries of this agent: its runs, kills and revivals.
    pub agent: Option<String>,
    /// Entries of these kinds (`run`, `outcome`, `kill`, ...); empty: any.
    pub kinds: Vec<String>,
    /// Entries at or after this time (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Entries before this time.
    pub until_ms: Option<i64>,
    /// Entries after this position.
    pub after_seq: u64,
    /// At most this many.
    pub limit: Option<u64>,
}

impl Query {
    /// Entries of one kind.
    pub fn kind(kind: &str) -> Self {
        Self {
            kinds: vec![kind.to_string()],
            ..Self::default()
        }
    }
}

/// The agent of an entry, by kind, as SQL over its JSON body.
const AGENT_OF: &str = "CASE kind
        WHEN 'run' THEN json_extract(body, '$.report.context.agent')
        WHEN 'kill' THEN json_extract(body, '$.agent')
        WHEN 'revive' THEN json_extract(body, '$.agent')
    END";

/// Index the entries from `first_seq` on: their agent, and the actions
/// they concern (a run's decisions, an outcome's action).
pub(crate) fn index_from(tx: &rusqlite::Transaction<'_>, first_seq: u64) -> rusqlite::Result<()> {
    let from = first_seq as i64;
    tx.execute(
        &format!("UPDATE audit SET agent = {AGENT_OF} WHERE seq >= ?1 AND kind IN ('run', 'kill', 'revive')"),
        [from],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO audit_actions (seq, action_id)
         SELECT a.seq, json_extract(d.value, '$.action.id')
         FROM audit a, json_each(a.body, '$.report.decisions') d
         WHERE a.seq >= ?1 AND a.kind = 'run' AND json_extract(d.value, '$.action.id') IS NOT NULL",
        [from],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO audit_actions (seq, action_id)
         SELECT seq, json_extract(body, '$.action') FROM audit
         WHERE seq >= ?1 AND kind = 'outcome' AND json_extract(body, '$.action') IS NOT NULL",
        [from],
    )?;
    Ok(())
}

/// The audit module's backfill: index every entry written before version
/// 2 added the index; sign the first tree head over a log written before
/// version 3 added them.
pub(crate) fn backfill(
    tx: &rusqlite::Transaction<'_>,
    found: i64,
    key: &super::HostKey,
) -> Result<(), AuditError> {
    if found == 1 {
        index_from(tx, 0)?;
    }
    if (1..3).contains(&found) {
        super::heads::sign_genesis(tx, key)?;
    }
    Ok(())
}

impl AuditLog {
    /// The entries matching `q`, in order.
    pub fn query(&self, q: &Query) -> Result<Vec<Entry>, AuditError> {
        let mut sql = String::from(
            "SELECT seq, at_ms, kind, run_id, body, prev, hash FROM audit WHERE seq > ?",
        );
        let mut params: Vec<Value> = vec![Value::Integer(q.after_seq as i64)];
        if let Some(run) = &q.run_id {
            sql.push_str(" AND run_id = ?");
            params.push(Value::Text(run.clone()));
        }
        if let Some(action) = &q.action_id {
            sql.push_str(" AND seq IN (SELECT seq FROM audit_actions WHERE action_id = ?)");
            params.push(Value::Text(action.clone()));
        }
        if let Some(agent) = &q.agent {
            sql.push_str(" AND agent = ?");
            params.push(Value::Text(agent.clone()));
        }
        if !q.kinds.is_empty() {
            sql.push_str(" AND kind IN (");
            sql.push_str(&vec!["?"; q.kinds.len()].join(", "));
            sql.push(')');
            params.extend(q.kinds.iter().cloned().map(Value::Text));
        }
        if let Some(from) = q.from_ms {
            sql.push_str(" AND at_ms >= ?");
            params.push(Value::Integer(from));
        }
        if let Some(until) = q.until_ms {
            sql.push_str(" AND at_ms < ?");
            params.push(Value::Integer(until));
        }
        sql.push_str(" ORDER BY seq");
        if let Some(limit) = q.limit {
            sql.push_str(" LIMIT ?");
            params.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        }
        let conn = self.store().conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), row_entry)?;
        rows.map(|r| r.map_err(AuditError::from).and_then(|e| e))
            .collect()
    }
}
