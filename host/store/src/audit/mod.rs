//! The audit log: append-only, hash-chained, durable, with signed
//! checkpoints.
//!
//! Every entry carries the blake3 of the previous entry; the first links to
//! 32 zero bytes. An entry is acknowledged only once the SQLite transaction
//! holding it has committed with `synchronous = FULL`, so after a crash
//! (even `kill -9`) the log is whole up to the last acknowledged entry: a
//! transaction is on disk entirely or not at all. Appends from many threads
//! are group-committed by one writer thread; when the disk is slower than
//! the producers, the bounded queue makes them wait (back-pressure) rather
//! than drop entries.
//!
//! Every commit ends with a checkpoint: the host signs the newest entry's
//! hash with its ed25519 key, so entries cannot be removed from the tail
//! or rewritten without the key. `verify` recomputes every hash,
//! checks every link, the sequence's continuity and every checkpoint
//! signature, and names the first entry that does not match.

mod heads;
mod merkle;
mod query;
mod receipts;

pub use query::Query;
pub use receipts::{
    Checked, ConsistencyProof, SignedReceipt, StoredEntry, check_consistency, check_head,
    check_receipt,
};

use crate::db::{Schema, Store, StoreError};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};

pub(crate) const SCHEMA: Schema = Schema {
    module: "audit",
    migrations: &[
        "CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            run_id TEXT,
            body TEXT NOT NULL,
            prev TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_run ON audit(run_id);
        CREATE INDEX audit_at ON audit(at_ms);
        CREATE TABLE audit_checkpoints (
            seq INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            key_id TEXT NOT NULL,
            signature TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        );",
        // 2: what `query` filters on, derived from each entry's body (not
        // part of its hash): the agent, and the actions it concerns.
        "ALTER TABLE audit ADD COLUMN agent TEXT;
        CREATE INDEX audit_kind ON audit(kind, seq);
        CREATE INDEX audit_agent ON audit(agent, seq);
        CREATE TABLE audit_actions (
            seq INTEGER NOT NULL REFERENCES audit(seq),
            action_id TEXT NOT NULL,
            PRIMARY KEY (action_id, seq)
        ) WITHOUT ROWID;",
        // 3: a signed tree head after every commit (see `heads`); the first
        // head after the upgrade covers the chain written before.
        "CREATE TABLE audit_heads (
            size INTEGER PRIMARY KEY,
            root TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            key_id TEXT NOT NULL,
            prev TEXT NOT NULL,
            last_entry TEXT NOT NULL,
            frontier TEXT NOT NULL,
            note TEXT NOT NULL
        );",
    ],
    backfill: Some(query::backfill),
};

/// Entries a writer commits in one transaction at most.
const MAX_BATCH: usize = 512;

/// Appends that may wait in the queue before producers block.
const QUEUE: usize = 4096;

/// The file in the data directory holding the host's signing key.
pub const HOST_KEY_FILE: &str = "host-key.json";

/// An audit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host key file is unreadable or malformed.
    #[error("host key `{path}`: {reason}")]
    HostKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An entry's body is not JSON.
    #[error("entry body is not JSON: {0}")]
    Body(String),
    /// The log no longer extends its last signed tree head: it was
    /// rewritten, cut or extended behind the host's back. Nothing was
    /// appended.
    #[error("audit log entry {seq}: {reason}; refusing to append")]
    Forked {
        /// The first entry that does not match.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The signed tree head was committed but could not be handed to the
    /// witness: the append is not acknowledged.
    #[error("witness: {0}")]
    Witness(String),
    /// The writer thread is gone.
    #[error("the audit writer stopped")]
    WriterGone,
}

#[doc(hidden)]
impl From<rusqlite::Error> for AuditError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(StoreError::Backend(e.into()))
    }
}

/// An entry to append.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    /// When it happened, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// What it records: `run`, `outcome`, `channel-move`, ...
    pub kind: String,
    /// The run it belongs to, if any.
    pub run_id: Option<String>,
    /// The record, as JSON.
    pub body: serde_json::Value,
}

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Entry {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// When it happened.
    pub at_ms: i64,
    /// What it records.
    pub kind: String,
    /// The run it belongs to.
    pub run_id: Option<String>,
    /// The record.
    pub body: serde_json::Value,
    /// blake3 of the previous entry (hex; zeros for the first).
    pub prev: String,
    /// blake3 of this entry (hex).
    pub hash: String,
}

/// What an acknowledged append returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The entry's position.
    pub seq: u64,
    /// The entry's hash (hex).
    pub hash: String,
}

