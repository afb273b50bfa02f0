//! The govern stage: host-side checks that no guest can bypass, run after
//! the packs on every action they allowed (or modified), in this order:
//!
//! 1. `govern.kill-switch` — the agent (or every agent, `*`) is killed;
//! 2. `govern.partition` — the action's region, and its recipient's, must
//!    be the run's partition;
//! 3. `govern.evidence` — sensitive actions must cite evidence, and every
//!    cited id must have been retrieved in this run;
//! 4. `govern.frequency` / `govern.quiet-hours` — contact caps per sliding
//!    window; SMS only within the recipient's local hours;
//! 5. `govern.budget` — spend and sends per agent and day, spend per
//!    campaign;
//! 6. `govern.exposure` — a candidate skill reaches at most its cap of
//!    contacts (sticky assignment);
//! 7. `govern.approval` — actions at or above the risk threshold wait in
//!    the approvals queue (escalate).
//!
//! Counters (4–5) are reserved atomically in one transaction, and the
//! reservation is released when a later check blocks the action, so a
//! blocked action never consumes budget. The kill switch is read from the
//! store for every action, so a kill takes effect on the very next action,
//! including those of a run in progress.

use crate::ops::{Approvable, approvals_needed};
use crate::pipeline::{Decision, Outcome};
use gatehouse_sandbox::{Action, ActionKind, AudienceOperation, Finding, RunContext, Severity};
use gatehouse_store::{ApprovalRequest, Change, Charge, CounterError, Risk, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The governance schema version this host reads.
pub const GOVERNANCE_SCHEMA: u32 = 1;

/// Governance configuration: rules per agent (`*`: every agent without
/// its own table). Versioned and content-addressed like any config
/// artifact (`gatehouse publish governance.toml --kind config`).
///
/// ```toml
/// schema = 1
/// [agent.outreach-eu]
/// sensitive-kinds = ["audience", "ad-budget"]
/// email-per-contact = { max = 2, window-days = 7 }
/// sms-hours = { from = 8, to = 21 }
/// spend-per-day-micros = 50_000_000
/// spend-per-campaign-micros = 2_000_000_000
/// sends-per-day = 500
/// exposure = { candidate = "email-outreach@0.2.0", percent = 10 }
/// approval-above-micros = 10_000_000
/// approval-kinds = ["audience"]
/// critical-above-micros = 100_000_000
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GovernanceConfig {
    /// [`GOVERNANCE_SCHEMA`].
    pub schema: u32,
    /// Rules per agent name, or `*`.
    #[serde(default)]
    pub agent: BTreeMap<String, AgentRules>,
}

/// The rules of one agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AgentRules {
    /// Action kinds that must cite evidence retrieved in the run.
    #[serde(default)]
    pub sensitive_kinds: Vec<String>,
    /// Ad budget changes raising the daily budget by more than this must
    /// cite evidence (audience exports always must).
    #[serde(default)]
    pub ad_budget_evidence_above_micros: Option<i64>,
    /// Emails per contact per window.
    #[serde(default)]
    pub email_per_contact: Option<FrequencyCap>,
    /// Text messages per contact per window.
    #[serde(default)]
    pub sms_per_contact: Option<FrequencyCap>,
    /// Hours (recipient local time) in which SMS may go out.
    #[serde(default)]
    pub sms_hours: Option<Hours>,
    /// Estimated spend per agent per UTC day, in micros.
    #[serde(default)]
    pub spend_per_day_micros: Option<u64>,
    /// Messages per agent per UTC day.
    #[serde(default)]
    pub sends_per_day: Option<u64>,
    /// Estimated spend per campaign (the run context's `campaign`), in
    /// micros, over the campaign's life.
    #[serde(default)]
    pub spend_per_campaign_micros: Option<u64>,
    /// A candidate skill's exposure cap.
    #[serde(default)]
    pub exposure: Option<ExposureCap>,
    /// Actions estimated at or above this cost need an approver.
    #[serde(default)]
    pub approval_above_micros: Option<i64>,
    /// Action kinds that always need an approver.
    #[serde(default)]
    pub approval_kinds: Vec<String>,
    /// Actions estimated at or above this cost are critical: two approvers.
    #[serde(default)]
    pub critical_above_micros: Option<i64>,
    /// Trip the agent's kill-switch when one run has too many of its
    /// actions blocked.
    #[serde(default)]
    pub breaker: Option<Breaker>,
}

