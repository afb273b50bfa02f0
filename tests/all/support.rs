//! Shared fixtures: the guest components (built once per test run), a
//! sandbox, contexts and actions.

#![allow(dead_code)]

use gatehouse::pipeline::Live;
use gatehouse::{
    Action, ActionKind, Answers, Dataset, EngineOptions, GenericAction, Guest, Kind, Money,
    RunContext, Sandbox, Senders, World,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The components under test.
pub struct Guests {
    /// The brand pack component.
    pub brand: PathBuf,
    /// The brand pack's built manifest.
    pub brand_manifest: PathBuf,
    /// The email-outreach skill.
    pub skill: PathBuf,
    /// The hostile policy.
    pub hostile: PathBuf,
    /// The meeting-request skill.
    pub meeting: PathBuf,
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Build the guest crates once (an up-to-date build is a no-op).
pub fn guests() -> &'static Guests {
    static GUESTS: OnceLock<Guests> = OnceLock::new();
    GUESTS.get_or_init(|| {
        let root = root();
        let out = root.join("target").join("test-guests");
        let dirs = [
            root.join("policies/brand"),
            root.join("examples/email-outreach"),
            root.join("tests/guests/hostile"),
            root.join("examples/meeting-request"),
        ];
        let built =
            gatehouse::build::build_crates(&dirs, None, Some(&out)).expect("guest crates build");
        let brand_manifest = built[0].manifest.clone().expect("brand has a pack.toml");
        Guests {
            brand: built[0].path.clone(),
            brand_manifest,
            skill: built[1].path.clone(),
            hostile: built[2].path.clone(),
            meeting: built[3].path.clone(),
        }
    })
}

/// A sandbox without a compiled-code cache.
pub fn sandbox() -> Sandbox {
    Sandbox::new(EngineOptions::default()).expect("engine")
}

/// Load a component as the given kind.
pub fn load(sandbox: &Sandbox, path: &Path, kind: Kind) -> Guest {
    sandbox
        .load_file(path, Some(kind))
        .expect("component loads")
}

/// The sample CRM.
pub fn dataset() -> Arc<Dataset> {
    Arc::new(Dataset::load(&root().join("examples/data/crm.json")).expect("sample dataset"))
}

/// The sample run context.
pub fn context() -> RunContext {
    let text =
        std::fs::read_to_string(root().join("examples/data/context.json")).expect("sample context");
    serde_json::from_str(&text).expect("sample context parses")
}

/// A minimal context for policy calls.
pub fn ctx() -> RunContext {
    RunContext {
        run_id: "test-run".into(),
        agent: "tester".into(),
        partition: "EU".into(),
        cohort: None,
        campaign: None,
        now: 1_767_607_200_000,
        params: Vec::new(),
    }
}

/// Live answers from a world with no records.
pub fn empty_world() -> Answers {
    Answers::Live(World::new(
        Arc::new(Dataset::empty()),
        "EU",
        1_767_607_200_000,
        "test-run",
    ))
}

/// An environment for judging given actions: no records, facts as given.
pub fn offline() -> Live {
    Live::unstamped(&ctx(), Arc::new(Dataset::empty()))
}

/// The sample sender profiles.
pub fn senders() -> Arc<Senders> {
    Arc::new(Senders::load(&root().join("examples/data/senders.toml")).expect("sample senders"))
}

/// The live environment of the sample run.
pub fn sample_env() -> Live {
    Live::new(&context(), dataset(), senders())
}

/// A generic action whose kind selects the hostile guest's behaviour.
pub fn generic(kind: &str) -> Action {
    Action {
        id: format!("a-{kind}"),
        agent: "tester".into(),
        region: "EU".into(),
        estimated_cost: Money::default(),
        evidence: Vec::new(),
        rationale: String::new(),
        kind: ActionKind::Generic(GenericAction {
            kind: kind.into(),
            payload_json: "{}".into(),
        }),
    }
}

/// Resident set size of this process, in bytes.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("rss pages");
    pages * 4096
}
