//! Every state change commits with its audit entry: a process killed
//! (SIGKILL) at any moment leaves both or neither, never a change without
//! its entry. The child is this test binary, re-run on
//! `atomic::child_worker`.

use crate::support::T0;
use gatehouse_store::{AuditLog, Change, KillOp, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MODE: &str = "GATEHOUSE_ATOMIC_TEST_CHILD";
const DIR: &str = "GATEHOUSE_ATOMIC_TEST_DIR";

/// The child process: kills and revives agents until it is killed. Does
/// nothing unless spawned by the test below.
#[test]
#[ignore = "a child process of the atomicity test"]
fn child_worker() {
    if std::env::var_os(MODE).is_none() {
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var(DIR).unwrap());
    let store = Store::open(&dir).unwrap();
    let start = store.kill_history(None).unwrap().len() as i64;
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in start.. {
        assert!(Instant::now() < deadline, "never killed");
        let agent = format!("agent-{}", i % 5);
        let by = Change::new("crash-child", "loop", T0 + i);
        if store.is_killed(&agent).unwrap().is_some() {
            store.revive(&agent, &by).unwrap();
        } else {
            store.kill(&agent, &by).unwrap();
        }
    }
}

/// The kill-switch history as recorded by the store, and as the audit log
/// recorded it, keyed by the event's sequence number.
fn both(
    dir: &Path,
) -> (
    BTreeMap<i64, serde_json::Value>,
    BTreeMap<i64, serde_json::Value>,
) {
    let store = Arc::new(Store::open(dir).unwrap());
    let history = store
        .kill_history(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, serde_json::to_value(&r).unwrap()))
        .collect();
    let log = AuditLog::open(store).unwrap();
    let entries = log
        .entries(0, None)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "kill" || e.kind == "revive")
        .map(|e| {
            let seq = e.body["seq"].as_i64().unwrap();
            let op = if e.kind == "kill" {
                KillOp::Kill
            } else {
                KillOp::Revive
            };
            assert_eq!(
                e.body["op"],
                serde_json::to_value(op).unwrap(),
                "entry {}",
                e.seq
            );
            (seq, e.body)
        })
        .collect();
    (history, entries)
}

#[test]
fn a_process_killed_mid_change_leaves_the_change_and_its_entry_or_neither() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    Store::open(dir).unwrap();
    let mut total = 0;
    for round in 0..12u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "atomic::child_worker",
                "--ignored",
                "--nocapture",
            ])
            .env(MODE, "1")
            .env(DIR, dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // A different moment each round, inside the loop's steady state.
        std::thread::sleep(Duration::from_millis(150 + (round * 37) % 200));
        child.kill().unwrap();
        child.wait().unwrap();
        let (history, entries) = both(dir);
        assert_eq!(
            history, entries,
            "round {round}: the kill-switch history and its audit entries differ"
        );
        total = history.len();
        let log = AuditLog::open(Arc::new(Store::open(dir).unwrap())).unwrap();
        assert!(log.verify().unwrap().is_ok(), "round {round}: chain broken");
    }
    assert!(
        total > 12,
        "the child made {total} changes; too few to test"
    );
}