/// The circuit breaker: after a run, if at least `min-actions` were
/// proposed and more than `blocked-percent` of them were denied (by a pack,
/// by governance, or because something failed closed), the agent is
/// killed until an operator revives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Breaker {
    /// The share of blocked actions that trips it, in percent.
    pub blocked_percent: u8,
    /// Runs with fewer actions never trip it.
    #[serde(default)]
    pub min_actions: u32,
}

/// Why the breaker of `report`'s agent trips, if it does: the run's
/// denied share is above the limit.
pub fn breaker_trips(
    config: &GovernanceConfig,
    report: &crate::pipeline::RunReport,
) -> Option<String> {
    let breaker = config.rules(&report.context.agent).breaker?;
    let total = report.decisions.len();
    if total < breaker.min_actions as usize || total == 0 {
        return None;
    }
    let denied = report
        .decisions
        .iter()
        .filter(|d| d.outcome == Outcome::Deny)
        .count();
    (denied * 100 > total * usize::from(breaker.blocked_percent)).then(|| {
        format!(
            "circuit breaker: {denied} of {total} actions of run `{}` denied (limit {}%)",
            report.context.run_id, breaker.blocked_percent
        )
    })
}

/// Tripping the breaker failed.
#[derive(Debug, thiserror::Error)]
pub enum BreakerError {
    /// The kill-switch could not be set.
    #[error(transparent)]
    Kill(#[from] gatehouse_store::KillError),
    /// The audit log failed.
    #[error(transparent)]
    Audit(#[from] gatehouse_store::AuditError),
}

/// After a run: trip the agent's breaker if [`breaker_trips`] says so —
/// kill the agent and record the kill in the audit log. Returns the kill.
pub fn trip_breaker(
    log: &gatehouse_store::AuditLog,
    config: &GovernanceConfig,
    report: &crate::pipeline::RunReport,
    at_ms: i64,
) -> Result<Option<gatehouse_store::KillRecord>, BreakerError> {
    let Some(reason) = breaker_trips(config, report) else {
        return Ok(None);
    };
    if log.store().is_killed(&report.context.agent)?.is_some() {
        // Already stopped: its actions were blocked by the kill-switch itself.
        return Ok(None);
    }
    // The store records the kill in the audit log in the same transaction.
    let record = log.store().kill(
        &report.context.agent,
        &gatehouse_store::Change::new("gatehouse-breaker", &reason, at_ms),
    )?;
    Ok(Some(record))
}

/// At most `max` per `window-days`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FrequencyCap {
    /// The most in the window.
    pub max: u64,
    /// The sliding window, in days.
    pub window_days: u64,
}

/// Allowed local hours: `from` inclusive, `to` exclusive (0–24).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// First allowed hour.
    pub from: u8,
    /// First hour no longer allowed.
    pub to: u8,
}

/// Exposure cap of a candidate skill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureCap {
    /// The candidate: `name@version` or its blake3.
    pub candidate: String,
    /// The most contacts, in percent, that may see it.
    pub percent: u8,
}

impl GovernanceConfig {
    /// Parse TOML; errors give the line, column and field.
    pub fn parse(text: &str) -> Result<Self, String> {
        let c: Self =
            toml::from_str(text).map_err(|e| crate::manifest::one_line_toml_error(text, &e))?;
        if c.schema != GOVERNANCE_SCHEMA {
            return Err(format!(
                "schema {} is not supported (this host reads schema {GOVERNANCE_SCHEMA})",
                c.schema
            ));
        }
        for (agent, rules) in &c.agent {
            if let Some(h) = &rules.sms_hours
                && (h.from >= h.to || h.to > 24)
            {
                return Err(format!(
                    "agent `{agent}`: sms-hours must have 0 <= from < to <= 24"
                ));
            }
            if rules
                .breaker
                .as_ref()
                .is_some_and(|b| b.blocked_percent > 100)
            {
                return Err(format!(
                    "agent `{agent}`: breaker blocked-percent must be 0..=100"
                ));
            }
            if rules.exposure.as_ref().is_some_and(|e| e.percent > 100) {
                return Err(format!("agent `{agent}`: exposure percent must be 0..=100"));
            }
        }
        Ok(c)
    }

