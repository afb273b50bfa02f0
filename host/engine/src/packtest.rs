//! Data-driven pack tests: cases (action + context + config + expected
//! verdict and rule ids) run against the built component, with a coverage
//! table per rule.
//!
//! A case file (`cases.json` beside `pack.toml`):
//!
//! ```json
//! {"cases": [
//!   {"name": "unsubscribe link missing",
//!    "action": {"id": "a-1", "kind": {"type": "email", "...": "..."}},
//!    "context": {"run-id": "case", "agent": "tester", "partition": "EU", "now": 1767607200000},
//!    "config": {"key": "overrides pack.toml [config]"},
//!    "expect": {"verdict": "deny", "rules": ["legal.can-spam.unsubscribe"]}}
//! ]}
//! ```
//!
//! `context` and `config` are optional. `expect.rules` is the exact set of
//! rule ids among the verdict's findings (order ignored). A modify case may
//! also say what the edit must be: `"send-at"` (the rescheduled time, ms),
//! `"body-contains"` (texts the changed body must contain) and
//! `"unsubscribe"` (the changed email's unsubscribe mechanism). A rule is
//! covered when at least one passing case fires it and at least one passing
//! case does not.
//!
//! The report scores the pack against the cases as a labelled set:
//! precision and recall per rule (a rule fired where the case expects it is
//! a true positive, fired where not a false positive, missing where
//! expected a false negative) and per decision (allow, deny, escalate,
//! modify).

use gatehouse_sandbox::Limits;
use gatehouse_sandbox::{Action, ActionKind, RunContext, Verdict};
use gatehouse_sandbox::{Answers, World};
use gatehouse_sandbox::{Guest, Sandbox};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// A case file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The cases, in order.
    pub cases: Vec<Case>,
}

/// One case.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What it shows.
    pub name: String,
    /// The action judged.
    pub action: Action,
    /// The run context (default: run `case`, agent `tester`, partition of the action, 2026-01-05T10:00Z).
    #[serde(default)]
    pub context: Option<RunContext>,
    /// Configuration values overriding the manifest's.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// What the pack must answer.
    pub expect: Expect,
}

/// The expected answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `allow`, `deny`, `escalate` or `modify`.
    pub verdict: String,
    /// The exact set of rule ids among the findings.
    #[serde(default)]
    pub rules: BTreeSet<String>,
    /// For a modification: the `send-at` it must set.
    #[serde(default, rename = "send-at", skip_serializing_if = "Option::is_none")]
    pub send_at: Option<i64>,
    /// For a modification: texts the changed body must contain.
    #[serde(
        default,
        rename = "body-contains",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub body_contains: Vec<String>,
    /// For a modification of an email: the unsubscribe mechanism it must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
}

impl Expect {
    /// What the modified action lacks of the expected edit, if anything.
    fn edit_problems(&self, changed: &Action) -> Vec<String> {
        let mut problems = Vec::new();
        let (body, send_at, unsubscribe) = match &changed.kind {
            ActionKind::Email(e) => (e.body.as_str(), e.send_at, e.unsubscribe.as_deref()),
            ActionKind::Sms(s) => (s.body.as_str(), s.send_at, None),
            _ => ("", None, None),
        };
        if let Some(want) = self.send_at
            && send_at != Some(want)
        {
            problems.push(format!("expected send-at {want}, got {send_at:?}"));
        }
        for text in &self.body_contains {
            if !body.contains(text.as_str()) {
                problems.push(format!("the changed body lacks {text:?}"));
            }
        }
        if let Some(want) = &self.unsubscribe
            && unsubscribe != Some(want.as_str())
        {
            problems.push(format!(
                "expected unsubscribe {want:?}, got {unsubscribe:?}"
            ));
        }
        problems
    }
}

/// A case file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// Unreadable.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Malformed.
    #[error("`{path}`: {reason}")]
    Malformed {
        /// The file.
        path: std::path::PathBuf,
        /// What and where.
        reason: String,
    },
}

