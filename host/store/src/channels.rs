//! Channels: named pointers (`staging`, `production`, or any name) from an
//! artifact name to one of its versions, per scope (agent × partition).

use crate::blobs::{self, BlobError, Hash};
use crate::db::{Schema, Store};
use crate::input::{Change, InputError, check_channel, check_name, parse_version};
use crate::registry::{self, ArtifactKind, RegistryError, version_col};
use crate::trust::{self, TrustError};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use semver::Version;
use serde::{Deserialize, Serialize};
use std::fmt;

pub(crate) static SCHEMA: Schema = Schema {
    module: "channels",
    migrations: &[r#"
        -- Every move ever made, append-only. `undo_seq` is the move whose
        -- target a default rollback returns to (the pointer stack).
        CREATE TABLE channel_moves (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            channel TEXT NOT NULL,
            name TEXT NOT NULL,
            scope_agent TEXT NOT NULL,
            scope_partition TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('promote', 'rollback')),
            from_version TEXT,
            from_hash TEXT,
            to_version TEXT NOT NULL,
            to_hash TEXT NOT NULL REFERENCES blobs (hash),
            undo_seq INTEGER REFERENCES channel_moves (seq),
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            FOREIGN KEY (name, to_version) REFERENCES artifacts (name, version)
        );
        CREATE INDEX channel_moves_by_scope
            ON channel_moves (channel, name, scope_agent, scope_partition, seq);
        CREATE INDEX channel_moves_to_hash ON channel_moves (to_hash);
        CREATE INDEX channel_moves_from_hash ON channel_moves (from_hash);
        -- The current pointer of each (channel, name, scope): the move that
        -- set it. One row update per move; nothing else changes.
        CREATE TABLE channel_pointers (
            channel TEXT NOT NULL,
            name TEXT NOT NULL,
            scope_agent TEXT NOT NULL,
            scope_partition TEXT NOT NULL,
            move_seq INTEGER NOT NULL REFERENCES channel_moves (seq),
            PRIMARY KEY (channel, name, scope_agent, scope_partition)
        );
    "#],
    backfill: None,
};

/// "Any agent" or "any partition".
pub const ANY: &str = "*";

/// Where a pointer applies: an agent and a partition, each a name or `*`.
/// Displays as `agent/partition`.
///
/// # Scopes and resolution order
///
/// A pointer lives at a [`Scope`]: an agent (or `*`, any agent) and a
/// partition such as a region (or `*`, any partition). Resolving a channel
/// for a concrete agent `a` in partition `p` takes the first pointer found
/// in this order, most specific first:
///
/// 1. `a/p` — this agent in this partition
/// 2. `a/*` — this agent anywhere
/// 3. `*/p` — any agent in this partition
/// 4. `*/*` — the channel's default
///
/// An agent pin beats a partition pin: pinning one agent is the narrower,
/// more deliberate decision (a canary, a hold-back), while a partition rule
/// covers many agents.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scope {
    /// An agent name, or `*` for any agent.
    pub agent: String,
    /// A partition name (a region such as `eu`), or `*` for any.
    pub partition: String,
}

impl Default for Scope {
    fn default() -> Self {
        Self::any()
    }
}

impl Scope {
    /// `*/*`: every agent, every partition.
    pub fn any() -> Self {
        Self {
            agent: ANY.into(),
            partition: ANY.into(),
        }
    }

    /// A scope; each part is `*` or a name (letters, digits, `-`, `.`;
    /// 1–64 characters). Scopes are case-insensitive: `EU` and `eu` are the
    /// same partition (stored lowercase).
    pub fn new(agent: &str, partition: &str) -> Result<Self, InputError> {
        let scope = Self {
            agent: agent.to_ascii_lowercase(),
            partition: partition.to_ascii_lowercase(),
        };
        scope.check()?;
        Ok(scope)
    }

    pub(crate) fn check(&self) -> Result<(), InputError> {
        if self.agent != ANY {
            check_name("agent", &self.agent)?;
        }
        if self.partition != ANY {
            check_name("partition", &self.partition)?;
        }
        Ok(())
    }

