//! Runs: act, validate, run (governed), outcomes, replay and backtest.

use super::{Error, Gatehouse, Operation, Sources};
use crate::audit::{self as trail, ActionOutcome};
pub use crate::learn::Judged;
use crate::pipeline::{self, CallSite, Environment};
use crate::replay::{Backtest, ReplayOutcome, RunRecord};
use crate::{Action, Dataset, Guest, Kind, Limits, Metered, RunContext, Sandbox, Senders};
use gatehouse_store::{Lock, Query, Receipt, Scope};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// What a run is given besides its components.
pub struct Inputs<'a> {
    /// The run's context: id, agent, partition, clock, parameters.
    pub context: &'a RunContext,
    /// Pin every reference to this lock file's entries.
    pub lock: Option<&'a Path>,
    /// Governance rules: a TOML file or a published configuration.
    pub governance: Option<&'a str>,
    /// Recipient facts to stamp, and the evidence skills retrieve; without
    /// it (validate only) the facts in the actions are taken as given.
    pub dataset: Option<Arc<Dataset>>,
    /// Sender profiles stamped over every message's sender.
    pub senders: Arc<Senders>,
    /// Limits of every guest call.
    pub limits: &'a Limits,
}

/// What a skill proposed, metered.
pub type Proposed = Metered<Result<Vec<Action>, crate::SkillError>>;

/// One replayed run.
#[derive(Debug)]
pub struct Replayed {
    /// The run's audit entry.
    pub seq: u64,
    /// How the replay went.
    pub outcome: ReplayOutcome,
}

/// The channel scope a run resolves references in: its agent and
/// partition (either empty means any).
pub fn scope_of(ctx: &RunContext) -> Result<Scope, Error> {
    let or_any = |s: &str| {
        if s.is_empty() {
            gatehouse_store::ANY.to_string()
        } else {
            s.to_string()
        }
    };
    Ok(Scope::new(&or_any(&ctx.agent), &or_any(&ctx.partition))?)
}

/// Read actions (JSON Lines) from `reader`, named `name` in errors. With
/// `given_facts`, the recipient facts are taken as written, so a message
/// must state its recipient's consent: a missing one is an error, never
/// "none".
pub fn parse_actions(
    name: &str,
    reader: impl BufRead,
    given_facts: bool,
) -> Result<Vec<Action>, Error> {
    let at = |i: usize, e: &dyn std::fmt::Display| {
        Error::Invalid(format!("actions `{name}` line {}: {e}", i + 1))
    };
    let mut actions = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| at(i, &e))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| at(i, &e))?;
        let is_message = matches!(
            value.pointer("/kind/type").and_then(|t| t.as_str()),
            Some("email" | "sms")
        );
        if given_facts && is_message && value.pointer("/kind/to/consent").is_none() {
            return Err(at(
                i,
                &"`kind.to.consent` is missing (without --data the recipient facts are taken \
                  as given, and consent is never assumed)",
            ));
        }
        actions.push(serde_json::from_value(value).map_err(|e| at(i, &e))?);
    }
    if actions.is_empty() {
        return Err(Error::Invalid(format!("actions `{name}`: no actions")));
    }
    Ok(actions)
}

/// The context of a validation given none: no agent check, the first
/// action's region as partition, and the clock `now`.
pub fn default_context(actions: &[Action], now: i64) -> RunContext {
    RunContext {
        run_id: "validate".to_string(),
        agent: String::new(),
        partition: actions
            .first()
            .map(|a| a.region.clone())
            .unwrap_or_default(),
        cohort: None,
        campaign: None,
        now,
        params: Vec::new(),
    }
}

impl Gatehouse {
    /// The resolver for a run's references: its scope, pinned by `lock`.
    pub fn sources(&self, lock: Option<&Path>, scope: Scope) -> Result<Sources, Error> {
        let lock = lock.map(Lock::load).transpose()?;
        Sources::new(self.store.clone(), lock, scope)
    }

    /// Run a skill alone and return what it proposes (nothing recorded).
    pub fn act(
        &self,
        sandbox: &Sandbox,
        skill: &str,
        inputs: &Inputs<'_>,
    ) -> Result<(Guest, Proposed), Error> {
        self.authorize(Operation::Act)?;
        let ctx = inputs.context;
        let sources = self.sources(inputs.lock, scope_of(ctx)?)?;
        let skill = sources.component(sandbox, skill, Kind::Skill)?;
        let dataset = inputs
            .dataset
            .clone()
            .unwrap_or_else(|| Arc::new(Dataset::empty()));
        let env = pipeline::Live::new(ctx, dataset, inputs.senders.clone());
        let m = sandbox.act(&skill, ctx, env.answers(CallSite::Act), inputs.limits);
        Ok((skill, m))
    }

    /// Judge `actions` with `packs` and record the decisions.
    pub fn validate(
        &self,
        sandbox: &Sandbox,
        packs: &[String],
        actions: Vec<Action>,
        inputs: &Inputs<'_>,
    ) -> Result<Judged, Error> {
        self.authorize(Operation::Validate)?;
        let ctx = inputs.context;
        let sources = self.sources(inputs.lock, scope_of(ctx)?)?;
        let packs = load_packs(&sources, sandbox, packs)?;
        let env = match &inputs.dataset {
            Some(d) => pipeline::Live::new(ctx, d.clone(), inputs.senders.clone()),
            None => pipeline::Live::unstamped(ctx, Arc::new(Dataset::empty())),
        };
        let report = pipeline::validate_all(sandbox, &packs, actions, ctx, &env, inputs.limits);
        let receipt = trail::record_report(
            &self.log,
            &report,
            inputs.limits,
            &packs.iter().collect::<Vec<_>>(),
            None,
            self.now()?,
        )?;
        Ok(Judged {
            report,
            receipt,
            killed: None,
        })
    }