impl CaseFile {
    /// Read and check a case file; errors name the line and column, and the
    /// case by index and name when an expectation is malformed.
    pub fn load(path: &Path) -> Result<Self, CaseError> {
        let text = std::fs::read_to_string(path).map_err(|source| CaseError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: Self = serde_json::from_str(&text).map_err(|e| CaseError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        for (i, case) in file.cases.iter().enumerate() {
            if !["allow", "deny", "escalate", "modify"].contains(&case.expect.verdict.as_str()) {
                return Err(CaseError::Malformed {
                    path: path.to_path_buf(),
                    reason: format!(
                        "case {} (`{}`): unknown verdict `{}`",
                        i + 1,
                        case.name,
                        case.expect.verdict
                    ),
                });
            }
        }
        Ok(file)
    }
}

/// One case's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// True when verdict and rules matched.
    pub passed: bool,
    /// The verdict the pack gave (`error` when it failed).
    pub verdict: String,
    /// The rule ids among its findings.
    pub rules: BTreeSet<String>,
    /// Why it failed, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Coverage of one rule.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RuleCoverage {
    /// Passing cases where it fired.
    pub fired: usize,
    /// Passing cases where it did not.
    pub not_fired: usize,
}

impl RuleCoverage {
    /// Seen both ways.
    pub fn covered(&self) -> bool {
        self.fired > 0 && self.not_fired > 0
    }
}

/// How well a pack's answers match the labels of the cases, for one rule
/// or one decision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Score {
    /// Answered where the label says so.
    pub true_positives: usize,
    /// Answered where the label does not.
    pub false_positives: usize,
    /// Not answered where the label says so.
    pub false_negatives: usize,
}

impl Score {
    fn count(&mut self, expected: bool, got: bool) {
        match (expected, got) {
            (true, true) => self.true_positives += 1,
            (false, true) => self.false_positives += 1,
            (true, false) => self.false_negatives += 1,
            (false, false) => {}
        }
    }

    /// Of the answers given, the share the labels agree with (`None` when
    /// never given).
    pub fn precision(&self) -> Option<f64> {
        let given = self.true_positives + self.false_positives;
        (given > 0).then(|| self.true_positives as f64 / given as f64)
    }

    /// Of the labelled cases, the share answered (`None` when never
    /// labelled).
    pub fn recall(&self) -> Option<f64> {
        let labelled = self.true_positives + self.false_negatives;
        (labelled > 0).then(|| self.true_positives as f64 / labelled as f64)
    }
}

/// A pack test run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PackTestReport {
    /// Each case.
    pub cases: Vec<CaseResult>,
    /// Per rule the pack describes (plus any rule a case named).
    pub coverage: BTreeMap<String, RuleCoverage>,
    /// Precision and recall per rule over every case.
    pub rules: BTreeMap<String, Score>,
    /// Precision and recall per decision (allow, deny, escalate, modify).
    pub decisions: BTreeMap<String, Score>,
}

impl PackTestReport {
    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed).count()
    }

    /// Percentage of rules covered both ways.
    pub fn coverage_percent(&self) -> f64 {
        if self.coverage.is_empty() {
            return 100.0;
        }
        100.0 * self.coverage.values().filter(|c| c.covered()).count() as f64
            / self.coverage.len() as f64
    }
}

