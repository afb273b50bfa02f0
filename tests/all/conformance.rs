//! The conformance suite: one set of cases (`tests/conformance/cases.json`)
//! against the same rules in Rust, Python and JavaScript. Every language
//! must give the expected verdict and rule ids, and all must give the same
//! answer: verdict, findings (messages, spans, evidence), modified action,
//! and the gatehouse host calls made (config reads and log lines).

use crate::support::*;
use gatehouse::lang::Lang;
use gatehouse::packtest::CaseFile;
use gatehouse::{Answers, Dataset, EngineOptions, Guest, HostCall, Limits, Sandbox, World};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The built `claims` manifests: Rust, Python, JavaScript.
pub fn claims() -> &'static [(&'static str, PathBuf); 3] {
    static BUILT: OnceLock<[(&'static str, PathBuf); 3]> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = root().join("tests/conformance");
        let rust = gatehouse::build::build_crates(
            &[dir.join("rust")],
            None,
            Some(&root().join("target/test-guests/conformance")),
        )
        .expect("the rust claims pack builds");
        let build = |lang: Lang, sub: &str| {
            gatehouse::lang::build_guest(&dir.join(sub), lang)
                .unwrap_or_else(|e| panic!("the {lang} claims pack builds: {e}"))
                .manifest
                .expect("a manifest")
        };
        [
            ("rust", rust[0].manifest.clone().expect("a manifest")),
            ("python", build(Lang::Python, "python")),
            ("js", build(Lang::Js, "js")),
        ]
    })
}

/// A sandbox with the test runs' compiled-code cache (Python and JS take
/// seconds to compile).
pub fn cached_sandbox() -> Sandbox {
    Sandbox::new(EngineOptions {
        cache_dir: Some(root().join("target/test-cache")),
        ..Default::default()
    })
    .expect("engine")
}

/// What one language answered for one case, in comparable form.
#[derive(Debug, PartialEq)]
struct Answer {
    verdict: serde_json::Value,
    host_calls: Vec<HostCall>,
}

fn answers(sandbox: &Sandbox, pack: &Guest, cases: &CaseFile) -> Vec<Answer> {
    cases
        .cases
        .iter()
        .map(|case| {
            let ctx = case
                .context
                .clone()
                .expect("conformance cases carry a context");
            let mut config = pack.config().clone();
            config.extend(case.config.clone());
            let guest = pack.clone().with_config(config);
            let world = World::new(Arc::new(Dataset::empty()), "EU", ctx.now, &ctx.run_id);
            let m = sandbox.validate(
                &guest,
                &case.action,
                &ctx,
                Answers::Live(world),
                &Limits::default(),
            );
            let verdict = m
                .result
                .unwrap_or_else(|e| panic!("{}: `{}` failed: {e}", pack.name, case.name));
            Answer {
                verdict: serde_json::to_value(&verdict).unwrap(),
                // The virtual WASI calls a runtime makes for itself (clocks,
                // random) differ by language; the gatehouse calls may not.
                host_calls: m
                    .metering
                    .host_calls
                    .into_iter()
                    .filter(|c| {
                        !matches!(
                            c,
                            HostCall::WallClock { .. }
                                | HostCall::MonotonicClock { .. }
                                | HostCall::RandomBytes { .. }
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn rust_python_and_javascript_give_identical_answers_to_every_case() {
    let cases = CaseFile::load(&root().join("tests/conformance/cases.json")).unwrap();
    assert!(cases.cases.len() >= 20, "the suite has its cases");
    let sandbox = cached_sandbox();
    let mut all = Vec::new();
    let mut described = Vec::new();
    for (lang, manifest) in claims() {
        let pack = gatehouse::load_pack(&sandbox, manifest)
            .unwrap_or_else(|e| panic!("{lang}: the claims pack loads: {e}"));
        let report = gatehouse::packtest::run_cases(&sandbox, &pack, &cases, &Limits::default());
        let failed: Vec<String> = report
            .cases
            .iter()
            .filter_map(|c| c.problem.as_ref().map(|p| format!("{}: {p}", c.name)))
            .collect();
        assert!(
            failed.is_empty(),
            "{lang} fails cases:\n{}",
            failed.join("\n")
        );
        assert_eq!(
            report.coverage_percent(),
            100.0,
            "{lang}: every rule both ways"
        );
        let mut info = pack.pack_info().unwrap().clone();
        info.sdk = None;
        described.push((lang, info));
        all.push((lang, answers(&sandbox, &pack, &cases)));
    }
    for (lang, info) in &described[1..] {
        assert_eq!(info, &described[0].1, "{lang} describes itself unlike rust");
    }
    let (reference, expected) = &all[0];
    for (lang, got) in &all[1..] {
        for ((case, want), have) in cases.cases.iter().zip(expected).zip(got) {
            assert_eq!(
                have, want,
                "`{}`: {lang} disagrees with {reference}",
                case.name
            );
        }
    }
}

#[test]
fn the_suite_fails_when_a_language_disagrees() {
    // The comparison is not vacuous: a case whose expectation is flipped
    // fails in every language, and changed config changes the answers.
    let cases = CaseFile::load(&root().join("tests/conformance/cases.json")).unwrap();
    let sandbox = cached_sandbox();
    for (lang, manifest) in claims() {
        let pack = gatehouse::load_pack(&sandbox, manifest).unwrap();
        let mut flipped = cases.clone();
        flipped.cases.truncate(2);
        flipped.cases[0].expect.verdict = "deny".into();
        let report = gatehouse::packtest::run_cases(&sandbox, &pack, &flipped, &Limits::default());
        assert_eq!(report.failed(), 1, "{lang}");
        let base = answers(&sandbox, &pack, &flipped);
        let other = pack
            .clone()
            .with_config([("banned-terms".to_string(), "spring".to_string())].into());
        let changed = answers(&sandbox, &other, &flipped);
        assert_ne!(base[0], changed[0], "{lang}: config reaches the rules");
    }
}
