//! The learning loop: metrics per version and cohort from the audit log,
//! change proposals routed by risk, pilots of a candidate against the
//! control, gates that promote or roll back, and the scorecard.
//!
//! Everything here reads and writes the audit log: a proposal, an
//! approval, a pilot's start, every ramp, the promotion or the rollback
//! are entries; every figure a gate used is recomputed from run and
//! outcome entries.

pub mod metrics;
pub mod pilot;
pub mod proposal;
pub mod scorecard;

use crate::pipeline::{self, Live, RunReport};
use crate::{Dataset, Field, Limits, RunContext};
use gatehouse_sandbox::{Guest, Sandbox};
use gatehouse_store::AuditLog;
use pilot::{ArmCounts, ArmName, Pilot};
use std::sync::Arc;

/// A step of the learning loop failed.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// The audit log failed.
    #[error(transparent)]
    Audit(#[from] gatehouse_store::AuditError),
    /// Recording a run failed.
    #[error(transparent)]
    Trail(#[from] crate::audit::TrailError),
    /// The log could not be read as metrics.
    #[error(transparent)]
    Metrics(#[from] metrics::MetricsError),
    /// An approval step failed.
    #[error(transparent)]
    Approval(#[from] gatehouse_store::ApprovalError),
    /// An entry of the learning loop is malformed.
    #[error("audit entry {seq}: {reason}")]
    BadEntry {
        /// The entry.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// No pilot of that id.
    #[error("no pilot `{0}` in the audit log")]
    NoSuchPilot(String),
    /// No proposal of that id.
    #[error("no proposal `{0}` in the audit log")]
    NoSuchProposal(String),
    /// A request was refused; the message says what and why.
    #[error("{0}")]
    Invalid(String),
}

/// How one batch of a pilot ran: each arm's run (an arm without contacts
/// this batch does not run).
pub struct Batch {
    /// Contacts assigned per arm.
    pub assigned: ArmCounts,
    /// The runs, with their arm.
    pub runs: Vec<(ArmName, RunReport)>,
}

/// A judged and recorded run.
#[derive(Debug)]
pub struct Judged {
    /// What the pipeline decided.
    pub report: RunReport,
    /// The audit entry recording it.
    pub receipt: gatehouse_store::Receipt,
    /// The kill the circuit breaker set after the run, if it tripped.
    pub killed: Option<gatehouse_store::KillRecord>,
}

/// What a batch runs with: the sandbox, the packs, governance, limits.
pub struct Runner<'a> {
    /// The sandbox.
    pub sandbox: &'a Sandbox,
    /// The packs, in order.
    pub packs: &'a [Guest],
    /// Governance: the configuration and its bytes (recorded by hash).
    pub governance: Option<(&'a crate::govern::GovernanceConfig, &'a [u8])>,
    /// Limits of every guest call.
    pub limits: &'a Limits,
    /// Who runs it (recorded on counters and approvals).
    pub actor: &'a str,
    /// The sender profiles messages are stamped with.
    pub senders: &'a Arc<crate::senders::Senders>,
}

impl Runner<'_> {
    /// Run one batch of a pilot: assign every contact of `dataset` in the
    /// run's partition to an arm (sticky), run each arm's skill on its own
    /// contacts with every pack and governance, and record both runs.
    /// `ctx.run_id` is suffixed with the arm.
    pub fn pilot_batch(
        &self,
        log: &AuditLog,
        pilot: &Pilot,
        arms: [&Guest; 2],
        ctx: &RunContext,
        dataset: &Dataset,
        at_ms: i64,
    ) -> Result<Batch, LearnError> {
        let store = log.store();
        let mut candidate = std::collections::HashSet::new();
        let mut assigned = ArmCounts::default();
        let contacts: Vec<&str> = dataset
            .records("contacts")
            .iter()
            .filter(|c| c.partition == ctx.partition)
            .map(|c| c.id.as_str())
            .collect();
        for (contact, arm) in contacts
            .iter()
            .zip(pilot.assign_all(store, &contacts, ctx.now)?)
        {
            match arm {
                ArmName::Candidate => {
                    assigned.candidate += 1;
                    candidate.insert(contact.to_string());
                }
                ArmName::Control => assigned.control += 1,
            }
        }
        let mut runs = Vec::new();
        for (arm, skill, n) in [
            (ArmName::Control, arms[0], assigned.control),
            (ArmName::Candidate, arms[1], assigned.candidate),
        ] {
            if n == 0 {
                continue;
            }
            let share = dataset.only("contacts", |c| {
                (arm == ArmName::Candidate) == candidate.contains(&c.id)
            });
            let mut ctx = ctx.clone();
            ctx.run_id = format!("{}-{}", ctx.run_id, arm.as_str());
            ctx.params.push(Field {
                name: metrics::PILOT_PARAM.into(),
                value: pilot.spec.id.clone(),
            });
            ctx.params.push(Field {
                name: metrics::ARM_PARAM.into(),
                value: arm.as_str().into(),
            });
            let judged = self.run(log, skill, &ctx, Arc::new(share), at_ms)?;
            runs.push((arm, judged.report));
        }
        Ok(Batch { assigned, runs })
    }

    /// Run a skill with every pack (and governance) on `dataset`, record
    /// the run, and trip the circuit breaker if the governance rules say
    /// so: the one way a governed run is put together.
    pub fn run(
        &self,
        log: &AuditLog,
        skill: &Guest,
        ctx: &RunContext,
        dataset: Arc<Dataset>,
        at_ms: i64,
    ) -> Result<Judged, LearnError> {
        let mut env = Live::new(ctx, dataset, self.senders.clone());
        if let Some((config, _)) = self.governance {
            env = env.governed(crate::govern::Governor::new(
                log.store().clone(),
                config.clone(),
                self.actor,
            ));
        }
        let report = pipeline::run(self.sandbox, skill, self.packs, ctx, &env, self.limits);
        let components: Vec<&Guest> = std::iter::once(skill).chain(self.packs).collect();
        let receipt = crate::audit::record_report(
            log,
            &report,
            self.limits,
            &components,
            self.governance.map(|(_, b)| b),
            at_ms,
        )?;
        let killed = match self.governance {
            Some((config, _)) => crate::govern::trip_breaker(log, config, &report, at_ms)
                .map_err(|e| LearnError::Invalid(format!("circuit breaker: {e}")))?,
            None => None,
        };
        Ok(Judged {
            report,
            receipt,
            killed,
        })
    }
}
