//! Signed tree heads: after every commit the host signs the Merkle root of
//! the whole log ([`super::merkle`]) with its size, time and the hash of
//! the previous head, as a C2SP `tlog-checkpoint` signed note, so standard
//! witnesses and verifiers can read it.
//!
//! The host never signs a forgery. A new head extends the last signed one
//! from the last head's frontier and the new entries alone, after checking
//! that the log still ends where the last head ended (same position, same
//! hash, content that still hashes to it). A log rewritten underneath is
//! refused, naming the entry, and nothing is appended.

use super::merkle::{self, Frontier};
use super::{AuditError, HostKey, ZERO, entry_hash};
use ed25519_dalek::Signer;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

/// A signed tree head as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) size: u64,
    pub(crate) root: String,
    pub(crate) at_ms: i64,
    pub(crate) key_id: String,
    pub(crate) prev: String,
    pub(crate) last_entry: String,
    pub(crate) frontier: Frontier,
    pub(crate) note: String,
}

impl Head {
    /// The hash that the next head names as its previous one.
    pub(crate) fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.note.as_bytes()))
    }
}

/// The log's origin line: which log a checkpoint belongs to.
pub(crate) fn origin(key: &HostKey) -> String {
    format!("gatehouse.audit/{}", key.key_id)
}

/// The note text a head signs: origin, size, root (base64), then the
/// extension lines gatehouse adds (time, previous head).
fn body(origin: &str, size: u64, root: &merkle::Hash, at_ms: i64, prev: &str) -> String {
    format!(
        "{origin}\n{size}\n{}\ntime {at_ms}\nprev {prev}\n",
        base64(root)
    )
}

/// The C2SP signed-note key hash of an Ed25519 key: the first four bytes
/// of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
pub(crate) fn key_hash(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([1u8]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Sign `text` as a note by `key`.
fn sign_note(text: &str, key: &HostKey) -> String {
    let name = origin(key);
    let public = key.verifying_key().to_bytes();
    let mut sig = key_hash(&name, &public).to_vec();
    sig.extend_from_slice(&key.signing.sign(text.as_bytes()).to_bytes());
    format!("{text}\n\u{2014} {name} {}\n", base64(&sig))
}

/// Check a note's signature by `key`; returns its text.
pub(crate) fn open_note<'a>(note: &'a str, key: &HostKey) -> Result<&'a str, String> {
    open_note_by(note, &key.verifying_key().to_bytes())
}

/// Check a note's signature by the Ed25519 key `public`, whichever name
/// the note's origin line gives it; returns its text.
pub(crate) fn open_note_by<'a>(note: &'a str, public: &[u8; 32]) -> Result<&'a str, String> {
    let (text, sigs) = note
        .split_once("\n\n")
        .map(|(t, s)| (&note[..t.len() + 1], s))
        .ok_or("no signature block")?;
    let name = text.lines().next().ok_or("no origin line")?;
    let want = key_hash(name, public);
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(public).map_err(|_| "not an Ed25519 public key")?;
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((who, b64)) = rest.split_once(' ') else {
            continue;
        };
        if who != name {
            continue;
        }
        let bytes = unbase64(b64).ok_or("a signature is not base64")?;
        if bytes.len() != 68 || bytes[..4] != want {
            continue;
        }
        let sig: [u8; 64] = bytes[4..].try_into().map_err(|_| "bad signature length")?;
        return key
            .verify_strict(text.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
            .map(|()| text)
            .map_err(|_| format!("the signature of `{name}` does not verify"));
    }
    Err(format!("not signed by the key given for `{name}`"))
}

fn head_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Head> {
    let size = r.get::<_, i64>(0)? as u64;
    let frontier_text: String = r.get(6)?;
    let nodes = frontier_text
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| <merkle::Hash>::try_from(b).ok())
        })
        .collect::<Option<Vec<_>>>();
    let frontier = nodes
        .and_then(|n| Frontier::from_parts(size, n))
        .ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                6,
                rusqlite::types::Type::Text,
                format!("head at size {size}: malformed frontier").into(),
            )
        })?;
    Ok(Head {
        size,
        root: r.get(1)?,
        at_ms: r.get(2)?,
        key_id: r.get(3)?,
        prev: r.get(4)?,
        last_entry: r.get(5)?,
        frontier,
        note: r.get(7)?,
    })
}

const HEAD_COLUMNS: &str = "size, root, at_ms, key_id, prev, last_entry, frontier, note";

