use crate::support::*;
use std::process::{Command, Output};

fn gatehouse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_CACHE", root().join("target/test-cache"))
        .env("GATEHOUSE_DATA", root().join("target/test-data"))
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sample(path: &str) -> String {
    root()
        .join("examples/data")
        .join(path)
        .display()
        .to_string()
}

#[test]
fn run_prints_actions_with_verdicts() {
    let g = guests();
    let o = gatehouse(&[
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
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for word in ["=> DENY", "=> MODIFY", "=> ALLOW", "brand.", "email to"] {
        assert!(out.contains(word), "missing `{word}` in:\n{out}");
    }
    let with_fail_on = gatehouse(&[
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
        "--fail-on",
        "deny",
    ]);
    assert_eq!(with_fail_on.status.code(), Some(3));
}

#[test]
fn run_json_is_a_report() {
    let g = guests();
    let o = gatehouse(&[
        "run",
        "--json",
        "--skill",
        g.skill.to_str().unwrap(),
        "--pack",
        g.brand.to_str().unwrap(),
        "--context",
        &sample("context.json"),
        "--data",
        &sample("crm.json"),
        "--senders",
        &sample("senders.toml"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: gatehouse::pipeline::RunReport = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!report.decisions.is_empty());
    assert_eq!(report.packs[0].name, "brand");
}

#[test]
fn validate_reads_json_lines_and_reports_each_pack() {
    let g = guests();
    let o = gatehouse(&[
        "validate",
        "--json",
        "--pack",
        g.brand_manifest.to_str().unwrap(),
        "--actions",
        &sample("actions.jsonl"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: gatehouse::pipeline::RunReport = serde_json::from_slice(&o.stdout).unwrap();
    let lines = std::fs::read_to_string(sample("actions.jsonl")).unwrap();
    assert_eq!(
        report.decisions.len(),
        lines.lines().filter(|l| !l.trim().is_empty()).count()
    );
    for d in &report.decisions {
        assert!(!d.packs.is_empty());
        assert!(
            d.packs
                .iter()
                .all(|p| p.metering.fuel_used > 0 && p.metering.peak_memory_bytes > 0)
        );
    }
}

/// `validate` of given actions: no guessed purpose, consent or clock.
#[test]
fn validate_never_guesses_purpose_consent_or_clock() {
    let g = guests();
    let first = std::fs::read_to_string(sample("actions.jsonl")).unwrap();
    let first: serde_json::Value =
        serde_json::from_str(first.lines().find(|l| l.contains("\"email\"")).unwrap()).unwrap();
    let validate = |action: &serde_json::Value, extra: &[&str]| {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), serde_json::to_string(action).unwrap()).unwrap();
        let mut args = vec![
            "validate",
            "--pack",
            g.brand_manifest.to_str().unwrap(),
            "--actions",
            file.path().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        gatehouse(&args)
    };
    // A message without a purpose: one line naming the field.
    let mut no_purpose = first.clone();
    no_purpose["kind"]
        .as_object_mut()
        .unwrap()
        .remove("purpose");
    let o = validate(&no_purpose, &["--now", "2026-03-08T14:00:00Z"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("purpose") && err.contains("line 1"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // Facts taken as given must include consent.
    let mut no_consent = first.clone();
    no_consent["kind"]["to"]
        .as_object_mut()
        .unwrap()
        .remove("consent");
    let o = validate(&no_consent, &["--now", "2026-03-08T14:00:00Z"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("kind.to.consent"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // --now sets the clock; without it, gatehouse says it used its own.
    let o = validate(&first, &["--json", "--now", "2026-03-08T14:00:00Z"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: gatehouse::pipeline::RunReport = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report.context.now, 1_772_978_400_000);
    assert!(!report.tzdb.is_empty(), "the run records its tz database");
    // The decision comes with a receipt that an auditor checks offline with
    // the log's key, and that stops checking once the decision is edited.
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        json["receipt"]["head"]
            .as_str()
            .unwrap()
            .contains("gatehouse.audit/")
    );
    let key = stdout(&gatehouse(&["audit", "key"]));
    let key = key.split_whitespace().next().unwrap().to_string();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &o.stdout).unwrap();
    let check = |path: &std::path::Path| {
        // Offline: the data directory named does not exist.
        Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args([
                "audit",
                "check-receipt",
                path.to_str().unwrap(),
                "--trust-key",
                &key,
            ])
            .env("GATEHOUSE_DATA", "/nonexistent/gatehouse-data")
            .output()
            .unwrap()
    };
    let ok = check(file.path());
    assert!(ok.status.success(), "{}{}", stdout(&ok), stderr(&ok));
    assert!(stdout(&ok).starts_with("ok: entry "), "{}", stdout(&ok));
    let mut edited = json["receipt"].clone();
    let body = edited["entry"]["body"]
        .as_str()
        .unwrap()
        .replacen("allow", "deny", 1);
    edited["entry"]["body"] = body.into();
    std::fs::write(file.path(), serde_json::to_vec(&edited).unwrap()).unwrap();
    let bad = check(file.path());
    assert_eq!(bad.status.code(), Some(3), "{}", stdout(&bad));
    assert!(stdout(&bad).contains("changed"), "{}", stdout(&bad));
    assert!(!std::path::Path::new("/nonexistent/gatehouse-data").exists());
    let o = validate(&first, &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("judged at this machine's clock"),
        "{}",
        stderr(&o)
    );
    let report: gatehouse::pipeline::RunReport = serde_json::from_slice(&o.stdout).unwrap();
    assert!(report.context.now > 1_772_978_400_000, "not 1970");
    let o = validate(&first, &["--now", "2026-03-08T14:00:00"]);
    assert!(!o.status.success(), "an instant without offset is refused");
    assert!(stderr(&o).contains("RFC 3339"), "{}", stderr(&o));
}

#[test]
fn limits_on_the_command_line_apply() {
    let g = guests();
    let actions = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        actions.path(),
        serde_json::to_string(&generic("loop")).unwrap(),
    )
    .unwrap();
    let o = gatehouse(&[
        "validate",
        "--pack",
        g.hostile.to_str().unwrap(),
        "--actions",
        actions.path().to_str().unwrap(),
        "--fuel",
        "off",
        "--timeout",
        "50ms",
        "--fail-on",
        "deny",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).contains("deadline exceeded"), "{}", stdout(&o));
}

#[test]
fn bad_input_gets_one_line_and_a_failure_code() {
    let g = guests();
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "{\"id\": \"a-1\"}\n").unwrap();
    let actions = sample("actions.jsonl");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["inspect", "/nonexistent.wasm"], "cannot read"),
        (
            vec!["inspect", bad.path().to_str().unwrap()],
            "not a WebAssembly component",
        ),
        (
            vec![
                "validate",
                "--pack",
                g.brand.to_str().unwrap(),
                "--actions",
                bad.path().to_str().unwrap(),
            ],
            "line 1",
        ),
        (
            vec![
                "validate",
                "--pack",
                g.skill.to_str().unwrap(),
                "--actions",
                &actions,
            ],
            "is a skill",
        ),
        (
            vec![
                "validate",
                "--pack",
                g.brand.to_str().unwrap(),
                "--actions",
                &actions,
                "--memory",
                "12 parsecs",
            ],
            "unknown unit",
        ),
    ];
    for (args, expect) in cases {
        let o = gatehouse(&args);
        assert!(!o.status.success(), "{args:?} must fail");
        let err = stderr(&o);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        if !expect.contains("unit") {
            assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        }
    }
}

#[test]
fn inspect_shows_identity_world_and_rules() {
    let g = guests();
    let o = gatehouse(&["inspect", g.brand.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let hash = blake3::hash(&std::fs::read(&g.brand).unwrap())
        .to_hex()
        .to_string();
    for want in [
        hash.as_str(),
        "world:    policy",
        "gatehouse:agent@0.2.0",
        "gatehouse:agent/policy@0.2.0",
        "brand.banned-claim",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
}
