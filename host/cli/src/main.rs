//! `gatehouse`: the command line over the gatehouse library.
//!
//! Thin by design: argument parsing and output. Every decision is made by
//! the library.

mod args;
mod audit;
mod auth;
mod govern;
mod learn;
mod pack;
mod print;
mod registry;
mod skill;

use anyhow::{Context, Result};
use args::{Cli, Command, EXIT_FAIL_ON, FailOn, OutcomeCommand};
use clap::Parser;
use gatehouse::pipeline::{Decision, Outcome, RunReport};
use gatehouse::{Action, Dataset, RunContext, Senders};
use print::{action_line, guest_label, inspect, meter, print_json, print_judged};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gatehouse: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn execute(cli: Cli) -> Result<ExitCode> {
    auth::set_witness(cli.witness.clone());
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(gatehouse_store::default_data_dir);
    match cli.command {
        Command::Audit { command } => audit::audit_command(&data_dir, command),
        Command::Registry(command) => registry::execute(&data_dir, command),
        Command::Pack { command } => pack::execute(&data_dir, command),
        Command::Propose(args) => learn::propose(&data_dir, args),
        Command::Proposals { json } => learn::proposals(&data_dir, json),
        Command::Pilot { command } => learn::pilot(&data_dir, command),
        Command::Gate { command } => learn::gate(&data_dir, command),
        Command::Scorecard {
            json,
            html,
            since,
            until,
            all,
            by,
        } => learn::scorecard_command(
            &data_dir,
            &learn::ScorecardArgs {
                json,
                html,
                since,
                until,
                all,
                by,
            },
        ),
        Command::Demo {
            dir,
            seed,
            leads_per_day,
            days,
        } => {
            use std::io::IsTerminal;
            let options = gatehouse::demo::Options {
                dir,
                seed,
                leads_per_day,
                days,
                workspace: gatehouse::demo::workspace_root(),
                terminal: std::io::stderr().is_terminal(),
            };
            gatehouse::demo::run(
                &options,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Skill { command } => skill::execute(command),
        Command::Kill { agent, reason } => govern::kill(&data_dir, &agent, &reason, false),
        Command::Revive { agent, reason } => govern::kill(&data_dir, &agent, &reason, true),
        Command::Approvals { command } => govern::approvals(&data_dir, command),
        Command::Principal { command } => auth::execute(&data_dir, command),
        Command::Replay {
            since,
            with_pack: Some(candidate),
            json,
            ..
        } => audit::backtest_command(&data_dir, &candidate, since, json),
        Command::Replay {
            run_id,
            all,
            since,
            with_pack: None,
            json,
        } => audit::replay_command(&data_dir, run_id, all, since, json),
        Command::Outcome {
            command:
                OutcomeCommand::Record {
                    action,
                    kind,
                    value,
                },
        } => {
            let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
            let outcome = gatehouse::audit::ActionOutcome {
                action,
                kind,
                value,
            };
            let receipt = auth::open(&data_dir)?.record_outcome(&outcome)?;
            println!(
                "recorded: audit entry {} ({} for `{}`)",
                receipt.seq, outcome.kind, outcome.action
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { component, common } => inspect(&component, &common),
        Command::Act { skill, run } => {
            let sandbox = run.common.sandbox()?;
            let ctx = read_context(&run.context)?;
            let limits = run.common.limits();
            let inputs = run.inputs(&ctx, &limits)?;
            let (skill, m) = auth::open(&data_dir)?.act(&sandbox, &skill, &inputs)?;
            if run.common.json {
                print_json(&m)?;
            } else {
                match &m.result {
                    Ok(Ok(actions)) => {
                        println!(
                            "{} proposed {} action(s)  [{}]",
                            guest_label(&skill),
                            actions.len(),
                            meter(&m.metering)
                        );
                        for a in actions {
                            println!("{}", action_line(a));
                        }
                    }
                    Ok(Err(e)) => println!(
                        "{} proposed nothing: {e:?}  [{}]",
                        guest_label(&skill),
                        meter(&m.metering)
                    ),
                    Err(e) => println!(
                        "{} failed: {e}  [{}]",
                        guest_label(&skill),
                        meter(&m.metering)
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate {
            packs,
            lock,
            actions,
            context,
            data,
            senders,
            now,
            verdicts,
            common,
        } => {
            let gh = auth::open(&data_dir)?;
            let sandbox = common.sandbox()?;
            let actions = read_actions(&actions, data.is_none())?;
            let ctx = match &context {
                Some(p) => read_context(p)?,
                None => gatehouse::ops::default_context(
                    &actions,
                    match now {
                        Some(at) => at,
                        None => gatehouse::ops::now_ms()?,
                    },
                ),
            };
            let limits = common.limits();
            let inputs = gatehouse::ops::Inputs {
                context: &ctx,
                lock: lock.as_deref(),
                governance: None,
                dataset: data.as_deref().map(read_dataset).transpose()?,
                senders: read_senders(senders.as_deref())?,
                limits: &limits,
            };
            let judged = gh.validate(&sandbox, &packs, actions, &inputs)?;
            if context.is_none() && now.is_none() {
                eprintln!(
                    "gatehouse: judged at this machine's clock, {} (pass --now to fix it)",
                    gatehouse_zone::format_instant(ctx.now)
                );
            }
            let receipt = if common.json {
                Some(gh.receipt(judged.receipt.seq)?)
            } else {
                None
            };
            print_judged(&judged, receipt.as_ref(), common.json)?;
            Ok(fail_on(&judged.report, verdicts.fail_on))
        }
        Command::Run {
            skill,
            packs,
            run,
            verdicts,
        } => {
            let gh = auth::open(&data_dir)?;
            let sandbox = run.common.sandbox()?;
            let ctx = read_context(&run.context)?;
            let limits = run.common.limits();
            let inputs = run.inputs(&ctx, &limits)?;
            let judged = gh.run(&sandbox, &skill, &packs, &inputs)?;
            if let Some(kill) = &judged.killed {
                eprintln!("gatehouse: agent `{}` killed: {}", kill.agent, kill.reason);
            }
            let receipt = if run.common.json {
                Some(gh.receipt(judged.receipt.seq)?)
            } else {
                None
            };
            print_judged(&judged, receipt.as_ref(), run.common.json)?;
            Ok(fail_on(&judged.report, verdicts.fail_on))
        }
        Command::Build {
            crates,
            out,
            target_dir,
            json,
        } => {
            let built =
                gatehouse::build::build_crates(&crates, target_dir.as_deref(), out.as_deref())?;
            if json {
                let rows: Vec<_> = built
                    .iter()
                    .map(|b| {
                        serde_json::json!({"package": b.package, "path": b.path, "blake3": b.hash.to_hex().to_string(), "size": b.size, "manifest": b.manifest})
                    })
                    .collect();
                print_json(&rows)?;
            } else {
                for b in &built {
                    println!(
                        "{}  {:>9} bytes  {}",
                        b.hash.to_hex(),
                        b.size,
                        b.path.display()
                    );
                    if let Some(m) = &b.manifest {
                        println!(
                            "{}  {:>9}        {}",
                            " ".repeat(64),
                            "manifest",
                            m.display()
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Componentize { module, output } => {
            let bytes = std::fs::read(&module)
                .with_context(|| format!("cannot read `{}`", module.display()))?;
            let name = module.display().to_string();
            let component = gatehouse::build::componentize(&bytes, &name)?;
            std::fs::write(&output, &component)
                .with_context(|| format!("cannot write `{}`", output.display()))?;
            println!(
                "{}  {} bytes  {}",
                blake3::hash(&component).to_hex(),
                component.len(),
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn fail_on(report: &RunReport, fail_on: Option<FailOn>) -> ExitCode {
    let hit = |d: &Decision| match fail_on {
        None => false,
        Some(FailOn::Deny) => d.outcome == Outcome::Deny,
        Some(FailOn::Escalate) => matches!(d.outcome, Outcome::Deny | Outcome::Escalate),
    };
    let act_failed = fail_on.is_some() && report.act.as_ref().is_some_and(|a| a.error.is_some());
    if act_failed || report.decisions.iter().any(hit) {
        ExitCode::from(EXIT_FAIL_ON)
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn read_context(path: &Path) -> Result<RunContext> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read context `{}`", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("context `{}`", path.display()))
}

pub(crate) fn read_dataset(path: &Path) -> Result<Arc<Dataset>> {
    Ok(Arc::new(Dataset::load(path)?))
}

/// Read actions (JSON Lines) from a file or `-` (standard input).
fn read_actions(path: &Path, given_facts: bool) -> Result<Vec<Action>> {
    if path.as_os_str() == "-" {
        return Ok(gatehouse::ops::parse_actions(
            "<stdin>",
            std::io::stdin().lock(),
            given_facts,
        )?);
    }
    let f = std::fs::File::open(path)
        .with_context(|| format!("cannot read actions `{}`", path.display()))?;
    Ok(gatehouse::ops::parse_actions(
        &path.display().to_string(),
        std::io::BufReader::new(f),
        given_facts,
    )?)
}

/// Sender profiles from a file, or none (every message then blocked for
/// want of a sender).
pub(crate) fn read_senders(path: Option<&Path>) -> Result<Arc<Senders>> {
    Ok(Arc::new(match path {
        Some(p) => Senders::load(p)?,
        None => Senders::none(),
    }))
}