    /// The rules for `agent`: its own table, else `*`, else none.
    pub fn rules(&self, agent: &str) -> AgentRules {
        self.agent
            .get(agent)
            .or_else(|| self.agent.get("*"))
            .cloned()
            .unwrap_or_default()
    }
}

/// What the govern stage did to one action (kept in its decision).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct GovernanceReport {
    /// The packs' outcome before governance.
    pub before: Outcome,
    /// The guards that stopped or held the action (empty: it passed).
    pub findings: Vec<Finding>,
    /// The counter reservation, when one was made (committed if the
    /// action passed, released otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation: Option<i64>,
    /// The approval request, when the action waits for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<i64>,
    /// Whether the contact was admitted to a candidate's exposure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed: Option<bool>,
}

/// The govern stage of one run.
pub struct Governor {
    store: std::sync::Arc<Store>,
    config: GovernanceConfig,
    actor: String,
    /// What the act stage did: the skill and the evidence ids retrieved.
    act: std::sync::Mutex<(Option<crate::pipeline::ComponentRef>, BTreeSet<String>)>,
}

const DAY_MS: i64 = 86_400_000;

fn finding(rule: &str, severity: Severity, message: String) -> Finding {
    Finding::new(rule, severity, message)
}

impl Governor {
    /// Governance over `store` with `config`; `actor` is recorded on
    /// counter settlements and approval requests.
    pub fn new(store: std::sync::Arc<Store>, config: GovernanceConfig, actor: &str) -> Self {
        Self {
            store,
            config,
            actor: actor.to_string(),
            act: Default::default(),
        }
    }

    /// What the act stage produced: the skill that ran and the evidence
    /// ids it retrieved (only those may be cited).
    pub fn after_act(
        &self,
        skill: crate::pipeline::ComponentRef,
        host_calls: &[gatehouse_sandbox::HostCall],
    ) {
        let mut act = self.act.lock().unwrap_or_else(|e| e.into_inner());
        act.0 = Some(skill);
        for call in host_calls {
            if let gatehouse_sandbox::HostCall::Retrieve {
                answer: Ok(records),
                ..
            } = call
            {
                act.1.extend(records.iter().map(|r| r.id.clone()));
            }
        }
    }

    /// Govern one decision in place: only allowed or modified actions are
    /// checked; a block turns the outcome into deny, an approval into
    /// escalate, with a finding naming the guard.
    pub fn govern(&self, ctx: &RunContext, decision: &mut Decision) {
        if !matches!(decision.outcome, Outcome::Allow | Outcome::Modify) {
            return;
        }
        let action = decision
            .final_action
            .clone()
            .unwrap_or_else(|| decision.action.clone());
        let mut report = GovernanceReport {
            before: decision.outcome,
            findings: Vec::new(),
            reservation: None,
            approval: None,
            exposed: None,
        };
        let result = self.check(ctx, &action, &mut report);
        match result {
            Admission::Pass => {}
            Admission::Block(f) => {
                report.findings.push(f);
                decision.outcome = Outcome::Deny;
                decision.final_action = None;
            }
            Admission::Hold(f) => {
                report.findings.push(f);
                decision.outcome = Outcome::Escalate;
            }
        }
        decision.governance = Some(report);
    }