/// Why `verify` rejects the log, naming the first entry that fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("entry {seq}: {reason}")]
pub struct VerifyError {
    /// The first entry that does not match.
    pub seq: u64,
    /// Why.
    pub reason: String,
}

/// A summary of a sound log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoint signatures checked.
    pub checkpoints: u64,
    /// The newest entry's hash (hex), if any.
    pub head: Option<String>,
    /// Signed tree heads checked.
    pub tree_heads: u64,
    /// The Merkle root (hex, RFC 9162 over the entry hashes) that the newest
    /// signed tree head covers, if any.
    pub root: Option<String>,
    /// Heads a witness holds that the log was checked against.
    pub witnessed: u64,
}

const ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry: domain-separated, every field length-prefixed.
fn entry_hash(
    seq: u64,
    at_ms: i64,
    kind: &str,
    run_id: Option<&str>,
    body: &str,
    prev: &str,
) -> String {
    let mut h = blake3::Hasher::new_derive_key("gatehouse audit entry v1");
    h.update(&seq.to_le_bytes());
    h.update(&at_ms.to_le_bytes());
    for part in [Some(kind), run_id, Some(body), Some(prev)] {
        match part {
            Some(p) => {
                h.update(&[1]);
                h.update(&(p.len() as u64).to_le_bytes());
                h.update(p.as_bytes());
            }
            None => {
                h.update(&[0]);
            }
        }
    }
    h.finalize().to_hex().to_string()
}

/// Append `entries` inside `tx` and sign a checkpoint over the newest:
/// the entries are durable exactly when `tx` commits, together with
/// whatever else `tx` wrote.
/// What [`append_in`] wrote: the receipts, and the signed tree head (a
/// note) covering them, to hand to a witness once committed.
pub(crate) struct Appended {
    pub(crate) receipts: Vec<Receipt>,
    pub(crate) head: Option<String>,
}

pub(crate) fn append_in(
    tx: &rusqlite::Transaction<'_>,
    key: &HostKey,
    entries: &[NewEntry],
) -> Result<Appended, AuditError> {
    let Some(newest) = entries.last() else {
        return Ok(Appended {
            receipts: Vec::new(),
            head: None,
        });
    };
    // INVARIANT: a new head extends the last signed one; a log rewritten
    // underneath is refused here, before anything is written.
    let (mut frontier, prev_head) = heads::frontier_to_extend(tx)?;
    let (mut seq, mut prev): (u64, String) = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, ZERO.to_string()));
    let mut receipts = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let body =
            serde_json::to_string(&e.body).map_err(|err| AuditError::Body(err.to_string()))?;
        let hash = entry_hash(seq, e.at_ms, &e.kind, e.run_id.as_deref(), &body, &prev);
        tx.execute(
            "INSERT INTO audit (seq, at_ms, kind, run_id, body, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![seq as i64, e.at_ms, e.kind, e.run_id, body, prev, hash],
        )?;
        frontier.push(heads::leaf(&hash)?);
        receipts.push(Receipt {
            seq,
            hash: hash.clone(),
        });
        prev = hash;
    }
    if let Some(first) = receipts.first() {
        query::index_from(tx, first.seq)?;
    }
    let head = heads::sign_head(tx, key, &frontier, &prev, &prev_head, newest.at_ms)?;
    // INVARIANT: every commit signs its newest entry, so verify can tell
    // a truncated or rewritten tail from a sound one.
    sign_checkpoint(tx, key, seq, &prev, newest.at_ms)?;
    Ok(Appended {
        receipts,
        head: Some(head),
    })
}

fn sign_checkpoint(
    tx: &rusqlite::Transaction<'_>,
    key: &HostKey,
    seq: u64,
    hash: &str,
    at_ms: i64,
) -> Result<(), AuditError> {
    let sig = key.signing.sign(checkpoint_message(seq, hash).as_bytes());
    tx.execute(
        "INSERT OR REPLACE INTO audit_checkpoints (seq, hash, key_id, signature, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seq as i64, hash, key.key_id, hex::encode(sig.to_bytes()), at_ms],
    )?;
    Ok(())
}

fn checkpoint_message(seq: u64, hash: &str) -> String {
    format!("gatehouse audit checkpoint v1\n{seq}\n{hash}")
}

/// The host's signing key, kept in the data directory.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostKeyFile {
    key_id: String,
    public_key: String,
    secret_key: String,
}

/// The host's checkpoint key.
pub struct HostKey {
    signing: SigningKey,
    /// Short id of the public key (first 16 hex of its blake3).
    pub key_id: String,
}

