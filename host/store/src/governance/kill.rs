//! Kill-switches: per agent, and `*` for every agent.

use crate::channels::ANY;
use crate::db::Store;
use crate::input::{Change, InputError, check_name};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

/// What a kill-switch event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KillOp {
    /// The agent (or every agent) was stopped.
    Kill,
    /// The kill was lifted.
    Revive,
}

impl KillOp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Kill => "kill",
            Self::Revive => "revive",
        }
    }
}

/// One kill or revive, as recorded. [`Store::kill`] and [`Store::revive`]
/// return one for the audit log; [`Store::is_killed`] returns the kill in
/// force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillRecord {
    /// Its position in the kill-switch history (increasing).
    pub seq: i64,
    /// Kill or revive.
    pub op: KillOp,
    /// The agent, or `*` for every agent.
    pub agent: String,
    /// Who did it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When (milliseconds since the Unix epoch).
    pub at_ms: i64,
}

impl KillRecord {
    /// Whether this is the global switch (`*`, every agent).
    pub fn is_global(&self) -> bool {
        self.agent == ANY
    }
}

/// A kill-switch operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KillError {
    /// An agent name, actor or reason was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Revive of an agent that is not killed on its own, while every agent
    /// is killed.
    #[error(
        "agent `{agent}` has no kill-switch of its own; every agent is killed (`*`): revive `*` to lift it"
    )]
    KilledGlobally {
        /// The agent.
        agent: String,
    },
    /// Revive of an agent (or `*`) that is not killed.
    #[error("`{agent}` is not killed")]
    NotKilled {
        /// The agent, or `*`.
        agent: String,
    },
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

/// An agent name or `*`, lowercased like scopes.
fn agent_arg(agent: &str) -> Result<String, InputError> {
    let agent = agent.to_ascii_lowercase();
    if agent != ANY {
        check_name("agent", &agent)?;
    }
    Ok(agent)
}

const EVENT_COLUMNS: &str = "e.seq, e.op, e.agent, e.actor, e.reason, e.at_ms";

fn kill_row(r: &Row<'_>) -> rusqlite::Result<KillRecord> {
    let op: String = r.get(1)?;
    Ok(KillRecord {
        seq: r.get(0)?,
        op: if op == "revive" {
            KillOp::Revive
        } else {
            KillOp::Kill
        },
        agent: r.get(2)?,
        actor: r.get(3)?,
        reason: r.get(4)?,
        at_ms: r.get(5)?,
    })
}

fn record_in(
    conn: &Connection,
    op: KillOp,
    agent: &str,
    change: &Change<'_>,
) -> rusqlite::Result<KillRecord> {
    conn.execute(
        "INSERT INTO kill_events (agent, op, actor, reason, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            agent,
            op.as_str(),
            change.actor,
            change.reason,
            change.at_ms
        ],
    )?;
    Ok(KillRecord {
        seq: conn.last_insert_rowid(),
        op,
        agent: agent.to_string(),
        actor: change.actor.to_string(),
        reason: change.reason.to_string(),
        at_ms: change.at_ms,
    })
}

/// The kill in force for exactly `agent` (or `*`), if any.
fn switch_in(conn: &Connection, agent: &str) -> rusqlite::Result<Option<KillRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM kill_switches k JOIN kill_events e ON e.seq = k.event_seq
         WHERE k.agent = ?1"
    ))?
    .query_row([agent], kill_row)
    .optional()
}

impl Store {
    /// [`Governance::kill`](crate::Governance::kill) on this store.
    pub fn kill(&self, agent: &str, change: &Change<'_>) -> Result<KillRecord, KillError> {
        let agent = agent_arg(agent)?;
        change.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let record = record_in(&tx, KillOp::Kill, &agent, change)?;
        tx.execute(
            "INSERT INTO kill_switches (agent, event_seq) VALUES (?1, ?2)
             ON CONFLICT (agent) DO UPDATE SET event_seq = excluded.event_seq",
            params![agent, record.seq],
        )?;
        self.commit_recorded(tx, "kill", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Governance::revive`](crate::Governance::revive) on this store.
    pub fn revive(&self, agent: &str, change: &Change<'_>) -> Result<KillRecord, KillError> {
        let agent = agent_arg(agent)?;
        change.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if switch_in(&tx, &agent)?.is_none() {
            if agent != ANY && switch_in(&tx, ANY)?.is_some() {
                return Err(KillError::KilledGlobally { agent });
            }
            return Err(KillError::NotKilled { agent });
        }
        let record = record_in(&tx, KillOp::Revive, &agent, change)?;
        tx.execute("DELETE FROM kill_switches WHERE agent = ?1", [&agent])?;
        self.commit_recorded(tx, "revive", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Governance::is_killed`](crate::Governance::is_killed) on this store.
    pub fn is_killed(&self, agent: &str) -> Result<Option<KillRecord>, KillError> {
        let agent = agent_arg(agent)?;
        let conn = self.conn();
        // `*` sorts first: the global kill wins when both are set.
        let found = conn
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM kill_switches k JOIN kill_events e ON e.seq = k.event_seq
                 WHERE k.agent IN ('*', ?1) ORDER BY k.agent = '*' DESC LIMIT 1"
            ))?
            .query_row([&agent], kill_row)
            .optional()?;
        Ok(found)
    }

    /// [`Governance::kills`](crate::Governance::kills) on this store.
    pub fn kills(&self) -> Result<Vec<KillRecord>, KillError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM kill_switches k JOIN kill_events e ON e.seq = k.event_seq
             ORDER BY k.agent = '*' DESC, k.agent"
        ))?;
        let rows = stmt.query_map([], kill_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// [`Governance::kill_history`](crate::Governance::kill_history) on this store.
    pub fn kill_history(&self, agent: Option<&str>) -> Result<Vec<KillRecord>, KillError> {
        let agent = agent.map(agent_arg).transpose()?;
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM kill_events e WHERE (?1 IS NULL OR e.agent = ?1)
             ORDER BY e.seq"
        ))?;
        let rows = stmt.query_map([agent], kill_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

crate::db::from_backend!(KillError);
