//! Locks: the exact artifacts a run used, so it can be repeated later by
//! hashes whatever the channels point at by then.

use crate::blobs::{self, BlobError, Hash};
use crate::channels::Scope;
use crate::db::{Schema, Store};
use crate::input::{InputError, check_name, check_who, parse_version};
use crate::registry::{self, ArtifactId, ArtifactKind, RegistryError};
use crate::resolve::ResolveError;
use rusqlite::{TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) static SCHEMA: Schema = Schema {
    module: "locks",
    migrations: &[r#"
        -- Registered locks; the lock's JSON text is a blob.
        CREATE TABLE locks (
            hash TEXT PRIMARY KEY NOT NULL REFERENCES blobs (hash),
            label TEXT NOT NULL,
            registered_ms INTEGER NOT NULL
        );
        -- What each registered lock pins, for gc. No foreign key to blobs: a
        -- lock made elsewhere may name bytes this store does not hold.
        CREATE TABLE lock_entries (
            lock_hash TEXT NOT NULL REFERENCES locks (hash) ON DELETE CASCADE,
            name TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (lock_hash, name)
        );
        CREATE INDEX lock_entries_by_hash ON lock_entries (hash);
    "#],
    backfill: None,
};

/// The lock schema version this store reads and writes.
pub const LOCK_SCHEMA: u32 = 1;

const ENTRY_DOMAIN: &str = "gatehouse lock entry v1";
const LOCK_DOMAIN: &str = "gatehouse lock v1";

/// A lock: resolved artifacts, unique by name, in canonical order.
/// (De)serialises as the JSON format below, checking
/// every digest on the way in.
///
/// # Format
///
/// ```json
/// {
///   "schema": 1,
///   "entries": [
///     {
///       "name": "brand",
///       "kind": "policy-pack",
///       "version": "1.2.0",
///       "blake3": "<64 hex: the artifact's bytes>",
///       "digest": "<64 hex: blake3 of the entry's canonical text>"
///     }
///   ],
///   "digest": "<64 hex: blake3 over the entries' digests>"
/// }
/// ```
///
/// - Entries are unique by name and kept sorted by name (the canonical
///   order; a reordered file loads as the same lock).
/// - An entry's digest is the blake3 of
///   `gatehouse lock entry v1\n{name}\n{kind}\n{version}\n{blake3}`; the
///   lock's digest is the blake3 of `gatehouse lock v1\n` followed by each
///   entry digest and a newline, in canonical order.
/// - Loading checks every field, every entry digest (an edited entry is
///   named) and the lock digest (an added or removed entry). Unknown fields
///   are refused.
///
/// The digests catch accidental and careless edits; they are not a
/// signature (anyone can recompute them). For tamper evidence against an
/// adversary, register the lock in the store ([`Store::register_lock`]) and
/// check a file against the registry with [`Store::verify_lock`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LockFile", into = "LockFile")]
pub struct Lock {
    entries: Vec<ArtifactId>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    schema: u32,
    entries: Vec<EntryFile>,
    digest: String,
}

/// Entries are read as text so that a bad field is reported with its entry.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    name: String,
    kind: String,
    version: String,
    blake3: String,
    digest: String,
}

