//! Test-only runner for a pack's data-driven cases (`cases.json`), natively.
//!
//! It reads the cases in the format `gatehouse pack test` reads:
//!
//! ```json
//! {"cases": [
//!   {"name": "...", "action": {host action JSON}, "context": {host run context, optional},
//!    "config": {"key": "value overriding pack.toml [config]", optional},
//!    "expect": {"verdict": "deny", "rules": ["rule.id", ...]}}
//! ]}
//! ```
//!
//! converts the host JSON (kebab-case keys, `"type"`-tagged action kinds,
//! the defaults and the `deny_unknown_fields` strictness of
//! `host/src/model.rs`) into the guest SDK's types by hand, runs the pack's
//! `validate` with a `MockHost` serving the manifest's configuration, and
//! compares the verdict and the *set* of rule ids among its findings. It
//! also checks the manifest against `describe` and that every rule has at
//! least one case where it fires and one where it does not.
//!
//! Shared by the legal pack (which also runs the brand pack's cases) and
//! the data pack (`#[path]`-included there).

use std::collections::{BTreeMap, BTreeSet};

use gatehouse_guest::prelude::*;
use gatehouse_guest::testing::MockHost;
use serde_json::{Map, Value};

/// The context a case runs in when it gives none, as `gatehouse pack test`
/// makes it: run `case`, agent `tester`, the action's region as the
/// partition, 2026-01-05T10:00:00Z. (No case depends on the partition
/// default: every case whose verdict would is given a context.)
fn default_context(action: &Action) -> RunContext {
    RunContext {
        run_id: "case".to_string(),
        agent: "tester".to_string(),
        partition: action.region.clone(),
        cohort: None,
        campaign: None,
        now: 1_767_607_200_000,
        params: Vec::new(),
    }
}

/// The outcome of a pack's case file.
#[derive(Debug, Default)]
pub struct Outcome {
    /// One line per failed case or check.
    pub failures: Vec<String>,
    /// Cases run.
    pub cases: usize,
    /// Per rule (in `describe` order): cases where it fired, cases where
    /// it did not.
    pub coverage: Vec<(String, usize, usize)>,
}

impl Outcome {
    /// A human-readable report: failures, then the coverage table.
    pub fn report(&self, pack: &str) -> String {
        let mut out = format!("pack {pack}: {} cases\n", self.cases);
        for f in &self.failures {
            out.push_str(&format!("  FAIL {f}\n"));
        }
        out.push_str("  rule                                  fired  not-fired\n");
        for (rule, fired, not) in &self.coverage {
            out.push_str(&format!("  {rule:<38}{fired:>5}  {not:>9}\n"));
        }
        out
    }
}

/// How strict to be about findings.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Every finding must point at a field (`location` set, start <= end).
    pub require_locations: bool,
}