impl HostKey {
    /// Load the key from `dir`, creating it (mode 0600) on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, AuditError> {
        let path = dir.join(HOST_KEY_FILE);
        let bad = |reason: String| AuditError::HostKey {
            path: path.clone(),
            reason,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let file: HostKeyFile =
                    serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
                let bytes: [u8; 32] = hex::decode(&file.secret_key)
                    .map_err(|e| bad(format!("secret-key: {e}")))?
                    .try_into()
                    .map_err(|_| bad("secret-key: expected 32 bytes".into()))?;
                let signing = SigningKey::from_bytes(&bytes);
                let key = Self::from_signing(signing);
                if key.key_id != file.key_id {
                    return Err(bad("key-id does not match the secret key".into()));
                }
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::from_signing(SigningKey::generate(&mut rand_core::OsRng));
                let file = HostKeyFile {
                    key_id: key.key_id.clone(),
                    public_key: hex::encode(key.signing.verifying_key().as_bytes()),
                    secret_key: hex::encode(key.signing.to_bytes()),
                };
                let text = serde_json::to_string_pretty(&file).map_err(|e| bad(e.to_string()))?;
                write_private(&path, text.as_bytes()).map_err(|e| bad(e.to_string()))?;
                Ok(key)
            }
            Err(e) => Err(bad(e.to_string())),
        }
    }

    fn from_signing(signing: SigningKey) -> Self {
        let key_id = blake3::hash(signing.verifying_key().as_bytes()).to_hex()[..16].to_string();
        Self { signing, key_id }
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The audit log of a store.
pub struct AuditLog {
    store: Arc<Store>,
}

type Reply = SyncSender<Result<Receipt, String>>;

/// A group-committing writer: many threads append, one thread commits.
pub struct AuditWriter {
    queue: Option<SyncSender<(NewEntry, Reply)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AuditLog {
    /// The audit log of `store`, signing checkpoints with the host key in
    /// the store's directory.
    pub fn open(store: Arc<Store>) -> Result<Self, AuditError> {
        Ok(Self { store })
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Append entries in one transaction; returns once it is durable.
    pub fn append(&self, entries: &[NewEntry]) -> Result<Vec<Receipt>, AuditError> {
        let mut conn = self.store.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let appended = append_in(&tx, self.store.host_key(), entries)?;
        tx.commit()?;
        drop(conn);
        self.store
            .witness(appended.head.as_deref())
            .map_err(|e| AuditError::Witness(e.to_string()))?;
        Ok(appended.receipts)
    }

    /// Sign a checkpoint over the newest entry (no-op on an empty log).
    pub fn checkpoint(&self, at_ms: i64) -> Result<Option<u64>, AuditError> {
        let mut conn = self.store.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let head: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((seq, hash)) = head else {
            return Ok(None);
        };
        sign_checkpoint(&tx, self.store.host_key(), seq as u64, &hash, at_ms)?;
        tx.commit()?;
        Ok(Some(seq as u64))
    }

    /// A group-committing writer over this log.
    pub fn writer(self: &Arc<Self>) -> AuditWriter {
        let (tx, rx) = mpsc::sync_channel::<(NewEntry, Reply)>(QUEUE);
        let log = self.clone();
        let thread = std::thread::Builder::new()
            .name("gatehouse-audit".into())
            .spawn(move || write_loop(&log, &rx))
            .ok();
        AuditWriter {
            queue: Some(tx),
            thread,
        }
    }

    /// Entries in order, from `since_seq` (exclusive), optionally only
    /// those at or after `since_ms`.
    pub fn entries(&self, since_seq: u64, since_ms: Option<i64>) -> Result<Vec<Entry>, AuditError> {
        self.query(&Query {
            after_seq: since_seq,
            from_ms: since_ms,
            ..Query::default()
        })
    }

    /// The entries of one run, in order.
    pub fn run(&self, run_id: &str) -> Result<Vec<Entry>, AuditError> {
        self.query(&Query {
            run_id: Some(run_id.to_string()),
            ..Query::default()
        })
    }

    /// Check the whole log: every hash, every link, no gap, every
    /// checkpoint signature (against this host's key). `Ok(Err(..))` names
    /// the first entry that does not match.
    pub fn verify(&self) -> Result<Result<Verified, VerifyError>, AuditError> {
        let conn = self.store.conn();
        let mut checkpoints: std::collections::BTreeMap<u64, (String, String, String)> =
            Default::default();
        {
            let mut stmt = conn.prepare(
                "SELECT seq, hash, key_id, signature FROM audit_checkpoints ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            for row in rows {
                let (seq, hash, key_id, sig) = row?;
                checkpoints.insert(seq, (hash, key_id, sig));
            }
        }
        let key = self.store.host_key().verifying_key();
        let mut tree = heads::HeadCheck::new(&conn, self.store.host_key())?;
        let mut stmt = conn
            .prepare("SELECT seq, at_ms, kind, run_id, body, prev, hash FROM audit ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut expected_seq = 1u64;
        let mut prev = ZERO.to_string();
        let mut count = 0u64;
        let mut checked = 0u64;
        while let Some(row) = rows.next()? {
            let seq = row.get::<_, i64>(0)? as u64;
            let at_ms: i64 = row.get(1)?;
            let kind: String = row.get(2)?;
            let run_id: Option<String> = row.get(3)?;
            let body: String = row.get(4)?;
            let stored_prev: String = row.get(5)?;
            let hash: String = row.get(6)?;
            if seq != expected_seq {
                return Ok(Err(VerifyError {
                    seq: expected_seq,
                    reason: format!("missing (the log jumps to entry {seq})"),
                }));
            }
            if entry_hash(seq, at_ms, &kind, run_id.as_deref(), &body, &stored_prev) != hash {
                return Ok(Err(VerifyError {
                    seq,
                    reason: "content does not match its hash (the entry was changed)".into(),
                }));
            }
            if stored_prev != prev {
                return Ok(Err(VerifyError {
                    seq,
                    reason: format!(
                        "link broken: it names {} as the previous hash, entry {} has {}",
                        short(&stored_prev),
                        seq - 1,
                        short(&prev)
                    ),
                }));
            }
            if let Some((cp_hash, key_id, sig)) = checkpoints.remove(&seq) {
                let ok = cp_hash == hash
                    && key_id == self.store.host_key().key_id
                    && hex::decode(&sig)
                        .ok()
                        .and_then(|b| <[u8; 64]>::try_from(b).ok())
                        .map(|b| ed25519_dalek::Signature::from_bytes(&b))
                        .is_some_and(|s| {
                            key.verify(checkpoint_message(seq, &hash).as_bytes(), &s)
                                .is_ok()
                        });
                if !ok {
                    return Ok(Err(VerifyError {
                        seq,
                        reason: format!("checkpoint signature by `{key_id}` does not verify"),
                    }));
                }
                checked += 1;
            }
            if let Err(reason) = tree.entry(seq, &hash) {
                return Ok(Err(VerifyError { seq, reason }));
            }
            prev = hash;
            expected_seq += 1;
            count += 1;
        }
        let signed_heads = tree.checked;
        let root = tree.newest.as_ref().map(|(_, root)| root.clone());
        if let Err((seq, reason)) = tree.finish(count) {
            return Ok(Err(VerifyError { seq, reason }));
        }
        if let Some((&seq, _)) = checkpoints.iter().next() {
            return Ok(Err(VerifyError {
                seq,
                reason: "a checkpoint names an entry the log does not have (entries were removed)"
                    .into(),
            }));
        }
        Ok(Ok(Verified {
            entries: count,
            checkpoints: checked,
            head: (count > 0).then_some(prev),
            tree_heads: signed_heads,
            root,
            witnessed: 0,
        }))
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

pub(crate) fn row_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Entry, AuditError>> {
    let body: String = r.get(4)?;
    let seq = r.get::<_, i64>(0)? as u64;
    let parsed =
        serde_json::from_str(&body).map_err(|e| AuditError::Body(format!("entry {seq}: {e}")));
    let (at_ms, kind, run_id, prev, hash) = (r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?, r.get(6)?);
    Ok(parsed.map(|body| Entry {
        seq,
        at_ms,
        kind,
        run_id,
        body,
        prev,
        hash,
    }))
}

fn write_loop(log: &AuditLog, rx: &Receiver<(NewEntry, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let entries: Vec<NewEntry> = batch.iter().map(|(e, _)| e.clone()).collect();
        match log.append(&entries) {
            Ok(receipts) => {
                for ((_, reply), receipt) in batch.into_iter().zip(receipts) {
                    let _ = reply.send(Ok(receipt));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(msg.clone()));
                }
            }
        }
    }
}

impl AuditWriter {
    /// Append one entry; returns once its group commit is durable. Blocks
    /// while the queue is full (back-pressure), never drops.
    pub fn append(&self, entry: NewEntry) -> Result<Receipt, AuditError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.queue
            .as_ref()
            .ok_or(AuditError::WriterGone)?
            .send((entry, tx))
            .map_err(|_| AuditError::WriterGone)?;
        match rx.recv() {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(msg)) => Err(AuditError::Body(msg)),
            Err(_) => Err(AuditError::WriterGone),
        }
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
