//! The audit log: chain, durability under kill -9, tamper detection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use gatehouse_store::{AuditLog, NewEntry, Store};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn entry(i: u64) -> NewEntry {
    NewEntry {
        at_ms: 1_767_607_200_000 + i as i64,
        kind: "test".into(),
        run_id: Some(format!("run-{}", i % 7)),
        body: serde_json::json!({"i": i, "text": format!("entry number {i}")}),
    }
}

fn open(dir: &std::path::Path) -> Arc<AuditLog> {
    Arc::new(AuditLog::open(Arc::new(Store::open(dir).unwrap())).unwrap())
}

fn raw(dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("gatehouse.db")).unwrap()
}

#[test]
fn appended_entries_chain_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    // Batches of 50: every commit signs a checkpoint.
    let mut receipts = Vec::new();
    for chunk in (1..=600).collect::<Vec<u64>>().chunks(50) {
        receipts.extend(
            log.append(&chunk.iter().copied().map(entry).collect::<Vec<_>>())
                .unwrap(),
        );
    }
    assert_eq!(receipts.len(), 600);
    assert_eq!(receipts.last().unwrap().seq, 600);
    log.checkpoint(0).unwrap();
    let v = log.verify().unwrap().unwrap();
    assert_eq!(v.entries, 600);
    assert_eq!(v.checkpoints, 12, "{v:?}");
    assert_eq!(
        log.run("run-3").unwrap().len(),
        600 / 7 + usize::from(600 % 7 >= 3)
    );
    let entries = log.entries(0, None).unwrap();
    assert_eq!(entries[1].prev, entries[0].hash);
}

#[test]
fn a_changed_byte_is_named_at_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&(1..=50).map(entry).collect::<Vec<_>>())
        .unwrap();
    for seq in [1, 17, 50] {
        let conn = raw(dir.path());
        let body: String = conn
            .query_row("SELECT body FROM audit WHERE seq = ?1", [seq], |r| r.get(0))
            .unwrap();
        let changed = body.replacen("entry number", "entry numbeR", 1);
        conn.execute(
            "UPDATE audit SET body = ?1 WHERE seq = ?2",
            rusqlite::params![changed, seq],
        )
        .unwrap();
        let err = log.verify().unwrap().unwrap_err();
        assert_eq!(err.seq, seq as u64, "{err}");
        assert!(err.reason.contains("changed"), "{err}");
        conn.execute(
            "UPDATE audit SET body = ?1 WHERE seq = ?2",
            rusqlite::params![body, seq],
        )
        .unwrap();
    }
    for (column, value) in [("kind", "other"), ("at_ms", "5"), ("run_id", "run-x")] {
        let conn = raw(dir.path());
        let old: String = conn
            .query_row(
                &format!("SELECT CAST({column} AS TEXT) FROM audit WHERE seq = 9"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            &format!("UPDATE audit SET {column} = ?1 WHERE seq = 9"),
            [value],
        )
        .unwrap();
        assert_eq!(log.verify().unwrap().unwrap_err().seq, 9, "{column}");
        conn.execute(
            &format!("UPDATE audit SET {column} = ?1 WHERE seq = 9"),
            [old],
        )
        .unwrap();
    }
    assert!(log.verify().unwrap().is_ok());
}

#[test]
fn removed_or_rewritten_entries_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&(1..=300).map(entry).collect::<Vec<_>>())
        .unwrap();
    log.checkpoint(0).unwrap();
    let conn = raw(dir.path());
    // A deleted entry leaves a gap.
    conn.execute("DELETE FROM audit WHERE seq = 40", [])
        .unwrap();
    let err = log.verify().unwrap().unwrap_err();
    assert_eq!(err.seq, 40, "{err}");
    assert!(err.reason.contains("missing"), "{err}");

    // Deleting the tail is caught by the signed tree head that covered it,
    // naming the first entry gone.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&(1..=300).map(entry).collect::<Vec<_>>())
        .unwrap();
    log.checkpoint(0).unwrap();
    raw(dir.path())
        .execute("DELETE FROM audit WHERE seq > 290", [])
        .unwrap();
    let err = log.verify().unwrap().unwrap_err();
    assert_eq!(err.seq, 291, "{err}");
    assert!(err.reason.contains("missing"), "{err}");

    // A forged checkpoint signature is caught.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&(1..=300).map(entry).collect::<Vec<_>>())
        .unwrap();
    let forged = raw(dir.path())
        .execute("UPDATE audit_checkpoints SET signature = (CASE WHEN substr(signature, 1, 1) = '0' THEN '1' ELSE '0' END) || substr(signature, 2)", [])
        .unwrap();
    assert_eq!(forged, 1);
    let err = log.verify().unwrap().unwrap_err();
    assert_eq!(err.seq, 300, "{err}");
    assert!(err.reason.contains("checkpoint"), "{err}");
}

#[test]
fn concurrent_appends_are_group_committed_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let writer = Arc::new(log.writer());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let writer = writer.clone();
            std::thread::spawn(move || {
                (0..500)
                    .map(|i| writer.append(entry(t * 1000 + i)).unwrap().seq)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=4000).collect::<Vec<_>>());
    assert_eq!(log.verify().unwrap().unwrap().entries, 4000);
}

/// Child side of the crash test: appends forever from 4 threads, printing
/// each acknowledged sequence number.
#[test]
#[ignore = "run by crash_test_child_survives_kill_9 in a child process"]
fn crash_child() {
    let Some(dir) = std::env::var_os("GATEHOUSE_CRASH_DIR") else {
        return;
    };
    let log = open(std::path::Path::new(&dir));
    let writer = Arc::new(log.writer());
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (writer, out) = (writer.clone(), out.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    let r = writer.append(entry(t * 1_000_000 + i)).unwrap();
                    let mut o = out.lock().unwrap();
                    writeln!(o, "acked {}", r.seq).unwrap();
                    o.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn crash_test_child_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut total_acked = 0;
    for (round, delay_ms) in [40u64, 95, 150, 230, 310].into_iter().enumerate() {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("GATEHOUSE_CRASH_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut max = 0u64;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line
                    .strip_prefix("acked ")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    max = max.max(n);
                }
            }
            max
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        let log = open(dir.path());
        let verified = log
            .verify()
            .unwrap()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(
            verified.entries >= acked,
            "round {round}: acknowledged {acked}, only {} on disk",
            verified.entries
        );
        total_acked = total_acked.max(acked);
    }
    assert!(total_acked > 0, "the child never acknowledged an entry");
}