/// Run `cases_json` against the pack `P` configured by `pack_toml`.
pub fn run<P: Policy>(pack_toml: &str, cases_json: &str, options: Options) -> Outcome {
    let mut outcome = Outcome::default();
    let info = P::describe();
    let manifest = match Manifest::parse(pack_toml) {
        Ok(m) => m,
        Err(e) => {
            outcome.failures.push(format!("pack.toml: {e}"));
            return outcome;
        }
    };
    outcome.failures.extend(manifest.agrees_with(&info));

    let cases = match parse_cases(cases_json) {
        Ok(c) => c,
        Err(e) => {
            outcome.failures.push(format!("cases.json: {e}"));
            return outcome;
        }
    };
    outcome.cases = cases.len();
    let rule_ids: Vec<&str> = info.rules.iter().map(|r| r.id.as_str()).collect();
    let mut fired: BTreeMap<&str, usize> = BTreeMap::new();
    let mut names = BTreeSet::new();

    for case in &cases {
        if !names.insert(case.name.as_str()) {
            outcome
                .failures
                .push(format!("{:?}: the case name repeats", case.name));
        }
        for rule in &case.rules {
            if !rule_ids.contains(&rule.as_str()) {
                outcome.failures.push(format!(
                    "{:?}: expects rule {rule:?}, which the pack does not describe",
                    case.name
                ));
            }
        }

        let mut config = manifest.config.clone();
        config.extend(case.config.clone());
        let mut host = MockHost::new().at(case.context.now);
        for (key, value) in &config {
            host = host.config(key, value);
        }
        host.install();

        let verdict = P::validate(case.action.clone(), case.context.clone());
        let findings: &[Finding] = match &verdict {
            Verdict::Allow => &[],
            Verdict::Deny(f) | Verdict::Escalate(f) => f,
            Verdict::Modify(m) => &m.findings,
        };
        let got: BTreeSet<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
        let want: BTreeSet<&str> = case.rules.iter().map(String::as_str).collect();
        let got_verdict = verdict_name(&verdict);
        if got_verdict != case.verdict || got != want {
            outcome.failures.push(format!(
                "{:?}: expected {} {:?}, got {} {:?}: {}",
                case.name,
                case.verdict,
                want,
                got_verdict,
                got,
                findings
                    .iter()
                    .map(|f| f.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        if options.require_locations {
            for f in findings {
                match &f.location {
                    Some(span) if span.start <= span.end && !span.field.is_empty() => {}
                    _ => outcome.failures.push(format!(
                        "{:?}: finding of {} has no usable location",
                        case.name, f.rule
                    )),
                }
            }
        }
        for rule in &rule_ids {
            if got.contains(rule) {
                *fired.entry(rule).or_default() += 1;
            }
        }
    }

    for rule in &rule_ids {
        let f = fired.get(rule).copied().unwrap_or(0);
        let not = cases.len() - f;
        if f == 0 {
            outcome
                .failures
                .push(format!("rule {rule}: no case where it fires"));
        }
        if not == 0 {
            outcome
                .failures
                .push(format!("rule {rule}: no case where it does not fire"));
        }
        outcome.coverage.push((rule.to_string(), f, not));
    }
    outcome
}

fn verdict_name(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Allow => "allow",
        Verdict::Deny(_) => "deny",
        Verdict::Escalate(_) => "escalate",
        Verdict::Modify(_) => "modify",
    }
}

// ---------------------------------------------------------------------------
// pack.toml

struct Manifest {
    name: String,
    version: String,
    /// (id, severity, description) in file order.
    rules: Vec<(String, String, String)>,
    config: BTreeMap<String, String>,
}

impl Manifest {
    fn parse(text: &str) -> Result<Self, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
        let pack = table
            .get("pack")
            .and_then(toml::Value::as_table)
            .ok_or("no [pack] table")?;
        let text_of = |t: &toml::Table, key: &str| -> Result<String, String> {
            t.get(key)
                .and_then(toml::Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("`{key}` is missing or not a string"))
        };
        let mut rules = Vec::new();
        for rule in table
            .get("rules")
            .and_then(toml::Value::as_array)
            .ok_or("no [[rules]]")?
        {
            let rule = rule.as_table().ok_or("a [[rules]] entry is not a table")?;
            rules.push((
                text_of(rule, "id")?,
                text_of(rule, "severity")?,
                text_of(rule, "description")?,
            ));
        }
        let mut config = BTreeMap::new();
        if let Some(values) = table.get("config") {
            let values = values.as_table().ok_or("[config] is not a table")?;
            for (key, value) in values {
                let value = value
                    .as_str()
                    .ok_or_else(|| format!("config `{key}` is not a string"))?;
                config.insert(key.clone(), value.to_string());
            }
        }
        Ok(Self {
            name: text_of(pack, "name")?,
            version: text_of(pack, "version")?,
            rules,
            config,
        })
    }

    /// Mismatches between the manifest and the pack's own description.
    fn agrees_with(&self, info: &PackInfo) -> Vec<String> {
        let mut problems = Vec::new();
        if (self.name.as_str(), self.version.as_str())
            != (info.name.as_str(), info.version.as_str())
        {
            problems.push(format!(
                "pack.toml names {} {}, the pack says {} {}",
                self.name, self.version, info.name, info.version
            ));
        }
        let described: Vec<(String, String, String)> = info
            .rules
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    severity_name(r.severity).to_string(),
                    r.description.clone(),
                )
            })
            .collect();
        if self.rules != described {
            problems.push(format!(
                "pack.toml [[rules]] differ from describe (order, id, severity, description):\n  \
                 pack.toml: {:?}\n  describe:  {:?}",
                self.rules, described
            ));
        }
        problems
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

// ---------------------------------------------------------------------------
// cases.json

struct Case {
    name: String,
    action: Action,
    context: RunContext,
    config: BTreeMap<String, String>,
    verdict: String,
    rules: Vec<String>,
}

fn parse_cases(text: &str) -> Result<Vec<Case>, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("{e}"))?;
    let root = object(&root, "the file")?;
    only(root, "the file", &["cases"])?;
    let cases = root
        .get("cases")
        .and_then(Value::as_array)
        .ok_or("`cases` is missing or not a list")?;
    cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let at = format!("cases[{i}]");
            let c = object(case, &at)?;
            only(c, &at, &["name", "action", "context", "config", "expect"])?;
            let name = req_str(c, "name", &at)?;
            let at = format!("{at} ({name:?})");
            let action = action(c.get("action").ok_or(format!("{at}: no `action`"))?, &at)?;
            let context = match c.get("context") {
                Some(context) => run_context(context, &at)?,
                None => default_context(&action),
            };
            let mut config = BTreeMap::new();
            if let Some(values) = c.get("config") {
                for (key, value) in object(values, &format!("{at}.config"))? {
                    let value = value
                        .as_str()
                        .ok_or(format!("{at}.config.{key}: not a string"))?;
                    config.insert(key.clone(), value.to_string());
                }
            }
            let expect = object(c.get("expect").ok_or(format!("{at}: no `expect`"))?, &at)?;
            only(expect, &format!("{at}.expect"), &["verdict", "rules"])?;
            let verdict = req_str(expect, "verdict", &at)?;
            if !["allow", "deny", "escalate", "modify"].contains(&verdict.as_str()) {
                return Err(format!("{at}: unknown verdict {verdict:?}"));
            }
            let rules = str_list(expect, "rules", &at)?;
            if (verdict == "allow") != rules.is_empty() {
                return Err(format!(
                    "{at}: an allow has no rules and any other verdict has some"
                ));
            }
            Ok(Case {
                name,
                action,
                context,
                config,
                verdict,
                rules,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Host JSON -> SDK types (the serde form of host/src/model.rs)

fn object<'v>(v: &'v Value, at: &str) -> Result<&'v Map<String, Value>, String> {
    v.as_object().ok_or(format!("{at}: not an object"))
}

