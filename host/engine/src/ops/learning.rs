//! The learning loop: propose, pilots, gate checks, the scorecard.

use super::runs::{governance, scope_of};
use super::{Error, Gatehouse, Operation};
use crate::learn::pilot::{self, Arm, Check, Pilot, PilotEntry, PilotSpec, Pinned};
use crate::learn::proposal::{self, Proposal, ProposalEntry, Target};
use crate::learn::{Batch, Runner, scorecard};
use crate::{Dataset, Kind, Limits, RunContext, Sandbox, Senders};
use gatehouse_gates::GateSpec;
use gatehouse_store::{ApprovalId, Query, Scope};
use std::path::Path;
use std::sync::Arc;

/// A pilot to start from an approved proposal.
pub struct PilotStart<'a> {
    /// The pilot's id.
    pub id: &'a str,
    /// The proposal it carries out (released exactly once).
    pub proposal: &'a str,
    /// The agent and partition it runs in.
    pub scope: (&'a str, &'a str),
    /// For a configuration proposal: the skill both arms run.
    pub skill: Option<&'a str>,
    /// For a skill proposal: the configuration both arms run.
    pub config: Option<&'a str>,
    /// The gates.
    pub gate: GateSpec,
    /// Exposure caps, percent, in order.
    pub ramp: Vec<u8>,
    /// Units per arm before a step may end.
    pub min_units_per_step: u64,
    /// Hours before a step may end.
    pub min_step_hours: i64,
    /// The longest the pilot may run, in days.
    pub max_days: Option<i64>,
    /// The channel a promotion moves.
    pub channel: String,
}

/// A batch of a pilot: which contacts go to which arm, and the recorded
/// runs.
pub struct PilotBatch<'a> {
    /// The run's context (agent and partition must be the pilot's).
    pub context: &'a RunContext,
    /// The packs every action is judged by.
    pub packs: &'a [String],
    /// The contacts and evidence.
    pub dataset: &'a Dataset,
    /// Sender profiles.
    pub senders: Arc<Senders>,
    /// Governance rules (a file or a published configuration).
    pub governance: Option<&'a str>,
    /// Limits of every guest call.
    pub limits: &'a Limits,
}

/// A scorecard's window and split.
pub struct ScorecardQuery {
    /// Runs from (ms); default with `until`: the week ending with the newest run.
    pub since: Option<i64>,
    /// Runs before (ms).
    pub until: Option<i64>,
    /// Every run in the log.
    pub all: bool,
    /// Rows split by.
    pub by: scorecard::Cohort,
}

const WEEK_MS: i64 = 7 * 86_400_000;

/// Read a gate spec (TOML).
pub fn read_gate(path: &Path) -> Result<GateSpec, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?;
    toml::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "gate spec `{}`: {}",
            path.display(),
            e.message().lines().next().unwrap_or("invalid TOML")
        ))
    })
}

impl Gatehouse {
    /// Propose a change; risk decides who approves it
    /// ([`super::approvals_needed`]).
    #[allow(clippy::too_many_arguments)]
    pub fn propose(
        &self,
        target: Target,
        from: &str,
        to: &str,
        scope: &Scope,
        predicted: proposal::Predicted,
        risk: gatehouse_store::Risk,
        rationale: String,
        evidence: Vec<String>,
    ) -> Result<(Proposal, Option<ApprovalId>), Error> {
        let who = self.authorize(Operation::Propose)?;
        Ok(proposal::propose(
            &self.log,
            Proposal {
                id: String::new(),
                target,
                from: Pinned::resolve(&self.store, from, scope)?,
                to: Pinned::resolve(&self.store, to, scope)?,
                predicted,
                risk,
                rationale,
                evidence,
                proposed_by: who,
            },
            self.now()?,
        )?)
    }

    /// Every proposal with its events, and for one waiting on approvers,
    /// its approval request as it stands.
    pub fn proposals(&self) -> Result<Vec<(Proposal, Vec<ProposalEntry>)>, Error> {
        self.authorize(Operation::ReadLearning)?;
        Ok(proposal::proposals(
            &self.log.query(&Query::kind(proposal::PROPOSAL))?,
        )?)
    }

    /// Start a pilot of an approved proposal: its `to` against its `from`.
    pub fn start_pilot(&self, req: PilotStart<'_>) -> Result<(Proposal, Pilot), Error> {
        let who = self.authorize(Operation::StartPilot)?;
        let (agent, partition) = req.scope;
        let scope = Scope::new(agent, partition)?;
        let at = self.now()?;
        let p = proposal::proposals(&self.log.query(&Query::kind(proposal::PROPOSAL))?)?
            .into_iter()
            .map(|(p, _)| p)
            .find(|p| p.id == req.proposal)
            .ok_or_else(|| Error::NotFound(format!("no proposal `{}`", req.proposal)))?;
        let (control, candidate) = match p.target {
            Target::Config => {
                let skill = req
                    .skill
                    .ok_or_else(|| Error::Invalid("a config proposal needs --skill".into()))?;
                let skill = Pinned::resolve(&self.store, skill, &scope)?;
                (
                    Arm {
                        skill: skill.clone(),
                        config: Some(p.from.clone()),
                    },
                    Arm {
                        skill,
                        config: Some(p.to.clone()),
                    },
                )
            }
            Target::Skill => {
                let config = req
                    .config
                    .map(|c| Pinned::resolve(&self.store, c, &scope))
                    .transpose()?;
                (
                    Arm {
                        skill: p.from.clone(),
                        config: config.clone(),
                    },
                    Arm {
                        skill: p.to.clone(),
                        config,
                    },
                )
            }
            other => {
                return Err(Error::Invalid(format!(
                    "pilots compare skills and skill configurations; a {other:?} change is \
                     evaluated with `gatehouse replay --all --with-pack`"
                )));
            }
        };
        let spec = PilotSpec {
            id: req.id.to_string(),
            agent: agent.to_string(),
            partition: partition.to_string(),
            channel: req.channel,
            proposal: Some(p.id.clone()),
            control,
            candidate,
            ramp: req.ramp,
            min_units_per_step: req.min_units_per_step,
            min_step_ms: req.min_step_hours * 3_600_000,
            max_duration_ms: req.max_days.map(|d| d * 86_400_000),
            gate: req.gate,
        };
        // Check the spec before consuming the approval.
        pilot::check_gate(&spec.gate)?;
        proposal::release(&self.log, &p.id, req.id, &who, at)?;
        let started = pilot::start(&self.log, spec, &who, at)?;
        Ok((p, started))
    }

