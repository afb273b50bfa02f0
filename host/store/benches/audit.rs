//! Audit-log append throughput with durability on (every commit fsynced
//! by SQLite, `synchronous = FULL`), in one process: one entry per commit,
//! batches, and many threads through the group-committing writer.
//!
//! `cargo bench -p gatehouse-store --bench audit`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use gatehouse_store::{AuditLog, NewEntry, Store};
use std::sync::Arc;
use std::time::Instant;

fn entry(i: u64) -> NewEntry {
    NewEntry {
        at_ms: i as i64,
        kind: "run".into(),
        run_id: Some(format!("run-{i}")),
        // About the size of a small run record.
        body: serde_json::json!({"i": i, "decisions": (0..6).map(|d| serde_json::json!({"id": format!("run-{i}/c-{d}"), "outcome": "allow", "fuel": 150_000})).collect::<Vec<_>>()}),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(Arc::new(Store::open(dir.path()).unwrap())).unwrap());

    let n = 300u64;
    let t = Instant::now();
    for i in 0..n {
        log.append(&[entry(i)]).unwrap();
    }
    let single = n as f64 / t.elapsed().as_secs_f64();

    let batches = 40u64;
    let t = Instant::now();
    for b in 0..batches {
        log.append(&(0..100).map(|i| entry(b * 100 + i)).collect::<Vec<_>>())
            .unwrap();
    }
    let batched = (batches * 100) as f64 / t.elapsed().as_secs_f64();

    let writer = Arc::new(log.writer());
    let threads = 16u64;
    let per = 400u64;
    let t = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|k| {
            let w = writer.clone();
            std::thread::spawn(move || {
                for i in 0..per {
                    w.append(entry(k * per + i)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let grouped = (threads * per) as f64 / t.elapsed().as_secs_f64();

    let v = log.verify().unwrap().unwrap();
    println!(
        "durable audit appends (synchronous=FULL, a signed checkpoint per commit), {} entries verified",
        v.entries
    );
    println!(
        "{:<52} {:>12.0} entries/s",
        "one entry per commit (1 thread)", single
    );
    println!(
        "{:<52} {:>12.0} entries/s",
        "100 entries per commit (1 thread)", batched
    );
    println!(
        "{:<52} {:>12.0} entries/s",
        "group commit, 16 threads each waiting for its ack", grouped
    );
    println!("group commit / one-per-commit: {:.1}x", grouped / single);
}