/// Run every case against `pack` (its manifest configuration applies,
/// overridden per case).
pub fn run_cases(
    sandbox: &Sandbox,
    pack: &Guest,
    cases: &CaseFile,
    limits: &Limits,
) -> PackTestReport {
    let mut coverage: BTreeMap<String, RuleCoverage> = pack
        .pack_info()
        .map(|p| {
            p.rules
                .iter()
                .map(|r| (r.id.clone(), RuleCoverage::default()))
                .collect()
        })
        .unwrap_or_default();
    let mut scores: BTreeMap<String, Score> = coverage
        .keys()
        .map(|r| (r.clone(), Score::default()))
        .collect();
    let mut decisions: BTreeMap<String, Score> = ["allow", "deny", "escalate", "modify"]
        .iter()
        .map(|d| (d.to_string(), Score::default()))
        .collect();
    let mut results = Vec::with_capacity(cases.cases.len());
    for case in &cases.cases {
        let ctx = case.context.clone().unwrap_or_else(|| RunContext {
            run_id: "case".into(),
            agent: "tester".into(),
            partition: case.action.region.clone(),
            cohort: None,
            campaign: None,
            now: 1_767_607_200_000,
            params: Vec::new(),
        });
        let mut config = pack.config().clone();
        config.extend(case.config.clone());
        let guest = pack.clone().with_config(config);
        let world = World::new(
            Arc::new(gatehouse_sandbox::Dataset::empty()),
            &ctx.partition,
            ctx.now,
            &ctx.run_id,
        );
        let m = sandbox.validate(&guest, &case.action, &ctx, Answers::Live(world), limits);
        let (verdict, rules, problem) = match &m.result {
            Ok(v) => {
                let rules: BTreeSet<String> = v.findings().iter().map(|f| f.rule.clone()).collect();
                let mut problems = Vec::new();
                if v.name() != case.expect.verdict {
                    problems.push(format!(
                        "expected {}, got {}",
                        case.expect.verdict,
                        v.name()
                    ));
                }
                if rules != case.expect.rules {
                    problems.push(format!(
                        "expected rules [{}], got [{}]",
                        join(&case.expect.rules),
                        join(&rules)
                    ));
                }
                if let Verdict::Modify(m) = v {
                    if v.findings().is_empty() {
                        problems.push("a modification without a finding".into());
                    }
                    problems.extend(case.expect.edit_problems(&m.action));
                }
                (
                    v.name().to_string(),
                    rules,
                    (!problems.is_empty()).then(|| problems.join("; ")),
                )
            }
            Err(e) => (
                "error".to_string(),
                BTreeSet::new(),
                Some(format!("the pack failed: {e}")),
            ),
        };
        for rule in case.expect.rules.iter().chain(&rules) {
            scores.entry(rule.clone()).or_default();
        }
        for (id, score) in scores.iter_mut() {
            score.count(case.expect.rules.contains(id), rules.contains(id));
        }
        for (name, score) in decisions.iter_mut() {
            score.count(case.expect.verdict == *name, verdict == *name);
        }
        let passed = problem.is_none();
        if passed {
            for rule in &case.expect.rules {
                coverage.entry(rule.clone()).or_default();
            }
            for (id, c) in coverage.iter_mut() {
                if rules.contains(id) {
                    c.fired += 1;
                } else {
                    c.not_fired += 1;
                }
            }
        }
        results.push(CaseResult {
            name: case.name.clone(),
            passed,
            verdict,
            rules,
            problem,
        });
    }
    PackTestReport {
        cases: results,
        coverage,
        rules: scores,
        decisions,
    }
}

