use crate::support::*;
use std::process::Command;

fn gatehouse(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_CACHE", root().join("target/test-cache"))
        .env("CARGO_TARGET_DIR", root().join("target"))
        .output()
        .unwrap()
}

#[test]
fn every_bundled_pack_passes_its_cases_with_full_rule_coverage() {
    for pack in ["brand", "legal", "data"] {
        let dir = root().join("policies").join(pack);
        let o = gatehouse(&[
            "pack",
            "test",
            dir.to_str().unwrap(),
            "--coverage-min",
            "100",
        ]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{pack}:\n{out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.contains("0 failed; coverage 100%"), "{pack}:\n{out}");
    }
}

#[test]
fn a_wrong_expectation_fails_the_pack_test_and_names_the_case() {
    let sandbox = sandbox();
    let pack = gatehouse::load_pack(&sandbox, &guests().brand_manifest).unwrap();
    let mut cases =
        gatehouse::packtest::CaseFile::load(&root().join("policies/brand/cases.json")).unwrap();
    cases.cases.truncate(3);
    cases.cases[0].expect.verdict = if cases.cases[0].expect.verdict == "deny" {
        "allow".into()
    } else {
        "deny".into()
    };
    let report =
        gatehouse::packtest::run_cases(&sandbox, &pack, &cases, &gatehouse::Limits::default());
    assert_eq!(report.failed(), 1);
    assert!(
        !report.cases[0].passed
            && report.cases[0]
                .problem
                .as_deref()
                .unwrap_or("")
                .contains("expected")
    );
    assert!(
        report.coverage_percent() < 100.0,
        "three cases cannot cover every rule both ways"
    );
}

#[test]
fn a_scaffolded_pack_builds_and_passes_out_of_the_box() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("tone");
    let o = gatehouse(&["pack", "new", "tone", "--dir", pack.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = gatehouse(&[
        "pack",
        "test",
        pack.to_str().unwrap(),
        "--coverage-min",
        "100",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("3 passed, 0 failed; coverage 100%"), "{out}");
    // Refuses to overwrite.
    let o = gatehouse(&["pack", "new", "tone", "--dir", pack.to_str().unwrap()]);
    assert!(!o.status.success());
}

/// The three bundled packs together on realistic messages, with the facts
/// stamped from the sample CRM and the sender from the sample profiles:
/// what the law lets you fix is fixed, what it forbids is denied, what
/// needs a person is escalated.
#[test]
fn the_bundled_packs_fix_deny_and_escalate_as_the_law_asks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("packs");
    let o = gatehouse(&[
        "build",
        root().join("policies/legal").to_str().unwrap(),
        root().join("policies/data").to_str().unwrap(),
        root().join("policies/brand").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let email = |id: &str, contact: &str, agent: &str, subject: &str, purpose: &str| {
        serde_json::json!({"id": id, "agent": agent, "region": "EU", "evidence": [contact],
            "kind": {"type": "email", "to": {"contact-id": contact}, "subject": subject,
                     "body": "Hi, our spring catalogue is out.", "purpose": purpose}})
    };
    let mut sensitive = email(
        "special",
        "c-003",
        "outreach-eu",
        "Garden ideas",
        "commercial",
    );
    sensitive["kind"]["targeting"] =
        serde_json::json!([{"about": "person", "attribute": "condition", "value": "diabetes"}]);
    let actions = [
        // DK, email consent withdrawn.
        email(
            "withdrawn",
            "c-005",
            "outreach-eu",
            "Yoga mats",
            "commercial",
        ),
        // CA, implied consent from a recent purchase: footer appended.
        email(
            "canada",
            "c-201",
            "outreach-us",
            "Camping gear",
            "commercial",
        ),
        // US, a fake thread on a first contact.
        email(
            "fake-thread",
            "c-101",
            "outreach-us",
            "RE: our call",
            "commercial",
        ),
        // DE, a shipping notice: nothing to fix.
        email(
            "receipt",
            "c-001",
            "outreach-eu",
            "Your order has shipped",
            "transactional",
        ),
        sensitive,
        // US, 21:00 in New York: rescheduled to 08:00 there.
        serde_json::json!({"id": "late-text", "agent": "outreach-us", "region": "US",
            "evidence": ["c-101"], "kind": {"type": "sms", "to": {"contact-id": "c-101"},
            "body": "Acme: the class schedule is out. Reply STOP to opt out.",
            "purpose": "commercial", "send-at": 1_767_664_800_000_i64}}),
    ];
    let file = dir.path().join("actions.jsonl");
    let lines: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let pack = |name: &str| out.join(format!("{name}.pack.toml")).display().to_string();
    let o = gatehouse(&[
        "--data-dir",
        dir.path().join("store").to_str().unwrap(),
        "validate",
        "--json",
        "--pack",
        &pack("legal"),
        "--pack",
        &pack("data"),
        "--pack",
        &pack("brand"),
        "--actions",
        file.to_str().unwrap(),
        "--data",
        root().join("examples/data/crm.json").to_str().unwrap(),
        "--senders",
        root().join("examples/data/senders.toml").to_str().unwrap(),
        "--now",
        "2026-01-05T15:00:00Z",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: gatehouse::pipeline::RunReport = serde_json::from_slice(&o.stdout).unwrap();
    let decided = |id: &str| report.decisions.iter().find(|d| d.action.id == id).unwrap();
    let rules = |id: &str| -> Vec<String> {
        decided(id)
            .findings
            .iter()
            .map(|f| f.rule.clone())
            .collect()
    };
    use gatehouse::pipeline::Outcome::*;
    assert_eq!(decided("withdrawn").outcome, Deny);
    assert!(rules("withdrawn").contains(&"legal.gdpr.withdrawn".to_string()));
    assert_eq!(decided("canada").outcome, Modify, "{:?}", rules("canada"));
    assert!(rules("canada").contains(&"legal.casl.identification".to_string()));
    assert_eq!(decided("fake-thread").outcome, Deny);
    assert!(rules("fake-thread").contains(&"legal.can-spam.deceptive-subject".to_string()));
    assert_eq!(decided("receipt").outcome, Allow, "{:?}", rules("receipt"));
    assert_eq!(decided("special").outcome, Escalate);
    assert!(rules("special").contains(&"data.special-category-targeting".to_string()));
    let late = decided("late-text");
    assert_eq!(late.outcome, Modify, "{:?}", rules("late-text"));
    // 2026-01-06 08:00 EST = 13:00 UTC.
    assert_eq!(
        late.final_action.as_ref().unwrap().send_time(0),
        Some(1_767_704_400_000)
    );
    assert_eq!(report.decisions.len(), 6);
    // Every finding of the law names its statute.
    for d in &report.decisions {
        for f in d.findings.iter().filter(|f| f.rule.starts_with("legal.")) {
            assert!(f.citation.is_some(), "{} has no citation", f.rule);
        }
    }
}
