//! Run records and bit-for-bit replay.
//!
//! A [`RunRecord`] is what the audit log keeps of one pass: the report
//! (context, exact component hashes, engine fingerprint, every host call
//! and its answer, proposals, verdicts, findings, fuel, memory) plus the
//! limits it ran under and the wasmtime version. Replay loads the same
//! components by hash, serves the recorded answers through the same
//! pipeline ([`Recorded`] is just another [`Environment`]) and compares
//! everything but wall-clock durations.

use crate::pipeline::{self, CallSite, Decision, Environment, RunReport};
use crate::stamp::StampError;
use gatehouse_sandbox::Action;
use gatehouse_sandbox::Answers;
use gatehouse_sandbox::Limits;
use gatehouse_sandbox::{Guest, Metering, Sandbox};
use serde::{Deserialize, Serialize};

/// The schema version of [`RunRecord`].
pub const RUN_RECORD_SCHEMA: u32 = 1;

/// What the audit log keeps of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunRecord {
    /// [`RUN_RECORD_SCHEMA`].
    pub schema: u32,
    /// The wasmtime version that ran it.
    pub wasmtime: String,
    /// The limits every guest call ran under.
    pub limits: Limits,
    /// blake3 of the governance configuration the run was governed by
    /// (stored as a blob), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<String>,
    /// The run itself.
    pub report: RunReport,
}

impl RunRecord {
    /// The record of `report`, run under `limits`.
    pub fn new(report: RunReport, limits: Limits) -> Self {
        Self {
            schema: RUN_RECORD_SCHEMA,
            wasmtime: crate::wasmtime_version().to_string(),
            limits,
            governance: None,
            report,
        }
    }

    /// Every component hash the run used: the skill first, then the packs.
    pub fn component_hashes(&self) -> Vec<String> {
        let skill = self.report.act.as_ref().map(|a| a.skill.hash.clone());
        skill
            .into_iter()
            .chain(self.report.packs.iter().map(|p| p.hash.clone()))
            .collect()
    }
}

/// An environment that serves what a run recorded.
pub struct Recorded<'a> {
    report: &'a RunReport,
}

impl<'a> Recorded<'a> {
    /// Serve the answers and recipient facts of `report`.
    pub fn new(report: &'a RunReport) -> Self {
        Self { report }
    }

    fn decision(&self, action_id: &str) -> Option<&'a Decision> {
        self.report
            .decisions
            .iter()
            .find(|d| d.action.id == action_id)
    }
}

impl Environment for Recorded<'_> {
    /// Governance is host state (counters, kill switch, approvals) as it was
    /// then: replay serves the recorded outcome of the govern stage, as long
    /// as the packs decided as recorded (else the difference shows).
    fn govern(&self, _ctx: &gatehouse_sandbox::RunContext, decision: &mut Decision) {
        if let Some(recorded) = self.decision(&decision.action.id)
            && let Some(report) = &recorded.governance
            && report.before == decision.outcome
        {
            decision.outcome = recorded.outcome;
            decision.final_action = recorded.final_action.clone();
            decision.governance = Some(report.clone());
        }
    }

    fn answers(&self, site: CallSite<'_>) -> Answers {
        let calls = match site {
            CallSite::Act => self
                .report
                .act
                .as_ref()
                .map(|a| a.metering.host_calls.clone()),
            CallSite::Validate {
                action_id,
                pack,
                round,
            } => self.decision(action_id).and_then(|d| {
                d.packs
                    .iter()
                    .find(|p| p.pack.hash == pack && p.round == round)
                    .map(|p| p.metering.host_calls.clone())
            }),
        };
        Answers::Recorded(calls.unwrap_or_default())
    }

    fn stamp(&self, action: &mut Action) -> Result<(), StampError> {
        let Some(recorded) = self.decision(&action.id) else {
            return Ok(());
        };
        if let Some(f) = recorded
            .findings
            .iter()
            .find(|f| StampError::is_stamp_rule(&f.rule))
        {
            return Err(StampError::Recorded(Box::new(f.clone())));
        }
        if let (Some(to), Some(facts)) = (action.recipient_mut(), recorded.action.recipient()) {
            *to = facts.clone();
        }
        if let (Some(sender), Some(stamped)) = (action.sender_mut(), recorded.action.sender()) {
            *sender = stamped.clone();
        }
        Ok(())
    }
}

