//! Signed tree heads against an insider who edits the database with
//! ordinary tools: rewriting an entry and rehashing the chain after it,
//! dropping the checkpoints and heads that would give it away, and then
//! letting the next honest run sign over the forgery. Every such edit is
//! named by `verify`, and the host refuses to append to a log that no
//! longer extends its last signed head.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use gatehouse_store::{AuditError, AuditLog, NewEntry, Store, StoredEntry};
use std::path::Path;
use std::sync::Arc;

const T0: i64 = 1_767_607_200_000;

fn entry(i: u64) -> NewEntry {
    NewEntry {
        at_ms: T0 + i as i64,
        kind: "run".into(),
        run_id: Some(format!("run-{i}")),
        body: serde_json::json!({"decision": "deny", "i": i}),
    }
}

fn open(dir: &Path) -> AuditLog {
    AuditLog::open(Arc::new(Store::open(dir).unwrap())).unwrap()
}

fn raw(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("gatehouse.db")).unwrap()
}

/// A log of 20 entries, one commit (and so one signed head) each.
fn log_of_20() -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    for i in 1..=20 {
        log.append(&[entry(i)]).unwrap();
    }
    let v = log.verify().unwrap().unwrap();
    assert_eq!((v.entries, v.tree_heads), (20, 20));
    (dir, log)
}

/// What an insider computes: the entry hash as gatehouse defines it (the
/// algorithm is no secret).
fn entry_hash(
    seq: u64,
    at_ms: i64,
    kind: &str,
    run_id: Option<&str>,
    body: &str,
    prev: &str,
) -> String {
    StoredEntry {
        seq,
        at_ms,
        kind: kind.into(),
        run_id: run_id.map(str::to_string),
        body: body.into(),
        prev: prev.into(),
        hash: String::new(),
    }
    .computed_hash()
}