/// A lock could not be built, read, written, registered or verified.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The text is not valid JSON for a lock (including unknown fields).
    #[error("lock, line {line}, column {column}: {reason}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// The lock was written for another schema.
    #[error("lock schema {found} is not supported (this gatehouse reads schema {LOCK_SCHEMA})")]
    Schema {
        /// The schema in the file.
        found: u32,
    },
    /// A field of an entry is invalid.
    #[error("lock entry #{index} `{name}`: invalid `{field}`: {reason}")]
    Field {
        /// 1-based position in the file.
        index: usize,
        /// The entry's name as written.
        name: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An entry does not match its own digest: it was edited.
    #[error(
        "lock entry #{index} `{name}` does not match its digest: its name, kind, version or blake3 was edited"
    )]
    EntryDigest {
        /// 1-based position in the file.
        index: usize,
        /// The entry's name as written.
        name: String,
    },
    /// The entries do not match the lock's digest: one was added or removed.
    #[error("lock digest does not match its entries: an entry was added or removed")]
    Digest,
    /// Two entries have the same name.
    #[error("lock lists `{name}` twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// An entry disagrees with the registry.
    #[error(
        "lock entry `{name}`: the lock says {field} `{in_lock}`, the registry has `{in_store}`"
    )]
    Stale {
        /// The entry's name.
        name: String,
        /// The field that differs.
        field: &'static str,
        /// The lock's value.
        in_lock: String,
        /// The registry's value.
        in_store: String,
    },
    /// The lock file could not be read or written.
    #[error("lock file `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The label was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A reference could not be resolved.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// An entry's artifact is not published.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// An entry's blob is missing or corrupt.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

fn entry_digest(e: &ArtifactId) -> Hash {
    Hash::of(
        format!(
            "{ENTRY_DOMAIN}\n{}\n{}\n{}\n{}",
            e.name, e.kind, e.version, e.hash
        )
        .as_bytes(),
    )
}

impl Lock {
    /// A lock of these artifacts (sorted by name; names must be unique and
    /// valid, versions without build metadata, so that the lock loads back).
    pub fn new(entries: impl IntoIterator<Item = ArtifactId>) -> Result<Self, LockError> {
        let mut entries: Vec<ArtifactId> = entries.into_iter().collect();
        for e in &entries {
            check_name("artifact name", &e.name)?;
            parse_version(&e.version.to_string())?;
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = entries.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(LockError::Duplicate {
                name: w[0].name.clone(),
            });
        }
        Ok(Self { entries })
    }

    /// The entries, sorted by name.
    pub fn entries(&self) -> &[ArtifactId] {
        &self.entries
    }

    /// The entry for `name`.
    pub fn get(&self, name: &str) -> Option<&ArtifactId> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// The digest over the lock's canonical content.
    pub fn digest(&self) -> Hash {
        let mut text = format!("{LOCK_DOMAIN}\n");
        for e in &self.entries {
            text.push_str(&entry_digest(e).to_string());
            text.push('\n');
        }
        Hash::of(text.as_bytes())
    }

    /// The lock as JSON text (pretty, with a final newline). Deterministic:
    /// the same lock always gives the same bytes.
    pub fn to_json(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(&LockFile::from(self.clone())).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parse and check lock JSON text.
    pub fn from_json(text: &str) -> Result<Self, LockError> {
        let file: LockFile = serde_json::from_str(text).map_err(|e| LockError::Json {
            line: e.line(),
            column: e.column(),
            reason: json_reason(&e),
        })?;
        Self::check_file(file)
    }

    /// Write the lock file atomically (a temporary file in the same
    /// directory, flushed, then renamed over `path`).
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(self.to_json().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    /// Read and check a lock file.
    pub fn load(path: &Path) -> Result<Self, LockError> {
        let text = std::fs::read_to_string(path).map_err(|source| LockError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text)
    }

    fn check_file(file: LockFile) -> Result<Self, LockError> {
        if file.schema != LOCK_SCHEMA {
            return Err(LockError::Schema { found: file.schema });
        }
        let mut entries = Vec::with_capacity(file.entries.len());
        for (i, e) in file.entries.into_iter().enumerate() {
            let index = i + 1;
            let field = |field: &'static str, reason: String| LockError::Field {
                index,
                name: e.name.chars().take(80).collect(),
                field,
                reason,
            };
            check_name("artifact name", &e.name).map_err(|err| field("name", err.reason))?;
            let kind: ArtifactKind = e
                .kind
                .parse()
                .map_err(|err: InputError| field("kind", err.reason))?;
            let version = parse_version(&e.version).map_err(|err| field("version", err.reason))?;
            let hash: Hash = e
                .blake3
                .parse()
                .map_err(|_| field("blake3", "expected 64 hexadecimal characters".into()))?;
            let digest: Hash = e
                .digest
                .parse()
                .map_err(|_| field("digest", "expected 64 hexadecimal characters".into()))?;
            let id = ArtifactId {
                name: e.name.clone(),
                kind,
                version,
                hash,
            };
            if entry_digest(&id) != digest {
                return Err(LockError::EntryDigest {
                    index,
                    name: e.name,
                });
            }
            entries.push(id);
        }
        let lock = Self::new(entries)?;
        let digest: Hash = file.digest.parse().map_err(|_| LockError::Digest)?;
        if lock.digest() != digest {
            return Err(LockError::Digest);
        }
        Ok(lock)
    }
}

fn json_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let s = s.lines().next().unwrap_or_default();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

impl From<Lock> for LockFile {
    fn from(lock: Lock) -> Self {
        let digest = lock.digest().to_string();
        Self {
            schema: LOCK_SCHEMA,
            entries: lock
                .entries
                .iter()
                .map(|e| EntryFile {
                    name: e.name.clone(),
                    kind: e.kind.to_string(),
                    version: e.version.to_string(),
                    blake3: e.hash.to_string(),
                    digest: entry_digest(e).to_string(),
                })
                .collect(),
            digest,
        }
    }
}

impl TryFrom<LockFile> for Lock {
    type Error = LockError;
    fn try_from(file: LockFile) -> Result<Self, Self::Error> {
        Self::check_file(file)
    }
}

impl Store {
    /// [`Registry::lock`](crate::Registry::lock) on this store.
    pub fn lock(&self, references: &[&str], scope: &Scope) -> Result<Lock, LockError> {
        let mut entries = Vec::with_capacity(references.len());
        for r in references {
            entries.push(self.resolve(r, scope)?.id);
        }
        Lock::new(entries)
    }