    /// The scopes to try when resolving for this one, most specific first
    /// (see [`Scope`]), without repeats.
    pub fn fallbacks(&self) -> Vec<Scope> {
        let mut out: Vec<Scope> = Vec::with_capacity(4);
        for (agent, partition) in [
            (self.agent.as_str(), self.partition.as_str()),
            (self.agent.as_str(), ANY),
            (ANY, self.partition.as_str()),
            (ANY, ANY),
        ] {
            let s = Scope {
                agent: agent.into(),
                partition: partition.into(),
            };
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.agent, self.partition)
    }
}

/// A pointer's target: a version and the hash it is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The version.
    pub version: Version,
    /// The blake3 of its bytes.
    #[serde(rename = "blake3")]
    pub hash: Hash,
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.version, self.hash)
    }
}

/// What kind of move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MoveOp {
    /// Forward to a newer version ([`Store::promote`]).
    Promote,
    /// Back to an earlier target ([`Store::rollback`]).
    Rollback,
}

impl MoveOp {
    fn as_str(self) -> &'static str {
        match self {
            Self::Promote => "promote",
            Self::Rollback => "rollback",
        }
    }
}

/// One pointer move, as recorded in the history. Every move returns one so
/// the caller can append it to the audit log.
///
/// # Moves
///
/// Every move — [`Store::promote`] or [`Store::rollback`] — runs in one
/// `IMMEDIATE` transaction that appends a row to the move history and
/// repoints the scope's pointer at it, so a crash leaves the pointer on the
/// old target or the new one, and every target's blob is held by a foreign
/// key (it cannot be missing). A move never copies, rebuilds or rewrites a
/// blob: rollback is a pointer move, O(1) in writes. Both promote and
/// rollback re-hash the target's bytes before moving (read-only), so a
/// channel is never moved onto damaged content.
///
/// Each scope's pointers form a stack: promote pushes; a default rollback
/// pops back to the target before the current one (repeatable: A, B, C
/// promoted, two rollbacks give B then A). A rollback to an explicit version
/// or hash goes to a target the scope has held before and restores the
/// stack as it was then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelMove {
    /// Its position in the store's move history (increasing).
    pub seq: i64,
    /// Promote or rollback.
    pub op: MoveOp,
    /// The channel.
    pub channel: String,
    /// The artifact name.
    pub name: String,
    /// The artifact's kind.
    pub kind: ArtifactKind,
    /// The scope whose pointer moved.
    pub scope: Scope,
    /// The previous target (None for the scope's first move).
    pub from: Option<Pin>,
    /// The new target.
    pub to: Pin,
    /// Who moved it.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When (milliseconds since the Unix epoch).
    pub at_ms: i64,
}

/// A channel's current pointer for one name and scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPointer {
    /// The channel.
    pub channel: String,
    /// The artifact name.
    pub name: String,
    /// The artifact's kind.
    pub kind: ArtifactKind,
    /// The scope.
    pub scope: Scope,
    /// The target.
    pub to: Pin,
    /// The move that set it.
    pub seq: i64,
    /// When that move happened.
    pub since_ms: i64,
}

/// Where a rollback goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollbackTo {
    /// The target before the current one.
    Previous,
    /// A version the scope has held before.
    Version(Version),
    /// A hash the scope has held before.
    Hash(Hash),
}

impl RollbackTo {
    /// Parse a `--to` argument: 64 hex characters are a hash, anything else
    /// must be a version.
    pub fn parse(text: &str) -> Result<Self, InputError> {
        if Hash::is_hash_text(text) {
            let hash = text.parse().map_err(|e: blobs::ParseHashError| {
                InputError::new("rollback target", text, e.to_string())
            })?;
            return Ok(Self::Hash(hash));
        }
        Ok(Self::Version(parse_version(text)?))
    }
}

impl fmt::Display for RollbackTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Previous => f.write_str("the previous target"),
            Self::Version(v) => write!(f, "version {v}"),
            Self::Hash(h) => write!(f, "blake3 {h}"),
        }
    }
}

