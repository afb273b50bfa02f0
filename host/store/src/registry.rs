//! The registry: versioned artifacts (skills, policy packs, configs,
//! prompts), each `name@version` bound forever to one blake3.
//!
//! The registry is append-only: an artifact is never edited or deleted, so
//! a hash recorded by a run, a lock or the audit log keeps its meaning.

use crate::blobs::{self, BlobError, Hash};
use crate::db::{Schema, Store};
use crate::input::{InputError, check_name, check_who, parse_version};
use crate::signing::{KeyId, Signature};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use semver::Version;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub(crate) static SCHEMA: Schema = Schema {
    module: "registry",
    migrations: &[r#"
        CREATE TABLE artifacts (
            name TEXT NOT NULL,
            -- Canonical semver text (no build metadata).
            version TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('skill', 'policy-pack', 'config', 'prompt')),
            hash TEXT NOT NULL REFERENCES blobs (hash),
            publisher TEXT NOT NULL,
            published_ms INTEGER NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE INDEX artifacts_by_hash ON artifacts (hash);
    "#],
    backfill: None,
};

/// What an artifact is for. The kind selects the trust policy that applies
/// to it on each channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// A skill component (the act stage).
    Skill,
    /// A policy-pack component or manifest (the validate stage).
    PolicyPack,
    /// A configuration document.
    Config,
    /// A prompt.
    Prompt,
}

impl ArtifactKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ArtifactKind; 4] = [Self::Skill, Self::PolicyPack, Self::Config, Self::Prompt];

    /// The kind's name: `skill`, `policy-pack`, `config` or `prompt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skill => "skill",
            Self::PolicyPack => "policy-pack",
            Self::Config => "config",
            Self::Prompt => "prompt",
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ArtifactKind {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                InputError::new(
                    "artifact kind",
                    s,
                    "expected `skill`, `policy-pack`, `config` or `prompt`",
                )
            })
    }
}

impl ToSql for ArtifactKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for ArtifactKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: InputError| FromSqlError::Other(Box::new(e)))
    }
}

/// Exactly which artifact: kind, name, version and the blake3 of its bytes.
/// This is what a signature covers, what a lock records and what a run
/// should record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ArtifactId {
    /// Its name (lowercase letters, digits, `-`, `.`; 1–64 characters).
    pub name: String,
    /// What it is.
    pub kind: ArtifactKind,
    /// Its semantic version (never with build metadata).
    pub version: Version,
    /// The blake3 of its bytes.
    #[serde(rename = "blake3")]
    pub hash: Hash,
}

/// The domain separator that starts every signed message. Bump the `v1`
/// if the message layout ever changes, so old signatures cannot be
/// reinterpreted.
pub const SIGNATURE_DOMAIN: &str = "gatehouse artifact signature v1";

impl ArtifactId {
    /// The exact bytes an ed25519 signature covers:
    /// `gatehouse artifact signature v1\n{kind}\n{name}\n{version}\n{blake3}`.
    ///
    /// No field can contain a newline (names, kinds, semver and hex cannot),
    /// so the layout is unambiguous; the domain line keeps a gatehouse
    /// signature from being valid for any other protocol's message.
    pub fn signing_message(&self) -> Vec<u8> {
        format!(
            "{SIGNATURE_DOMAIN}\n{}\n{}\n{}\n{}",
            self.kind, self.name, self.version, self.hash
        )
        .into_bytes()
    }
}

impl fmt::Display for ArtifactId {
    /// `name@version`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// A published artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Kind, name, version and hash.
    #[serde(flatten)]
    pub id: ArtifactId,
    /// Who published it (as the caller said).
    pub publisher: String,
    /// When, in milliseconds since the Unix epoch (the caller's clock).
    pub published_ms: i64,
    /// Its signatures, each checked when it was added; ordered by key id.
    pub signatures: Vec<Signature>,
}

/// What to publish; see [`Store::publish`].
#[derive(Clone, Copy, Debug)]
pub struct Publish<'a> {
    /// What it is.
    pub kind: ArtifactKind,
    /// Its name.
    pub name: &'a str,
    /// Its semantic version, as text (`1.2.0`, `2.0.0-rc.1`).
    pub version: &'a str,
    /// The bytes.
    pub bytes: &'a [u8],
    /// Who publishes it.
    pub publisher: &'a str,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// The outcome of a publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The artifact as the registry holds it (for a repeat publish, the
    /// original record: its publisher and time are not overwritten).
    pub artifact: Artifact,
    /// False if exactly this artifact was already published.
    pub created: bool,
}

/// A registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A name, version, kind or publisher was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// `name@version` is taken by other bytes.
    #[error(
        "`{name}@{version}` is already published with blake3 `{existing}`; refusing different bytes with blake3 `{attempted}` (publish a new version)"
    )]
    Conflict {
        /// The name.
        name: String,
        /// The version.
        version: String,
        /// The hash already published.
        existing: Hash,
        /// The hash of the refused bytes.
        attempted: Hash,
    },
    /// The name is already used by an artifact of another kind.
    #[error("`{name}` is published as a {existing}; it cannot also be published as a {attempted}")]
    KindConflict {
        /// The name.
        name: String,
        /// The kind it has.
        existing: ArtifactKind,
        /// The kind asked for.
        attempted: ArtifactKind,
    },
    /// No such artifact.
    #[error("`{name}@{version}` is not published")]
    NotFound {
        /// The name.
        name: String,
        /// The version.
        version: Version,
    },
    /// Storing or reading the bytes failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

