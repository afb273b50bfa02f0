use crate::support::*;
use gatehouse::pipeline::{self, Live};
use gatehouse::replay::{self, RunRecord};
use gatehouse::{Kind, Limits, RunContext};
use gatehouse_store::{AuditLog, Store};
use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

fn log_in(dir: &std::path::Path) -> AuditLog {
    AuditLog::open(Arc::new(Store::open(dir).unwrap())).unwrap()
}

fn sample_context(i: usize) -> RunContext {
    let mut ctx = context();
    ctx.run_id = format!("run-{i:04}");
    ctx.now += (i as i64) * 3_600_000;
    if i % 5 == 4 {
        ctx.partition = "US".into();
    }
    ctx
}

#[test]
fn a_thousand_recorded_runs_replay_identically() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_in(dir.path());
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let limits = Limits::default();
    let data = dataset();
    for i in 0..1000 {
        let ctx = sample_context(i);
        let report = pipeline::run(
            &sandbox,
            &skill,
            std::slice::from_ref(&brand),
            &ctx,
            &Live::new(&ctx, data.clone(), senders()),
            &limits,
        );
        gatehouse::audit::record_run(
            &log,
            &RunRecord::new(report, limits.clone()),
            &[&skill, &brand],
            1_767_607_200_000 + i as i64,
        )
        .unwrap();
    }
    assert_eq!(log.verify().unwrap().unwrap().entries, 1000);

    // Components come back from the store by hash; load each hash once.
    let mut loaded: HashMap<Vec<String>, (Option<gatehouse::Guest>, Vec<gatehouse::Guest>)> =
        HashMap::new();
    let mut identical = 0;
    for entry in log.entries(0, None).unwrap() {
        let record = gatehouse::audit::parse_record(&entry).unwrap();
        let (skill, packs) = loaded.entry(record.component_hashes()).or_insert_with(|| {
            gatehouse::audit::load_components(&sandbox, log.store(), &record).unwrap()
        });
        let outcome = replay::replay(&sandbox, skill.as_ref(), packs, &record);
        assert_eq!(outcome.divergence, None, "run {}", outcome.run_id);
        identical += 1;
    }
    assert_eq!(identical, 1000);
    assert_eq!(loaded.len(), 1, "every run used the same exact components");
    // The brand pack's configuration is content-addressed and came back from the store.
    let brand_config = brand
        .config_blob()
        .map(|b| blake3::hash(&b).to_hex().to_string());
    assert!(brand_config.is_some());
    let (_, packs) = loaded.values().next().unwrap();
    assert_eq!(packs[0].config(), brand.config());
    let (_, record) = gatehouse::audit::find_run(&log, "run-0999").unwrap();
    assert_eq!(record.report.packs[0].config, brand_config);
}

#[test]
fn replay_names_the_first_divergence() {
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let ctx = context();
    let report = pipeline::run(
        &sandbox,
        &skill,
        std::slice::from_ref(&brand),
        &ctx,
        &sample_env(),
        &Limits::default(),
    );
    let record = RunRecord::new(report, Limits::default());
    assert_eq!(
        replay::replay(
            &sandbox,
            Some(&skill),
            std::slice::from_ref(&brand),
            &record
        )
        .divergence,
        None
    );

    // A recorded answer that differs: the skill behaves differently.
    let mut changed = record.clone();
    let act = changed.report.act.as_mut().unwrap();
    let first_retrieve = act
        .metering
        .host_calls
        .iter_mut()
        .find_map(|c| match c {
            gatehouse::HostCall::Retrieve {
                answer: Ok(records),
                ..
            } if !records.is_empty() => Some(records),
            _ => None,
        })
        .unwrap();
    first_retrieve.remove(0);
    let d = replay::replay(
        &sandbox,
        Some(&skill),
        std::slice::from_ref(&brand),
        &changed,
    )
    .divergence
    .unwrap();
    assert!(
        d.contains("act") || d.contains("proposed") || d.contains("host call"),
        "{d}"
    );

    // Another pack than the one recorded.
    let hostile = load(&sandbox, &guests().hostile, Kind::Policy);
    let d = replay::replay(&sandbox, Some(&skill), &[hostile], &record)
        .divergence
        .unwrap();
    assert!(d.starts_with("packs"), "{d}");

    // A recorded verdict that differs.
    let mut changed = record.clone();
    let run = changed
        .report
        .decisions
        .iter_mut()
        .flat_map(|d| d.packs.iter_mut())
        .find(|p| p.verdict.is_some())
        .unwrap();
    run.metering.fuel_used += 1;
    let d = replay::replay(
        &sandbox,
        Some(&skill),
        std::slice::from_ref(&brand),
        &changed,
    )
    .divergence
    .unwrap();
    assert!(d.contains("fuel used"), "{d}");
}