/// A promote, rollback or history query failed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// A channel, scope, actor, reason or version was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Promote would move the pointer to an older version.
    #[error(
        "`{name}@{requested}` is older than `{name}@{current}`, which channel `{channel}` holds for scope `{scope}`; use rollback to move a channel back"
    )]
    Downgrade {
        /// The channel.
        channel: String,
        /// The artifact name.
        name: String,
        /// The scope (`agent/partition`).
        scope: String,
        /// The version it holds.
        current: String,
        /// The older version asked for.
        requested: String,
    },
    /// The pointer already has this target.
    #[error("channel `{channel}` already points `{name}` at {version} for scope `{scope}`")]
    AlreadyOn {
        /// The channel.
        channel: String,
        /// The artifact name.
        name: String,
        /// The scope (`agent/partition`).
        scope: String,
        /// The version it holds.
        version: String,
    },
    /// Rollback of a pointer that was never set.
    #[error("channel `{channel}` has no pointer for `{name}` at scope `{scope}`; promote first")]
    NoPointer {
        /// The channel.
        channel: String,
        /// The artifact name.
        name: String,
        /// The scope (`agent/partition`).
        scope: String,
    },
    /// A default rollback with nothing before the current target.
    #[error("channel `{channel}` has no earlier target for `{name}` at scope `{scope}`")]
    NothingToRollBack {
        /// The channel.
        channel: String,
        /// The artifact name.
        name: String,
        /// The scope (`agent/partition`).
        scope: String,
    },
    /// An explicit rollback target the scope never held.
    #[error(
        "channel `{channel}` never pointed `{name}` at {target} for scope `{scope}`; rollback only returns to earlier targets (publish the old bytes as a new version to promote them)"
    )]
    NeverHeld {
        /// The channel.
        channel: String,
        /// The artifact name.
        name: String,
        /// The scope (`agent/partition`).
        scope: String,
        /// The target asked for.
        target: String,
    },
    /// The target does not meet the channel's trust policy.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The artifact does not exist.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The target's blob is missing or corrupt.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

/// The parts of a move row a pointer operation needs.
struct MoveRow {
    seq: i64,
    to: Pin,
    undo: Option<i64>,
}

fn move_row(r: &Row<'_>) -> rusqlite::Result<MoveRow> {
    Ok(MoveRow {
        seq: r.get(0)?,
        to: Pin {
            version: version_col(r, 1)?,
            hash: r.get(2)?,
        },
        undo: r.get(3)?,
    })
}

/// The move that set the exact pointer of (channel, name, scope), if any.
fn pointer_in(
    conn: &Connection,
    channel: &str,
    name: &str,
    scope: &Scope,
) -> rusqlite::Result<Option<MoveRow>> {
    conn.query_row(
        "SELECT m.seq, m.to_version, m.to_hash, m.undo_seq
         FROM channel_pointers p JOIN channel_moves m ON m.seq = p.move_seq
         WHERE p.channel = ?1 AND p.name = ?2 AND p.scope_agent = ?3 AND p.scope_partition = ?4",
        params![channel, name, scope.agent, scope.partition],
        move_row,
    )
    .optional()
}

/// The version the channel resolves to for `name` at `scope`, trying the
/// scope's fallbacks in order; with the scope that matched.
pub(crate) fn resolve_in(
    conn: &Connection,
    channel: &str,
    name: &str,
    scope: &Scope,
) -> rusqlite::Result<Option<(Scope, Version)>> {
    for candidate in scope.fallbacks() {
        if let Some(row) = pointer_in(conn, channel, name, &candidate)? {
            return Ok(Some((candidate, row.to.version)));
        }
    }
    Ok(None)
}

const MOVE_COLUMNS: &str =
    "m.seq, m.op, m.channel, m.name, a.kind, m.scope_agent, m.scope_partition,
     m.from_version, m.from_hash, m.to_version, m.to_hash, m.actor, m.reason, m.at_ms";

fn channel_move(r: &Row<'_>) -> rusqlite::Result<ChannelMove> {
    let op: String = r.get(1)?;
    let from_version: Option<String> = r.get(7)?;
    let from_hash: Option<Hash> = r.get(8)?;
    let from = match (from_version, from_hash) {
        (Some(v), Some(hash)) => Some(Pin {
            version: Version::parse(&v).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    7,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            hash,
        }),
        _ => None,
    };
    Ok(ChannelMove {
        seq: r.get(0)?,
        op: if op == "rollback" {
            MoveOp::Rollback
        } else {
            MoveOp::Promote
        },
        channel: r.get(2)?,
        name: r.get(3)?,
        kind: r.get(4)?,
        scope: Scope {
            agent: r.get(5)?,
            partition: r.get(6)?,
        },
        from,
        to: Pin {
            version: version_col(r, 9)?,
            hash: r.get(10)?,
        },
        actor: r.get(11)?,
        reason: r.get(12)?,
        at_ms: r.get(13)?,
    })
}

