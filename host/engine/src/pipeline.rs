//! act → validate: a skill proposes, every pack judges, and the verdicts
//! combine into one decision per action. Any failure blocks the action.
//!
//! Combining verdicts: any deny wins, then any escalate; otherwise, if a
//! pack modified the action, every pack judges the modified action again
//! (up to [`MAX_ROUNDS`] rounds) so that each pack has seen the exact final
//! action; otherwise allow.
//!
//! Fail closed: a pack that traps, hits a limit or answers something
//! malformed adds a critical `gatehouse.fail-closed` finding and the action
//! is denied; so is an action no pack judged.

use crate::senders::Senders;
use crate::stamp::{self, StampError};
use gatehouse_sandbox::Dataset;
use gatehouse_sandbox::GuestError;
use gatehouse_sandbox::Limits;
use gatehouse_sandbox::{Action, Finding, RunContext, Severity, SkillError, Verdict};
use gatehouse_sandbox::{Answers, World};
use gatehouse_sandbox::{Guest, Metering, Sandbox};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Rounds of re-validation after modifications before gatehouse gives up
/// and escalates.
pub const MAX_ROUNDS: u32 = 3;

/// Rule id of the findings gatehouse adds when it blocks an action because
/// a pack failed.
pub const FAIL_CLOSED: &str = "gatehouse.fail-closed";

/// The decision on one action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every pack allowed it.
    Allow,
    /// Allowed once changed as in `final-action`.
    Modify,
    /// A human must decide.
    Escalate,
    /// Blocked.
    Deny,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Allow => "allow",
            Self::Modify => "modify",
            Self::Escalate => "escalate",
            Self::Deny => "deny",
        })
    }
}

/// A component as a run used it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ComponentRef {
    /// Its own name (from `describe`).
    pub name: String,
    /// Its own version.
    pub version: String,
    /// blake3 of its bytes.
    pub hash: String,
    /// blake3 of the configuration served to it (its canonical JSON), if
    /// any: a configuration is content-addressed like the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

impl ComponentRef {
    /// The reference of a loaded guest.
    pub fn of(guest: &Guest) -> Self {
        let (name, version) = match &guest.describe {
            gatehouse_sandbox::Describe::Policy(p) => (p.name.clone(), p.version.clone()),
            gatehouse_sandbox::Describe::Skill(s) => (s.name.clone(), s.version.clone()),
        };
        Self {
            name,
            version,
            hash: guest.hash.to_hex().to_string(),
            config: guest
                .config_blob()
                .map(|b| blake3::hash(&b).to_hex().to_string()),
        }
    }
}

/// One pack's judgement of one action in one round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct PackRun {
    /// The pack.
    pub pack: ComponentRef,
    /// The round (0 first; later rounds judge a modified action).
    pub round: u32,
    /// The verdict, when the pack answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Why there is no verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<GuestError>,
    /// What the call used.
    pub metering: Metering,
}

/// The decision on one proposed action, with every reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Decision {
    /// The action as proposed (recipient facts as stamped by the host).
    pub action: Action,
    /// The decision.
    pub outcome: Outcome,
    /// The action to perform when the outcome is `modify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_action: Option<Action>,
    /// Every finding, in pack order.
    pub findings: Vec<Finding>,
    /// True when the action was blocked because something failed.
    pub fail_closed: bool,
    /// Each pack's own result.
    pub packs: Vec<PackRun>,
    /// What the govern stage did, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<crate::govern::GovernanceReport>,
}

/// The act stage's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ActReport {
    /// The skill.
    pub skill: ComponentRef,
    /// The actions as the skill proposed them (empty when it failed).
    pub proposed: Vec<Action>,
    /// The skill's own error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_error: Option<SkillError>,
    /// Why the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<GuestError>,
    /// What the call used.
    pub metering: Metering,
}

