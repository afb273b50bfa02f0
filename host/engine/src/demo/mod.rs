//! `gatehouse demo`: the whole loop on the embedded store, end to end.
//!
//! Builds, signs and publishes the skills and the packs; generates a
//! synthetic CRM; simulates a world that answers emails with replies,
//! meetings and unsubscribes (with a known true effect); pilots a
//! candidate configuration of the meeting-request skill against the
//! control through the gates to promotion; pilots a second candidate that
//! hurts a guardrail and is rolled back automatically; trips the
//! kill-switch on a misbehaving agent; replays a run as an auditor;
//! verifies the audit log; and prints the scorecard.

mod sim;
mod world;

use crate::Error;
use crate::learn::pilot::{self, Arm, Next, PilotSpec, Pinned};
use crate::learn::proposal::{self, Predicted, Proposal, Target};
use crate::learn::{Runner, metrics, scorecard};
use crate::{Dataset, Kind, Limits, RunContext, Sandbox};
use gatehouse_gates::GateSpec;
use gatehouse_store::{ArtifactKind, AuditLog, Change, KeyPair, Publish, Risk, Scope, Store};
use sim::Sim;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use world::{Rng, leads};

type Result<T, E = Error> = std::result::Result<T, E>;

/// Write one line of the demo's narrative.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err(|e| Error::file(Path::new("<output>"), e))?
    };
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::file(path, e))
}

fn invalid(what: impl Into<String>) -> Error {
    Error::Invalid(what.into())
}

const DAY_MS: i64 = 86_400_000;
/// 2026-03-02 09:00 UTC: the first simulated day.
const START_MS: i64 = 1_772_442_000_000;
const AGENT: &str = "pipeline-eu";
const PARTITION: &str = "EU";
const SEGMENTS: [&str; 3] = ["smb", "mid-market", "enterprise"];
/// The true effect: an opener naming the contact's last activity
/// multiplies the chance of a meeting by this.
pub const ACTIVITY_EFFECT: f64 = 1.5;

/// Options of the demo.
pub struct Options {
    /// Where the data directory goes (replaced if it holds an earlier demo).
    pub dir: PathBuf,
    /// The seed of every random draw.
    pub seed: u64,
    /// New leads per simulated day.
    pub leads_per_day: u32,
    /// Simulated days.
    pub days: u32,
    /// The workspace holding the skills' and packs' sources.
    pub workspace: PathBuf,
    /// Draw progress bars (the progress writer is a terminal) rather than
    /// one line per update.
    pub terminal: bool,
}

fn step(out: &mut dyn Write, n: usize, title: &str, started: std::time::Instant) -> Result<()> {
    say!(
        out,
        "\n[{n}] {title}  ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Progress of a pilot: a bar on a terminal, else one line per update.
struct Progress<'a> {
    out: &'a mut dyn Write,
    terminal: bool,
}

impl Progress<'_> {
    fn bar(&mut self, label: &str, done: u32, total: u32, tail: &str) {
        // Progress is a courtesy: a closed terminal must not stop the demo.
        let _ = self.draw(label, done, total, tail);
    }

    fn draw(&mut self, label: &str, done: u32, total: u32, tail: &str) -> std::io::Result<()> {
        if !self.terminal {
            if !tail.is_empty() {
                writeln!(self.out, "  {label} {done}/{total} {tail}")?;
            }
            return Ok(());
        }
        let width = 30;
        let filled = (done as usize * width) / total.max(1) as usize;
        write!(
            self.out,
            "\r  {label} [{}{}] {done}/{total} {tail:<40}",
            "#".repeat(filled),
            "-".repeat(width - filled)
        )?;
        if done == total {
            writeln!(self.out)?;
        }
        self.out.flush()
    }
}

struct Published {
    name: String,
    version: String,
    hash: String,
}