    /// Run `skill`, judge its actions with `packs`, govern them, record the
    /// run, and trip the circuit breaker if the governance rules say so.
    pub fn run(
        &self,
        sandbox: &Sandbox,
        skill: &str,
        packs: &[String],
        inputs: &Inputs<'_>,
    ) -> Result<Judged, Error> {
        let who = self.authorize(Operation::Run)?;
        let ctx = inputs.context;
        let sources = self.sources(inputs.lock, scope_of(ctx)?)?;
        let skill = sources.component(sandbox, skill, Kind::Skill)?;
        let packs = load_packs(&sources, sandbox, packs)?;
        let dataset = inputs.dataset.clone().ok_or_else(|| {
            Error::Invalid("a run needs a dataset for the skill to retrieve from".into())
        })?;
        let governance = inputs
            .governance
            .map(|spec| governance(&sources, spec))
            .transpose()?;
        let runner = crate::learn::Runner {
            sandbox,
            packs: &packs,
            governance: governance.as_ref().map(|(c, b)| (c, b.as_slice())),
            limits: inputs.limits,
            actor: &who,
            senders: &inputs.senders,
        };
        Ok(runner.run(&self.log, &skill, ctx, dataset, self.now()?)?)
    }

    /// Record what happened after an action, joined to it by id.
    pub fn record_outcome(&self, outcome: &ActionOutcome) -> Result<Receipt, Error> {
        self.authorize(Operation::RecordOutcome)?;
        Ok(trail::record_outcome(&self.log, outcome, self.now()?)?)
    }

    /// Replay the newest run of `run_id`, or (with `None`) every run
    /// recorded since `since_ms`.
    pub fn replay(
        &self,
        sandbox: &Sandbox,
        run_id: Option<&str>,
        since_ms: Option<i64>,
    ) -> Result<Vec<Replayed>, Error> {
        self.authorize(Operation::Replay)?;
        let records: Vec<(u64, RunRecord)> = match run_id {
            Some(id) => {
                let (entry, record) = trail::find_run(&self.log, id)?;
                vec![(entry.seq, record)]
            }
            None => self.recorded_runs(since_ms)?,
        };
        records
            .iter()
            .map(|(seq, record)| {
                let (skill, packs) = trail::load_components(sandbox, &self.store, record)?;
                Ok(Replayed {
                    seq: *seq,
                    outcome: crate::replay::replay(sandbox, skill.as_ref(), &packs, record),
                })
            })
            .collect()
    }

    /// Re-judge the recorded actions of the runs since `since_ms` with the
    /// candidate pack in place of the pack of the same name, and report
    /// what would change.
    pub fn backtest(
        &self,
        sandbox: &Sandbox,
        candidate: &str,
        since_ms: Option<i64>,
    ) -> Result<(Guest, Backtest), Error> {
        self.authorize(Operation::Backtest)?;
        let sources = self.sources(None, Scope::any())?;
        let candidate = sources.component(sandbox, candidate, Kind::Policy)?;
        let mut loaded: HashMap<Vec<String>, Vec<Guest>> = HashMap::new();
        let mut backtest = Backtest::default();
        for (_, record) in self.recorded_runs(since_ms)? {
            let key: Vec<String> = record
                .report
                .packs
                .iter()
                .flat_map(|p| std::iter::once(p.hash.clone()).chain(p.config.clone()))
                .collect();
            let packs = match loaded.get(&key) {
                Some(p) => p.clone(),
                None => {
                    let (_, packs) = trail::load_components(sandbox, &self.store, &record)?;
                    loaded.insert(key, packs.clone());
                    packs
                }
            };
            let packs = crate::replay::with_candidate(&packs, &candidate);
            backtest.add(sandbox, &packs, &record, 10);
        }
        Ok((candidate, backtest))
    }

    /// Every recorded run since `since_ms`, with its entry's position.
    fn recorded_runs(&self, since_ms: Option<i64>) -> Result<Vec<(u64, RunRecord)>, Error> {
        self.log
            .query(&Query {
                from_ms: since_ms,
                ..Query::kind(trail::RUN)
            })?
            .iter()
            .map(|e| Ok((e.seq, trail::parse_record(e)?)))
            .collect()
    }
}

fn load_packs(sources: &Sources, sandbox: &Sandbox, packs: &[String]) -> Result<Vec<Guest>, Error> {
    packs
        .iter()
        .map(|p| sources.component(sandbox, p, Kind::Policy))
        .collect()
}

/// Governance rules by reference, parsed, with their exact bytes.
pub(crate) fn governance(
    sources: &Sources,
    spec: &str,
) -> Result<(crate::govern::GovernanceConfig, Vec<u8>), Error> {
    let bytes = sources.bytes(spec)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::Invalid(format!("governance `{spec}` is not UTF-8")))?;
    let config = crate::govern::GovernanceConfig::parse(text)
        .map_err(|e| Error::Invalid(format!("governance `{spec}`: {e}")))?;
    Ok((config, bytes))
}