/// Refuse unknown keys, as the host does (`deny_unknown_fields`).
fn only(map: &Map<String, Value>, at: &str, keys: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{at}: unknown key `{k}` (expected one of {keys:?})"
        )),
        None => Ok(()),
    }
}

fn req<'v>(map: &'v Map<String, Value>, key: &str, at: &str) -> Result<&'v Value, String> {
    map.get(key).ok_or(format!("{at}: `{key}` is missing"))
}

fn req_str(map: &Map<String, Value>, key: &str, at: &str) -> Result<String, String> {
    req(map, key, at)?
        .as_str()
        .map(str::to_string)
        .ok_or(format!("{at}: `{key}` is not a string"))
}

/// A string with `#[serde(default)]`: missing means empty.
fn str_or_empty(map: &Map<String, Value>, key: &str, at: &str) -> Result<String, String> {
    match map.get(key) {
        None => Ok(String::new()),
        Some(v) => v
            .as_str()
            .map(str::to_string)
            .ok_or(format!("{at}: `{key}` is not a string")),
    }
}

/// An `Option<String>`: missing or null means none.
fn opt_str(map: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_str()
            .map(|s| Some(s.to_string()))
            .ok_or(format!("{at}: `{key}` is not a string or null")),
    }
}

fn str_list(map: &Map<String, Value>, key: &str, at: &str) -> Result<Vec<String>, String> {
    match map.get(key) {
        None => Ok(Vec::new()),
        Some(v) => v
            .as_array()
            .ok_or(format!("{at}: `{key}` is not a list"))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or(format!("{at}: `{key}` has a non-string"))
            })
            .collect(),
    }
}