/// A move about to be recorded.
struct NewMove<'a> {
    channel: &'a str,
    name: &'a str,
    scope: &'a Scope,
    op: MoveOp,
    from: Option<&'a Pin>,
    to: &'a Pin,
    undo: Option<i64>,
}

/// Append a move and repoint the scope at it (in the caller's transaction).
fn record_in(
    conn: &Connection,
    m: &NewMove<'_>,
    change: &Change<'_>,
) -> Result<ChannelMove, ChannelError> {
    conn.execute(
        "INSERT INTO channel_moves (channel, name, scope_agent, scope_partition, op,
             from_version, from_hash, to_version, to_hash, undo_seq, actor, reason, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            m.channel,
            m.name,
            m.scope.agent,
            m.scope.partition,
            m.op.as_str(),
            m.from.map(|p| p.version.to_string()),
            m.from.map(|p| p.hash),
            m.to.version.to_string(),
            m.to.hash,
            m.undo,
            change.actor,
            change.reason,
            change.at_ms
        ],
    )?;
    let seq = conn.last_insert_rowid();
    conn.execute(
        "INSERT INTO channel_pointers (channel, name, scope_agent, scope_partition, move_seq)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (channel, name, scope_agent, scope_partition) DO UPDATE SET move_seq = excluded.move_seq",
        params![m.channel, m.name, m.scope.agent, m.scope.partition, seq],
    )?;
    Ok(conn.query_row(
        &format!(
            "SELECT {MOVE_COLUMNS} FROM channel_moves m
             JOIN artifacts a ON a.name = m.name AND a.version = m.to_version
             WHERE m.seq = ?1"
        ),
        [seq],
        channel_move,
    )?)
}

/// The latest move by which (channel, name, scope) took a target of this
/// version or hash.
fn held_in(
    conn: &Connection,
    channel: &str,
    name: &str,
    scope: &Scope,
    version: Option<String>,
    hash: Option<Hash>,
) -> rusqlite::Result<Option<MoveRow>> {
    conn.query_row(
        "SELECT seq, to_version, to_hash, undo_seq FROM channel_moves
         WHERE channel = ?1 AND name = ?2 AND scope_agent = ?3 AND scope_partition = ?4
           AND (?5 IS NULL OR to_version = ?5) AND (?6 IS NULL OR to_hash = ?6)
         ORDER BY seq DESC LIMIT 1",
        params![channel, name, scope.agent, scope.partition, version, hash],
        move_row,
    )
    .optional()
}

fn check_move_input(
    channel: &str,
    name: &str,
    scope: &Scope,
    change: &Change<'_>,
) -> Result<(), InputError> {
    check_channel(channel)?;
    check_name("artifact name", name)?;
    scope.check()?;
    change.check()
}