/// Read a semver column; the text was canonical when written.
pub(crate) fn version_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Version> {
    let text: String = row.get(idx)?;
    Version::parse(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The artifact `name@version`, with its signatures, in the current
/// transaction.
pub(crate) fn artifact_in(
    conn: &Connection,
    name: &str,
    version: &Version,
) -> Result<Option<Artifact>, rusqlite::Error> {
    let row = conn
        .query_row(
            "SELECT kind, hash, publisher, published_ms FROM artifacts WHERE name = ?1 AND version = ?2",
            params![name, version.to_string()],
            |r| Ok((r.get::<_, ArtifactKind>(0)?, r.get::<_, Hash>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)),
        )
        .optional()?;
    let Some((kind, hash, publisher, published_ms)) = row else {
        return Ok(None);
    };
    let id = ArtifactId {
        name: name.to_string(),
        kind,
        version: version.clone(),
        hash,
    };
    let signatures = signatures_in(conn, &id)?;
    Ok(Some(Artifact {
        id,
        publisher,
        published_ms,
        signatures,
    }))
}

/// Like [`artifact_in`], but a missing artifact is an error.
pub(crate) fn require_artifact_in(
    conn: &Connection,
    name: &str,
    version: &Version,
) -> Result<Artifact, RegistryError> {
    artifact_in(conn, name, version)?.ok_or_else(|| RegistryError::NotFound {
        name: name.to_string(),
        version: version.clone(),
    })
}

fn signatures_in(conn: &Connection, id: &ArtifactId) -> Result<Vec<Signature>, rusqlite::Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, signature FROM signatures WHERE name = ?1 AND version = ?2 ORDER BY key_id",
    )?;
    let rows = stmt.query_map(params![id.name, id.version.to_string()], |r| {
        Ok(Signature {
            key_id: KeyId::from_db(r.get(0)?),
            signature: r.get(1)?,
        })
    })?;
    rows.collect()
}

/// The kind of the artifacts called `name`, if any is published.
pub(crate) fn kind_of_in(
    conn: &Connection,
    name: &str,
) -> Result<Option<ArtifactKind>, rusqlite::Error> {
    conn.query_row(
        "SELECT kind FROM artifacts WHERE name = ?1 LIMIT 1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

impl Store {
    /// [`Registry::publish`](crate::Registry::publish) on this store.
    pub fn publish(&self, req: &Publish<'_>) -> Result<Published, RegistryError> {
        check_name("artifact name", req.name)?;
        let version = parse_version(req.version)?;
        check_who("publisher", req.publisher)?;
        let hash = Hash::of(req.bytes);

        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(existing) = artifact_in(&tx, req.name, &version)? {
            if existing.id.hash != hash {
                return Err(RegistryError::Conflict {
                    name: req.name.to_string(),
                    version: version.to_string(),
                    existing: existing.id.hash,
                    attempted: hash,
                });
            }
            if existing.id.kind != req.kind {
                return Err(RegistryError::KindConflict {
                    name: req.name.to_string(),
                    existing: existing.id.kind,
                    attempted: req.kind,
                });
            }
            // Re-put: repairs the blob if its row was damaged since.
            blobs::put_in(&tx, &hash, req.bytes)?;
            tx.commit()?;
            return Ok(Published {
                artifact: existing,
                created: false,
            });
        }
        if let Some(existing) = kind_of_in(&tx, req.name)?
            && existing != req.kind
        {
            return Err(RegistryError::KindConflict {
                name: req.name.to_string(),
                existing,
                attempted: req.kind,
            });
        }
        blobs::put_in(&tx, &hash, req.bytes)?;
        tx.execute(
            "INSERT INTO artifacts (name, version, kind, hash, publisher, published_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![req.name, version.to_string(), req.kind, hash, req.publisher, req.at_ms],
        )?;
        let artifact = require_artifact_in(&tx, req.name, &version)?;
        self.commit_recorded(tx, "publish", req.at_ms, &artifact)?;
        Ok(Published {
            artifact,
            created: true,
        })
    }

    /// [`Registry::show`](crate::Registry::show) on this store.
    pub fn show(&self, name: &str, version: &str) -> Result<Artifact, RegistryError> {
        check_name("artifact name", name)?;
        let version = parse_version(version)?;
        let mut conn = self.conn();
        // One read transaction, so the artifact and its signatures come from
        // the same snapshot.
        let tx = conn.transaction()?;
        let artifact = require_artifact_in(&tx, name, &version)?;
        tx.commit()?;
        Ok(artifact)
    }

    /// [`Registry::list`](crate::Registry::list) on this store.
    pub fn list(
        &self,
        kind: Option<ArtifactKind>,
        name: Option<&str>,
    ) -> Result<Vec<Artifact>, RegistryError> {
        if let Some(name) = name {
            check_name("artifact name", name)?;
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let keys = {
            let mut stmt = tx.prepare(
                "SELECT name, version FROM artifacts
                 WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR name = ?2)",
            )?;
            let rows = stmt.query_map(params![kind, name], |r| {
                Ok((r.get::<_, String>(0)?, version_col(r, 1)?))
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut out = Vec::with_capacity(keys.len());
        for (name, version) in keys {
            out.push(require_artifact_in(&tx, &name, &version)?);
        }
        tx.commit()?;
        // SQL cannot order semver; sort here.
        out.sort_by(|a, b| (&a.id.name, &a.id.version).cmp(&(&b.id.name, &b.id.version)));
        Ok(out)
    }
}

crate::db::from_backend!(RegistryError);