/// The result of a replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ReplayOutcome {
    /// The run replayed.
    pub run_id: String,
    /// `None` when identical; else the first difference.
    pub divergence: Option<String>,
    /// Wall-clock time of the original guest calls, microseconds.
    pub original_us: u64,
    /// Wall-clock time of the replayed guest calls, microseconds.
    pub replay_us: u64,
}

impl ReplayOutcome {
    /// True when everything but durations matched.
    pub fn identical(&self) -> bool {
        self.divergence.is_none()
    }
}

/// Re-execute a recorded run with `skill` and `packs` (loaded by the
/// caller from the hashes the record names) and compare.
pub fn replay(
    sandbox: &Sandbox,
    skill: Option<&Guest>,
    packs: &[Guest],
    record: &RunRecord,
) -> ReplayOutcome {
    let original = &record.report;
    let env = Recorded::new(original);
    let replayed = match (skill, &original.act) {
        (Some(skill), Some(_)) => pipeline::run(
            sandbox,
            skill,
            packs,
            &original.context,
            &env,
            &record.limits,
        ),
        _ => {
            let actions = original
                .decisions
                .iter()
                .map(|d| d.action.clone())
                .collect();
            pipeline::validate_all(
                sandbox,
                packs,
                actions,
                &original.context,
                &env,
                &record.limits,
            )
        }
    };
    ReplayOutcome {
        run_id: original.context.run_id.clone(),
        divergence: first_difference(original, &replayed),
        original_us: total_us(original),
        replay_us: total_us(&replayed),
    }
}

fn total_us(r: &RunReport) -> u64 {
    let act = r.act.as_ref().map(|a| a.metering.duration_us).unwrap_or(0);
    act + r
        .decisions
        .iter()
        .flat_map(|d| &d.packs)
        .map(|p| p.metering.duration_us)
        .sum::<u64>()
}

/// A value as JSON for a divergence message; one that cannot be
/// serialised is named as such, never shown as empty.
fn json<T: Serialize + std::fmt::Debug>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| format!("{v:?}"))
}

/// Compare two meterings, ignoring wall-clock time.
fn metering_difference(what: &str, a: &Metering, b: &Metering) -> Option<String> {
    if a.fuel_used != b.fuel_used {
        return Some(format!(
            "{what}: fuel used: recorded {}, replayed {}",
            a.fuel_used, b.fuel_used
        ));
    }
    if a.peak_memory_bytes != b.peak_memory_bytes {
        return Some(format!(
            "{what}: peak memory: recorded {}, replayed {}",
            a.peak_memory_bytes, b.peak_memory_bytes
        ));
    }
    if let Some((i, (x, y))) = a
        .host_calls
        .iter()
        .zip(&b.host_calls)
        .enumerate()
        .find(|(_, (x, y))| x != y)
    {
        return Some(format!(
            "{what}: host call {i}: recorded {}, replayed {}",
            json(x),
            json(y)
        ));
    }
    if a.host_calls.len() != b.host_calls.len() {
        return Some(format!(
            "{what}: host calls: recorded {}, replayed {}",
            a.host_calls.len(),
            b.host_calls.len()
        ));
    }
    None
}

