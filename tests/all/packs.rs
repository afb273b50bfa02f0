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