fn req_i64(map: &Map<String, Value>, key: &str, at: &str) -> Result<i64, String> {
    req(map, key, at)?
        .as_i64()
        .ok_or(format!("{at}: `{key}` is not an integer"))
}

fn bool_or_false(map: &Map<String, Value>, key: &str, at: &str) -> Result<bool, String> {
    match map.get(key) {
        None => Ok(false),
        Some(v) => v.as_bool().ok_or(format!("{at}: `{key}` is not a boolean")),
    }
}

fn action(v: &Value, at: &str) -> Result<Action, String> {
    let at = format!("{at}.action");
    let m = object(v, &at)?;
    only(
        m,
        &at,
        &[
            "id",
            "agent",
            "region",
            "estimated-cost",
            "evidence",
            "rationale",
            "kind",
        ],
    )?;
    let estimated_cost = match m.get("estimated-cost") {
        None => Money {
            currency: "USD".to_string(),
            micros: 0,
        },
        Some(cost) => {
            let at = format!("{at}.estimated-cost");
            let c = object(cost, &at)?;
            only(c, &at, &["currency", "micros"])?;
            Money {
                currency: req_str(c, "currency", &at)?,
                micros: req_i64(c, "micros", &at)?,
            }
        }
    };
    Ok(Action {
        id: req_str(m, "id", &at)?,
        agent: str_or_empty(m, "agent", &at)?,
        region: str_or_empty(m, "region", &at)?,
        estimated_cost,
        evidence: str_list(m, "evidence", &at)?,
        rationale: str_or_empty(m, "rationale", &at)?,
        kind: action_kind(req(m, "kind", &at)?, &format!("{at}.kind"))?,
    })
}

fn action_kind(v: &Value, at: &str) -> Result<ActionKind, String> {
    let m = object(v, at)?;
    let kind = req_str(m, "type", at)?;
    Ok(match kind.as_str() {
        "email" => {
            only(
                m,
                at,
                &[
                    "type",
                    "to",
                    "from-name",
                    "from-address",
                    "reply-to",
                    "subject",
                    "body",
                    "unsubscribe-url",
                    "postal-address",
                    "commercial",
                ],
            )?;
            ActionKind::Email(Email {
                to: recipient(req(m, "to", at)?, &format!("{at}.to"))?,
                from_name: str_or_empty(m, "from-name", at)?,
                from_address: str_or_empty(m, "from-address", at)?,
                reply_to: opt_str(m, "reply-to", at)?,
                subject: req_str(m, "subject", at)?,
                body: req_str(m, "body", at)?,
                unsubscribe_url: opt_str(m, "unsubscribe-url", at)?,
                postal_address: opt_str(m, "postal-address", at)?,
                commercial: bool_or_false(m, "commercial", at)?,
            })
        }
        "sms" => {
            only(m, at, &["type", "to", "sender", "body"])?;
            ActionKind::Sms(Sms {
                to: recipient(req(m, "to", at)?, &format!("{at}.to"))?,
                sender: str_or_empty(m, "sender", at)?,
                body: req_str(m, "body", at)?,
            })
        }
        "ad-budget" => {
            only(
                m,
                at,
                &[
                    "type",
                    "platform",
                    "campaign-id",
                    "currency",
                    "current-daily-micros",
                    "proposed-daily-micros",
                    "ad-copy",
                ],
            )?;
            ActionKind::AdBudget(AdBudgetChange {
                platform: req_str(m, "platform", at)?,
                campaign_id: req_str(m, "campaign-id", at)?,
                currency: req_str(m, "currency", at)?,
                current_daily_micros: req_i64(m, "current-daily-micros", at)?,
                proposed_daily_micros: req_i64(m, "proposed-daily-micros", at)?,
                ad_copy: opt_str(m, "ad-copy", at)?,
            })
        }
        "audience" => {
            only(
                m,
                at,
                &[
                    "type",
                    "platform",
                    "platform-region",
                    "audience-id",
                    "operation",
                    "contact-ids",
                    "fields",
                    "targeting",
                ],
            )?;
            let operation = match req_str(m, "operation", at)?.as_str() {
                "add" => AudienceOperation::Add,
                "remove" => AudienceOperation::Remove,
                "replace" => AudienceOperation::Replace,
                "export" => AudienceOperation::Export,
                other => return Err(format!("{at}: unknown operation {other:?}")),
            };
            ActionKind::Audience(AudienceUpdate {
                platform: req_str(m, "platform", at)?,
                platform_region: req_str(m, "platform-region", at)?,
                audience_id: req_str(m, "audience-id", at)?,
                operation,
                contact_ids: str_list(m, "contact-ids", at)?,
                fields: str_list(m, "fields", at)?,
                targeting: str_list(m, "targeting", at)?,
            })
        }
        "generic" => {
            only(m, at, &["type", "kind", "payload-json"])?;
            ActionKind::Generic(GenericAction {
                kind: req_str(m, "kind", at)?,
                payload_json: req_str(m, "payload-json", at)?,
            })
        }
        other => return Err(format!("{at}: unknown action type {other:?}")),
    })
}