    /// Run one batch of a pilot: assign contacts to arms (sticky), run
    /// each arm with every pack and governance, record both runs.
    pub fn run_pilot(
        &self,
        sandbox: &Sandbox,
        id: &str,
        req: &PilotBatch<'_>,
    ) -> Result<(Pilot, Batch), Error> {
        let who = self.authorize(Operation::Run)?;
        let p = self.pilot(id)?;
        let ctx = req.context;
        if ctx.agent != p.spec.agent || ctx.partition != p.spec.partition {
            return Err(Error::Invalid(format!(
                "pilot `{id}` is for agent `{}` in `{}`; the context says `{}` in `{}`",
                p.spec.agent, p.spec.partition, ctx.agent, ctx.partition
            )));
        }
        let sources = self.sources(None, scope_of(ctx)?)?;
        let packs = req
            .packs
            .iter()
            .map(|s| sources.component(sandbox, s, Kind::Policy))
            .collect::<Result<Vec<_>, _>>()?;
        let governance = req
            .governance
            .map(|g| governance(&sources, g))
            .transpose()?;
        let arms = [
            p.spec.control.load(sandbox, &self.store)?,
            p.spec.candidate.load(sandbox, &self.store)?,
        ];
        let runner = Runner {
            sandbox,
            packs: &packs,
            governance: governance.as_ref().map(|(c, b)| (c, b.as_slice())),
            limits: req.limits,
            actor: &who,
            senders: &req.senders,
        };
        let batch = runner.pilot_batch(
            &self.log,
            &p,
            [&arms[0], &arms[1]],
            ctx,
            req.dataset,
            self.now()?,
        )?;
        Ok((p, batch))
    }

    /// Every pilot, by id.
    pub fn pilots(&self) -> Result<std::collections::BTreeMap<String, Pilot>, Error> {
        self.authorize(Operation::ReadLearning)?;
        Ok(pilot::pilots(&self.log.query(&Query::kind(pilot::PILOT))?)?)
    }

    /// One pilot as its events leave it.
    pub fn pilot(&self, id: &str) -> Result<Pilot, Error> {
        self.authorize(Operation::ReadLearning)?;
        Ok(pilot::pilot(
            &self.log.query(&Query::kind(pilot::PILOT))?,
            id,
        )?)
    }

    /// Roll a pilot back by hand: every contact gets the control from now.
    pub fn roll_back_pilot(&self, id: &str, reason: &str) -> Result<(), Error> {
        let who = self.authorize(Operation::RollBackPilot)?;
        let p = pilot::pilot(&self.log.query(&Query::kind(pilot::PILOT))?, id)?;
        pilot::roll_back(&self.log, &p, reason, &who, self.now()?)?;
        Ok(())
    }

    /// Check a pilot's gates at `at` (the runs' clock; default now); with
    /// `apply`, carry out what they decide (ramp, promote, roll back).
    pub fn check_gates(
        &self,
        id: &str,
        at: Option<i64>,
        apply: bool,
    ) -> Result<(Pilot, Check, Option<PilotEntry>), Error> {
        let who = self.authorize(if apply {
            Operation::ApplyGate
        } else {
            Operation::ReadLearning
        })?;
        let entries = self.log.entries(0, None)?;
        let p = pilot::pilot(&entries, id)?;
        let at = match at {
            Some(at) => at,
            None => self.now()?,
        };
        let check = p.check(&entries, at)?;
        let applied = if apply {
            pilot::apply(&self.log, &p, &check, &who)?
        } else {
            None
        };
        Ok((p, check, applied))
    }

    /// The scorecard over a window of runs.
    pub fn scorecard(
        &self,
        q: &ScorecardQuery,
    ) -> Result<gatehouse_gates::scorecard::Scorecard, Error> {
        self.authorize(Operation::ReadLearning)?;
        let entries = self.log.entries(0, None)?;
        // Default: the week ending with the newest run (the runs' own clock).
        let newest = crate::learn::metrics::steps(&entries, i64::MIN, i64::MAX)?
            .iter()
            .map(|s| s.at_ms)
            .max()
            .unwrap_or(0);
        let (from_ms, to_ms) = match (q.all, q.since, q.until) {
            (true, ..) => (i64::MIN, i64::MAX),
            (false, None, None) => (newest - WEEK_MS + 1, newest + 1),
            (false, since, until) => (since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX)),
        };
        Ok(scorecard::build(
            &entries,
            Some(&self.store),
            &scorecard::Options {
                title: "gatehouse weekly scorecard".into(),
                generated_at: format!("{} ms", self.now()?),
                from_ms,
                to_ms,
                by: q.by,
            },
        )?)
    }
}