    /// [`Registry::register_lock`](crate::Registry::register_lock) on this store.
    pub fn register_lock(&self, lock: &Lock, label: &str, at_ms: i64) -> Result<Hash, LockError> {
        check_who("lock label", label)?;
        let text = lock.to_json();
        let hash = Hash::of(text.as_bytes());
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        blobs::put_in(&tx, &hash, text.as_bytes())?;
        let inserted = tx.execute(
            "INSERT INTO locks (hash, label, registered_ms) VALUES (?1, ?2, ?3) ON CONFLICT (hash) DO NOTHING",
            params![hash, label, at_ms],
        )?;
        if inserted > 0 {
            let mut stmt =
                tx.prepare("INSERT INTO lock_entries (lock_hash, name, hash) VALUES (?1, ?2, ?3)")?;
            for e in &lock.entries {
                stmt.execute(params![hash, e.name, e.hash])?;
            }
        }
        tx.commit()?;
        Ok(hash)
    }

    /// [`Registry::unregister_lock`](crate::Registry::unregister_lock) on this store.
    pub fn unregister_lock(&self, lock: &Hash) -> Result<bool, LockError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM lock_entries WHERE lock_hash = ?1", [lock])?;
        let n = tx.execute("DELETE FROM locks WHERE hash = ?1", [lock])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// [`Registry::verify_lock`](crate::Registry::verify_lock) on this store.
    pub fn verify_lock(&self, lock: &Lock) -> Result<(), LockError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for e in &lock.entries {
            let artifact = registry::require_artifact_in(&tx, &e.name, &e.version)?;
            let stale = |field, in_lock: String, in_store: String| LockError::Stale {
                name: e.name.clone(),
                field,
                in_lock,
                in_store,
            };
            if artifact.id.kind != e.kind {
                return Err(stale(
                    "kind",
                    e.kind.to_string(),
                    artifact.id.kind.to_string(),
                ));
            }
            if artifact.id.hash != e.hash {
                return Err(stale(
                    "blake3",
                    e.hash.to_string(),
                    artifact.id.hash.to_string(),
                ));
            }
            blobs::get_in(&tx, &e.hash)?;
        }
        tx.commit()?;
        Ok(())
    }
}

crate::db::from_backend!(LockError);
