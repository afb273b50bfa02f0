//! The learning loop's commands: propose, pilot, gate check, scorecard.

use crate::args::Common;
use crate::print::print_json;
use crate::{auth, read_context, read_dataset};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use gatehouse::Clock;
use gatehouse::learn::pilot::{self, Next, Status};
use gatehouse::learn::proposal::{Predicted, ProposalEvent, Target};
use gatehouse::learn::scorecard;
use gatehouse::ops::{PilotBatch, PilotStart, ScorecardQuery, read_gate};
use gatehouse_store::{Risk, Scope};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code of `gate check` when the gates fail.
const EXIT_GATE_FAIL: u8 = 3;
/// Exit code of `gate check` when it must keep collecting.
const EXIT_KEEP_COLLECTING: u8 = 4;

/// `gatehouse pilot ...`
#[derive(Subcommand)]
pub enum PilotCommand {
    /// Start a pilot of an approved proposal: its `to` against its `from`.
    Start {
        /// The pilot's id (letters, digits, `-`).
        id: String,
        /// The proposal it carries out (released exactly once).
        #[arg(long)]
        proposal: String,
        /// The agent whose runs are piloted.
        #[arg(long)]
        agent: String,
        /// The partition it runs in.
        #[arg(long)]
        partition: String,
        /// For a config proposal: the skill both arms run (name@version, name@channel, blake3).
        #[arg(long)]
        skill: Option<String>,
        /// For a skill proposal: the configuration both arms get.
        #[arg(long)]
        config: Option<String>,
        /// The gate spec (TOML).
        #[arg(long)]
        gate: PathBuf,
        /// Exposure caps in percent, comma-separated.
        #[arg(long, default_value = "1,5,10,25,50", value_delimiter = ',')]
        ramp: Vec<u8>,
        /// Units per arm each step needs before moving on.
        #[arg(long, default_value_t = 100)]
        min_units: u64,
        /// Shortest step, in hours of the runs' clock.
        #[arg(long, default_value_t = 24)]
        min_step_hours: i64,
        /// Roll back if the gates have not passed after this many days.
        #[arg(long)]
        max_days: Option<i64>,
        /// The channel the candidate is promoted on.
        #[arg(long, default_value = "production")]
        channel: String,
        /// When (ms since the epoch; default: now).
        #[arg(long)]
        at: Option<i64>,
    },
    /// Run one batch: assign the dataset's contacts to arms (sticky) and run each arm with the packs.
    Run {
        /// The pilot.
        id: String,
        /// A pack (file, name@version, name@channel, blake3). Repeatable; order is kept.
        #[arg(long = "pack", required = true)]
        packs: Vec<String>,
        /// The run context (JSON); its run id gets the arm as suffix.
        #[arg(long)]
        context: PathBuf,
        /// The evidence dataset (JSON).
        #[arg(long)]
        data: PathBuf,
        /// Sender profiles (TOML) bound to the agents.
        #[arg(long)]
        senders: Option<PathBuf>,
        /// Governance rules (TOML file or published config).
        #[arg(long)]
        governance: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// List pilots.
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a pilot: spec, status, events.
    Show {
        /// The pilot.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Roll a pilot back now: no contact is assigned to the candidate from then on.
    Rollback {
        /// The pilot.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `gatehouse gate ...`
#[derive(Subcommand)]
pub enum GateCommand {
    /// Evaluate a pilot's gates and health: pass, fail or keep-collecting (exit 0, 3, 4).
    Check {
        /// The pilot.
        pilot: String,
        /// Carry out the result: ramp, promote or roll back (recorded).
        #[arg(long)]
        apply: bool,
        /// Check as of this time (ms since the epoch of the runs' clock; default: now).
        #[arg(long)]
        at: Option<i64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `gatehouse propose`.
#[derive(clap::Args)]
pub struct ProposeArgs {
    /// What changes.
    #[arg(long, value_enum)]
    target: TargetArg,
    /// The current artifact (name@version, name@channel, blake3).
    #[arg(long)]
    from: String,
    /// The proposed artifact.
    #[arg(long)]
    to: String,
    /// The metric the change should move.
    #[arg(long, default_value = "meetings-per-contacted")]
    metric: String,
    /// The relative lift predicted (0.2 = +20%).
    #[arg(long)]
    lift: f64,
    /// low (auto-approved), medium or high (one approver), critical (two).
    #[arg(long)]
    risk: Risk,
    /// Why.
    #[arg(long)]
    rationale: String,
    /// Evidence: run ids, figures. Repeatable.
    #[arg(long)]
    evidence: Vec<String>,
    /// Resolve references for this agent (channels are per agent and partition).
    #[arg(long)]
    agent: Option<String>,
    /// ... and this partition.
    #[arg(long)]
    partition: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TargetArg {
    Skill,
    Pack,
    Prompt,
    Config,
}

fn scope(agent: Option<&str>, partition: Option<&str>) -> Result<Scope> {
    Ok(match (agent, partition) {
        (Some(a), Some(p)) => Scope::new(a, p)?,
        (None, None) => Scope::any(),
        _ => bail!("give both --agent and --partition, or neither"),
    })
}

/// `gatehouse propose`.
pub fn propose(data_dir: &Path, args: ProposeArgs) -> Result<ExitCode> {
    let gh = auth::open(data_dir)?;
    let scope = scope(args.agent.as_deref(), args.partition.as_deref())?;
    let (p, approval) = gh.propose(
        match args.target {
            TargetArg::Skill => Target::Skill,
            TargetArg::Pack => Target::Pack,
            TargetArg::Prompt => Target::Prompt,
            TargetArg::Config => Target::Config,
        },
        &args.from,
        &args.to,
        &scope,
        Predicted {
            metric: args.metric,
            lift: args.lift,
        },
        args.risk,
        args.rationale,
        args.evidence,
    )?;
    if args.json {
        print_json(&serde_json::json!({"proposal": p, "approval": approval}))?;
    } else {
        println!("proposed {} ({} risk)", p.id, p.risk);
        match approval {
            None => println!(
                "approved on the spot (low risk): start a pilot with `gatehouse pilot start --proposal {}`",
                p.id
            ),
            Some(a) => println!(
                "waiting for {} approver(s): `gatehouse approvals approve {a} --reason ...`",
                gh.approval(a)?.approvals_needed
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse proposals`.
pub fn proposals(data_dir: &Path, json: bool) -> Result<ExitCode> {
    let gh = auth::open(data_dir)?;
    let all = gh.proposals()?;
    if json {
        let rows: Vec<_> = all
            .iter()
            .map(|(p, events)| serde_json::json!({"proposal": p, "events": events}))
            .collect();
        return print_json(&rows).map(|()| ExitCode::SUCCESS);
    }
    for (p, events) in &all {
        let state = match events.last().map(|e| &e.event) {
            Some(ProposalEvent::Released { pilot, .. }) => format!("piloted as `{pilot}`"),
            Some(ProposalEvent::Proposed {
                approval: Some(a), ..
            }) => match gh.approval(gatehouse_store::ApprovalId(*a)) {
                Ok(approval) => format!("approval #{a}: {}", approval.status),
                Err(e) => format!("approval #{a}: {e}"),
            },
            _ => "approved (low risk)".to_string(),
        };
        println!(
            "{}  {:?} {}@{} -> {}@{}  {} risk  predicts {:+.0}% {}  {state}",
            p.id,
            p.target,
            p.from.name,
            p.from.version,
            p.to.name,
            p.to.version,
            p.risk,
            p.predicted.lift * 100.0,
            p.predicted.metric
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse pilot ...`
pub fn pilot(data_dir: &Path, command: PilotCommand) -> Result<ExitCode> {
    match command {
        PilotCommand::Start {
            id,
            proposal: proposal_id,
            agent,
            partition,
            skill,
            config,
            gate,
            ramp,
            min_units,
            min_step_hours,
            max_days,
            channel,
            at,
        } => {
            let mut gh = auth::open(data_dir)?;
            if let Some(at) = at {
                gh.set_clock(Clock::At(at));
            }
            let (p, started) = gh.start_pilot(PilotStart {
                id: &id,
                proposal: &proposal_id,
                scope: (&agent, &partition),
                skill: skill.as_deref(),
                config: config.as_deref(),
                gate: read_gate(&gate)?,
                ramp,
                min_units_per_step: min_units,
                min_step_hours,
                max_days,
                channel,
            })?;
            println!(
                "pilot `{id}` started: candidate at {}% of new contacts ({} -> {})",
                started.percent(),
                p.from.version,
                p.to.version
            );
            Ok(ExitCode::SUCCESS)
        }
        PilotCommand::Run {
            id,
            packs,
            context,
            data,
            senders,
            governance,
            common,
        } => {
            let gh = auth::open(data_dir)?;
            let ctx = read_context(&context)?;
            let sandbox = common.sandbox()?;
            let limits = common.limits();
            let dataset = read_dataset(&data)?;
            let (p, batch) = gh.run_pilot(
                &sandbox,
                &id,
                &PilotBatch {
                    context: &ctx,
                    packs: &packs,
                    dataset: &dataset,
                    senders: super::read_senders(senders.as_deref())?,
                    governance: governance.as_deref(),
                    limits: &limits,
                },
            )?;
            if common.json {
                let runs: Vec<_> = batch
                    .runs
                    .iter()
                    .map(|(arm, r)| serde_json::json!({"arm": arm, "report": r}))
                    .collect();
                print_json(&serde_json::json!({"assigned": batch.assigned, "runs": runs}))?;
            } else {
                println!(
                    "pilot `{id}` at {}%: {} contacts to control, {} to candidate",
                    p.percent(),
                    batch.assigned.control,
                    batch.assigned.candidate
                );
                for (arm, r) in &batch.runs {
                    let count = |o: gatehouse::pipeline::Outcome| {
                        r.decisions.iter().filter(|d| d.outcome == o).count()
                    };
                    use gatehouse::pipeline::Outcome::*;
                    println!(
                        "  {:<9} run `{}`: {} actions: {} allow, {} modify, {} escalate, {} deny",
                        arm.as_str(),
                        r.context.run_id,
                        r.decisions.len(),
                        count(Allow),
                        count(Modify),
                        count(Escalate),
                        count(Deny)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PilotCommand::Ls { json } => {
            let all = auth::open(data_dir)?.pilots()?;
            if json {
                return print_json(&all).map(|()| ExitCode::SUCCESS);
            }
            for (id, p) in &all {
                println!(
                    "{id}  {:?}  step {}/{} ({}%)  agent {} in {}  {} vs {}",
                    p.status,
                    p.step + 1,
                    p.spec.ramp.len(),
                    p.percent(),
                    p.spec.agent,
                    p.spec.partition,
                    p.spec.control.label(),
                    p.spec.candidate.label()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        PilotCommand::Show { id, json } => {
            let p = auth::open(data_dir)?.pilot(&id)?;
            if json {
                return print_json(&p).map(|()| ExitCode::SUCCESS);
            }
            println!(
                "pilot `{id}`: {:?}, step {} of {:?} ({}%)",
                p.status,
                p.step + 1,
                p.spec.ramp,
                p.percent()
            );
            println!("  control:   {}", p.spec.control.label());
            println!("  candidate: {}", p.spec.candidate.label());
            for e in &p.events {
                let what = match &e.event {
                    pilot::PilotEvent::Start { .. } => "start".to_string(),
                    pilot::PilotEvent::Ramp { percent, .. } => format!("ramp to {percent}%"),
                    pilot::PilotEvent::Promote { moves, .. } => {
                        format!("promote ({} channel moves)", moves.len())
                    }
                    pilot::PilotEvent::Rollback { reason, .. } => format!("rollback: {reason}"),
                };
                println!("  {}  {:<16} {what}", e.at_ms, e.actor);
            }
            Ok(ExitCode::SUCCESS)
        }
        PilotCommand::Rollback { id, reason } => {
            auth::open(data_dir)?.roll_back_pilot(&id, &reason)?;
            println!("pilot `{id}` rolled back: every contact gets the control from now on");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `gatehouse gate check`.
pub fn gate(data_dir: &Path, command: GateCommand) -> Result<ExitCode> {
    let GateCommand::Check {
        pilot: id,
        apply,
        at,
        json,
    } = command;
    let (p, check, applied) = auth::open(data_dir)?.check_gates(&id, at, apply)?;
    if json {
        print_json(
            &serde_json::json!({"status": p.status, "check": check, "applied": applied.is_some()}),
        )?;
    } else {
        println!(
            "pilot `{id}` ({:?}), step {} at {}%: {} control / {} candidate units ({} / {} this step)",
            p.status,
            check.step + 1,
            check.percent,
            check.units.control,
            check.units.candidate,
            check.step_units.control,
            check.step_units.candidate
        );
        println!(
            "{:<24} {:<10} {:>9} {:>9} {:>9}  {:<22} status",
            "metric", "role", "control", "candidate", "diff", "interval"
        );
        for m in &check.gate.metrics {
            println!(
                "{:<24} {:<10} {:>9.4} {:>9.4} {:>+9.4}  [{:>+8.4}, {:>+8.4}]  {:?}{}",
                m.metric,
                format!("{:?}", m.role).to_lowercase(),
                m.control,
                m.candidate,
                m.difference,
                m.lower,
                m.upper,
                m.status,
                if m.note.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", m.note)
                }
            );
        }
        for h in &check.health {
            println!(
                "health {:<16} {}  {}",
                h.check,
                if h.ok { "ok  " } else { "FAIL" },
                h.detail
            );
        }
        let verdict = match check.gate.verdict {
            gatehouse_gates::GateVerdict::Pass => "PASS",
            gatehouse_gates::GateVerdict::Fail => "FAIL",
            gatehouse_gates::GateVerdict::KeepCollecting => "KEEP COLLECTING",
        };
        println!(
            "gates: {verdict}{}",
            if check.gate.reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", check.gate.reasons.join("; "))
            }
        );
        let next = match &check.next {
            Next::KeepCollecting => "keep collecting".to_string(),
            Next::Ramp { percent } => format!("ramp to {percent}%"),
            Next::Promote => "promote the candidate".to_string(),
            Next::Rollback { reason } => format!("roll back: {reason}"),
        };
        match (&applied, p.status) {
            (Some(_), _) => println!("done: {next}"),
            (None, Status::Running) => println!(
                "next: {next}{}",
                if apply {
                    ""
                } else {
                    " (run with --apply to carry it out)"
                }
            ),
            (None, status) => println!("the pilot is over ({status:?})"),
        }
    }
    Ok(match check.gate.verdict {
        gatehouse_gates::GateVerdict::Pass => ExitCode::SUCCESS,
        gatehouse_gates::GateVerdict::Fail => ExitCode::from(EXIT_GATE_FAIL),
        gatehouse_gates::GateVerdict::KeepCollecting => ExitCode::from(EXIT_KEEP_COLLECTING),
    })
}

/// `--by` of `gatehouse scorecard`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum CohortArg {
    /// The run's cohort.
    Segment,
    /// The action's region.
    Region,
    /// The action's channel.
    Channel,
}

/// Arguments of `gatehouse scorecard`.
pub struct ScorecardArgs {
    /// Print JSON.
    pub json: bool,
    /// Write HTML here.
    pub html: Option<PathBuf>,
    /// Window start.
    pub since: Option<i64>,
    /// Window end.
    pub until: Option<i64>,
    /// The whole log.
    pub all: bool,
    /// Rows split by.
    pub by: CohortArg,
}

/// `gatehouse scorecard`.
pub fn scorecard_command(data_dir: &Path, args: &ScorecardArgs) -> Result<ExitCode> {
    let card = auth::open(data_dir)?.scorecard(&ScorecardQuery {
        since: args.since,
        until: args.until,
        all: args.all,
        by: match args.by {
            CohortArg::Segment => scorecard::Cohort::Segment,
            CohortArg::Region => scorecard::Cohort::Region,
            CohortArg::Channel => scorecard::Cohort::Channel,
        },
    })?;
    if let Some(path) = &args.html {
        std::fs::write(path, gatehouse_gates::scorecard::render_html(&card))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        if !args.json {
            println!("wrote {}", path.display());
        }
    }
    if args.json {
        print_json(&card)?;
    } else if args.html.is_none() {
        print!("{}", gatehouse_gates::scorecard::render_text(&card));
    }
    Ok(ExitCode::SUCCESS)
}
