//! The audit log's query (by run, action, agent, kind, time; indexed), and
//! the schema's migrations: a database written by gatehouse before the
//! index existed opens, migrates, still verifies, and answers queries.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use gatehouse_store::{AuditLog, NewEntry, Query, Store, StoreError};
use std::path::Path;
use std::sync::Arc;

const T0: i64 = 1_767_607_200_000;

fn open(dir: &Path) -> AuditLog {
    AuditLog::open(Arc::new(Store::open(dir).unwrap())).unwrap()
}

fn run(id: &str, agent: &str, actions: &[&str], at_ms: i64) -> NewEntry {
    let decisions: Vec<_> = actions
        .iter()
        .map(|a| serde_json::json!({"action": {"id": a}, "outcome": "allow"}))
        .collect();
    NewEntry {
        at_ms,
        kind: "run".into(),
        run_id: Some(id.into()),
        body: serde_json::json!({"report": {"context": {"run-id": id, "agent": agent}, "decisions": decisions}}),
    }
}

fn outcome(run: &str, action: &str, at_ms: i64) -> NewEntry {
    NewEntry {
        at_ms,
        kind: "outcome".into(),
        run_id: Some(run.into()),
        body: serde_json::json!({"action": action, "kind": "reply", "value": 1}),
    }
}

fn seqs(log: &AuditLog, q: &Query) -> Vec<u64> {
    log.query(q).unwrap().iter().map(|e| e.seq).collect()
}

#[test]
fn a_query_filters_by_run_action_agent_kind_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    log.append(&[
        run("r1", "outreach-eu", &["r1/a", "r1/b"], T0),
        run("r2", "outreach-us", &["r2/a"], T0 + 10),
        outcome("r1", "r1/b", T0 + 20),
        run("r3", "outreach-eu", &["r3/a"], T0 + 30),
        outcome("r2", "r2/a", T0 + 40),
    ])
    .unwrap();
    let store = log.store().clone();
    store
        .kill(
            "outreach-eu",
            &gatehouse_store::Change::new("ops", "stop", T0 + 50),
        )
        .unwrap();

    assert_eq!(seqs(&log, &Query::default()), [1, 2, 3, 4, 5, 6]);
    let by_run = Query {
        run_id: Some("r1".into()),
        ..Query::default()
    };
    assert_eq!(seqs(&log, &by_run), [1, 3]);
    // An action: the run that decided it and its outcomes.
    let by_action = Query {
        action_id: Some("r1/b".into()),
        ..Query::default()
    };
    assert_eq!(seqs(&log, &by_action), [1, 3]);
    let outcomes_of = Query {
        action_id: Some("r2/a".into()),
        ..Query::kind("outcome")
    };
    assert_eq!(seqs(&log, &outcomes_of), [5]);
    // An agent: its runs and its kill.
    let by_agent = Query {
        agent: Some("outreach-eu".into()),
        ..Query::default()
    };
    assert_eq!(seqs(&log, &by_agent), [1, 4, 6]);
    let kinds = Query {
        kinds: vec!["outcome".into(), "kill".into()],
        ..Query::default()
    };
    assert_eq!(seqs(&log, &kinds), [3, 5, 6]);
    let window = Query {
        from_ms: Some(T0 + 10),
        until_ms: Some(T0 + 40),
        ..Query::default()
    };
    assert_eq!(seqs(&log, &window), [2, 3, 4]);
    let page = Query {
        after_seq: 2,
        limit: Some(2),
        ..Query::default()
    };
    assert_eq!(seqs(&log, &page), [3, 4]);
    let nothing = Query {
        action_id: Some("no-such-action".into()),
        ..Query::default()
    };
    assert!(seqs(&log, &nothing).is_empty());
}

#[test]
fn the_query_is_served_by_indexes() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("gatehouse.db")).unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect::<Vec<_>>();
        rows.join("; ")
    };
    for (sql, index) in [
        (
            "SELECT seq FROM audit_actions WHERE action_id = 'x'",
            "PRIMARY KEY",
        ),
        (
            "SELECT seq FROM audit WHERE agent = 'x' ORDER BY seq",
            "audit_agent",
        ),
        (
            "SELECT seq FROM audit WHERE kind = 'x' ORDER BY seq",
            "audit_kind",
        ),
        ("SELECT seq FROM audit WHERE run_id = 'x'", "audit_run"),
    ] {
        let p = plan(sql);
        assert!(p.contains(index), "{sql}: {p}");
    }
}

/// Copy the committed data directory written by the schema before the
/// query index (`tests/fixtures/schema-v1`: a run, a publication, a channel
/// move, a kill and a revival, an outcome).
fn fixture() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v1");
    let dir = tempfile::tempdir().unwrap();
    for f in ["gatehouse.db", "host-key.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    dir
}

#[test]
fn a_database_of_the_previous_schema_migrates_verifies_and_answers_queries() {
    let dir = fixture();
    let version = |dir: &Path| -> i64 {
        rusqlite::Connection::open(dir.join("gatehouse.db"))
            .unwrap()
            .query_row(
                "SELECT version FROM schema_version WHERE module = 'audit'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(version(dir.path()), 1, "the fixture predates the index");
    let log = open(dir.path());
    assert_eq!(version(dir.path()), 3);
    // The chain and its checkpoint signatures are untouched by the
    // migration, and the first signed tree head covers the whole chain.
    let verified = log.verify().unwrap().unwrap();
    assert_eq!(verified.entries, 6);
    assert_eq!(verified.tree_heads, 1);
    // The entries written before the index are found through it.
    let by_agent = Query {
        agent: Some("outreach-eu".into()),
        ..Query::default()
    };
    let kinds: Vec<String> = log
        .query(&by_agent)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["run", "kill", "revive"]);
    let by_action = Query {
        action_id: Some("run-0001/c-001".into()),
        ..Query::default()
    };
    let kinds: Vec<String> = log
        .query(&by_action)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["run", "outcome"]);
    // New entries are indexed as they are appended, after the old ones.
    log.append(&[outcome("run-0001", "run-0001/c-001", T0)])
        .unwrap();
    assert_eq!(log.query(&by_action).unwrap().len(), 3);
    assert_eq!(log.verify().unwrap().unwrap().tree_heads, 2);
    // Opening again migrates nothing more.
    drop(log);
    open(dir.path());
    assert_eq!(version(dir.path()), 3);
}

#[test]
fn a_database_of_a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("gatehouse.db")).unwrap();
    conn.execute(
        "UPDATE schema_version SET version = 99 WHERE module = 'audit'",
        [],
    )
    .unwrap();
    drop(conn);
    match Store::open(dir.path()) {
        Err(e @ StoreError::SchemaTooNew { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("`audit`") && msg.contains("99"), "{msg}");
        }
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}