    fn check(&self, ctx: &RunContext, action: &Action, report: &mut GovernanceReport) -> Admission {
        let rules = self.config.rules(&ctx.agent);
        let now = ctx.now;
        // 1. kill switch
        match self.store.is_killed(&ctx.agent) {
            Ok(Some(k)) => {
                return Admission::Block(finding(
                    "govern.kill-switch",
                    Severity::Critical,
                    format!(
                        "agent `{}` is stopped: {} (by {})",
                        ctx.agent, k.reason, k.actor
                    ),
                ));
            }
            Ok(None) => {}
            Err(e) => {
                return Admission::Block(finding(
                    "govern.kill-switch",
                    Severity::Critical,
                    format!("kill switch unreadable, failing closed: {e}"),
                ));
            }
        }
        // 2. partition
        let partition = ctx.partition.to_ascii_lowercase();
        if action.region.to_ascii_lowercase() != partition {
            return Admission::Block(finding(
                "govern.partition",
                Severity::Critical,
                format!(
                    "action region `{}` is outside the run's partition `{}`",
                    action.region, ctx.partition
                ),
            ));
        }
        if let Some(r) = action.recipient()
            && !r.region.is_empty()
            && r.region.to_ascii_lowercase() != partition
        {
            return Admission::Block(finding(
                "govern.partition",
                Severity::Critical,
                format!(
                    "recipient `{}` lives in `{}`, outside the run's partition `{}`",
                    r.contact_id, r.region, ctx.partition
                ),
            ));
        }
        // 3. evidence
        let sensitive = rules
            .sensitive_kinds
            .iter()
            .any(|k| k == action.kind.name())
            || matches!(&action.kind, ActionKind::Audience(a) if a.operation == AudienceOperation::Export)
            || matches!((&action.kind, rules.ad_budget_evidence_above_micros), (ActionKind::AdBudget(b), Some(t)) if b.proposed_daily_micros - b.current_daily_micros > t);
        if sensitive && action.evidence.is_empty() {
            return Admission::Block(finding(
                "govern.evidence",
                Severity::High,
                format!(
                    "a sensitive `{}` action must cite evidence retrieved in this run",
                    action.kind.name()
                ),
            ));
        }
        let (skill, retrieved) = self
            .act
            .lock()
            .map(|a| a.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        if let Some(id) = action.evidence.iter().find(|id| !retrieved.contains(*id)) {
            return Admission::Block(finding(
                "govern.evidence",
                Severity::High,
                format!("cites evidence `{id}`, which was not retrieved in this run"),
            ));
        }
        // 4. quiet hours at the message's send time (a rescheduled message
        // is judged when it goes out), in the recipient's time zone with
        // daylight saving time (no counter needed)
        let send_at = action.send_time(now).unwrap_or(now);
        if let (ActionKind::Sms(s), Some(h)) = (&action.kind, &rules.sms_hours) {
            let local = match gatehouse_zone::to_local(&s.to.time_zone, send_at) {
                Ok(local) => local,
                Err(e) => {
                    return Admission::Block(finding(
                        "govern.quiet-hours",
                        Severity::High,
                        format!("no local time for `{}`: {e}", s.to.contact_id),
                    ));
                }
            };
            if local.hour < h.from || local.hour >= h.to {
                return Admission::Block(finding(
                    "govern.quiet-hours",
                    Severity::High,
                    format!(
                        "it is {:02}:{:02} in {} for `{}` at send time; SMS only {:02}:00–{:02}:00 local time",
                        local.hour, local.minute, s.to.time_zone, s.to.contact_id, h.from, h.to
                    ),
                ));
            }
        }
        // 4–5. frequency and budgets, reserved together
        // Daily caps count a message on the (UTC) day it goes out.
        let day = send_at.div_euclid(DAY_MS);
        let mut keys: Vec<(String, u64, u64, Option<u64>)> = Vec::new();
        let cap = match &action.kind {
            ActionKind::Email(_) => rules.email_per_contact.as_ref(),
            ActionKind::Sms(_) => rules.sms_per_contact.as_ref(),
            _ => None,
        };
        if let (Some(cap), Some(r)) = (cap, action.recipient()) {
            keys.push((
                format!("freq/{}/contact/{}", action.kind.name(), r.contact_id),
                1,
                cap.max,
                Some(cap.window_days * DAY_MS as u64),
            ));
        }
        if let Some(limit) = rules.spend_per_day_micros {
            keys.push((
                format!("spend/agent/{}/day/{day}", ctx.agent),
                action.estimated_cost.micros.max(0) as u64,
                limit,
                None,
            ));
        }
        if let (Some(limit), Some(campaign)) = (rules.spend_per_campaign_micros, &ctx.campaign) {
            keys.push((
                format!("spend/campaign/{campaign}"),
                action.estimated_cost.micros.max(0) as u64,
                limit,
                None,
            ));
        }
        if let (Some(limit), true) = (rules.sends_per_day, action.recipient().is_some()) {
            keys.push((
                format!("sends/agent/{}/day/{day}", ctx.agent),
                1,
                limit,
                None,
            ));
        }
        if !keys.is_empty() {
            let charges: Vec<Charge<'_>> = keys
                .iter()
                .map(|(k, amount, limit, window)| match window {
                    Some(w) => Charge::sliding(k, *amount, *limit, *w),
                    None => Charge::total(k, *amount, *limit),
                })
                .collect();
            let reference = format!("{}/{}", ctx.run_id, action.id);
            match self.store.reserve(&reference, &charges, now) {
                Ok(r) => report.reservation = Some(r.id.0),
                Err(CounterError::CapExceeded(e)) => {
                    let rule = if e.key.starts_with("freq/") {
                        "govern.frequency"
                    } else {
                        "govern.budget"
                    };
                    return Admission::Block(finding(rule, Severity::High, format!("{e}")));
                }
                Err(e) => {
                    return Admission::Block(finding(
                        "govern.budget",
                        Severity::Critical,
                        format!("counters unavailable, failing closed: {e}"),
                    ));
                }
            }
        }
        let verdict = self.after_counters(ctx, action, &rules, skill.as_ref(), report);
        if let Some(id) = report.reservation {
            let id = gatehouse_store::ReservationId(id);
            let settled = match verdict {
                Admission::Pass => self
                    .store
                    .commit_reservation(id, &Change::new(&self.actor, "action released", now)),
                _ => self.store.release_reservation(
                    id,
                    &Change::new(&self.actor, "action blocked or held", now),
                ),
            };
            if let Err(e) = settled {
                return Admission::Block(finding(
                    "govern.budget",
                    Severity::Critical,
                    format!("reservation could not be settled, failing closed: {e}"),
                ));
            }
        }
        verdict
    }

    fn after_counters(
        &self,
        ctx: &RunContext,
        action: &Action,
        rules: &AgentRules,
        skill: Option<&crate::pipeline::ComponentRef>,
        report: &mut GovernanceReport,
    ) -> Admission {
        // 6. exposure of a candidate skill
        if let (Some(cap), Some(skill), Some(r)) = (&rules.exposure, skill, action.recipient())
            && (cap.candidate == skill.hash
                || cap.candidate == format!("{}@{}", skill.name, skill.version))
        {
            match self.store.expose(
                &format!("exposure/{}", cap.candidate),
                &r.contact_id,
                cap.percent,
                ctx.now,
            ) {
                Ok(e) => {
                    report.exposed = Some(e.admitted);
                    if !e.admitted {
                        return Admission::Block(finding(
                            "govern.exposure",
                            Severity::Medium,
                            format!(
                                "candidate `{}` is capped at {}% of contacts; `{}` stays on the control",
                                cap.candidate, cap.percent, r.contact_id
                            ),
                        ));
                    }
                }
                Err(e) => {
                    return Admission::Block(finding(
                        "govern.exposure",
                        Severity::Critical,
                        format!("exposure unavailable, failing closed: {e}"),
                    ));
                }
            }
        }
        // 7. risk tier
        let cost = action.estimated_cost.micros;
        let critical = rules.critical_above_micros.is_some_and(|t| cost >= t);
        let needs = critical
            || rules.approval_kinds.iter().any(|k| k == action.kind.name())
            || rules.approval_above_micros.is_some_and(|t| cost >= t);
        if needs {
            let subject =
                serde_json::json!({"run-id": ctx.run_id, "agent": ctx.agent, "action": action});
            let risk = if critical { Risk::Critical } else { Risk::High };
            let request = ApprovalRequest {
                subject: &subject,
                risk,
                requested_by: &self.actor,
                expires_at_ms: ctx.now + 3 * DAY_MS,
                approvals_needed: approvals_needed(Approvable::Action, risk),
                at_ms: ctx.now,
            };
            return match self.store.request_approval(&request) {
                Ok(a) => {
                    report.approval = Some(a.id.0);
                    Admission::Hold(finding(
                        "govern.approval",
                        Severity::Medium,
                        format!(
                            "waits for {} approver(s): approval #{} ({} risk)",
                            request.approvals_needed,
                            a.id.0,
                            risk.as_str()
                        ),
                    ))
                }
                Err(e) => Admission::Block(finding(
                    "govern.approval",
                    Severity::Critical,
                    format!("approvals unavailable, failing closed: {e}"),
                )),
            };
        }
        Admission::Pass
    }
}

/// What a governance check says of one action.
enum Admission {
    Pass,
    Block(Finding),
    Hold(Finding),
}
