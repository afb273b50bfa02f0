//! Receipts and proofs an auditor checks without the database: a receipt
//! shows that one entry is in the log a signed tree head covers (an
//! inclusion proof); a consistency proof shows that a later head extends
//! an earlier one.

use super::heads::{self, Head};
use super::merkle::{self, Hash};
use super::{AuditError, AuditLog, Verified, VerifyError, entry_hash};
use crate::db::{WITNESS_FILE, WITNESS_SEPARATOR};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// An entry exactly as stored: the fields its hash covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StoredEntry {
    /// Its position, from 1.
    pub seq: u64,
    /// When.
    pub at_ms: i64,
    /// What it records.
    pub kind: String,
    /// Its run.
    pub run_id: Option<String>,
    /// The record, as the exact JSON text hashed.
    pub body: String,
    /// The previous entry's hash (hex).
    pub prev: String,
    /// Its hash (hex).
    pub hash: String,
}

impl StoredEntry {
    /// The hash its fields give (gatehouse's entry hash): what `hash` must
    /// be.
    pub fn computed_hash(&self) -> String {
        entry_hash(
            self.seq,
            self.at_ms,
            &self.kind,
            self.run_id.as_deref(),
            &self.body,
            &self.prev,
        )
    }
}

/// Proof that an entry is in the log: the entry, the signed tree head (a
/// C2SP checkpoint note) and the inclusion proof from the entry to the
/// head's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SignedReceipt {
    /// The entry.
    pub entry: StoredEntry,
    /// The signed tree head covering it.
    pub head: String,
    /// The inclusion proof (hex node hashes, leaf to root).
    pub inclusion: Vec<String>,
}

/// Proof that the log at `to` entries extends the log at `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConsistencyProof {
    /// The earlier head (a signed note).
    pub from: String,
    /// The later head (a signed note).
    pub to: String,
    /// The proof (hex node hashes).
    pub proof: Vec<String>,
}

/// What a checked receipt or head says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Checked {
    /// The log's origin (which log and key).
    pub origin: String,
    /// The size of the log the head signs.
    pub size: u64,
    /// Its Merkle root (hex).
    pub root: String,
}

fn hex32(text: &str) -> Option<Hash> {
    hex::decode(text).ok()?.try_into().ok()
}

/// Check a signed note by the log key `public` (32 bytes); returns what
/// its checkpoint says.
pub fn check_head(note: &str, public: &[u8; 32]) -> Result<Checked, String> {
    let text = heads::open_note_by(note, public)?;
    let mut lines = text.lines();
    let origin = lines.next().ok_or("no origin line")?.to_string();
    let size: u64 = lines
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("no tree size line")?;
    let root = lines
        .next()
        .and_then(heads::unbase64)
        .and_then(|b| <Hash>::try_from(b).ok())
        .ok_or("no root hash line")?;
    Ok(Checked {
        origin,
        size,
        root: hex::encode(root),
    })
}

/// Check a receipt offline against the log key `public`: the entry's
/// content hashes to its hash, the head is signed by the key, and the
/// inclusion proof leads from the entry to the head's root.
pub fn check_receipt(r: &SignedReceipt, public: &[u8; 32]) -> Result<Checked, String> {
    let e = &r.entry;
    let hash = entry_hash(
        e.seq,
        e.at_ms,
        &e.kind,
        e.run_id.as_deref(),
        &e.body,
        &e.prev,
    );
    if hash != e.hash {
        return Err(format!(
            "entry {}: its content does not hash to its hash (it was changed)",
            e.seq
        ));
    }
    let head = check_head(&r.head, public)?;
    let proof = r
        .inclusion
        .iter()
        .map(|h| hex32(h))
        .collect::<Option<Vec<_>>>()
        .ok_or("the inclusion proof is not hex hashes")?;
    let leaf = heads::leaf(&e.hash).map_err(|err| err.to_string())?;
    let root = hex32(&head.root).ok_or("bad root")?;
    if e.seq == 0 || !merkle::verify_inclusion(e.seq - 1, head.size, &leaf, &proof, &root) {
        return Err(format!(
            "entry {} is not in the log of {} entries the head signs",
            e.seq, head.size
        ));
    }
    Ok(head)
}

/// Check a consistency proof offline: both heads signed by `public`, the
/// later extending the earlier.
pub fn check_consistency(
    p: &ConsistencyProof,
    public: &[u8; 32],
) -> Result<(Checked, Checked), String> {
    let from = check_head(&p.from, public)?;
    let to = check_head(&p.to, public)?;
    let proof = p
        .proof
        .iter()
        .map(|h| hex32(h))
        .collect::<Option<Vec<_>>>()
        .ok_or("the proof is not hex hashes")?;
    let (a, b) = (
        hex32(&from.root).ok_or("bad root")?,
        hex32(&to.root).ok_or("bad root")?,
    );
    if !merkle::verify_consistency(from.size, to.size, &a, &b, &proof) {
        return Err(format!(
            "the log of {} entries does not extend the log of {} entries",
            to.size, from.size
        ));
    }
    Ok((from, to))
}