/// A whole run: what was proposed and what was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct RunReport {
    /// The run's context.
    pub context: RunContext,
    /// The engine's fingerprint (configuration and wasmtime version).
    pub engine: String,
    /// The version of the IANA time zone database that answered local-time
    /// questions (`host.to-local`, quiet hours); empty in runs recorded
    /// before gatehouse recorded it.
    #[serde(default)]
    pub tzdb: String,
    /// The packs judging, in order.
    pub packs: Vec<ComponentRef>,
    /// The act stage, when a skill ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<ActReport>,
    /// One decision per action.
    pub decisions: Vec<Decision>,
}

/// A guest call of a pass, as environments tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallSite<'a> {
    /// The skill's `act`.
    Act,
    /// A pack's `validate` of one action in one round.
    Validate {
        /// The action's id.
        action_id: &'a str,
        /// The pack's blake3 (hex).
        pack: &'a str,
        /// The round (0 first).
        round: u32,
    },
}

/// Where a pass gets what the world says: the host-import answers of each
/// guest call and the recipient facts. A live run computes them; replay
/// serves what a run recorded. Everything else is one pipeline.
pub trait Environment {
    /// The answers for one guest call.
    fn answers(&self, site: CallSite<'_>) -> Answers;
    /// Stamp the action's recipient facts, or refuse an unknown recipient.
    fn stamp(&self, action: &mut Action) -> Result<(), StampError>;

    /// Learn what the act stage did (the skill and the host calls it
    /// made), for the govern stage. Default: nothing.
    fn after_act(&self, _skill: &ComponentRef, _host_calls: &[gatehouse_sandbox::HostCall]) {}

    /// The govern stage for one decided action. Default: none.
    fn govern(&self, _ctx: &RunContext, _decision: &mut Decision) {}
}

/// The live world: a dataset, the sender profiles, the run's partition,
/// clock and seed.
#[derive(Clone)]
pub struct Live {
    world: World,
    stamp_from: Option<(Arc<Dataset>, Arc<Senders>)>,
    governor: Option<Arc<crate::govern::Governor>>,
}

impl Live {
    /// A live run: guests retrieve from `dataset` (in the run's partition),
    /// recipient facts are stamped from it and senders from `senders`.
    pub fn new(ctx: &RunContext, dataset: Arc<Dataset>, senders: Arc<Senders>) -> Self {
        Self {
            world: World::new(dataset.clone(), &ctx.partition, ctx.now, &ctx.run_id),
            stamp_from: Some((dataset, senders)),
            governor: None,
        }
    }

    /// Offline checking of given actions: recipient facts and senders are
    /// taken as written in the actions (which must state them), and guests
    /// retrieve from `dataset`.
    pub fn unstamped(ctx: &RunContext, dataset: Arc<Dataset>) -> Self {
        Self {
            world: World::new(dataset, &ctx.partition, ctx.now, &ctx.run_id),
            stamp_from: None,
            governor: None,
        }
    }
}

impl Live {
    /// Add the govern stage.
    pub fn governed(mut self, governor: crate::govern::Governor) -> Self {
        self.governor = Some(Arc::new(governor));
        self
    }
}

impl Environment for Live {
    fn after_act(&self, skill: &ComponentRef, host_calls: &[gatehouse_sandbox::HostCall]) {
        if let Some(g) = &self.governor {
            g.after_act(skill.clone(), host_calls);
        }
    }

    fn govern(&self, ctx: &RunContext, decision: &mut Decision) {
        if let Some(g) = &self.governor {
            g.govern(ctx, decision);
        }
    }

    fn answers(&self, _site: CallSite<'_>) -> Answers {
        Answers::Live(self.world.clone())
    }

