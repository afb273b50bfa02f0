//! `gatehouse`: the command line over the gatehouse library.
//!
//! Thin by design: argument parsing and output. Every decision is made by
//! the library.

mod auth;
mod demo;
mod govern;
mod learn;
mod pack;
mod registry;
mod skill;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse::pipeline::{self, CallSite, Decision, Environment, Outcome, RunReport};
use gatehouse::{
    Action, Dataset, Describe, EngineOptions, Guest, Kind, Limits, Metering, RunContext, Sandbox,
    Senders,
};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code when `--fail-on` matched a decision.
const EXIT_FAIL_ON: u8 = 3;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Run AI agents' skills and policy packs as sandboxed WebAssembly components, fail closed"
)]
struct Cli {
    /// The data directory (store, registry, audit log). Default:
    /// $GATEHOUSE_DATA, else ~/.local/share/gatehouse.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a component's hash, size, world, imports, exports and rules.
    Inspect {
        /// The component (.wasm).
        component: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Run a skill and print the actions it proposes.
    Act {
        /// The skill: a component file, a lock entry, name@version, name@channel or a blake3.
        #[arg(long)]
        skill: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Judge actions (JSON Lines) with policy packs.
    Validate {
        /// A pack: component (.wasm), built manifest (.pack.toml), lock entry, name@version,
        /// name@channel or blake3. Repeatable; order is kept.
        #[arg(long = "pack", required = true)]
        packs: Vec<String>,
        /// Resolve component names through this lock file (exact hashes).
        #[arg(long)]
        lock: Option<PathBuf>,
        /// Actions, one JSON object per line; `-` reads standard input.
        #[arg(long)]
        actions: PathBuf,
        /// The run context (JSON). Default: no agent check, the first action's region as partition.
        #[arg(long)]
        context: Option<PathBuf>,
        /// A dataset to stamp recipient facts from; without it the facts in the actions are used
        /// as given (and must be complete: country, time zone, consent, sender).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Sender profiles (TOML) bound to the agents; stamped over every message's sender
        /// (with --data).
        #[arg(long, requires = "data")]
        senders: Option<PathBuf>,
        /// The clock the actions are judged at (RFC 3339, e.g. 2026-03-08T14:00:00Z), when no
        /// --context gives one. Default: this machine's clock, and gatehouse says so.
        #[arg(long, value_parser = parse_instant, conflicts_with = "context")]
        now: Option<i64>,
        #[command(flatten)]
        verdicts: VerdictArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Act then validate: run a skill and judge its actions with every pack.
    Run {
        /// The skill: a component file, a lock entry, name@version, name@channel or a blake3.
        #[arg(long)]
        skill: String,
        /// A pack: component (.wasm), built manifest (.pack.toml), lock entry, name@version,
        /// name@channel or blake3. Repeatable; order is kept.
        #[arg(long = "pack", required = true)]
        packs: Vec<String>,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        verdicts: VerdictArgs,
    },
    /// Build Rust guest crates into components (reproducibly) and print their blake3.
    Build {
        /// Crate directories.
        #[arg(required = true)]
        crates: Vec<PathBuf>,
        /// Where to write components (default: <target>/gatehouse).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Cargo target directory (default: the workspace's).
        #[arg(long)]
        target_dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify, show and export the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Re-execute recorded runs with the exact components and recorded host answers; report the first divergence.
    Replay {
        /// The run id (the newest run of that id).
        run_id: Option<String>,
        /// Replay every recorded run (with --since, those recorded since then).
        #[arg(long, conflicts_with = "run_id")]
        all: bool,
        /// Only runs recorded at or after this time (ms since the epoch, or YYYY-MM-DD).
        #[arg(long, value_parser = parse_since)]
        since: Option<i64>,
        /// Backtest: re-judge the recorded actions of past runs (all, or --since) with this
        /// candidate pack (file, name@version, name@channel or blake3) and report what would change.
        #[arg(long, conflicts_with = "run_id")]
        with_pack: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record what happened after an action (reply, meeting booked, unsubscribe, cost, ...).
    Outcome {
        #[command(subcommand)]
        command: OutcomeCommand,
    },
    #[command(flatten)]
    Registry(registry::RegistryCommand),
    /// Stop an agent (or `*`, every agent): its next action is blocked, even mid-run.
    Kill {
        /// The agent, or `*`.
        agent: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Lift a kill switch.
    Revive {
        /// The agent, or `*`.
        agent: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Principals, roles and API tokens.
    Principal {
        #[command(subcommand)]
        command: auth::PrincipalCommand,
    },
    /// The approvals queue: list, approve, reject, release.
    Approvals {
        #[command(subcommand)]
        command: govern::ApprovalsCommand,
    },
    /// Propose a change (skill, pack, prompt or config): risk decides who approves it.
    Propose(learn::ProposeArgs),
    /// List change proposals and where they stand.
    Proposals {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pilots: a candidate against the control, behind a ramp of exposure caps.
    Pilot {
        #[command(subcommand)]
        command: learn::PilotCommand,
    },
    /// Evaluation gates of a pilot.
    Gate {
        #[command(subcommand)]
        command: learn::GateCommand,
    },
    /// The scorecard: per version and segment, the metrics, the gates and the decisions taken.
    Scorecard {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Write a self-contained HTML page with charts.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Runs from this time (ms since the epoch, or YYYY-MM-DD). Default: the
        /// week ending with the newest run.
        #[arg(long, value_parser = parse_since)]
        since: Option<i64>,
        /// Runs before this time (ms since the epoch, or YYYY-MM-DD).
        #[arg(long, value_parser = parse_since)]
        until: Option<i64>,
        /// Every run in the log, not only the last week.
        #[arg(long, conflicts_with_all = ["since", "until"])]
        all: bool,
        /// Split each version's rows by segment, region or channel.
        #[arg(long, value_enum, default_value = "segment")]
        by: learn::CohortArg,
    },
    /// The whole loop end to end on a fresh embedded store: build, sign, publish,
    /// pilot, gates, promote, rollback, kill-switch, replay, scorecard.
    Demo {
        /// The data directory to create (an earlier demo's is replaced).
        #[arg(long, default_value = "target/gatehouse-demo")]
        dir: PathBuf,
        /// The seed of every random draw (same seed, same run).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// New leads per simulated day.
        #[arg(long, default_value_t = 600)]
        leads_per_day: u32,
        /// The most days the first pilot may run.
        #[arg(long, default_value_t = 21)]
        days: u32,
    },
    /// Scaffold and build Python and JavaScript skills.
    Skill {
        #[command(subcommand)]
        command: skill::SkillCommand,
    },
    /// The pack author's toolkit: new, build, test (with coverage), sign, publish.
    Pack {
        #[command(subcommand)]
        command: pack::PackCommand,
    },
    /// Encode a core wasm module built against gatehouse:agent as a component.
    Componentize {
        /// The core module.
        module: PathBuf,
        /// The component to write.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain and checkpoint signatures; name the first bad entry.
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the entries of a run.
    Show {
        /// The run id.
        run_id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export entries as JSON Lines or OTLP JSON (OpenTelemetry GenAI conventions).
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// Only entries at or after this time (ms since the epoch, or YYYY-MM-DD).
        #[arg(long, value_parser = parse_since)]
        since: Option<i64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// One audit entry per line.
    Jsonl,
    /// An OTLP/JSON ExportTraceServiceRequest.
    OtlpJson,
}

#[derive(Subcommand)]
enum OutcomeCommand {
    /// Append an outcome, joined to the action by id.
    Record {
        /// The action's id.
        #[arg(long)]
        action: String,
        /// What happened, e.g. reply, meeting_booked, unsubscribe, cost.
        #[arg(long)]
        kind: String,
        /// The value (a number, true/false, or text).
        #[arg(long, default_value = "1")]
        value: String,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The run context (JSON).
    #[arg(long)]
    context: PathBuf,
    /// Resolve component names through this lock file (exact hashes).
    #[arg(long)]
    lock: Option<PathBuf>,
    /// Governance rules (TOML file, or a published config: name@version, name@channel, blake3):
    /// kill switch, partition, evidence, frequency, budgets, exposure, approvals.
    #[arg(long)]
    governance: Option<String>,
    /// The evidence dataset (JSON) the skill retrieves from.
    #[arg(long)]
    data: PathBuf,
    /// Sender profiles (TOML) bound to the agents; stamped over every message's sender.
    /// Without it, every email and text is blocked for want of a sender.
    #[arg(long)]
    senders: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

impl RunArgs {
    fn senders(&self) -> Result<Arc<Senders>> {
        read_senders(self.senders.as_deref())
    }
}

#[derive(Args)]
struct VerdictArgs {
    /// Exit with code 3 when any decision is at least this severe.
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    /// Any deny.
    Deny,
    /// Any deny or escalate.
    Escalate,
}

#[derive(Args)]
struct Common {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Fuel per guest call, or `off`.
    #[arg(long, value_parser = parse_fuel)]
    fuel: Option<Fuel>,
    /// Linear memory per guest call (e.g. 64MiB).
    #[arg(long, value_parser = parse_size)]
    memory: Option<u64>,
    /// Wall-clock deadline per guest call (e.g. 500ms, 2s).
    #[arg(long, value_parser = parse_duration_ms)]
    timeout: Option<u64>,
    /// Largest output per guest call (e.g. 1MiB).
    #[arg(long, value_parser = parse_size)]
    output_limit: Option<u64>,
    /// Host import calls per guest call.
    #[arg(long)]
    host_calls: Option<u32>,
    /// Compiled-code cache directory (default: $GATEHOUSE_CACHE or ~/.cache/gatehouse).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Compile every component afresh.
    #[arg(long)]
    no_cache: bool,
}

impl Common {
    fn limits(&self) -> Limits {
        let mut l = Limits::default();
        if let Some(Fuel(f)) = self.fuel {
            l.fuel = f;
        }
        if let Some(m) = self.memory {
            l.memory_bytes = m;
        }
        if let Some(t) = self.timeout {
            l.timeout_ms = t;
        }
        if let Some(o) = self.output_limit {
            l.output_bytes = o;
        }
        if let Some(h) = self.host_calls {
            l.host_calls = h;
        }
        l
    }

    fn sandbox(&self) -> Result<Sandbox> {
        let limits = self.limits();
        let mut options = EngineOptions::default();
        options.max_memory_bytes = options.max_memory_bytes.max(limits.memory_bytes);
        if !self.no_cache {
            options.cache_dir = self.cache_dir.clone().or_else(default_cache_dir);
        }
        let sandbox = Sandbox::new(options)?;
        sandbox.check_limits(&limits)?;
        Ok(sandbox)
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("GATEHOUSE_CACHE") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("gatehouse"))
}

/// A fuel amount, or none (`off`).
#[derive(Clone, Copy)]
struct Fuel(Option<u64>);

fn parse_fuel(s: &str) -> Result<Fuel, String> {
    if s == "off" {
        return Ok(Fuel(None));
    }
    s.replace('_', "")
        .parse()
        .map(|n| Fuel(Some(n)))
        .map_err(|_| format!("`{s}` is not a fuel amount (a whole number or `off`)"))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 65536, 64KiB, 64MiB, 1GiB)"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "k" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (B, KiB, MiB, GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000)
    } else {
        (t, 1)
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 2s)"))
}

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
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(gatehouse_store::default_data_dir);
    match cli.command {
        Command::Audit { command } => audit_command(&data_dir, command),
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
        } => demo::run(&demo::Options {
            dir,
            seed,
            leads_per_day,
            days,
        }),
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
        } => backtest_command(&data_dir, &candidate, since, json),
        Command::Replay {
            run_id,
            all,
            since,
            with_pack: None,
            json,
        } => replay_command(&data_dir, run_id, all, since, json),
        Command::Outcome {
            command:
                OutcomeCommand::Record {
                    action,
                    kind,
                    value,
                },
        } => {
            let log = open_log(&data_dir)?;
            auth::authorize(
                log.store(),
                gatehouse_store::Role::Operator,
                "record outcomes",
            )?;
            let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
            let outcome = gatehouse::audit::Outcome {
                action,
                kind,
                value,
            };
            let receipt = gatehouse::audit::record_outcome(&log, &outcome, now_ms()?)?;
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
            let sources = registry::Sources::new(&data_dir, run.lock.as_deref(), scope_of(&ctx)?)?;
            let skill = sources.component(&sandbox, &skill, Kind::Skill)?;
            let dataset = Arc::new(read_dataset(&run.data)?);
            let env = pipeline::Live::new(&ctx, dataset, run.senders()?);
            let m = sandbox.act(
                &skill,
                &ctx,
                env.answers(CallSite::Act),
                &run.common.limits(),
            );
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
            auth::authorize(
                &gatehouse_store::Store::open(&data_dir)?,
                gatehouse_store::Role::Operator,
                "record validations",
            )?;
            let sandbox = common.sandbox()?;
            let actions = read_actions(&actions, data.is_none())?;
            let ctx = match &context {
                Some(p) => read_context(p)?,
                None => default_context(&actions, now)?,
            };
            let sources = registry::Sources::new(&data_dir, lock.as_deref(), scope_of(&ctx)?)?;
            let packs = packs
                .iter()
                .map(|p| sources.component(&sandbox, p, Kind::Policy))
                .collect::<Result<Vec<_>>>()?;
            let env = match data.as_deref() {
                Some(path) => pipeline::Live::new(
                    &ctx,
                    Arc::new(read_dataset(path)?),
                    read_senders(senders.as_deref())?,
                ),
                None => pipeline::Live::unstamped(&ctx, Arc::new(Dataset::empty())),
            };
            let limits = common.limits();
            let report = pipeline::validate_all(&sandbox, &packs, actions, &ctx, &env, &limits);
            let receipt = record(&data_dir, &report, &limits, packs.iter().collect(), None)?;
            if context.is_none() && now.is_none() {
                eprintln!(
                    "gatehouse: judged at this machine's clock, {} (pass --now to fix it)",
                    gatehouse_zone::format_instant(ctx.now)
                );
            }
            print_report(&report, common.json)?;
            if !common.json {
                println!(
                    "recorded: audit entry {} (run `{}`)",
                    receipt.seq, report.context.run_id
                );
            }
            Ok(fail_on(&report, verdicts.fail_on))
        }
        Command::Run {
            skill,
            packs,
            run,
            verdicts,
        } => {
            let who = auth::authorize(
                &gatehouse_store::Store::open(&data_dir)?,
                gatehouse_store::Role::Operator,
                "run agents",
            )?;
            let sandbox = run.common.sandbox()?;
            let ctx = read_context(&run.context)?;
            let sources = registry::Sources::new(&data_dir, run.lock.as_deref(), scope_of(&ctx)?)?;
            let skill = sources.component(&sandbox, &skill, Kind::Skill)?;
            let packs = packs
                .iter()
                .map(|p| sources.component(&sandbox, p, Kind::Policy))
                .collect::<Result<Vec<_>>>()?;
            let mut env =
                pipeline::Live::new(&ctx, Arc::new(read_dataset(&run.data)?), run.senders()?);
            let mut governance = None;
            if let Some(spec) = &run.governance {
                let bytes = sources.bytes(spec)?;
                let text = String::from_utf8(bytes.clone())
                    .with_context(|| format!("governance `{spec}` is not UTF-8"))?;
                let config = gatehouse::govern::GovernanceConfig::parse(&text)
                    .map_err(|e| anyhow::anyhow!("governance `{spec}`: {e}"))?;
                let store = Arc::new(gatehouse_store::Store::open(&data_dir)?);
                env = env.governed(gatehouse::govern::Governor::new(
                    store,
                    config.clone(),
                    &who,
                ));
                governance = Some((config, bytes));
            }
            let limits = run.common.limits();
            let report = pipeline::run(&sandbox, &skill, &packs, &ctx, &env, &limits);
            let receipt = record(
                &data_dir,
                &report,
                &limits,
                std::iter::once(&skill).chain(&packs).collect(),
                governance.as_ref().map(|(_, b)| b.as_slice()),
            )?;
            if let Some((config, _)) = &governance
                && let Some(kill) = gatehouse::govern::trip_breaker(
                    &open_log(&data_dir)?,
                    config,
                    &report,
                    now_ms()?,
                )?
            {
                eprintln!("gatehouse: agent `{}` killed: {}", kill.agent, kill.reason);
            }
            print_report(&report, run.common.json)?;
            if !run.common.json {
                println!(
                    "recorded: audit entry {} (run `{}`)",
                    receipt.seq, report.context.run_id
                );
            }
            Ok(fail_on(&report, verdicts.fail_on))
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

/// The channel scope a run resolves references in: its agent and partition.
fn scope_of(ctx: &RunContext) -> Result<gatehouse_store::Scope> {
    let or_any = |s: &str| {
        if s.is_empty() {
            gatehouse_store::ANY.to_string()
        } else {
            s.to_string()
        }
    };
    Ok(gatehouse_store::Scope::new(
        &or_any(&ctx.agent),
        &or_any(&ctx.partition),
    )?)
}

fn read_context(path: &Path) -> Result<RunContext> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read context `{}`", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("context `{}`", path.display()))
}

fn read_dataset(path: &Path) -> Result<Dataset> {
    Ok(Dataset::load(path)?)
}

/// Read actions (JSON Lines). With `given_facts`, the recipient facts are
/// taken as written, so a message must state its recipient's consent: a
/// missing one is an error, never "none".
fn read_actions(path: &Path, given_facts: bool) -> Result<Vec<Action>> {
    let (name, reader): (String, Box<dyn BufRead>) = if path.as_os_str() == "-" {
        ("<stdin>".to_string(), Box::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(path)
            .with_context(|| format!("cannot read actions `{}`", path.display()))?;
        (
            path.display().to_string(),
            Box::new(std::io::BufReader::new(f)),
        )
    };
    let mut actions = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("actions `{name}` line {}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("actions `{name}` line {}", i + 1))?;
        let is_message = matches!(
            value.pointer("/kind/type").and_then(|t| t.as_str()),
            Some("email" | "sms")
        );
        if given_facts && is_message && value.pointer("/kind/to/consent").is_none() {
            bail!(
                "actions `{name}` line {}: `kind.to.consent` is missing (without --data the \
                 recipient facts are taken as given, and consent is never assumed)",
                i + 1
            );
        }
        let action: Action = serde_json::from_value(value)
            .with_context(|| format!("actions `{name}` line {}", i + 1))?;
        actions.push(action);
    }
    if actions.is_empty() {
        bail!("actions `{name}`: no actions");
    }
    Ok(actions)
}

/// The context of a `validate` without `--context`: no agent check, the
/// first action's region as partition, and the clock of `--now` or of this
/// machine (said on standard error once the actions are judged, so nobody
/// mistakes which).
fn default_context(actions: &[Action], now: Option<i64>) -> Result<RunContext> {
    let first = actions.first();
    let now = match now {
        Some(at) => at,
        None => now_ms()?,
    };
    Ok(RunContext {
        run_id: "validate".to_string(),
        agent: String::new(),
        partition: first.map(|a| a.region.clone()).unwrap_or_default(),
        cohort: None,
        campaign: None,
        now,
        params: Vec::new(),
    })
}

/// Sender profiles from a file, or none (every message then blocked for
/// want of a sender).
fn read_senders(path: Option<&Path>) -> Result<Arc<Senders>> {
    Ok(Arc::new(match path {
        Some(p) => Senders::load(p)?,
        None => Senders::none(),
    }))
}

fn parse_instant(s: &str) -> Result<i64, String> {
    gatehouse_zone::parse_instant(s).map_err(|e| e.to_string())
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn inspect(path: &Path, common: &Common) -> Result<ExitCode> {
    let sandbox = common.sandbox()?;
    let guest = sandbox.load_file(path, None)?;
    let package = guest.export.split_once('/').map(|(p, rest)| {
        let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
        format!("{p}@{version}")
    });
    let functions = match guest.kind {
        Kind::Skill => "describe, act",
        Kind::Policy => "describe, validate",
    };
    if common.json {
        print_json(&serde_json::json!({
            "file": path,
            "blake3": guest.hash.to_hex().to_string(),
            "size": guest.size,
            "world": guest.kind,
            "package": package,
            "imports": guest.imports,
            "exports": [guest.export],
            "describe": guest.describe,
            "from-cache": guest.from_cache,
            "load-us": guest.load_us,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("file:     {}", path.display());
    println!("blake3:   {}", guest.hash.to_hex());
    println!("size:     {} bytes", guest.size);
    println!("world:    {}", guest.kind);
    println!("package:  {}", package.unwrap_or_default());
    println!(
        "imports:  {}",
        if guest.imports.is_empty() {
            "none".to_string()
        } else {
            guest.imports.join(", ")
        }
    );
    println!("exports:  {} ({functions})", guest.export);
    match &guest.describe {
        Describe::Policy(p) => {
            println!(
                "pack:     {} {} ({})",
                p.name,
                p.version,
                p.sdk.as_deref().unwrap_or("no sdk marker")
            );
            println!("rules:");
            for r in &p.rules {
                println!(
                    "  {:<28} {:<8} {}{}",
                    r.id,
                    format!("{:?}", r.severity).to_lowercase(),
                    r.description,
                    r.citation
                        .as_deref()
                        .map(|c| format!(" [{c}]"))
                        .unwrap_or_default()
                );
            }
        }
        Describe::Skill(s) => println!(
            "skill:    {} {} ({})",
            s.name,
            s.version,
            s.sdk.as_deref().unwrap_or("no sdk marker")
        ),
    }
    let how = if guest.from_cache {
        "loaded from cache"
    } else {
        "compiled"
    };
    println!("load:     {how} in {:.2} ms", guest.load_us as f64 / 1000.0);
    Ok(ExitCode::SUCCESS)
}

fn guest_label(g: &Guest) -> String {
    let (name, version) = match &g.describe {
        Describe::Policy(p) => (&p.name, &p.version),
        Describe::Skill(s) => (&s.name, &s.version),
    };
    format!("{name}@{version} ({}…)", &g.hash.to_hex()[..12])
}

fn meter(m: &Metering) -> String {
    format!(
        "fuel {}  mem {:.1} MiB  {:.2} ms  {} host calls",
        m.fuel_used,
        m.peak_memory_bytes as f64 / (1 << 20) as f64,
        m.duration_us as f64 / 1000.0,
        m.host_calls.len()
    )
}

fn action_line(a: &Action) -> String {
    use gatehouse::ActionKind as K;
    let what = match &a.kind {
        K::Email(e) => format!(
            "email to {} <{}>: \"{}\"",
            e.to.contact_id, e.to.address, e.subject
        ),
        K::Sms(s) => format!(
            "sms to {} <{}>: \"{}\"",
            s.to.contact_id, s.to.address, s.body
        ),
        K::AdBudget(b) => format!(
            "ad budget {} {}: {:.2} -> {:.2} {}/day",
            b.platform,
            b.campaign_id,
            b.current_daily_micros as f64 / 1e6,
            b.proposed_daily_micros as f64 / 1e6,
            b.currency
        ),
        K::Audience(u) => format!(
            "audience {:?} {} on {} ({} contacts)",
            u.operation,
            u.audience_id,
            u.platform,
            u.contact_ids.len()
        ),
        K::Generic(g) => format!("{} {}", g.kind, g.payload_json),
    };
    format!("  {}  {what}", a.id)
}

fn print_report(report: &RunReport, json: bool) -> Result<()> {
    if json {
        return print_json(report);
    }
    if let Some(act) = &report.act {
        let s = &act.skill;
        let head = format!("skill {}@{} ({}…)", s.name, s.version, &s.hash[..12]);
        match (&act.error, &act.skill_error) {
            (Some(e), _) => println!("{head} FAILED: {e}  [{}]", meter(&act.metering)),
            (None, Some(e)) => {
                println!("{head} proposed nothing: {e:?}  [{}]", meter(&act.metering))
            }
            (None, None) => println!(
                "{head} proposed {} action(s)  [{}]",
                act.proposed.len(),
                meter(&act.metering)
            ),
        }
    }
    for p in &report.packs {
        println!("pack  {}@{} ({}…)", p.name, p.version, &p.hash[..12]);
    }
    let mut counts = [0usize; 4];
    for d in &report.decisions {
        counts[d.outcome as usize] += 1;
        println!();
        println!("{}", action_line(&d.action).trim_start());
        let tag = if d.fail_closed { " (fail closed)" } else { "" };
        println!("  => {}{tag}", d.outcome.to_string().to_uppercase());
        for f in &d.findings {
            let at = f
                .location
                .as_ref()
                .map(|s| format!(" [{} {}..{} \"{}\"]", s.field, s.start, s.end, s.excerpt))
                .unwrap_or_default();
            let cited = f
                .citation
                .as_deref()
                .map(|c| format!(" under {c}"))
                .unwrap_or_default();
            println!(
                "     {} ({}){cited}{at}: {}",
                f.rule,
                format!("{:?}", f.severity).to_lowercase(),
                f.message
            );
            if let Some(fix) = &f.fix {
                // A fix is applied only when the decision is to modify.
                let applied = if d.outcome == Outcome::Modify {
                    ""
                } else {
                    " (not applied: the action is not sent as proposed)"
                };
                println!("       fix{applied}: {fix}");
            }
        }
        for f in d.governance.iter().flat_map(|g| &g.findings) {
            println!(
                "     {} ({}): {}",
                f.rule,
                format!("{:?}", f.severity).to_lowercase(),
                f.message
            );
        }
        if let Some(fa) = &d.final_action {
            for line in describe_change(&d.action, fa) {
                println!("     changed: {line}");
            }
        }
        for r in &d.packs {
            let what = match (&r.verdict, &r.error) {
                (Some(v), _) => v.name().to_string(),
                (None, Some(e)) => format!("error: {e}"),
                (None, None) => "-".to_string(),
            };
            println!(
                "     · {} round {}: {what}  [{}]",
                r.pack.name,
                r.round,
                meter(&r.metering)
            );
        }
    }
    println!();
    println!(
        "{} decision(s): {} allow, {} modify, {} escalate, {} deny",
        report.decisions.len(),
        counts[Outcome::Allow as usize],
        counts[Outcome::Modify as usize],
        counts[Outcome::Escalate as usize],
        counts[Outcome::Deny as usize]
    );
    Ok(())
}

fn describe_change(before: &Action, after: &Action) -> Vec<String> {
    use gatehouse::ActionKind as K;
    let mut out = Vec::new();
    let texts = |a: &Action| match &a.kind {
        K::Email(e) => Some((
            Some(e.subject.clone()),
            e.body.clone(),
            e.unsubscribe.clone(),
            e.send_at,
        )),
        K::Sms(s) => Some((None, s.body.clone(), None, s.send_at)),
        _ => None,
    };
    match (texts(before), texts(after)) {
        (Some((s0, b0, u0, t0)), Some((s1, b1, u1, t1))) => {
            if s0 != s1 {
                out.push(format!(
                    "subject \"{}\" -> \"{}\"",
                    s0.unwrap_or_default(),
                    s1.unwrap_or_default()
                ));
            }
            if b0 != b1 {
                match b1.strip_prefix(b0.as_str()) {
                    Some(added) => out.push(format!("body: appended {:?}", added.trim())),
                    None => out.push(format!("body ({} -> {} bytes)", b0.len(), b1.len())),
                }
            }
            if u0 != u1 {
                out.push(format!("unsubscribe {u0:?} -> {u1:?}"));
            }
            if t0 != t1 {
                let at = |t: Option<i64>| {
                    t.map_or_else(|| "now".to_string(), gatehouse_zone::format_instant)
                };
                out.push(format!("send-at {} -> {}", at(t0), at(t1)));
            }
        }
        _ if before.kind != after.kind => out.push(format!("{} content", after.kind.name())),
        _ => {}
    }
    out
}

/// This machine's clock; one before 1970 is refused, never read as 0.
fn now_ms() -> Result<i64> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("this machine's clock is set before 1970")?;
    Ok(since.as_millis() as i64)
}

fn open_log(data_dir: &Path) -> Result<gatehouse_store::AuditLog> {
    let store = gatehouse_store::Store::open(data_dir)?;
    Ok(gatehouse_store::AuditLog::open(Arc::new(store))?)
}

/// Append the run record (and the components' bytes) to the audit log.
fn record(
    data_dir: &Path,
    report: &RunReport,
    limits: &Limits,
    components: Vec<&Guest>,
    governance: Option<&[u8]>,
) -> Result<gatehouse_store::Receipt> {
    let log = open_log(data_dir)?;
    Ok(gatehouse::audit::record_report(
        &log,
        report,
        limits,
        &components,
        governance,
        now_ms()?,
    )?)
}

/// `--since`: milliseconds since the epoch, or a UTC date `YYYY-MM-DD`.
fn parse_since(s: &str) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let parts: Vec<&str> = s.split('-').collect();
    let bad = || format!("`{s}` is neither milliseconds since the epoch nor a date YYYY-MM-DD");
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Days from the civil date (proleptic Gregorian), then milliseconds.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400_000)
}

fn audit_command(data_dir: &Path, command: AuditCommand) -> Result<ExitCode> {
    let log = open_log(data_dir)?;
    auth::authorize(
        log.store(),
        gatehouse_store::Role::Auditor,
        "read the audit log",
    )?;
    match command {
        AuditCommand::Verify { json } => {
            let result = log.verify()?;
            if json {
                print_json(&match &result {
                    Ok(v) => {
                        serde_json::json!({"ok": true, "entries": v.entries, "checkpoints": v.checkpoints, "head": v.head})
                    }
                    Err(e) => serde_json::json!({"ok": false, "seq": e.seq, "reason": e.reason}),
                })?;
            }
            match result {
                Ok(v) => {
                    if !json {
                        println!(
                            "ok: {} entries, {} checkpoint signatures, head {}",
                            v.entries,
                            v.checkpoints,
                            v.head.as_deref().unwrap_or("(empty log)")
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if !json {
                        println!("FAILED: {e}");
                    }
                    Ok(ExitCode::from(EXIT_FAIL_ON))
                }
            }
        }
        AuditCommand::Show { run_id, json } => {
            let entries = log.run(&run_id)?;
            if entries.is_empty() {
                bail!("no run `{run_id}` in the audit log");
            }
            if json {
                print_json(&entries)?;
                return Ok(ExitCode::SUCCESS);
            }
            for e in &entries {
                println!(
                    "entry {}  {}  at {} ms  hash {}",
                    e.seq,
                    e.kind,
                    e.at_ms,
                    &e.hash[..16]
                );
                if e.kind == gatehouse::audit::RUN {
                    let record = gatehouse::audit::parse_record(e)?;
                    print_report(&record.report, false)?;
                } else {
                    println!("  {}", e.body);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { format, since } => {
            let entries = log.entries(0, since)?;
            let mut out = std::io::stdout().lock();
            match format {
                ExportFormat::Jsonl => {
                    for e in &entries {
                        serde_json::to_writer(&mut out, e)?;
                        writeln!(out)?;
                    }
                }
                ExportFormat::OtlpJson => {
                    serde_json::to_writer(&mut out, &gatehouse::audit::export_otlp(&entries))?;
                    writeln!(out)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn replay_command(
    data_dir: &Path,
    run_id: Option<String>,
    all: bool,
    since: Option<i64>,
    json: bool,
) -> Result<ExitCode> {
    let log = open_log(data_dir)?;
    auth::authorize(log.store(), gatehouse_store::Role::Auditor, "replay runs")?;
    let records: Vec<(u64, gatehouse::replay::RunRecord)> = match (&run_id, all) {
        (Some(id), _) => {
            let (entry, record) = gatehouse::audit::find_run(&log, id)?;
            vec![(entry.seq, record)]
        }
        (None, true) => log
            .entries(0, since)?
            .iter()
            .filter(|e| e.kind == gatehouse::audit::RUN)
            .map(|e| Ok((e.seq, gatehouse::audit::parse_record(e)?)))
            .collect::<Result<_>>()?,
        (None, false) => bail!("name a run id, or use --all"),
    };
    let sandbox = Sandbox::new(EngineOptions {
        cache_dir: default_cache_dir(),
        ..Default::default()
    })?;
    let mut outcomes = Vec::new();
    for (seq, record) in &records {
        let (skill, packs) = gatehouse::audit::load_components(&sandbox, log.store(), record)?;
        let outcome = gatehouse::replay::replay(&sandbox, skill.as_ref(), &packs, record);
        if !json {
            match &outcome.divergence {
                None => println!(
                    "run `{}` (entry {seq}): identical  [recorded {:.2} ms, replayed {:.2} ms]",
                    outcome.run_id,
                    outcome.original_us as f64 / 1000.0,
                    outcome.replay_us as f64 / 1000.0
                ),
                Some(d) => println!("run `{}` (entry {seq}): DIVERGED: {d}", outcome.run_id),
            }
        }
        outcomes.push(outcome);
    }
    let diverged = outcomes.iter().filter(|o| !o.identical()).count();
    if json {
        print_json(&outcomes)?;
    } else if records.len() > 1 || all {
        println!(
            "{} run(s) replayed: {} identical, {} diverged",
            outcomes.len(),
            outcomes.len() - diverged,
            diverged
        );
    }
    Ok(if diverged > 0 {
        ExitCode::from(EXIT_FAIL_ON)
    } else {
        ExitCode::SUCCESS
    })
}

fn backtest_command(
    data_dir: &Path,
    candidate: &str,
    since: Option<i64>,
    json: bool,
) -> Result<ExitCode> {
    let log = open_log(data_dir)?;
    auth::authorize(
        log.store(),
        gatehouse_store::Role::Auditor,
        "backtest packs",
    )?;
    let sandbox = Sandbox::new(EngineOptions {
        cache_dir: default_cache_dir(),
        ..Default::default()
    })?;
    let sources = registry::Sources::new(data_dir, None, gatehouse_store::Scope::any())?;
    let candidate = sources.component(&sandbox, candidate, Kind::Policy)?;
    let mut loaded: std::collections::HashMap<Vec<String>, Vec<Guest>> =
        std::collections::HashMap::new();
    let mut backtest = gatehouse::replay::Backtest::default();
    for entry in log
        .entries(0, since)?
        .iter()
        .filter(|e| e.kind == gatehouse::audit::RUN)
    {
        let record = gatehouse::audit::parse_record(entry)?;
        let key: Vec<String> = record
            .report
            .packs
            .iter()
            .flat_map(|p| std::iter::once(p.hash.clone()).chain(p.config.clone()))
            .collect();
        let packs = match loaded.get(&key) {
            Some(p) => p.clone(),
            None => {
                let (_, packs) = gatehouse::audit::load_components(&sandbox, log.store(), &record)?;
                loaded.insert(key, packs.clone());
                packs
            }
        };
        backtest.add(
            &sandbox,
            &gatehouse::replay::with_candidate(&packs, &candidate),
            &record,
            10,
        );
    }
    if json {
        print_json(&backtest)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "backtest of {} over {} run(s), {} action(s): {} decision(s) would change",
        guest_label(&candidate),
        backtest.runs,
        backtest.actions,
        backtest.changed
    );
    for (t, n) in &backtest.transitions {
        println!("  {t}: {n}");
    }
    for (rule, (added, removed)) in &backtest.rules {
        println!("  {rule}: fires in {added} more, {removed} fewer");
    }
    for e in &backtest.examples {
        println!(
            "  e.g. {} / {}: {} -> {} (+[{}] -[{}])",
            e.run_id,
            e.action_id,
            e.before,
            e.after,
            e.rules_added.join(", "),
            e.rules_removed.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
