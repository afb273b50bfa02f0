//! Several processes hammering one budget: the children are this test
//! binary, re-run on `processes::child_worker` with environment variables
//! saying what to do. Each child reports every acknowledged reservation,
//! release and refusal on stdout; the parent sums them.

use crate::support::{T0, WEEK, by};
use gatehouse_store::{Charge, CounterError, Store, Window};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MODE: &str = "GATEHOUSE_GOVERNANCE_TEST_CHILD";
const DIR: &str = "GATEHOUSE_GOVERNANCE_TEST_DIR";
const WORKER: &str = "GATEHOUSE_GOVERNANCE_TEST_WORKER";
const BUDGET: &str = "spend/day/2026-01-05/agent/outreach-eu";
const FREQ: &str = "sends/week/agent/outreach-eu";
const LIMIT: u64 = 200;
const ATTEMPTS: u64 = 60;
const CHILDREN: u32 = 4;
/// Marks a child's report line. The harness prints `test … ... ` without a
/// newline before the test's own output, so a report may start mid-line.
const REPORT: &str = "GOVERNANCE-CHILD";

fn spawn(dir: &Path, worker: u32) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "processes::child_worker",
            "--nocapture",
            "--ignored",
            "--test-threads=1",
        ])
        .env(MODE, "budget")
        .env(DIR, dir)
        .env(WORKER, worker.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The child process. Does nothing unless spawned by the parent test.
#[test]
#[ignore = "a child process of the multi-process test"]
fn child_worker() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    assert_eq!(mode, "budget");
    let dir = std::path::PathBuf::from(std::env::var(DIR).unwrap());
    let worker: u64 = std::env::var(WORKER).unwrap().parse().unwrap();
    let store = Store::open(&dir).unwrap();
    // Start together: announce, then wait for the parent's go.
    std::fs::write(dir.join(format!("ready-{worker}")), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("go").exists() {
        assert!(Instant::now() < deadline, "no go from the parent");
        std::thread::sleep(Duration::from_millis(1));
    }
    for i in 0..ATTEMPTS {
        // Uneven amounts, so refusals happen with budget still left.
        let amount = 1 + (worker + i) % 4;
        let charges = [
            Charge::total(BUDGET, amount, LIMIT),
            Charge::sliding(FREQ, 1, 100_000, WEEK),
        ];
        match store.reserve(&format!("w{worker}/{i}"), &charges, T0 + i as i64) {
            Ok(r) => {
                println!("{REPORT} HELD {} {amount}", r.id);
                // Every third action is blocked later in the pipeline.
                if i % 3 == 2 {
                    store
                        .release_reservation(r.id, &by("pipeline", T0 + i as i64))
                        .unwrap();
                    println!("{REPORT} RELEASED {} {amount}", r.id);
                } else {
                    store
                        .commit_reservation(r.id, &by("pipeline", T0 + i as i64))
                        .unwrap();
                }
            }
            Err(CounterError::CapExceeded(e)) => {
                assert_eq!(e.key, BUDGET);
                println!("{REPORT} REFUSED {amount} {} {}", e.used, e.limit);
            }
            Err(e) => panic!("worker {worker}: {e}"),
        }
    }
}

#[test]
fn several_processes_never_exceed_a_budget() {
    let dir = tempfile::tempdir().unwrap();
    // Create the schema before the children race to open the store.
    let store = Store::open(dir.path()).unwrap();
    let mut children: Vec<Child> = (0..CHILDREN).map(|w| spawn(dir.path(), w)).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(0..CHILDREN).all(|w| dir.path().join(format!("ready-{w}")).exists()) {
        assert!(Instant::now() < deadline, "children never got ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();

    let (mut held, mut released, mut refused, mut releases) = (0u64, 0u64, 0u64, 0usize);
    let mut ids = std::collections::BTreeSet::new();
    for child in &mut children {
        let stdout = child.stdout.take().unwrap();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let Some(at) = line.find(REPORT) else {
                continue; // the harness's own output
            };
            let line = &line[at + REPORT.len()..];
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["HELD", id, amount] => {
                    assert!(ids.insert(id.to_string()), "reservation {id} twice");
                    held += amount.parse::<u64>().unwrap();
                }
                ["RELEASED", _, amount] => {
                    released += amount.parse::<u64>().unwrap();
                    releases += 1;
                }
                ["REFUSED", amount, used, limit] => {
                    let (amount, used, limit): (u64, u64, u64) = (
                        amount.parse().unwrap(),
                        used.parse().unwrap(),
                        limit.parse().unwrap(),
                    );
                    assert!(used + amount > limit, "refused although it fit: {line}");
                    refused += 1;
                }
                _ => panic!("unexpected report {line}"),
            }
        }
    }
    for (w, child) in children.iter_mut().enumerate() {
        let status = child.wait().unwrap();
        assert!(status.success(), "worker {w} failed: {status}");
    }
    let kept = held - released;
    let used = store.usage(BUDGET, Window::Total, T0).unwrap();
    assert_eq!(
        kept, used,
        "acknowledged reservations and the counter disagree"
    );
    assert!(used <= LIMIT, "budget exceeded: {used} > {LIMIT}");
    assert!(refused > 0, "the children never reached the limit");
    assert!(released > 0);
    assert!(used >= LIMIT / 2, "only {used} of {LIMIT} used");
    // Released reservations stop counting in the sliding window too.
    let sends = store
        .usage(FREQ, Window::Sliding { ms: WEEK }, T0 + 100)
        .unwrap();
    assert_eq!(sends as usize, ids.len() - releases);
}