/// The first difference between a recorded and a replayed run.
pub fn first_difference(a: &RunReport, b: &RunReport) -> Option<String> {
    if a.context != b.context {
        return Some(format!(
            "context: recorded {}, replayed {}",
            json(&a.context),
            json(&b.context)
        ));
    }
    // The time zone data answers local-time questions: another version may
    // answer them differently. (The engine fingerprint is not compared: a
    // run replays on another machine's engine, and any effect of it shows
    // in the fuel, host calls and verdicts compared below.)
    if a.tzdb != b.tzdb {
        return Some(format!(
            "time zone data: recorded {}, replayed {}",
            a.tzdb, b.tzdb
        ));
    }
    if a.packs != b.packs {
        return Some(format!(
            "packs: recorded {}, replayed {}",
            json(&a.packs),
            json(&b.packs)
        ));
    }
    match (&a.act, &b.act) {
        (Some(x), Some(y)) => {
            if x.skill != y.skill {
                return Some(format!(
                    "skill: recorded {}, replayed {}",
                    json(&x.skill),
                    json(&y.skill)
                ));
            }
            if x.error != y.error || x.skill_error != y.skill_error {
                return Some(format!(
                    "act result: recorded {} {}, replayed {} {}",
                    json(&x.error),
                    json(&x.skill_error),
                    json(&y.error),
                    json(&y.skill_error)
                ));
            }
            if let Some(d) = metering_difference("act", &x.metering, &y.metering) {
                return Some(d);
            }
            if let Some((i, (p, q))) = x
                .proposed
                .iter()
                .zip(&y.proposed)
                .enumerate()
                .find(|(_, (p, q))| p != q)
            {
                return Some(format!(
                    "proposed action {i}: recorded {}, replayed {}",
                    json(p),
                    json(q)
                ));
            }
            if x.proposed.len() != y.proposed.len() {
                return Some(format!(
                    "proposed actions: recorded {}, replayed {}",
                    x.proposed.len(),
                    y.proposed.len()
                ));
            }
        }
        (None, None) => {}
        _ => return Some("act stage present in only one of the runs".to_string()),
    }
    if a.decisions.len() != b.decisions.len() {
        return Some(format!(
            "decisions: recorded {}, replayed {}",
            a.decisions.len(),
            b.decisions.len()
        ));
    }
    for (x, y) in a.decisions.iter().zip(&b.decisions) {
        let id = &x.action.id;
        if x.action != y.action {
            return Some(format!(
                "action `{id}`: recorded {}, replayed {}",
                json(&x.action),
                json(&y.action)
            ));
        }
        if x.outcome != y.outcome {
            return Some(format!(
                "action `{id}`: outcome recorded {}, replayed {}",
                x.outcome, y.outcome
            ));
        }
        if x.findings != y.findings {
            return Some(format!(
                "action `{id}`: findings recorded {}, replayed {}",
                json(&x.findings),
                json(&y.findings)
            ));
        }
        if x.governance != y.governance {
            return Some(format!(
                "action `{id}`: governance recorded {}, replayed {}",
                json(&x.governance),
                json(&y.governance)
            ));
        }
        if x.final_action != y.final_action {
            return Some(format!(
                "action `{id}`: final action recorded {}, replayed {}",
                json(&x.final_action),
                json(&y.final_action)
            ));
        }
        if x.fail_closed != y.fail_closed {
            return Some(format!(
                "action `{id}`: fail closed recorded {}, replayed {}",
                x.fail_closed, y.fail_closed
            ));
        }
        if x.packs.len() != y.packs.len() {
            return Some(format!(
                "action `{id}`: pack calls recorded {}, replayed {}",
                x.packs.len(),
                y.packs.len()
            ));
        }
        for (p, q) in x.packs.iter().zip(&y.packs) {
            let what = format!("action `{id}`, pack `{}` round {}", p.pack.name, p.round);
            if p.pack != q.pack || p.round != q.round {
                return Some(format!(
                    "{what}: replayed {} round {}",
                    q.pack.name, q.round
                ));
            }
            if p.verdict != q.verdict {
                return Some(format!(
                    "{what}: verdict recorded {}, replayed {}",
                    json(&p.verdict),
                    json(&q.verdict)
                ));
            }
            if p.error != q.error {
                return Some(format!(
                    "{what}: error recorded {}, replayed {}",
                    json(&p.error),
                    json(&q.error)
                ));
            }
            if let Some(d) = metering_difference(&what, &p.metering, &q.metering) {
                return Some(d);
            }
        }
    }
    None
}

/// Recipient facts as recorded, host answers live (the run's clock and
/// seed, no records): what a candidate pack sees when it re-judges past
/// actions it never judged before.
struct Rejudge<'a> {
    recorded: Recorded<'a>,
    world: gatehouse_sandbox::World,
}