fn publish(
    store: &Store,
    keys: &[&KeyPair],
    kind: ArtifactKind,
    name: &str,
    version: &str,
    bytes: &[u8],
    at_ms: i64,
) -> Result<Published> {
    let published = store.publish(&Publish {
        kind,
        name,
        version,
        bytes,
        publisher: "demo-builder",
        at_ms,
    })?;
    for key in keys {
        store.add_signature(name, version, &key.sign(&published.artifact.id), at_ms)?;
    }
    Ok(Published {
        name: name.to_string(),
        version: version.to_string(),
        hash: published.artifact.id.hash.to_string(),
    })
}

fn pinned(p: &Published) -> Pinned {
    Pinned {
        name: p.name.clone(),
        version: p.version.clone(),
        hash: p.hash.clone(),
    }
}

/// The gates of both pilots: the same spec an operator passes to
/// `gatehouse pilot start --gate`.
fn gate_spec(root: &Path) -> Result<GateSpec> {
    let path = root.join("examples/pilot/gate.toml");
    crate::ops::read_gate(&path)
}

fn next_text(next: &Next) -> String {
    match next {
        Next::KeepCollecting => "keep collecting".into(),
        Next::Ramp { percent } => format!("ramp to {percent}%"),
        Next::Promote => "PROMOTE".into(),
        Next::Rollback { reason } => format!("ROLL BACK ({reason})"),
    }
}