impl AuditLog {
    /// The leaves of the first `size` entries.
    fn leaves(&self, conn: &rusqlite::Connection, size: u64) -> Result<Vec<Hash>, AuditError> {
        let mut stmt = conn.prepare("SELECT hash FROM audit WHERE seq <= ?1 ORDER BY seq")?;
        let rows = stmt.query_map([size as i64], |r| r.get::<_, String>(0))?;
        rows.map(|h| heads::leaf(&h?)).collect()
    }

    /// The newest signed head, which covers every entry of a sound log.
    fn newest_head(&self, conn: &rusqlite::Connection) -> Result<Head, AuditError> {
        heads::last_head(conn)?
            .ok_or_else(|| AuditError::Body("the log has no signed tree head".into()))
    }

    /// The receipt of entry `seq` under the newest signed head.
    pub fn receipt(&self, seq: u64) -> Result<SignedReceipt, AuditError> {
        let conn = self.store().conn();
        let head = self.newest_head(&conn)?;
        let entry = conn
            .query_row(
                "SELECT seq, at_ms, kind, run_id, body, prev, hash FROM audit WHERE seq = ?1",
                [seq as i64],
                |r| {
                    Ok(StoredEntry {
                        seq: r.get::<_, i64>(0)? as u64,
                        at_ms: r.get(1)?,
                        kind: r.get(2)?,
                        run_id: r.get(3)?,
                        body: r.get(4)?,
                        prev: r.get(5)?,
                        hash: r.get(6)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| AuditError::Body(format!("no entry {seq}")))?;
        if seq > head.size {
            return Err(AuditError::Body(format!(
                "entry {seq} is covered by no signed tree head"
            )));
        }
        let leaves = self.leaves(&conn, head.size)?;
        let proof = merkle::inclusion_proof((seq - 1) as usize, &leaves)
            .ok_or_else(|| AuditError::Body(format!("no entry {seq} under the head")))?;
        Ok(SignedReceipt {
            entry,
            head: head.note,
            inclusion: proof.iter().map(hex::encode).collect(),
        })
    }

    /// A consistency proof from the signed head at `from` entries to the
    /// newest signed head.
    pub fn consistency(&self, from: u64) -> Result<ConsistencyProof, AuditError> {
        let conn = self.store().conn();
        let to = self.newest_head(&conn)?;
        let old: String = conn
            .query_row(
                "SELECT note FROM audit_heads WHERE size = ?1",
                [from as i64],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| AuditError::Body(format!("no signed tree head at size {from}")))?;
        let leaves = self.leaves(&conn, to.size)?;
        let proof = merkle::consistency_proof(from as usize, &leaves)
            .ok_or_else(|| AuditError::Body(format!("no head at size {from} below the newest")))?;
        Ok(ConsistencyProof {
            from: old,
            to: to.note,
            proof: proof.iter().map(hex::encode).collect(),
        })
    }

    /// [`AuditLog::verify`], then check the log against every signed head
    /// the witness in `dir` holds: a log shorter than a witnessed head
    /// (truncated, or the whole directory rolled back) is named at its
    /// first missing entry; one whose first entries no longer give a
    /// witnessed root is named as rewritten.
    pub fn verify_witnessed(
        &self,
        dir: &Path,
    ) -> Result<Result<Verified, VerifyError>, AuditError> {
        let mut verified = match self.verify()? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let path = dir.join(WITNESS_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| AuditError::Witness(format!("`{}`: {e}", path.display())))?;
        let (public, _) = self.log_key();
        let mut witnessed = Vec::new();
        for (i, note) in text
            .split(WITNESS_SEPARATOR)
            .filter(|n| !n.trim().is_empty())
            .enumerate()
        {
            let head = check_head(note, &public).map_err(|e| {
                AuditError::Witness(format!("`{}`: head {}: {e}", path.display(), i + 1))
            })?;
            witnessed.push((head.size, head.root));
        }
        witnessed.sort();
        let entries = verified.entries;
        if let Some((size, _)) = witnessed.iter().rev().find(|(size, _)| *size > entries) {
            return Ok(Err(VerifyError {
                seq: entries + 1,
                reason: format!(
                    "missing: the witness holds a signed head of {size} entries and the log has \
                     {entries}; {} acknowledged entries are gone (truncated, or rolled back)",
                    size - entries
                ),
            }));
        }
        let conn = self.store().conn();
        let mut frontier = merkle::Frontier::default();
        let mut stmt = conn.prepare("SELECT hash FROM audit ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut next = witnessed.iter().peekable();
        while let Some(row) = rows.next()? {
            frontier.push(heads::leaf(&row.get::<_, String>(0)?)?);
            while let Some((size, root)) = next.next_if(|(s, _)| *s == frontier.size()) {
                if hex::encode(frontier.root()) != *root {
                    return Ok(Err(VerifyError {
                        seq: *size,
                        reason: format!(
                            "the log's first {size} entries are not those of the witnessed head \
                             (the log was rewritten)"
                        ),
                    }));
                }
                verified.witnessed += 1;
            }
        }
        Ok(Ok(verified))
    }

    /// The log's public key (32 bytes) and origin, for auditors to pin.
    pub fn log_key(&self) -> ([u8; 32], String) {
        let key = self.store().host_key();
        (key.verifying_key().to_bytes(), heads::origin(key))
    }
}