/// Turn entry `seq`'s deny into an allow and rehash the chain from there,
/// as an insider with the database and no key would.
fn rewrite_and_rehash(dir: &Path, seq: u64) {
    let conn = raw(dir);
    conn.execute(
        "UPDATE audit SET body = replace(body, 'deny', 'allow') WHERE seq = ?1",
        [seq as i64],
    )
    .unwrap();
    let mut prev: String = conn
        .query_row("SELECT prev FROM audit WHERE seq = ?1", [seq as i64], |r| {
            r.get(0)
        })
        .unwrap();
    let rows: Vec<(i64, i64, String, Option<String>, String)> = conn
        .prepare("SELECT seq, at_ms, kind, run_id, body FROM audit WHERE seq >= ?1 ORDER BY seq")
        .unwrap()
        .query_map([seq as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for (s, at, kind, run, body) in rows {
        let hash = entry_hash(s as u64, at, &kind, run.as_deref(), &body, &prev);
        conn.execute(
            "UPDATE audit SET prev = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, hash, s],
        )
        .unwrap();
        prev = hash;
    }
    // The checkpoints after the edit would give it away: drop them.
    conn.execute(
        "DELETE FROM audit_checkpoints WHERE seq >= ?1",
        [seq as i64],
    )
    .unwrap();
}

#[test]
fn a_rewritten_and_rehashed_entry_is_named_and_never_signed_over() {
    let (dir, log) = log_of_20();
    rewrite_and_rehash(dir.path(), 8);
    let err = log.verify().unwrap().unwrap_err();
    assert_eq!(err.seq, 8, "{err}");
    assert!(err.reason.contains("rewritten"), "{err}");
    // The next honest run does not launder it: nothing is appended.
    match log.append(&[entry(21)]) {
        Err(AuditError::Forked { seq, reason }) => {
            assert_eq!(seq, 20, "{reason}");
            assert!(reason.contains("rewritten"), "{reason}");
        }
        other => panic!("appended over a rewritten log: {other:?}"),
    }
    assert_eq!(log.entries(0, None).unwrap().len(), 20);
}

#[test]
fn dropping_the_heads_after_a_rewrite_leaves_an_unsigned_tail() {
    let (dir, log) = log_of_20();
    rewrite_and_rehash(dir.path(), 8);
    raw(dir.path())
        .execute("DELETE FROM audit_heads WHERE size >= 8", [])
        .unwrap();
    let err = log.verify().unwrap().unwrap_err();
    assert_eq!(err.seq, 8, "{err}");
    assert!(err.reason.contains("unsigned tail"), "{err}");
    assert!(matches!(
        log.append(&[entry(21)]),
        Err(AuditError::Forked { .. })
    ));
    // Dropping every head does not help either.
    raw(dir.path())
        .execute("DELETE FROM audit_heads", [])
        .unwrap();
    let err = log.verify().unwrap().unwrap_err();
    assert_eq!(err.seq, 1, "{err}");
    match log.append(&[entry(21)]) {
        Err(AuditError::Forked { reason, .. }) => {
            assert!(reason.contains("no signed tree head"), "{reason}")
        }
        other => panic!("appended over a log with its heads removed: {other:?}"),
    }
}

#[test]
fn a_head_edited_in_place_fails_its_signature() {
    let (dir, log) = log_of_20();
    raw(dir.path())
        .execute(
            "UPDATE audit_heads SET note = replace(note, 'time ', 'time 1') WHERE size = 5",
            [],
        )
        .unwrap();
    let err = log.verify().unwrap().unwrap_err();
    assert_eq!(err.seq, 5, "{err}");
    assert!(err.reason.contains("does not verify"), "{err}");
}

#[test]
fn entries_added_behind_the_hosts_back_are_refused_and_named() {
    let (dir, log) = log_of_20();
    let conn = raw(dir.path());
    let prev: String = conn
        .query_row("SELECT hash FROM audit WHERE seq = 20", [], |r| r.get(0))
        .unwrap();
    let body = r#"{"decision":"allow"}"#;
    let hash = entry_hash(21, T0, "run", None, body, &prev);
    conn.execute(
        "INSERT INTO audit (seq, at_ms, kind, run_id, body, prev, hash) VALUES (21, ?1, 'run', NULL, ?2, ?3, ?4)",
        rusqlite::params![T0, body, prev, hash],
    )
    .unwrap();
    let err = log.verify().unwrap().unwrap_err();
    assert_eq!(err.seq, 21, "{err}");
    assert!(err.reason.contains("unsigned tail"), "{err}");
    match log.append(&[entry(22)]) {
        Err(AuditError::Forked { seq, reason }) => {
            assert_eq!(seq, 21, "{reason}");
            assert!(reason.contains("added without a head"), "{reason}");
        }
        other => panic!("appended after an unsigned entry: {other:?}"),
    }
}

#[test]
fn each_head_is_a_c2sp_checkpoint_note() {
    let (dir, _log) = log_of_20();
    let note: String = raw(dir.path())
        .query_row("SELECT note FROM audit_heads WHERE size = 20", [], |r| {
            r.get(0)
        })
        .unwrap();
    let (text, sig) = note.split_once("\n\n").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("gatehouse.audit/"), "{note}");
    assert_eq!(lines[1], "20");
    assert_eq!(lines[2].len(), 44, "a base64 SHA-256 root: {note}");
    assert!(
        lines[3].starts_with("time ") && lines[4].starts_with("prev "),
        "{note}"
    );
    assert!(sig.starts_with("\u{2014} gatehouse.audit/"), "{note}");
}

#[test]
fn a_receipt_verifies_offline_and_stops_verifying_once_edited() {
    let (_dir, log) = log_of_20();
    let (public, origin) = log.log_key();
    let receipt = log.receipt(7).unwrap();
    let checked = gatehouse_store::check_receipt(&receipt, &public).unwrap();
    assert_eq!(
        (checked.size, checked.origin.as_str()),
        (20, origin.as_str())
    );
    // Through JSON, as an auditor receives it.
    let text = serde_json::to_string(&receipt).unwrap();
    let back: gatehouse_store::SignedReceipt = serde_json::from_str(&text).unwrap();
    assert!(gatehouse_store::check_receipt(&back, &public).is_ok());
    // The decision edited in the receipt.
    let mut edited = receipt.clone();
    edited.entry.body = edited.entry.body.replace("deny", "allow");
    let err = gatehouse_store::check_receipt(&edited, &public).unwrap_err();
    assert!(err.contains("changed"), "{err}");
    // Rehashed too: then it is not in the signed log.
    edited.entry.hash = rehash(&edited.entry);
    let err = gatehouse_store::check_receipt(&edited, &public).unwrap_err();
    assert!(err.contains("not in the log"), "{err}");
    // Another key does not vouch for it.
    let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
        .verifying_key()
        .to_bytes();
    assert!(gatehouse_store::check_receipt(&receipt, &other).is_err());
}

fn rehash(e: &gatehouse_store::StoredEntry) -> String {
    entry_hash(
        e.seq,
        e.at_ms,
        &e.kind,
        e.run_id.as_deref(),
        &e.body,
        &e.prev,
    )
}

#[test]
fn a_consistency_proof_shows_the_log_only_grew() {
    let (_dir, log) = log_of_20();
    let (public, _) = log.log_key();
    for from in [1, 5, 8, 16, 20] {
        let proof = log.consistency(from).unwrap();
        let (a, b) = gatehouse_store::check_consistency(&proof, &public).unwrap();
        assert_eq!((a.size, b.size), (from, 20));
    }
    // From a size no head was signed at: refused, not guessed.
    assert!(log.consistency(21).is_err());
}

/// Copy a data directory (as a backup an insider might put back).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn a_witness_catches_a_rollback_of_the_whole_directory_and_refuses_forged_heads() {
    let data = tempfile::tempdir().unwrap();
    let witness = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let log = open(data.path());
    log.store().set_witness(Some(witness.path()));
    for i in 1..=5 {
        log.append(&[entry(i)]).unwrap();
    }
    drop(log);
    copy_dir(data.path(), backup.path());
    let log = open(data.path());
    log.store().set_witness(Some(witness.path()));
    for i in 6..=9 {
        log.append(&[entry(i)]).unwrap();
    }
    let v = log.verify_witnessed(witness.path()).unwrap().unwrap();
    assert_eq!((v.entries, v.witnessed), (9, 9));
    drop(log);
    // Yesterday's copy put back: sound in itself, and verify alone passes.
    std::fs::remove_dir_all(data.path()).unwrap();
    copy_dir(backup.path(), data.path());
    let log = open(data.path());
    assert!(log.verify().unwrap().is_ok(), "internally consistent");
    let err = log.verify_witnessed(witness.path()).unwrap().unwrap_err();
    assert_eq!(err.seq, 6, "{err}");
    assert!(
        err.reason.contains("4 acknowledged entries are gone"),
        "{err}"
    );
    // A forged witness record is refused, not trusted.
    std::fs::write(
        witness.path().join(gatehouse_store::WITNESS_FILE),
        "gatehouse.audit/x\n3\nAAAA\n\n\u{2014} gatehouse.audit/x AAAA\n~~~\n",
    )
    .unwrap();
    match log.verify_witnessed(witness.path()) {
        Err(AuditError::Witness(e)) => assert!(e.contains("head 1"), "{e}"),
        other => panic!("a forged witness record was trusted: {other:?}"),
    }
}