/// The workspace this library was built from (the demo builds its guests
/// from their sources there).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run the demo: its narrative goes to `out`, pilot progress to `progress`.
pub fn run(opts: &Options, out: &mut dyn Write, progress: &mut dyn Write) -> Result<()> {
    let mut progress = Progress {
        out: progress,
        terminal: opts.terminal,
    };
    let started = std::time::Instant::now();
    if opts.dir.exists() {
        if !opts.dir.join("gatehouse.db").exists() {
            return Err(invalid(format!(
                "`{}` exists and is not a gatehouse data directory; choose another --dir",
                opts.dir.display()
            )));
        }
        std::fs::remove_dir_all(&opts.dir).map_err(|e| Error::file(&opts.dir, e))?;
    }
    std::fs::create_dir_all(&opts.dir).map_err(|e| Error::file(&opts.dir, e))?;
    say!(
        out,
        "gatehouse demo: data directory {} (seed {})",
        opts.dir.display(),
        opts.seed
    );

    step(
        out,
        1,
        "Build the skills and the packs (reproducibly), sign and publish them",
        started,
    )?;
    let root = opts.workspace.clone();
    let built = crate::build::build_crates(
        &[
            root.join("examples/meeting-request"),
            root.join("examples/email-outreach"),
            root.join("examples/reflect"),
            root.join("policies/brand"),
            root.join("policies/legal"),
            root.join("policies/data"),
        ],
        None,
        Some(&opts.dir.join("components")),
    )?;
    let store = Arc::new(Store::open(&opts.dir)?);
    let log = AuditLog::open(store.clone())?;
    let t0 = START_MS - DAY_MS;
    // The teams' keys derive from the seed, so the same seed records the
    // same log (a real team generates its key: `gatehouse key gen`).
    let key = |team: &str, owner: &str| {
        let secret = blake3::derive_key(
            "gatehouse demo signing key v1",
            format!("{}/{team}", opts.seed).as_bytes(),
        );
        KeyPair::from_secret(team, owner, secret)
    };
    let growth = key("growth", "growth-lead@acme.example")?;
    let legal = key("legal", "counsel@acme.example")?;
    let brand = key("brand", "brand-lead@acme.example")?;
    for k in [&growth, &legal, &brand] {
        store.register_key(k.public(), t0)?;
    }
    store.set_trust_policy(
        "schema = 1\n[channel.production.skill]\ngrowth = 1\n[channel.production.config]\ngrowth = 1\n[channel.production.policy-pack]\nlegal = 1\nbrand = 1\n",
        &Change::new("admin", "demo trust policy", t0),
    )?;
    let sandbox = Sandbox::new(crate::EngineOptions {
        cache_dir: Some(opts.dir.join("cache")),
        ..Default::default()
    })?;
    let mut packs = Vec::new();
    for b in &built[3..] {
        let manifest = b
            .manifest
            .as_ref()
            .ok_or_else(|| invalid("a pack without pack.toml"))?;
        let pack = crate::load_pack(&sandbox, manifest)?;
        let info = pack
            .pack_info()
            .ok_or_else(|| invalid("a pack that does not describe itself"))?;
        let p = publish(
            &store,
            &[&legal, &brand],
            ArtifactKind::PolicyPack,
            &info.name,
            &info.version,
            pack.bytes(),
            t0,
        )?;
        store.promote(
            &p.name,
            &p.version,
            "production",
            &Scope::any(),
            &Change::new("ops", "demo release", t0),
        )?;
        say!(
            out,
            "  pack  {:<16} {}  {:>7} bytes  signed by legal + brand",
            format!("{}@{}", p.name, p.version),
            &p.hash[..16],
            b.size
        );
        packs.push(pack);
    }
    let skill = publish(
        &store,
        &[&growth],
        ArtifactKind::Skill,
        "meeting-request",
        "0.1.0",
        &read(&built[0].path)?,
        t0,
    )?;
    let blast = publish(
        &store,
        &[&growth],
        ArtifactKind::Skill,
        "email-outreach",
        "0.1.0",
        &read(&built[1].path)?,
        t0,
    )?;
    let reflect = publish(
        &store,
        &[&growth],
        ArtifactKind::Skill,
        "reflect",
        "0.1.0",
        &read(&built[2].path)?,
        t0,
    )?;
    let scope = Scope::new(AGENT, PARTITION)?;
    let configs: Vec<Published> = [
        ("1.0.0", "standard"),
        ("1.1.0", "activity"),
        ("1.2.0", "urgent"),
    ]
    .iter()
    .map(|(v, opener)| {
        publish(
            &store,
            &[&growth],
            ArtifactKind::Config,
            "meeting-request-config",
            v,
            format!("opener = \"{opener}\"\n").as_bytes(),
            t0,
        )
    })
    .collect::<Result<_>>()?;
    store.promote(
        "meeting-request",
        "0.1.0",
        "production",
        &scope,
        &Change::new("ops", "demo release", t0),
    )?;
    store.promote(
        "meeting-request-config",
        "1.0.0",
        "production",
        &scope,
        &Change::new("ops", "demo release", t0),
    )?;
    for p in [&skill, &blast, &reflect] {
        say!(
            out,
            "  skill {:<16} {}  signed by growth",
            format!("{}@{}", p.name, p.version),
            &p.hash[..16]
        );
    }
    for c in &configs {
        say!(
            out,
            "  config meeting-request-config@{} {}",
            c.version,
            &c.hash[..16]
        );
    }
    say!(
        out,
        "  production: meeting-request@0.1.0 + meeting-request-config@1.0.0 (opener = standard)"
    );

    let governance_text = format!(
        "schema = 1\n[agent.{AGENT}]\nemail-per-contact = {{ max = 1, window-days = 7 }}\nsends-per-day = 5000\nspend-per-day-micros = 50_000_000\n[agent.outreach-blast]\nsends-per-day = 5000\nbreaker = {{ blocked-percent = 10, min-actions = 5 }}\n"
    );
    let governance = crate::govern::GovernanceConfig::parse(&governance_text)
        .map_err(|e| invalid(format!("demo governance: {e}")))?;
    let senders = Arc::new(
        crate::Senders::parse(&format!(
            "[profile.acme]\nagents = [\"{AGENT}\", \"outreach-blast\"]\nbrand = \"Acme\"\n\
             legal-name = \"Acme Inc.\"\nfrom-name = \"Acme Pipeline\"\n\
             from-address = \"pipeline@acme.example\"\nsms-sender-id = \"ACME\"\n\
             postal-address = \"Acme Inc., 100 Main St, Springfield, IL 62701, USA\"\n\
             contact = \"https://acme.example/contact\"\n\
             unsubscribe = \"https://acme.example/unsubscribe\"\n"
        ))
        .map_err(|e| invalid(format!("demo sender profiles: {e}")))?,
    );
    let limits = Limits::default();
    let mut sim = Sim {
        log: &log,
        store: &store,
        sandbox: &sandbox,
        runner: Runner {
            sandbox: &sandbox,
            packs: &packs,
            governance: Some((&governance, governance_text.as_bytes())),
            limits: &limits,
            actor: "demo-operator",
            senders: &senders,
        },
        rng: Rng(gatehouse_gates::rng::Rng::seeded(opts.seed)),
        day: 0,
        contacted: 0,
    };

    let gate = gate_spec(&root)?;
    step(
        out,
        2,
        "Two days on the production version; then the reflect skill reads the metrics and proposes",
        started,
    )?;
    let arm = |config: &Pinned| Arm {
        skill: pinned(&skill),
        config: Some(config.clone()),
    };
    let mut crm_size = 0u32;
    let production = arm(&pinned(&configs[0])).load(&sandbox, &store)?;
    for _ in 0..2 {
        let today = leads(&mut sim.rng, sim.day, opts.leads_per_day);
        crm_size += today.len() as u32;
        sim.baseline_day(&production, &today)?;
        sim.day += 1;
    }
    let entries = log.entries(0, None)?;
    let steps = metrics::steps(&entries, START_MS, sim.now())?;
    let mut figures = Dataset::empty();
    for record in metrics::records(&steps, &store, PARTITION) {
        figures.insert(record);
    }
    let reflect_guest = sandbox.load(
        &store.get(&reflect.hash.parse()?)?,
        "reflect",
        Some(Kind::Skill),
    )?;
    let reflect_ctx = RunContext {
        run_id: format!("reflect-d{:02}", sim.day),
        agent: "reflect-bot".into(),
        partition: PARTITION.into(),
        cohort: None,
        campaign: None,
        now: sim.now(),
        params: vec![],
    };
    let report = sim
        .runner
        .run(
            &log,
            &reflect_guest,
            &reflect_ctx,
            Arc::new(figures),
            sim.now(),
        )?
        .report;
    let proposed = report
        .decisions
        .iter()
        .find(|d| d.outcome == crate::pipeline::Outcome::Allow)
        .ok_or_else(|| invalid("the reflect skill proposed nothing the packs allowed"))?;
    say!(out, "  reflect: {}", proposed.action.rationale);
    let (prop, approval) =
        proposal::from_action(&log, &proposed.action, "production", &scope, sim.now())?;
    let approval =
        approval.ok_or_else(|| invalid("a medium-risk proposal waits for an approver"))?;
    store.approve(
        approval,
        &Change::new("ops-lead", "worth a pilot behind the gates", sim.now()),
    )?;
    say!(
        out,
        "  {}: {}@{} -> {}@{}, predicts {:+.0}% {} ({} risk), approved by ops-lead (approval #{approval})",
        prop.id,
        prop.from.name,
        prop.from.version,
        prop.to.name,
        prop.to.version,
        prop.predicted.lift * 100.0,
        prop.predicted.metric,
        prop.risk
    );

    step(
        out,
        3,
        "Pilot 1: activity opener vs standard, ramp 10 -> 25 -> 50%",
        started,
    )?;
    let spec = PilotSpec {
        id: "opener-activity".into(),
        agent: AGENT.into(),
        partition: PARTITION.into(),
        channel: "production".into(),
        proposal: Some(prop.id.clone()),
        control: arm(&prop.from),
        candidate: arm(&prop.to),
        ramp: vec![10, 25, 50],
        min_units_per_step: 60,
        min_step_ms: DAY_MS,
        max_duration_ms: Some(i64::from(opts.days) * DAY_MS),
        gate: gate.clone(),
    };
    proposal::release(&log, &prop.id, &spec.id, "demo-operator", sim.now())?;
    pilot::start(&log, spec, "demo-operator", sim.now())?;
    let mut promoted_on = None;
    while sim.day < opts.days {
        let entries = log.entries(0, None)?;
        let p = pilot::pilot(&entries, "opener-activity")?;
        if p.status != pilot::Status::Running {
            break;
        }
        let today = leads(&mut sim.rng, sim.day, opts.leads_per_day);
        crm_size += today.len() as u32;
        let check = sim.pilot_day(&p, &today, "p1")?;
        let kpi = &check.gate.metrics[0];
        progress.bar(
            "pilot 1",
            sim.day + 1,
            opts.days,
            &format!(
                "cap {}%  lift {:+.3} [{:+.3}, {:+.3}]  {}",
                check.percent,
                kpi.difference,
                kpi.lower,
                kpi.upper,
                next_text(&check.next)
            ),
        );
        sim.day += 1;
        if check.next == Next::Promote {
            promoted_on = Some(sim.day);
            break;
        }
        if matches!(check.next, Next::Rollback { .. }) {
            break;
        }
    }
    if sim.day < opts.days && promoted_on.is_some() {
        progress.bar("pilot 1", opts.days, opts.days, "");
    }
    let p1 = pilot::pilot(&log.entries(0, None)?, "opener-activity")?;
    say!(
        out,
        "  pilot 1: {:?} after {} days; {} leads so far",
        p1.status,
        sim.day,
        crm_size
    );
    if let Ok(resolved) = store.resolve("meeting-request-config@production", &scope) {
        say!(
            out,
            "  production now: meeting-request-config@{}",
            resolved.id.version
        );
    }

    step(
        out,
        4,
        "Pilot 2: the `urgent` opener (risk low: auto-approved) — a guardrail regression",
        started,
    )?;
    let control2 = if p1.status == pilot::Status::Promoted {
        &configs[1]
    } else {
        &configs[0]
    };
    let (prop2, _) = proposal::propose(
        &log,
        Proposal {
            id: String::new(),
            target: Target::Config,
            from: pinned(control2),
            to: pinned(&configs[2]),
            predicted: Predicted {
                metric: "meetings-per-contacted".into(),
                lift: 0.1,
            },
            risk: Risk::Low,
            rationale: "A deadline in the opener may speed up replies.".into(),
            evidence: vec![],
            proposed_by: "growth-lead".into(),
        },
        START_MS + i64::from(sim.day) * DAY_MS,
    )?;
    let spec2 = PilotSpec {
        id: "opener-urgent".into(),
        agent: AGENT.into(),
        partition: PARTITION.into(),
        channel: "production".into(),
        proposal: Some(prop2.id.clone()),
        control: arm(&pinned(control2)),
        candidate: arm(&pinned(&configs[2])),
        ramp: vec![10, 25, 50],
        min_units_per_step: 60,
        min_step_ms: DAY_MS,
        max_duration_ms: Some(10 * DAY_MS),
        gate: gate.clone(),
    };
    proposal::release(&log, &prop2.id, &spec2.id, "demo-operator", sim.now())?;
    pilot::start(&log, spec2, "demo-operator", sim.now())?;
    let mut batches = 0;
    for _ in 0..10 {
        let p = pilot::pilot(&log.entries(0, None)?, "opener-urgent")?;
        if p.status != pilot::Status::Running {
            break;
        }
        let today = leads(&mut sim.rng, sim.day, opts.leads_per_day);
        crm_size += today.len() as u32;
        let check = sim.pilot_day(&p, &today, "p2")?;
        batches += 1;
        let esc = check
            .gate
            .metrics
            .iter()
            .find(|m| m.metric == "escalation-rate");
        progress.bar(
            "pilot 2",
            batches,
            10,
            &format!(
                "cap {}%  escalation {:+.3}  {}",
                check.percent,
                esc.map_or(0.0, |m| m.difference),
                next_text(&check.next)
            ),
        );
        sim.day += 1;
        if matches!(check.next, Next::Rollback { .. } | Next::Promote) {
            if batches < 10 {
                progress.bar("pilot 2", 10, 10, "");
            }
            break;
        }
    }
    let p2 = pilot::pilot(&log.entries(0, None)?, "opener-urgent")?;
    say!(
        out,
        "  pilot 2: {:?} after {batches} daily batches",
        p2.status
    );
    if let Some(pilot::PilotEvent::Rollback { reason, .. }) = p2.events.last().map(|e| &e.event) {
        say!(out, "  reason: {reason}");
    }

    step(out, 5, "A misbehaving agent trips the kill-switch", started)?;
    let blast_guest = sandbox.load(
        &store.get(&blast.hash.parse()?)?,
        "email-outreach",
        Some(Kind::Skill),
    )?;
    let crm = Arc::new(Dataset::load(&root.join("examples/data/crm.json"))?);
    let blast_ctx = |n: u32| RunContext {
        run_id: format!("blast-{n}"),
        agent: "outreach-blast".into(),
        partition: PARTITION.into(),
        cohort: None,
        campaign: Some("spring-launch".into()),
        now: sim.now(),
        params: vec![],
    };
    let report = sim
        .runner
        .run(&log, &blast_guest, &blast_ctx(1), crm.clone(), sim.now())?
        .report;
    let denied = report
        .decisions
        .iter()
        .filter(|d| d.outcome == crate::pipeline::Outcome::Deny)
        .count();
    let rate = denied as f64 / report.decisions.len().max(1) as f64;
    say!(
        out,
        "  outreach-blast proposed {} emails; the packs denied {denied} ({:.0}%)",
        report.decisions.len(),
        rate * 100.0
    );
    match store.is_killed("outreach-blast")? {
        Some(kill) => say!(
            out,
            "  the circuit breaker fired the kill-switch: {}",
            kill.reason
        ),
        None => {
            return Err(invalid(
                "the circuit breaker did not trip on outreach-blast",
            ));
        }
    }
    let report = sim
        .runner
        .run(&log, &blast_guest, &blast_ctx(2), crm, sim.now() + 60_000)?
        .report;
    let stopped = report
        .decisions
        .iter()
        .filter(|d| {
            d.governance
                .as_ref()
                .is_some_and(|g| g.findings.iter().any(|f| f.rule == "govern.kill-switch"))
        })
        .count();
    say!(
        out,
        "  its next run: {stopped} of {} actions stopped by govern.kill-switch (the packs had denied the rest)",
        report.decisions.len()
    );
    if stopped == 0 {
        return Err(invalid("the kill-switch stopped nothing"));
    }

    step(
        out,
        6,
        "An auditor replays a run and verifies the log",
        started,
    )?;
    // The first run of pilot 1's candidate.
    let first = log
        .entries(0, None)?
        .into_iter()
        .filter_map(|e| e.run_id)
        .find(|r| r.starts_with("p1-") && r.ends_with("-candidate"))
        .ok_or_else(|| invalid("pilot 1 recorded no candidate run"))?;
    let (_, record) = crate::audit::find_run(&log, &first)?;
    let (skill_guest, pack_guests) = crate::audit::load_components(&sandbox, &store, &record)?;
    let outcome = crate::replay::replay(&sandbox, skill_guest.as_ref(), &pack_guests, &record);
    match &outcome.divergence {
        None => say!(
            out,
            "  replay of run `{}`: identical ({} decisions, exact module hashes)",
            outcome.run_id,
            record.report.decisions.len()
        ),
        Some(d) => {
            return Err(invalid(format!(
                "replay of `{}` diverged: {d}",
                outcome.run_id
            )));
        }
    }
    match log.verify()? {
        Ok(v) => say!(
            out,
            "  audit log verified: {} entries, hash chain intact",
            v.entries
        ),
        Err(e) => return Err(invalid(format!("audit log verification failed: {e}"))),
    }

    step(out, 7, "Scorecard", started)?;
    let entries = log.entries(0, None)?;
    let card = scorecard::build(
        &entries,
        Some(&store),
        &scorecard::Options {
            title: "gatehouse demo: meetings pilot".into(),
            generated_at: "simulated".into(),
            from_ms: START_MS,
            to_ms: START_MS + i64::from(sim.day + 1) * DAY_MS,
            by: scorecard::Cohort::Segment,
        },
    )?;
    say!(out, "{}", gatehouse_gates::scorecard::render_text(&card));
    let html = opts.dir.join("scorecard.html");
    std::fs::write(&html, gatehouse_gates::scorecard::render_html(&card))
        .map_err(|e| Error::file(&html, e))?;
    say!(out, "scorecard page: {}", html.display());
    say!(
        out,
        "{} leads, {} emails sent, {} audit entries; finished in {:.1} s",
        crm_size,
        sim.contacted,
        entries.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