impl Environment for Rejudge<'_> {
    fn answers(&self, _site: CallSite<'_>) -> Answers {
        Answers::Live(self.world.clone())
    }

    fn stamp(&self, action: &mut Action) -> Result<(), StampError> {
        self.recorded.stamp(action)
    }
}

/// One decision a candidate pack would change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ChangedDecision {
    /// The run.
    pub run_id: String,
    /// The action.
    pub action_id: String,
    /// The recorded outcome.
    pub before: pipeline::Outcome,
    /// The outcome with the candidate.
    pub after: pipeline::Outcome,
    /// Rules that fire only with the candidate.
    pub rules_added: Vec<String>,
    /// Rules that fired only without it.
    pub rules_removed: Vec<String>,
}

/// What re-judging past runs with a candidate pack would change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Backtest {
    /// Runs re-judged.
    pub runs: usize,
    /// Actions re-judged.
    pub actions: usize,
    /// Decisions whose outcome or findings would change.
    pub changed: usize,
    /// Outcome transitions, e.g. `allow -> deny`, with counts.
    pub transitions: std::collections::BTreeMap<String, usize>,
    /// Per rule: (decisions where it fires only with the candidate, only without).
    pub rules: std::collections::BTreeMap<String, (usize, usize)>,
    /// Examples of changed decisions (the first few).
    pub examples: Vec<ChangedDecision>,
}

/// The packs of a run with `candidate` in place of the pack of the same
/// name (or added last when the run had none of that name).
pub fn with_candidate(packs: &[Guest], candidate: &Guest) -> Vec<Guest> {
    let mut out: Vec<Guest> = packs.to_vec();
    match out
        .iter()
        .position(|p| p.own_name() == candidate.own_name())
    {
        Some(i) => out[i] = candidate.clone(),
        None => out.push(candidate.clone()),
    }
    out
}

impl Backtest {
    /// Re-judge the recorded actions of `record` with `packs` (the run's
    /// packs with the candidate swapped in) and add the differences.
    pub fn add(
        &mut self,
        sandbox: &Sandbox,
        packs: &[Guest],
        record: &RunRecord,
        max_examples: usize,
    ) {
        let original = &record.report;
        let ctx = &original.context;
        let env = Rejudge {
            recorded: Recorded::new(original),
            world: gatehouse_sandbox::World::new(
                std::sync::Arc::new(gatehouse_sandbox::Dataset::empty()),
                &ctx.partition,
                ctx.now,
                &ctx.run_id,
            ),
        };
        let actions = original
            .decisions
            .iter()
            .map(|d| d.action.clone())
            .collect();
        let again = pipeline::validate_all(sandbox, packs, actions, ctx, &env, &record.limits);
        self.runs += 1;
        for (before, after) in original.decisions.iter().zip(&again.decisions) {
            self.actions += 1;
            let rules = |d: &Decision| {
                d.findings
                    .iter()
                    .map(|f| f.rule.clone())
                    .collect::<std::collections::BTreeSet<_>>()
            };
            let (b, a) = (rules(before), rules(after));
            if before.outcome == after.outcome
                && b == a
                && before.final_action == after.final_action
            {
                continue;
            }
            self.changed += 1;
            *self
                .transitions
                .entry(format!("{} -> {}", before.outcome, after.outcome))
                .or_default() += 1;
            let added: Vec<String> = a.difference(&b).cloned().collect();
            let removed: Vec<String> = b.difference(&a).cloned().collect();
            for r in &added {
                self.rules.entry(r.clone()).or_default().0 += 1;
            }
            for r in &removed {
                self.rules.entry(r.clone()).or_default().1 += 1;
            }
            if self.examples.len() < max_examples {
                self.examples.push(ChangedDecision {
                    run_id: ctx.run_id.clone(),
                    action_id: before.action.id.clone(),
                    before: before.outcome,
                    after: after.outcome,
                    rules_added: added,
                    rules_removed: removed,
                });
            }
        }
    }
}