/// The newest signed head.
pub(crate) fn last_head(conn: &rusqlite::Connection) -> rusqlite::Result<Option<Head>> {
    conn.query_row(
        &format!("SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY size DESC LIMIT 1"),
        [],
        head_row,
    )
    .optional()
}

/// Every signed head, oldest first.
pub(crate) fn heads(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<Head>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY size"
    ))?;
    let rows = stmt.query_map([], head_row)?;
    rows.collect()
}

/// An entry as stored, with its hash recomputed from its content.
fn stored_entry(
    conn: &rusqlite::Connection,
    seq: u64,
) -> rusqlite::Result<Option<(String, String, String)>> {
    conn.query_row(
        "SELECT seq, at_ms, kind, run_id, body, prev, hash FROM audit WHERE seq = ?1",
        [seq as i64],
        |r| {
            let recomputed = entry_hash(
                seq,
                r.get(1)?,
                &r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?.as_deref(),
                &r.get::<_, String>(4)?,
                &r.get::<_, String>(5)?,
            );
            Ok((r.get(6)?, recomputed, r.get(5)?))
        },
    )
    .optional()
}

/// Where the log ends now: the newest entry's position and hash.
fn log_end(conn: &rusqlite::Connection) -> rusqlite::Result<(u64, String)> {
    Ok(conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, ZERO.to_string())))
}

/// The frontier the next head extends: the last head's, once the log is
/// checked to end where it ended; or, for a log that no head covers yet
/// (written before gatehouse signed heads), one computed over its whole
/// chain, checked link by link.
pub(crate) fn frontier_to_extend(
    tx: &rusqlite::Transaction<'_>,
) -> Result<(Frontier, String), AuditError> {
    let (end, end_hash) = log_end(tx)?;
    let Some(head) = last_head(tx)? else {
        if end > 0 {
            // A log that no head covers was signed at its upgrade: its heads
            // were removed since. Signing over it now would launder it.
            return Err(AuditError::Forked {
                seq: 1,
                reason: format!(
                    "no signed tree head covers entries 1..={end} (heads were removed)"
                ),
            });
        }
        return Ok((Frontier::default(), ZERO.to_string()));
    };
    let forked = |seq: u64, reason: String| Err(AuditError::Forked { seq, reason });
    if end != head.size {
        return forked(
            head.size.min(end) + 1,
            format!(
                "the last signed head covers {} entries and the log has {end}: entries were {}",
                head.size,
                if end > head.size {
                    "added without a head"
                } else {
                    "removed"
                }
            ),
        );
    }
    if head.size > 0 {
        let Some((stored, recomputed, _)) = stored_entry(tx, head.size)? else {
            return forked(head.size, "missing".into());
        };
        if stored != head.last_entry || recomputed != head.last_entry || end_hash != stored {
            return forked(
                head.size,
                "no longer what the last signed head covers (the log was rewritten)".into(),
            );
        }
    }
    Ok((head.frontier.clone(), head.hash()))
}

/// The frontier of the first `end` entries, checking every hash and link.
fn chain_frontier(conn: &rusqlite::Connection, end: u64) -> Result<Frontier, AuditError> {
    let mut frontier = Frontier::default();
    let mut prev = ZERO.to_string();
    for seq in 1..=end {
        let Some((stored, recomputed, stored_prev)) = stored_entry(conn, seq)? else {
            return Err(AuditError::Forked {
                seq,
                reason: "missing".into(),
            });
        };
        if stored != recomputed || stored_prev != prev {
            return Err(AuditError::Forked {
                seq,
                reason: "its hash or link does not match; no head is signed over a broken chain"
                    .into(),
            });
        }
        frontier.push(leaf(&stored)?);
        prev = stored;
    }
    Ok(frontier)
}

/// The Merkle leaf of an entry: its hash's 32 bytes.
pub(crate) fn leaf(entry_hash_hex: &str) -> Result<merkle::Hash, AuditError> {
    let bytes: [u8; 32] = hex::decode(entry_hash_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| AuditError::Body(format!("`{entry_hash_hex}` is not an entry hash")))?;
    Ok(merkle::leaf_hash(&bytes))
}