impl Store {
    /// [`Registry::promote`](crate::Registry::promote) on this store.
    pub fn promote(
        &self,
        name: &str,
        version: &str,
        channel: &str,
        scope: &Scope,
        change: &Change<'_>,
    ) -> Result<ChannelMove, ChannelError> {
        check_move_input(channel, name, scope, change)?;
        let version = parse_version(version)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let artifact = registry::require_artifact_in(&tx, name, &version)?;
        let current = pointer_in(&tx, channel, name, scope)?;
        if let Some(cur) = &current {
            if cur.to.version == version {
                return Err(ChannelError::AlreadyOn {
                    channel: channel.into(),
                    name: name.into(),
                    scope: scope.to_string(),
                    version: version.to_string(),
                });
            }
            if version < cur.to.version {
                return Err(ChannelError::Downgrade {
                    channel: channel.into(),
                    name: name.into(),
                    scope: scope.to_string(),
                    current: cur.to.version.to_string(),
                    requested: version.to_string(),
                });
            }
        }
        trust::require_trusted_in(&tx, &artifact, channel)?;
        blobs::get_in(&tx, &artifact.id.hash)?;
        let to = Pin {
            version,
            hash: artifact.id.hash,
        };
        let record = record_in(
            &tx,
            &NewMove {
                channel,
                name,
                scope,
                op: MoveOp::Promote,
                from: current.as_ref().map(|c| &c.to),
                to: &to,
                undo: current.as_ref().map(|c| c.seq),
            },
            change,
        )?;
        self.commit_recorded(tx, "channel-move", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Registry::rollback`](crate::Registry::rollback) on this store.
    pub fn rollback(
        &self,
        channel: &str,
        name: &str,
        scope: &Scope,
        to: &RollbackTo,
        change: &Change<'_>,
    ) -> Result<ChannelMove, ChannelError> {
        check_move_input(channel, name, scope, change)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current =
            pointer_in(&tx, channel, name, scope)?.ok_or_else(|| ChannelError::NoPointer {
                channel: channel.into(),
                name: name.into(),
                scope: scope.to_string(),
            })?;
        let target = match to {
            RollbackTo::Previous => {
                let seq = current
                    .undo
                    .ok_or_else(|| ChannelError::NothingToRollBack {
                        channel: channel.into(),
                        name: name.into(),
                        scope: scope.to_string(),
                    })?;
                Some(tx.query_row(
                    "SELECT seq, to_version, to_hash, undo_seq FROM channel_moves WHERE seq = ?1",
                    [seq],
                    move_row,
                )?)
            }
            RollbackTo::Version(v) => {
                held_in(&tx, channel, name, scope, Some(v.to_string()), None)?
            }
            RollbackTo::Hash(h) => held_in(&tx, channel, name, scope, None, Some(*h))?,
        };
        let target = target.ok_or_else(|| ChannelError::NeverHeld {
            channel: channel.into(),
            name: name.into(),
            scope: scope.to_string(),
            target: to.to_string(),
        })?;
        if target.to.version == current.to.version {
            return Err(ChannelError::AlreadyOn {
                channel: channel.into(),
                name: name.into(),
                scope: scope.to_string(),
                version: target.to.version.to_string(),
            });
        }
        let artifact = registry::require_artifact_in(&tx, name, &target.to.version)?;
        trust::require_trusted_in(&tx, &artifact, channel)?;
        // Read-only: re-hash the target so an incident's rollback never lands
        // on damaged bytes (it is refused and another target can be chosen).
        blobs::get_in(&tx, &target.to.hash)?;
        let record = record_in(
            &tx,
            &NewMove {
                channel,
                name,
                scope,
                op: MoveOp::Rollback,
                from: Some(&current.to),
                to: &target.to,
                // Back in the target's state: its own undo target comes next.
                undo: target.undo,
            },
            change,
        )?;
        self.commit_recorded(tx, "channel-move", change.at_ms, &record)?;
        Ok(record)
    }

    /// [`Registry::history`](crate::Registry::history) on this store.
    pub fn history(
        &self,
        channel: &str,
        name: Option<&str>,
    ) -> Result<Vec<ChannelMove>, ChannelError> {
        check_channel(channel)?;
        if let Some(name) = name {
            check_name("artifact name", name)?;
        }
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {MOVE_COLUMNS} FROM channel_moves m
             JOIN artifacts a ON a.name = m.name AND a.version = m.to_version
             WHERE m.channel = ?1 AND (?2 IS NULL OR m.name = ?2)
             ORDER BY m.seq"
        ))?;
        let rows = stmt.query_map(params![channel, name], channel_move)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// [`Registry::pointers`](crate::Registry::pointers) on this store.
    pub fn pointers(&self, name: Option<&str>) -> Result<Vec<ChannelPointer>, ChannelError> {
        if let Some(name) = name {
            check_name("artifact name", name)?;
        }
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT p.channel, p.name, a.kind, p.scope_agent, p.scope_partition,
                    m.to_version, m.to_hash, m.seq, m.at_ms
             FROM channel_pointers p
             JOIN channel_moves m ON m.seq = p.move_seq
             JOIN artifacts a ON a.name = m.name AND a.version = m.to_version
             WHERE (?1 IS NULL OR p.name = ?1)
             ORDER BY p.name, p.channel, p.scope_agent, p.scope_partition",
        )?;
        let rows = stmt.query_map(params![name], |r| {
            Ok(ChannelPointer {
                channel: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                scope: Scope {
                    agent: r.get(3)?,
                    partition: r.get(4)?,
                },
                to: Pin {
                    version: version_col(r, 5)?,
                    hash: r.get(6)?,
                },
                seq: r.get(7)?,
                since_ms: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

crate::db::from_backend!(ChannelError);
