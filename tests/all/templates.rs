//! `gatehouse pack new --lang python|js` and `gatehouse skill new --lang
//! python|js`: the scaffolds build and pass out of the box, run verbatim as
//! the README shows them.

use crate::support::*;
use std::path::Path;
use std::process::{Command, Output};

fn gatehouse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE_CACHE", root().join("target/test-cache"))
        .env("GATEHOUSE_DATA", root().join("target/test-data"))
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Copy a directory tree (the previous run's build, so an unchanged
/// template is not rebuilt: its inputs' digest still matches).
fn copy_tree(from: &Path, to: &Path) {
    if !from.exists() {
        return;
    }
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Scaffold `name` with `args` in a fresh directory, reusing the build
/// kept from the last run, run `then`, and keep the build for the next.
fn scaffolded(kind: &str, lang: &str, then: impl FnOnce(&Path)) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tone");
    let out = ok(&gatehouse(&[
        kind,
        "new",
        "tone",
        "--lang",
        lang,
        "--dir",
        dir.to_str().unwrap(),
    ]));
    assert!(out.contains("created"), "{out}");
    let keep = root().join(format!("target/test-templates/{kind}-{lang}"));
    copy_tree(&keep, &dir.join("target"));
    then(&dir);
    let _ = std::fs::remove_dir_all(&keep);
    copy_tree(&dir.join("target"), &keep);
}

fn pack_template_passes(lang: &str) {
    scaffolded("pack", lang, |dir| {
        let out = ok(&gatehouse(&[
            "pack",
            "test",
            dir.to_str().unwrap(),
            "--coverage-min",
            "100",
        ]));
        assert!(
            out.contains("2 case(s): 2 passed, 0 failed; coverage 100%"),
            "{out}"
        );
        // The finding's `print` / `console.log` reached the run's log.
        let built = dir.join("target/gatehouse/tone.pack.toml");
        let actions = dir.join("actions.jsonl");
        let cases: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap())
                .unwrap();
        std::fs::write(&actions, cases["cases"][0]["action"].to_string()).unwrap();
        let o = gatehouse(&[
            "validate",
            "--pack",
            built.to_str().unwrap(),
            "--actions",
            actions.to_str().unwrap(),
            "--json",
        ]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("a-1: the subject shouts"), "{out}");
    });
}

fn skill_template_proposes(lang: &str) {
    scaffolded("skill", lang, |dir| {
        let out = ok(&gatehouse(&["skill", "build", dir.to_str().unwrap()]));
        assert!(out.contains("tone.wasm"), "{out}");
        let out = ok(&gatehouse(&[
            "act",
            "--skill",
            dir.join("target/gatehouse/tone.wasm").to_str().unwrap(),
            "--context",
            root().join("examples/data/context.json").to_str().unwrap(),
            "--data",
            root().join("examples/data/crm.json").to_str().unwrap(),
            "--senders",
            root().join("examples/data/senders.toml").to_str().unwrap(),
        ]));
        assert!(
            out.contains("run-0001-c-003") && out.contains("news from Acme"),
            "{out}"
        );
    });
}

#[test]
fn the_python_pack_template_builds_and_passes_its_cases() {
    pack_template_passes("python");
}

#[test]
fn the_js_pack_template_builds_and_passes_its_cases() {
    pack_template_passes("js");
}

#[test]
fn the_python_skill_template_builds_and_proposes_actions() {
    skill_template_proposes("python");
}

#[test]
fn the_js_skill_template_builds_and_proposes_actions() {
    skill_template_proposes("js");
}

#[test]
fn an_unknown_language_is_refused_in_one_line() {
    let o = gatehouse(&[
        "pack",
        "new",
        "x",
        "--lang",
        "cobol",
        "--dir",
        "/nonexistent/x",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`--lang cobol`") && err.lines().count() == 1,
        "{err}"
    );
}