fn join(rules: &BTreeSet<String>) -> String {
    rules.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Write a new Rust pack crate named `name` in `dir` that builds and
/// passes its tests out of the box: `Cargo.toml`, `pack.toml`,
/// `src/lib.rs` (one example rule with native tests) and `cases.json`.
/// `sdk` is the path of the `guest-sdk` crate relative to `dir`.
pub fn scaffold(
    dir: &Path,
    name: &str,
    sdk: &str,
) -> Result<Vec<std::path::PathBuf>, std::io::Error> {
    let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || !name.as_bytes()[0].is_ascii_lowercase()
    {
        return Err(bad(format!(
            "pack name `{name}`: use lowercase letters, digits and `-`, starting with a letter"
        )));
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(bad(format!("`{}` exists and is not empty", dir.display())));
    }
    let rule = format!("{name}.no-shouting");
    let files = [
        (
            "Cargo.toml",
            format!(
                "[package]\nname = \"gatehouse-pack-{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[dependencies]\ngatehouse-guest = {{ path = \"{sdk}\" }}\n\n# Built on its own: `gatehouse pack build .`\n[workspace]\n\n[profile.guest]\ninherits = \"release\"\nopt-level = \"s\"\nlto = true\ncodegen-units = 1\npanic = \"abort\"\nstrip = \"debuginfo\"\n"
            ),
        ),
        (
            "pack.toml",
            format!(
                "schema = 1\n\n[pack]\nname = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"Describe what this pack guards.\"\nowners = [\"you@example.com\"]\ncrate = \"gatehouse-pack-{name}\"\n\n[[rules]]\nid = \"{rule}\"\nseverity = \"low\"\ndescription = \"Email subjects are not written in capitals only.\"\n\n[config]\nmin-letters = \"4\"\n"
            ),
        ),
        (
            "src/lib.rs",
            format!(
                r#"//! The `{name}` policy pack.

use gatehouse_guest::prelude::*;

/// The pack.
pub struct Pack;

/// Rule id: subjects in capitals only.
pub const NO_SHOUTING: &str = "{rule}";

impl Policy for Pack {{
    fn describe() -> PackInfo {{
        PackInfo::new("{name}", "0.1.0").rule(NO_SHOUTING, Severity::Low, "Email subjects are not written in capitals only.")
    }}

    fn validate(action: Action, _ctx: RunContext) -> Verdict {{
        let mut judge = Judge::new();
        let min: usize = host::config("min-letters").and_then(|v| v.parse().ok()).unwrap_or(4);
        if let Some(email) = action.as_email() {{
            let letters = email.subject.chars().filter(|c| c.is_alphabetic()).count();
            if letters >= min && !email.subject.chars().any(char::is_lowercase) {{
                judge.deny(Finding::new(NO_SHOUTING, Severity::Low, "The subject is written in capitals only.").at("subject", 0, &email.subject));
            }}
        }}
        judge.verdict()
    }}
}}

gatehouse_guest::export_policy!(Pack);

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn shouting_is_denied_and_normal_case_allowed() {{
        gatehouse_guest::testing::MockHost::new().install();
        let loud = Action::email("a-1", Recipient::contact("c-1"), Purpose::Commercial, "BIG NEWS", "Hi");
        assert!(matches!(Pack::validate(loud, RunContext::for_test()), Verdict::Deny(_)));
        let calm = Action::email("a-2", Recipient::contact("c-1"), Purpose::Commercial, "Big news", "Hi");
        assert_eq!(Pack::validate(calm, RunContext::for_test()), Verdict::Allow);
    }}
}}
"#
            ),
        ),
        (
            "cases.json",
            format!(
                r#"{{"cases": [
  {{"name": "a subject in capitals is denied",
   "action": {{"id": "a-1", "region": "EU", "kind": {{"type": "email", "to": {{"contact-id": "c-1"}}, "purpose": "commercial", "subject": "BIG NEWS", "body": "Hi"}}}},
   "expect": {{"verdict": "deny", "rules": ["{rule}"]}}}},
  {{"name": "a normal subject is allowed",
   "action": {{"id": "a-2", "region": "EU", "kind": {{"type": "email", "to": {{"contact-id": "c-1"}}, "purpose": "commercial", "subject": "Big news", "body": "Hi"}}}},
   "expect": {{"verdict": "allow", "rules": []}}}},
  {{"name": "a short acronym is fine",
   "action": {{"id": "a-3", "region": "EU", "kind": {{"type": "email", "to": {{"contact-id": "c-1"}}, "purpose": "commercial", "subject": "FAQ", "body": "Hi"}}}},
   "expect": {{"verdict": "allow", "rules": []}}}}
]}}
"#
            ),
        ),
    ];
    let mut written = Vec::new();
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}
