//! Content-addressed blobs: any bytes (components, pack manifests, prompts,
//! configs, trust policies, locks), named by their blake3 and stored in the
//! `blobs` table of the store's SQLite file.
//!
//! Every read re-hashes the bytes; a mismatch is [`BlobError::Corrupt`],
//! never data. Because a name is only the hash of the bytes, the same bytes
//! get the same name in every store, on every machine.

use crate::db::{Schema, Store};
use crate::input::{InputError, check_who};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub(crate) static SCHEMA: Schema = Schema {
    module: "blobs",
    migrations: &[r#"
        -- One row per distinct content. `size` is kept for listings and gc
        -- reports; the truth is always `data`, re-hashed on every read.
        CREATE TABLE blobs (
            hash TEXT PRIMARY KEY NOT NULL CHECK (length(hash) = 64),
            size INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        -- Generic references that keep a blob alive through gc, for holders
        -- outside the registry (the audit log, run records). No foreign key:
        -- a holder may register a reference before the blob is put, which
        -- closes the window in which gc could collect a fresh blob.
        CREATE TABLE blob_refs (
            hash TEXT NOT NULL CHECK (length(hash) = 64),
            holder TEXT NOT NULL,
            PRIMARY KEY (hash, holder)
        );
    "#],
    backfill: None,
};

/// A blake3 digest: the name of a blob. Displays and serialises as 64
/// lowercase hexadecimal characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash([u8; 32]);

impl Hash {
    /// The blake3 of `bytes`. The same bytes give the same hash in every
    /// store: that is what makes a publish reproducible.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `text` looks like a hash (64 hexadecimal characters), without
    /// saying anything about whether such a blob exists.
    pub fn is_hash_text(text: &str) -> bool {
        text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Text that is not a blake3 hash.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid blake3 `{value}`: expected 64 hexadecimal characters")]
pub struct ParseHashError {
    /// The text, shortened if long.
    pub value: String,
}

impl FromStr for Hash {
    type Err = ParseHashError;

    /// Parse 64 hexadecimal characters (either case; displayed lowercase).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseHashError {
            value: s.chars().take(80).collect(),
        };
        if !Self::is_hash_text(s) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
        Ok(Self(out))
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl ToSql for Hash {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for Hash {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e: ParseHashError| FromSqlError::Other(Box::new(e)))
    }
}

/// A blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob has this hash.
    #[error("blob `{hash}` is not in the store")]
    NotFound {
        /// The hash asked for.
        hash: Hash,
    },
    /// The stored bytes no longer hash to their name: the file was damaged
    /// or tampered with. The bytes are never returned.
    #[error("blob `{hash}` is corrupt: its stored bytes hash to `{actual}`")]
    Corrupt {
        /// The blob's name (what it should hash to).
        hash: Hash,
        /// What its bytes hash to now.
        actual: Hash,
    },
    /// A holder name was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

/// One blob that nothing references, as [`Store::gc`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcBlob {
    /// Its hash.
    pub hash: Hash,
    /// Its size in bytes.
    pub size: u64,
}

/// What [`Store::gc`] found (and, unless a dry run, deleted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// True if nothing was deleted.
    pub dry_run: bool,
    /// The unreferenced blobs, by hash.
    pub unreferenced: Vec<GcBlob>,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// Something [`Store::check_integrity`] found wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum IntegrityProblem {
    /// SQLite's own `integrity_check` reported a problem.
    #[error("database: {0}")]
    Database(String),
    /// A row refers to a row that does not exist (for instance a channel
    /// move to a blob that is gone).
    #[error("table `{table}` row {rowid} refers to a missing row of `{parent}`")]
    Dangling {
        /// The referring table.
        table: String,
        /// The referring row's rowid.
        rowid: i64,
        /// The table it refers to.
        parent: String,
    },
    /// A blob's bytes do not hash to its name.
    #[error("blob `{hash}` is corrupt: its stored bytes hash to `{actual}`")]
    CorruptBlob {
        /// The blob's name.
        hash: Hash,
        /// What its bytes hash to.
        actual: Hash,
    },
}

/// A blob's bytes, whatever storage class the row holds: a value rewritten
/// as text (or anything else) must surface as `Corrupt`, not as a type
/// error.
fn data_col(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Vec<u8>> {
    Ok(match r.get_ref(idx)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        _ => Vec::new(),
    })
}

/// Store `bytes` under `hash` (which the caller computed from them) in the
/// current transaction. An intact existing row is left alone; a damaged one
/// is repaired, since `bytes` provably are the right content.
pub(crate) fn put_in(conn: &Connection, hash: &Hash, bytes: &[u8]) -> Result<(), BlobError> {
    let stored: Option<Vec<u8>> = conn
        .query_row("SELECT data FROM blobs WHERE hash = ?1", [hash], |r| {
            data_col(r, 0)
        })
        .optional()?;
    match stored {
        None => {
            conn.execute(
                "INSERT INTO blobs (hash, size, data) VALUES (?1, ?2, ?3)",
                params![hash, bytes.len() as i64, bytes],
            )?;
        }
        Some(old) if old == bytes => {}
        Some(_) => {
            conn.execute(
                "UPDATE blobs SET size = ?2, data = ?3 WHERE hash = ?1",
                params![hash, bytes.len() as i64, bytes],
            )?;
        }
    }
    Ok(())
}

/// Read and re-hash a blob in the current transaction.
pub(crate) fn get_in(conn: &Connection, hash: &Hash) -> Result<Vec<u8>, BlobError> {
    let data: Vec<u8> = conn
        .query_row("SELECT data FROM blobs WHERE hash = ?1", [hash], |r| {
            data_col(r, 0)
        })
        .optional()?
        .ok_or(BlobError::NotFound { hash: *hash })?;
    let actual = Hash::of(&data);
    if actual != *hash {
        return Err(BlobError::Corrupt {
            hash: *hash,
            actual,
        });
    }
    Ok(data)
}

/// Whether a blob row exists, without reading or checking its bytes.
pub(crate) fn exists_in(conn: &Connection, hash: &Hash) -> Result<bool, BlobError> {
    Ok(conn
        .query_row("SELECT 1 FROM blobs WHERE hash = ?1", [hash], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Blobs that nothing references. Every holder of a blob is listed here;
/// a new holder table must be added to this query.
const UNREFERENCED: &str = "
    SELECT b.hash, b.size FROM blobs b
    WHERE NOT EXISTS (SELECT 1 FROM artifacts a WHERE a.hash = b.hash)
      AND NOT EXISTS (SELECT 1 FROM channel_moves m WHERE m.to_hash = b.hash)
      AND NOT EXISTS (SELECT 1 FROM channel_moves m WHERE m.from_hash = b.hash)
      AND NOT EXISTS (SELECT 1 FROM locks l WHERE l.hash = b.hash)
      AND NOT EXISTS (SELECT 1 FROM lock_entries e WHERE e.hash = b.hash)
      AND NOT EXISTS (SELECT 1 FROM trust_policies t WHERE t.hash = b.hash)
      AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.hash = b.hash)
    ORDER BY b.hash";

impl Store {
    /// [`Blobs::put`](crate::Blobs::put) on this store.
    pub fn put(&self, bytes: &[u8]) -> Result<Hash, BlobError> {
        // Hash outside the lock: it is the slow part for big components.
        let hash = Hash::of(bytes);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        put_in(&tx, &hash, bytes)?;
        tx.commit()?;
        Ok(hash)
    }

    /// [`Blobs::get`](crate::Blobs::get) on this store.
    pub fn get(&self, hash: &Hash) -> Result<Vec<u8>, BlobError> {
        get_in(&self.conn(), hash)
    }

    /// [`Blobs::contains`](crate::Blobs::contains) on this store.
    pub fn contains(&self, hash: &Hash) -> Result<bool, BlobError> {
        exists_in(&self.conn(), hash)
    }

    /// [`Blobs::add_blob_ref`](crate::Blobs::add_blob_ref) on this store.
    pub fn add_blob_ref(&self, hash: &Hash, holder: &str) -> Result<(), BlobError> {
        check_who("blob holder", holder)?;
        self.conn().execute(
            "INSERT OR IGNORE INTO blob_refs (hash, holder) VALUES (?1, ?2)",
            params![hash, holder],
        )?;
        Ok(())
    }

    /// [`Blobs::remove_blob_ref`](crate::Blobs::remove_blob_ref) on this store.
    pub fn remove_blob_ref(&self, hash: &Hash, holder: &str) -> Result<(), BlobError> {
        self.conn().execute(
            "DELETE FROM blob_refs WHERE hash = ?1 AND holder = ?2",
            params![hash, holder],
        )?;
        Ok(())
    }

    /// [`Blobs::gc`](crate::Blobs::gc) on this store.
    pub fn gc(&self, dry_run: bool) -> Result<GcReport, BlobError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let unreferenced = {
            let mut stmt = tx.prepare(UNREFERENCED)?;
            let rows = stmt.query_map([], |r| {
                Ok(GcBlob {
                    hash: r.get(0)?,
                    size: r.get::<_, i64>(1)?.max(0) as u64,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        if !dry_run {
            let mut delete = tx.prepare("DELETE FROM blobs WHERE hash = ?1")?;
            for blob in &unreferenced {
                delete.execute([&blob.hash])?;
            }
        }
        tx.commit()?;
        let bytes = unreferenced.iter().map(|b| b.size).sum();
        Ok(GcReport {
            dry_run,
            unreferenced,
            bytes,
        })
    }

    /// [`Blobs::check_integrity`](crate::Blobs::check_integrity) on this store.
    pub fn check_integrity(&self) -> Result<Vec<IntegrityProblem>, BlobError> {
        let conn = self.conn();
        let mut problems = Vec::new();
        {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                let line = row?;
                if line != "ok" {
                    problems.push(IntegrityProblem::Database(line));
                }
            }
        }
        {
            let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
            let rows = stmt.query_map([], |r| {
                Ok(IntegrityProblem::Dangling {
                    table: r.get(0)?,
                    rowid: r.get::<_, Option<i64>>(1)?.unwrap_or(-1),
                    parent: r.get(2)?,
                })
            })?;
            for row in rows {
                problems.push(row?);
            }
        }
        {
            let mut stmt = conn.prepare("SELECT hash, data FROM blobs ORDER BY hash")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                // Read the name as text: a damaged name must be reported,
                // not abort the check.
                let name: String = row.get(0)?;
                let data = match row.get_ref(1)? {
                    ValueRef::Blob(b) | ValueRef::Text(b) => b,
                    _ => &[],
                };
                let actual = Hash::of(data);
                match name.parse::<Hash>() {
                    Ok(hash) if hash == actual => {}
                    Ok(hash) => problems.push(IntegrityProblem::CorruptBlob { hash, actual }),
                    Err(e) => problems.push(IntegrityProblem::Database(e.to_string())),
                }
            }
        }
        Ok(problems)
    }
}

crate::db::from_backend!(BlobError);