fn recipient(v: &Value, at: &str) -> Result<Recipient, String> {
    let m = object(v, at)?;
    only(
        m,
        at,
        &[
            "contact-id",
            "address",
            "region",
            "country",
            "consent",
            "lawful-basis",
            "utc-offset-minutes",
            "first-contact",
        ],
    )?;
    let consent = match m.get("consent").map(|c| c.as_str()) {
        None => Consent::Unknown,
        Some(Some("granted")) => Consent::Granted,
        Some(Some("denied")) => Consent::Denied,
        Some(Some("unknown")) => Consent::Unknown,
        Some(other) => return Err(format!("{at}: unknown consent {other:?}")),
    };
    let utc_offset_minutes = match m.get("utc-offset-minutes") {
        None => 0,
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(format!(
                "{at}: `utc-offset-minutes` is not a 32-bit integer"
            ))?,
    };
    Ok(Recipient {
        contact_id: req_str(m, "contact-id", at)?,
        address: str_or_empty(m, "address", at)?,
        region: str_or_empty(m, "region", at)?,
        country: str_or_empty(m, "country", at)?,
        consent,
        lawful_basis: opt_str(m, "lawful-basis", at)?,
        utc_offset_minutes,
        first_contact: bool_or_false(m, "first-contact", at)?,
    })
}

fn run_context(v: &Value, at: &str) -> Result<RunContext, String> {
    let at = format!("{at}.context");
    let m = object(v, &at)?;
    only(
        m,
        &at,
        &[
            "run-id",
            "agent",
            "partition",
            "cohort",
            "campaign",
            "now",
            "params",
        ],
    )?;
    let params = match m.get("params") {
        None => Vec::new(),
        Some(list) => list
            .as_array()
            .ok_or(format!("{at}: `params` is not a list"))?
            .iter()
            .map(|p| {
                let p = object(p, &at)?;
                only(p, &at, &["name", "value"])?;
                Ok(Field {
                    name: req_str(p, "name", &at)?,
                    value: req_str(p, "value", &at)?,
                })
            })
            .collect::<Result<_, String>>()?,
    };
    Ok(RunContext {
        run_id: req_str(m, "run-id", &at)?,
        agent: req_str(m, "agent", &at)?,
        partition: req_str(m, "partition", &at)?,
        cohort: opt_str(m, "cohort", &at)?,
        campaign: opt_str(m, "campaign", &at)?,
        now: req_i64(m, "now", &at)?,
        params,
    })
}