/// Sign and store the head over `frontier` (the log through `last_entry`).
pub(crate) fn sign_head(
    tx: &rusqlite::Transaction<'_>,
    key: &HostKey,
    frontier: &Frontier,
    last_entry: &str,
    prev: &str,
    at_ms: i64,
) -> Result<String, AuditError> {
    let root = frontier.root();
    let text = body(&origin(key), frontier.size(), &root, at_ms, prev);
    let note = sign_note(&text, key);
    let nodes: Vec<String> = frontier.nodes().iter().map(hex::encode).collect();
    tx.execute(
        &format!(
            "INSERT INTO audit_heads ({HEAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ),
        params![
            frontier.size() as i64,
            hex::encode(root),
            at_ms,
            key.key_id,
            prev,
            last_entry,
            nodes.join(","),
            note
        ],
    )?;
    Ok(note)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648), as signed notes use.
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard base64 with padding; `None` if malformed.
pub(crate) fn unbase64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Sign the first head over a log written before gatehouse signed heads
/// (once, when the schema is upgraded). A broken chain is left unsigned,
/// for `verify` to name.
pub(crate) fn sign_genesis(
    tx: &rusqlite::Transaction<'_>,
    key: &HostKey,
) -> Result<(), AuditError> {
    if last_head(tx)?.is_some() {
        return Ok(());
    }
    let (end, end_hash) = log_end(tx)?;
    if end == 0 {
        return Ok(());
    }
    let Ok(frontier) = chain_frontier(tx, end) else {
        return Ok(());
    };
    let at_ms: i64 = tx.query_row(
        "SELECT at_ms FROM audit WHERE seq = ?1",
        [end as i64],
        |r| r.get(0),
    )?;
    sign_head(tx, key, &frontier, &end_hash, ZERO, at_ms).map(drop)
}

/// Checks the signed heads against the entries as `verify` walks them.
pub(crate) struct HeadCheck<'k> {
    heads: std::collections::VecDeque<Head>,
    frontier: Frontier,
    prev: String,
    key: &'k HostKey,
    /// Heads checked.
    pub(crate) checked: u64,
    /// The newest head checked: size and root (hex).
    pub(crate) newest: Option<(u64, String)>,
}

impl<'k> HeadCheck<'k> {
    pub(crate) fn new(conn: &rusqlite::Connection, key: &'k HostKey) -> rusqlite::Result<Self> {
        Ok(Self {
            heads: heads(conn)?.into(),
            frontier: Frontier::default(),
            prev: ZERO.to_string(),
            key,
            checked: 0,
            newest: None,
        })
    }

    /// Take entry `seq` (already checked in the chain); `Err` names what a
    /// head covering it says otherwise.
    pub(crate) fn entry(&mut self, seq: u64, hash: &str) -> Result<(), String> {
        self.frontier
            .push(leaf(hash).map_err(|e| format!("entry {seq}: {e}"))?);
        while let Some(head) = self.heads.front() {
            if head.size != seq {
                break;
            }
            let root = hex::encode(self.frontier.root());
            let text = open_note(&head.note, self.key)
                .map_err(|e| format!("the signed tree head at size {}: {e}", head.size))?;
            let mut lines = text.lines();
            let (_origin, size, b64) = (lines.next(), lines.next(), lines.next());
            let noted_root = b64.and_then(unbase64).map(hex::encode);
            if size != Some(head.size.to_string().as_str())
                || noted_root.as_deref() != Some(head.root.as_str())
            {
                return Err(format!(
                    "the signed tree head at size {} does not say what its row says",
                    head.size
                ));
            }
            if head.root != root || head.last_entry != hash {
                return Err(format!(
                    "entries up to {seq} are not what the signed tree head at size {} covers \
                     (the log was rewritten)",
                    head.size
                ));
            }
            if head.prev != self.prev {
                return Err(format!(
                    "the signed tree head at size {} does not follow the one before it \
                     (heads were removed or replaced)",
                    head.size
                ));
            }
            self.prev = head.hash();
            self.checked += 1;
            self.newest = Some((head.size, root));
            self.heads.pop_front();
        }
        if self.heads.front().is_some_and(|h| h.size < seq) {
            return Err("a signed tree head is out of order".into());
        }
        Ok(())
    }

    /// After the last entry: every head must have been met, and every
    /// entry covered by one. Returns the first uncovered entry's position
    /// with the reason, if any.
    pub(crate) fn finish(self, entries: u64) -> Result<(), (u64, String)> {
        if let Some(head) = self.heads.front() {
            return Err((
                entries + 1,
                format!(
                    "missing: the signed tree head at size {} covers {} entries the log no longer has",
                    head.size,
                    head.size - entries
                ),
            ));
        }
        let covered = self.newest.as_ref().map_or(0, |(size, _)| *size);
        if entries > covered {
            return Err((
                covered + 1,
                format!(
                    "entries {}..={entries} are covered by no signed tree head (an unsigned tail)",
                    covered + 1
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_matches_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
            assert_eq!(unbase64(coded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(unbase64("Zm9v!"), None);
    }
}
