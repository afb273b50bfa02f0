//! The command line's arguments (clap) and their parsers.

use crate::{auth, govern, learn, pack, registry, skill};
use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse::{EngineOptions, Limits, RunContext, Sandbox};
use std::path::PathBuf;

/// Exit code when `--fail-on` matched a decision.
pub(crate) const EXIT_FAIL_ON: u8 = 3;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Run AI agents' skills and policy packs as sandboxed WebAssembly components, fail closed"
)]
pub(crate) struct Cli {
    /// The data directory (store, registry, audit log). Default:
    /// $GATEHOUSE_DATA, else ~/.local/share/gatehouse.
    #[arg(long, global = true)]
    pub(crate) data_dir: Option<PathBuf>,
    /// A witness directory, outside the data directory: every signed tree head is also appended
    /// there, and `audit verify` checks the log against every head it holds. Default:
    /// $GATEHOUSE_WITNESS.
    #[arg(long, global = true)]
    pub(crate) witness: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
pub(crate) enum AuditCommand {
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
    /// Find entries by run, action, agent, kind and time (indexed).
    Query {
        /// Entries of this run.
        #[arg(long)]
        run: Option<String>,
        /// Entries concerning this action: its run and its outcomes.
        #[arg(long)]
        action: Option<String>,
        /// Entries of this agent: its runs, kills and revivals.
        #[arg(long)]
        agent: Option<String>,
        /// Entries of this kind (run, outcome, kill, channel-move, ...); repeatable.
        #[arg(long = "kind")]
        kinds: Vec<String>,
        /// Entries at or after this time (ms since the epoch, or YYYY-MM-DD).
        #[arg(long, value_parser = parse_since)]
        since: Option<i64>,
        /// Entries before this time (ms since the epoch, or YYYY-MM-DD).
        #[arg(long, value_parser = parse_since)]
        until: Option<i64>,
        /// At most this many.
        #[arg(long)]
        limit: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The receipt of an entry: the entry, the signed tree head and the inclusion proof.
    Receipt {
        /// The entry's position.
        seq: u64,
    },
    /// A consistency proof from the signed tree head at SIZE entries to the newest.
    Prove {
        /// The earlier head's size.
        #[arg(long)]
        from: u64,
    },
    /// The log's public key and origin, for auditors to pin (`--trust-key`).
    Key,
    /// Check a receipt (or a consistency proof) offline, without the database.
    CheckReceipt {
        /// The receipt (JSON), as `audit receipt` or `validate --json` gives it; `-` for stdin.
        file: PathBuf,
        /// The log's public key (64 hex digits), from `audit key`.
        #[arg(long)]
        trust_key: String,
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
pub(crate) enum ExportFormat {
    /// One audit entry per line.
    Jsonl,
    /// An OTLP/JSON ExportTraceServiceRequest.
    OtlpJson,
}

#[derive(Subcommand)]
pub(crate) enum OutcomeCommand {
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
pub(crate) struct RunArgs {
    /// The run context (JSON).
    #[arg(long)]
    pub(crate) context: PathBuf,
    /// Resolve component names through this lock file (exact hashes).
    #[arg(long)]
    pub(crate) lock: Option<PathBuf>,
    /// Governance rules (TOML file, or a published config: name@version, name@channel, blake3):
    /// kill switch, partition, evidence, frequency, budgets, exposure, approvals.
    #[arg(long)]
    pub(crate) governance: Option<String>,
    /// The evidence dataset (JSON) the skill retrieves from.
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// Sender profiles (TOML) bound to the agents; stamped over every message's sender.
    /// Without it, every email and text is blocked for want of a sender.
    #[arg(long)]
    pub(crate) senders: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: Common,
}

impl RunArgs {
    /// The run's inputs: lock, governance, dataset and senders.
    pub(crate) fn inputs<'a>(
        &'a self,
        ctx: &'a RunContext,
        limits: &'a Limits,
    ) -> Result<gatehouse::ops::Inputs<'a>> {
        Ok(gatehouse::ops::Inputs {
            context: ctx,
            lock: self.lock.as_deref(),
            governance: self.governance.as_deref(),
            dataset: Some(crate::read_dataset(&self.data)?),
            senders: crate::read_senders(self.senders.as_deref())?,
            limits,
        })
    }
}

#[derive(Args)]
pub(crate) struct VerdictArgs {
    /// Exit with code 3 when any decision is at least this severe.
    #[arg(long, value_enum)]
    pub(crate) fail_on: Option<FailOn>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FailOn {
    /// Any deny.
    Deny,
    /// Any deny or escalate.
    Escalate,
}

#[derive(Args)]
pub(crate) struct Common {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Fuel per guest call, or `off`.
    #[arg(long, value_parser = parse_fuel)]
    pub(crate) fuel: Option<Fuel>,
    /// Linear memory per guest call (e.g. 64MiB).
    #[arg(long, value_parser = parse_size)]
    pub(crate) memory: Option<u64>,
    /// Wall-clock deadline per guest call (e.g. 500ms, 2s).
    #[arg(long, value_parser = parse_duration_ms)]
    pub(crate) timeout: Option<u64>,
    /// Largest output per guest call (e.g. 1MiB).
    #[arg(long, value_parser = parse_size)]
    pub(crate) output_limit: Option<u64>,
    /// Host import calls per guest call.
    #[arg(long)]
    pub(crate) host_calls: Option<u32>,
    /// Compiled-code cache directory (default: $GATEHOUSE_CACHE or ~/.cache/gatehouse).
    #[arg(long)]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Compile every component afresh.
    #[arg(long)]
    pub(crate) no_cache: bool,
}

impl Common {
    pub(crate) fn limits(&self) -> Limits {
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

    pub(crate) fn sandbox(&self) -> Result<Sandbox> {
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

pub(crate) fn default_cache_dir() -> Option<PathBuf> {
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
pub(crate) struct Fuel(Option<u64>);

pub(crate) fn parse_fuel(s: &str) -> Result<Fuel, String> {
    if s == "off" {
        return Ok(Fuel(None));
    }
    s.replace('_', "")
        .parse()
        .map(|n| Fuel(Some(n)))
        .map_err(|_| format!("`{s}` is not a fuel amount (a whole number or `off`)"))
}

pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
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

pub(crate) fn parse_duration_ms(s: &str) -> Result<u64, String> {
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

pub(crate) fn parse_instant(s: &str) -> Result<i64, String> {
    gatehouse_zone::parse_instant(s).map_err(|e| e.to_string())
}

/// `--since`: milliseconds since the epoch, or a UTC date `YYYY-MM-DD`.
pub(crate) fn parse_since(s: &str) -> Result<i64, String> {
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