    fn stamp(&self, action: &mut Action) -> Result<(), StampError> {
        match &self.stamp_from {
            Some((dataset, senders)) => stamp::stamp(action, dataset, senders),
            None => stamp::check_given(action),
        }
    }
}

/// Act then validate: run the skill, stamp recipient facts, and judge
/// every proposed action with every pack.
pub fn run(
    sandbox: &Sandbox,
    skill: &Guest,
    packs: &[Guest],
    ctx: &RunContext,
    env: &dyn Environment,
    limits: &Limits,
) -> RunReport {
    let m = sandbox.act(skill, ctx, env.answers(CallSite::Act), limits);
    env.after_act(&ComponentRef::of(skill), &m.metering.host_calls);
    let (actions, skill_error, error) = match m.result {
        Ok(Ok(actions)) => (actions, None, None),
        Ok(Err(e)) => (Vec::new(), Some(e), None),
        Err(e) => (Vec::new(), None, Some(e)),
    };
    let mut report = validate_all(sandbox, packs, actions.clone(), ctx, env, limits);
    report.act = Some(ActReport {
        skill: ComponentRef::of(skill),
        proposed: actions,
        skill_error,
        error,
        metering: m.metering,
    });
    report
}

/// Judge `actions` with every pack, after the environment stamped their
/// recipient facts (an unknown recipient is denied before any pack runs).
pub fn validate_all(
    sandbox: &Sandbox,
    packs: &[Guest],
    actions: Vec<Action>,
    ctx: &RunContext,
    env: &dyn Environment,
    limits: &Limits,
) -> RunReport {
    let mut seen = std::collections::HashSet::new();
    let decisions = actions
        .into_iter()
        .map(|mut action| {
            let mut blocked = Vec::new();
            if !seen.insert(action.id.clone()) {
                blocked.push(Finding::new(
                    FAIL_CLOSED,
                    Severity::Critical,
                    format!("action id `{}` is used twice in this run", action.id),
                ));
            }
            if ctx.agent.is_empty() {
                // No run agent (offline validation of recorded actions).
            } else if action.agent.is_empty() {
                action.agent = ctx.agent.clone();
            } else if action.agent != ctx.agent {
                blocked.push(Finding::new(
                    FAIL_CLOSED,
                    Severity::Critical,
                    format!(
                        "action names agent `{}` but the run is agent `{}`",
                        action.agent, ctx.agent
                    ),
                ));
            }
            if let Err(f) = env.stamp(&mut action) {
                blocked.push(f.finding());
            }
            if blocked.is_empty() {
                let mut decision = decide(sandbox, packs, action, ctx, env, limits);
                env.govern(ctx, &mut decision);
                decision
            } else {
                Decision {
                    action,
                    outcome: Outcome::Deny,
                    final_action: None,
                    findings: blocked,
                    fail_closed: true,
                    packs: Vec::new(),
                    governance: None,
                }
            }
        })
        .collect();
    RunReport {
        context: ctx.clone(),
        engine: sandbox.fingerprint(),
        tzdb: gatehouse_zone::TZDB_VERSION.to_string(),
        packs: packs.iter().map(ComponentRef::of).collect(),
        act: None,
        decisions,
    }
}

/// Judge one action with every pack and combine the verdicts.
pub fn decide(
    sandbox: &Sandbox,
    packs: &[Guest],
    action: Action,
    ctx: &RunContext,
    env: &dyn Environment,
    limits: &Limits,
) -> Decision {
    if packs.is_empty() {
        let f = Finding::new(
            FAIL_CLOSED,
            Severity::Critical,
            "no policy pack judged this action",
        );
        return Decision {
            action,
            outcome: Outcome::Deny,
            final_action: None,
            findings: vec![f],
            fail_closed: true,
            packs: Vec::new(),
            governance: None,
        };
    }
    let mut current = action.clone();
    let mut findings = Vec::new();
    let mut runs = Vec::new();
    let mut fail_closed = false;
    for round in 0..MAX_ROUNDS {
        let (mut deny, mut escalate, mut changed) = (false, false, false);
        for pack in packs {
            let pack_hash = pack.hash.to_hex();
            let site = CallSite::Validate {
                action_id: &current.id,
                pack: pack_hash.as_str(),
                round,
            };
            let m = sandbox.validate(pack, &current, ctx, env.answers(site), limits);
            let pack_ref = ComponentRef::of(pack);
            let (verdict, error) = match m.result {
                Ok(v) => match check_modification(&current, &v) {
                    Ok(()) => (Some(v), None),
                    Err(reason) => (None, Some(GuestError::BadOutput { reason })),
                },
                Err(e) => (None, Some(e)),
            };
            match (&verdict, &error) {
                (_, Some(e)) => {
                    deny = true;
                    fail_closed = true;
                    findings.push(Finding::new(
                        FAIL_CLOSED,
                        Severity::Critical,
                        format!("pack `{}` failed: {e}", pack_ref.name),
                    ));
                }
                (Some(Verdict::Allow), None) => {}
                (Some(Verdict::Deny(f)), None) => {
                    deny = true;
                    findings.extend(nonempty(f, &pack_ref.name, "deny"));
                }
                (Some(Verdict::Escalate(f)), None) => {
                    escalate = true;
                    findings.extend(nonempty(f, &pack_ref.name, "escalate"));
                }
                (Some(Verdict::Modify(m)), None) => {
                    let mut next = m.action.clone();
                    if let Err(f) = env.stamp(&mut next) {
                        deny = true;
                        fail_closed = true;
                        findings.push(f.finding());
                    }
                    findings.extend(nonempty(&m.findings, &pack_ref.name, "modify"));
                    if next != current {
                        current = next;
                        changed = true;
                    }
                }
                (None, None) => {}
            }
            runs.push(PackRun {
                pack: pack_ref,
                round,
                verdict,
                error,
                metering: m.metering,
            });
            if deny && fail_closed {
                break;
            }
        }
        let outcome = if deny {
            Outcome::Deny
        } else if escalate {
            Outcome::Escalate
        } else if changed {
            if round + 1 == MAX_ROUNDS {
                findings.push(Finding::new(
                    "gatehouse.modify-unsettled",
                    Severity::High,
                    format!("packs kept modifying the action for {MAX_ROUNDS} rounds; a human must decide"),
                ));
                Outcome::Escalate
            } else {
                continue;
            }
        } else if current != action {
            Outcome::Modify
        } else {
            Outcome::Allow
        };
        let final_action = (outcome == Outcome::Modify).then_some(current);
        return Decision {
            action,
            outcome,
            final_action,
            findings,
            fail_closed,
            packs: runs,
            governance: None,
        };
    }
    Decision {
        action,
        outcome: Outcome::Escalate,
        final_action: None,
        findings,
        fail_closed,
        packs: runs,
        governance: None,
    }
}

/// A deny or escalate without reasons still counts; gatehouse adds one so
/// the record says who decided.
fn nonempty(findings: &[Finding], pack: &str, verdict: &str) -> Vec<Finding> {
    if findings.is_empty() {
        vec![Finding::new(
            &format!("{pack}.unexplained"),
            Severity::High,
            format!("pack `{pack}` answered {verdict} without a finding"),
        )]
    } else {
        findings.to_vec()
    }
}

/// A pack may change an action's content, never its identity: the id,
/// agent, kind and recipient stay; the change must come with a reason.
fn check_modification(original: &Action, verdict: &Verdict) -> Result<(), String> {
    let Verdict::Modify(m) = verdict else {
        return Ok(());
    };
    let changed = &m.action;
    if changed.id != original.id
        || changed.agent != original.agent
        || changed.region != original.region
    {
        return Err("a modification changed the action's id, agent or region".to_string());
    }
    if changed.kind.name() != original.kind.name() {
        return Err(format!(
            "a modification turned a `{}` action into `{}`",
            original.kind.name(),
            changed.kind.name()
        ));
    }
    if changed.recipient().map(|r| &r.contact_id) != original.recipient().map(|r| &r.contact_id) {
        return Err("a modification changed the recipient".to_string());
    }
    if m.findings.is_empty() {
        return Err("a modification came without a finding".to_string());
    }
    Ok(())
}