#[test]
fn a_swapped_component_is_refused_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_in(dir.path());
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let report = pipeline::run(
        &sandbox,
        &skill,
        std::slice::from_ref(&brand),
        &context(),
        &sample_env(),
        &Limits::default(),
    );
    gatehouse::audit::record_run(
        &log,
        &RunRecord::new(report, Limits::default()),
        &[&skill, &brand],
        0,
    )
    .unwrap();
    // Swap the brand pack's bytes in the store for the hostile pack's.
    let hostile = std::fs::read(&guests().hostile).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("gatehouse.db")).unwrap();
    let changed = conn
        .execute(
            "UPDATE blobs SET data = ?1 WHERE hash = ?2",
            rusqlite::params![hostile, brand.hash.to_hex().to_string()],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let (_, record) = gatehouse::audit::find_run(&log, "run-0001").unwrap();
    let err = gatehouse::audit::load_components(&sandbox, log.store(), &record).unwrap_err();
    assert!(
        err.to_string().contains(&brand.hash.to_hex().to_string()),
        "{err}"
    );
}

fn gatehouse(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_DATA", data)
        .env("GATEHOUSE_CACHE", root().join("target/test-cache"))
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn an_auditor_verifies_shows_replays_and_exports() {
    let data = tempfile::tempdir().unwrap();
    let g = guests();
    let sample = |f: &str| root().join("examples/data").join(f).display().to_string();
    let run = gatehouse(
        data.path(),
        &[
            "run",
            "--skill",
            g.skill.to_str().unwrap(),
            "--pack",
            g.brand_manifest.to_str().unwrap(),
            "--context",
            &sample("context.json"),
            "--data",
            &sample("crm.json"),
            "--senders",
            &sample("senders.toml"),
        ],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains("recorded: audit entry 1 (run `run-0001`)"),
        "{}",
        text(&run.stdout)
    );

    let outcome = gatehouse(
        data.path(),
        &[
            "outcome",
            "record",
            "--action",
            "run-0001/c-003",
            "--kind",
            "meeting_booked",
            "--value",
            "1",
        ],
    );
    assert!(outcome.status.success(), "{}", text(&outcome.stderr));
    let unknown = gatehouse(
        data.path(),
        &["outcome", "record", "--action", "nope", "--kind", "reply"],
    );
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("no recorded run has an action `nope`"),
        "{}",
        text(&unknown.stderr)
    );

    let verify = gatehouse(data.path(), &["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    assert!(
        text(&verify.stdout).starts_with("ok: 2 entries"),
        "{}",
        text(&verify.stdout)
    );

    // What happened to one action: the run that decided it and its outcome.
    let query = gatehouse(
        data.path(),
        &["audit", "query", "--action", "run-0001/c-003", "--json"],
    );
    assert!(query.status.success(), "{}", text(&query.stderr));
    let found: Vec<serde_json::Value> = serde_json::from_slice(&query.stdout).unwrap();
    let kinds: Vec<&str> = found.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["run", "outcome"]);
    let outcomes = gatehouse(
        data.path(),
        &[
            "audit",
            "query",
            "--kind",
            "outcome",
            "--agent",
            "outreach-eu",
        ],
    );
    assert!(
        text(&outcomes.stdout).ends_with("0 entries\n"),
        "outcomes carry no agent of their own: {}",
        text(&outcomes.stdout)
    );

    let show = gatehouse(data.path(), &["audit", "show", "run-0001"]);
    assert!(show.status.success());
    let shown = text(&show.stdout);
    assert!(
        shown.contains("entry 1  run")
            && shown.contains("entry 2  outcome")
            && shown.contains("=> DENY"),
        "{shown}"
    );

    let replay = gatehouse(data.path(), &["replay", "run-0001"]);
    assert!(
        replay.status.success(),
        "{}{}",
        text(&replay.stdout),
        text(&replay.stderr)
    );
    assert!(
        text(&replay.stdout).contains("identical"),
        "{}",
        text(&replay.stdout)
    );
    let all = gatehouse(data.path(), &["replay", "--all", "--since", "2020-01-01"]);
    assert!(
        text(&all.stdout).contains("1 run(s) replayed: 1 identical, 0 diverged"),
        "{}",
        text(&all.stdout)
    );

    let jsonl = gatehouse(data.path(), &["audit", "export", "--format", "jsonl"]);
    assert_eq!(text(&jsonl.stdout).lines().count(), 2);
    let otlp = gatehouse(data.path(), &["audit", "export", "--format", "otlp-json"]);
    let v: serde_json::Value = serde_json::from_slice(&otlp.stdout).unwrap();
    let spans = v["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap();
    assert!(
        spans
            .iter()
            .any(|s| s["name"].as_str() == Some("invoke_agent outreach-eu"))
    );
    assert!(
        spans
            .iter()
            .any(|s| s["name"].as_str() == Some("execute_tool brand"))
    );
    assert!(spans.iter().any(|s| {
        s["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["name"] == "gen_ai.evaluation.result"))
    }));

    // One changed byte in the log is named at its entry.
    let conn = rusqlite::Connection::open(data.path().join("gatehouse.db")).unwrap();
    conn.execute(
        "UPDATE audit SET body = replace(body, 'meeting_booked', 'meeting_bookeD') WHERE seq = 2",
        [],
    )
    .unwrap();
    let verify = gatehouse(data.path(), &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(3));
    assert!(
        text(&verify.stdout).contains("FAILED: entry 2:"),
        "{}",
        text(&verify.stdout)
    );
}

#[test]
fn a_candidate_pack_is_backtested_against_recorded_runs() {
    let sandbox = sandbox();
    let skill = load(&sandbox, &guests().skill, Kind::Skill);
    let brand = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let limits = Limits::default();
    let records: Vec<RunRecord> = (0..3)
        .map(|i| {
            let ctx = sample_context(i);
            let report = pipeline::run(
                &sandbox,
                &skill,
                std::slice::from_ref(&brand),
                &ctx,
                &Live::new(&ctx, dataset(), senders()),
                &limits,
            );
            RunRecord::new(report, limits.clone())
        })
        .collect();
    // The same pack, unchanged: nothing would change.
    let mut same = replay::Backtest::default();
    for r in &records {
        same.add(
            &sandbox,
            &replay::with_candidate(std::slice::from_ref(&brand), &brand),
            r,
            5,
        );
    }
    assert_eq!(same.changed, 0, "{same:?}");
    assert!(same.actions > 0);
    // A stricter claims list (config only): spring campaigns become banned.
    let strict = brand.clone().with_config({
        let mut c = brand.config().clone();
        c.insert("banned-claims".into(), "spring\nguaranteed".into());
        c
    });
    let mut backtest = replay::Backtest::default();
    for r in &records {
        backtest.add(
            &sandbox,
            &replay::with_candidate(std::slice::from_ref(&brand), &strict),
            r,
            5,
        );
    }
    assert!(backtest.changed > 0, "{backtest:?}");
    assert!(
        backtest.transitions.keys().any(|t| t.ends_with("-> deny")),
        "{backtest:?}"
    );
    assert!(
        backtest
            .rules
            .get("brand.banned-claim")
            .is_some_and(|(more, _)| *more > 0),
        "{backtest:?}"
    );
    assert!(!backtest.examples.is_empty() && backtest.examples.len() <= 5);
}

#[test]
fn a_witness_outside_the_data_directory_names_a_rolled_back_log() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, backup, witness) = (
        tmp.path().join("data"),
        tmp.path().join("backup"),
        tmp.path().join("witness"),
    );
    let w = witness.to_str().unwrap();
    let ok = |args: &[&str]| {
        let o = gatehouse(&data, args);
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
        text(&o.stdout)
    };
    ok(&[
        "kill",
        "outreach-eu",
        "--reason",
        "incident",
        "--witness",
        w,
    ]);
    std::fs::create_dir_all(&backup).unwrap();
    for f in std::fs::read_dir(&data).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), backup.join(f.file_name())).unwrap();
    }
    ok(&["revive", "outreach-eu", "--reason", "fixed", "--witness", w]);
    assert!(ok(&["audit", "verify", "--witness", w]).contains("consistent with 2 heads"));
    // Yesterday's copy put back: it verifies on its own, not against the witness.
    for f in std::fs::read_dir(&backup).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), data.join(f.file_name())).unwrap();
    }
    let _ = std::fs::remove_file(data.join("gatehouse.db-wal"));
    let _ = std::fs::remove_file(data.join("gatehouse.db-shm"));
    ok(&["audit", "verify"]);
    let o = gatehouse(&data, &["audit", "verify", "--witness", w]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("entry 2: missing"),
        "{}",
        text(&o.stdout)
    );
}
