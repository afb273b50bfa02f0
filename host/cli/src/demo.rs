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

use anyhow::{Context, Result, bail};
use gatehouse::learn::pilot::{self, Arm, Next, PilotSpec, Pinned};
use gatehouse::learn::proposal::{self, Predicted, Proposal, Target};
use gatehouse::learn::{Runner, metrics, scorecard};
use gatehouse::{Dataset, Evidence, Field, Kind, Limits, RunContext, Sandbox};
use gatehouse_gates::GateSpec;
use gatehouse_store::{ArtifactKind, AuditLog, Change, KeyPair, Publish, Risk, Scope, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

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
}

/// Draws for the simulation, all from one seeded generator.
struct Rng(gatehouse_gates::rng::Rng);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0.unit()
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.0.next_u64() % items.len() as u64) as usize]
    }
}

fn step(n: usize, title: &str, started: std::time::Instant) {
    println!(
        "\n[{n}] {title}  ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

fn bar(label: &str, done: u32, total: u32, tail: &str) {
    use std::io::IsTerminal;
    let width = 30;
    if !std::io::stderr().is_terminal() {
        // A log, not a terminal: one line per update.
        if !tail.is_empty() {
            eprintln!("  {label} {done}/{total} {tail}");
        }
        return;
    }
    let filled = (done as usize * width) / total.max(1) as usize;
    eprint!(
        "\r  {label} [{}{}] {done}/{total} {tail:<40}",
        "#".repeat(filled),
        "-".repeat(width - filled)
    );
    if done == total {
        eprintln!();
    }
    let _ = std::io::stderr().flush();
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

/// The synthetic CRM: leads arriving day by day.
fn leads(rng: &mut Rng, day: u32, n: u32) -> Vec<Evidence> {
    const FIRST: [&str; 12] = [
        "Greta", "Luca", "Sofie", "Pierre", "Ines", "Jonas", "Maja", "Elif", "Tomas", "Nora",
        "Pablo", "Anouk",
    ];
    const COMPANY: [&str; 10] = [
        "Vogel", "Bianchi", "Jansen", "Martin", "Novak", "Larsen", "Costa", "Weber", "Moreau",
        "Silva",
    ];
    const ACTIVITY: [&str; 4] = [
        "downloaded the campaign planning guide",
        "joined our webinar on lead scoring",
        "compared our pricing plans",
        "read the case study on email timing",
    ];
    const COUNTRY: [(&str, &str); 6] = [
        ("DE", "Europe/Berlin"),
        ("FR", "Europe/Paris"),
        ("NL", "Europe/Amsterdam"),
        ("IT", "Europe/Rome"),
        ("ES", "Europe/Madrid"),
        ("SE", "Europe/Stockholm"),
    ];
    (0..n)
        .map(|i| {
            let segment = match rng.unit() {
                x if x < 0.55 => "smb",
                x if x < 0.85 => "mid-market",
                _ => "enterprise",
            };
            let consent = if rng.unit() < 0.9 {
                "express"
            } else {
                "withdrawn"
            };
            let first = rng.pick(&FIRST);
            let company = format!(
                "{} {}",
                rng.pick(&COMPANY),
                ["GmbH", "SA", "BV", "AB"][i as usize % 4]
            );
            let mut fields = vec![
                ("first_name", first.to_string()),
                ("company", company),
                ("segment", segment.to_string()),
            ];
            let (country, zone) = rng.pick(&COUNTRY);
            fields.extend([
                ("country", country.to_string()),
                ("time_zone", zone.to_string()),
                ("consent_email", consent.to_string()),
                ("consent_email_purposes", "commercial".to_string()),
                (
                    "consent_email_obtained_at",
                    "2025-11-03T09:00:00Z".to_string(),
                ),
                ("consent_email_evidence", format!("form-{day:02}{i:04}")),
                ("email", format!("lead{day:02}{i:04}@example.eu")),
            ]);
            if rng.unit() < 0.7 {
                fields.push(("last_activity", rng.pick(&ACTIVITY).to_string()));
            }
            Evidence {
                id: format!("c-{day:02}-{i:04}"),
                collection: "contacts".to_string(),
                partition: PARTITION.to_string(),
                fields: fields
                    .into_iter()
                    .map(|(name, value)| Field {
                        name: name.to_string(),
                        value,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The world's answer to one email that went out: replies, meetings,
/// unsubscribes and pipeline. The true model: a base meeting rate per
/// segment, multiplied by [`ACTIVITY_EFFECT`] when the email names the
/// contact's own last activity.
fn respond(
    rng: &mut Rng,
    contact: &Evidence,
    body: &str,
    action: &str,
) -> Vec<gatehouse::audit::Outcome> {
    let segment = contact.get("segment").unwrap_or("smb");
    let (base, deal) = match segment {
        "enterprise" => (0.08, 60_000.0),
        "mid-market" => (0.10, 18_000.0),
        _ => (0.12, 6_000.0),
    };
    let personal = contact
        .get("last_activity")
        .is_some_and(|a| body.contains(a));
    let p_meeting = base * if personal { ACTIVITY_EFFECT } else { 1.0 };
    let mut out = Vec::new();
    let outcome = |kind: &str, value: serde_json::Value| gatehouse::audit::Outcome {
        action: action.to_string(),
        kind: kind.to_string(),
        value,
    };
    let u = rng.unit();
    if u < p_meeting {
        out.push(outcome("reply", 1.into()));
        out.push(outcome("meeting_booked", 1.into()));
        let value = (deal * (0.5 + rng.unit())).round();
        out.push(outcome("pipeline", value.into()));
    } else if u < p_meeting + 0.06 {
        out.push(outcome("reply", 1.into()));
    } else if u < p_meeting + 0.08 {
        out.push(outcome("unsubscribe", 1.into()));
    }
    out
}

/// The gates of both pilots: the same spec an operator passes to
/// `gatehouse pilot start --gate`.
fn gate_spec(root: &Path) -> Result<GateSpec> {
    let path = root.join("examples/pilot/gate.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("`{}`: {}", path.display(), e.message()))
}

/// Everything the simulation loop needs.
struct Sim<'a> {
    log: &'a AuditLog,
    store: &'a Arc<Store>,
    sandbox: &'a Sandbox,
    runner: Runner<'a>,
    rng: Rng,
    day: u32,
    contacted: u64,
}

impl Sim<'_> {
    fn now(&self) -> i64 {
        START_MS + i64::from(self.day) * DAY_MS
    }

    /// Today's leads of one segment, and the run context of their batch.
    fn batch(&self, leads: &[Evidence], segment: &str, label: &str) -> (Dataset, RunContext) {
        let now = self.now();
        let mut data = Dataset::empty();
        for lead in leads.iter().filter(|l| l.get("segment") == Some(segment)) {
            data.insert(lead.clone());
        }
        let ctx = RunContext {
            run_id: format!("{label}-d{:02}-{segment}", self.day),
            agent: AGENT.to_string(),
            partition: PARTITION.to_string(),
            cohort: Some(segment.to_string()),
            campaign: Some("meetings-q2".to_string()),
            now,
            params: vec![Field {
                name: metrics::SLA_PARAM.into(),
                value: (now + 4 * 3_600_000).to_string(),
            }],
        };
        (data, ctx)
    }

    /// The world's answers to the emails a run sent, recorded as outcomes.
    fn answer(&mut self, report: &gatehouse::pipeline::RunReport, data: &Dataset) -> Result<()> {
        let mut outcomes = Vec::new();
        for d in &report.decisions {
            if !matches!(
                d.outcome,
                gatehouse::pipeline::Outcome::Allow | gatehouse::pipeline::Outcome::Modify
            ) {
                continue;
            }
            let performed = d.final_action.as_ref().unwrap_or(&d.action);
            let (Some(to), Some(email)) = (performed.recipient(), performed_email(performed))
            else {
                continue;
            };
            let Some(contact) = data.get("contacts", &to.contact_id) else {
                continue;
            };
            self.contacted += 1;
            outcomes.extend(respond(&mut self.rng, contact, email, &d.action.id));
        }
        // The world answers within the day.
        gatehouse::audit::record_outcomes(
            self.log,
            &report.context.run_id,
            &outcomes,
            self.now() + 8 * 3_600_000,
        )?;
        Ok(())
    }

    /// One day without a pilot: today's leads through the production version.
    fn baseline_day(&mut self, skill: &gatehouse::Guest, leads: &[Evidence]) -> Result<()> {
        for segment in SEGMENTS {
            let (data, ctx) = self.batch(leads, segment, "base");
            let report = self
                .runner
                .run(self.log, skill, &ctx, data.clone(), self.now())?;
            self.answer(&report, &data)?;
        }
        Ok(())
    }

    /// One day of a pilot: today's leads through both arms, the world's
    /// answers, then a gate check that may ramp, promote or roll back.
    fn pilot_day(
        &mut self,
        p: &pilot::Pilot,
        leads: &[Evidence],
        label: &str,
    ) -> Result<pilot::Check> {
        let arms = [
            p.spec.control.load(self.sandbox, self.store)?,
            p.spec.candidate.load(self.sandbox, self.store)?,
        ];
        let now = self.now();
        for segment in SEGMENTS {
            let (data, ctx) = self.batch(leads, segment, label);
            let batch =
                self.runner
                    .pilot_batch(self.log, p, [&arms[0], &arms[1]], &ctx, &data, now)?;
            for (_, report) in &batch.runs {
                self.answer(report, &data)?;
            }
        }
        let entries = self.log.entries(0, None)?;
        let check = p.check(&entries, now + 9 * 3_600_000)?;
        pilot::apply(self.log, p, &check, "gatehouse-gates")?;
        Ok(check)
    }
}

fn performed_email(a: &gatehouse::Action) -> Option<&str> {
    match &a.kind {
        gatehouse::ActionKind::Email(e) => Some(e.body.as_str()),
        _ => None,
    }
}

fn next_text(next: &Next) -> String {
    match next {
        Next::KeepCollecting => "keep collecting".into(),
        Next::Ramp { percent } => format!("ramp to {percent}%"),
        Next::Promote => "PROMOTE".into(),
        Next::Rollback { reason } => format!("ROLL BACK ({reason})"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run the demo.
pub fn run(opts: &Options) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    if opts.dir.exists() {
        if !opts.dir.join("gatehouse.db").exists() {
            bail!(
                "`{}` exists and is not a gatehouse data directory; choose another --dir",
                opts.dir.display()
            );
        }
        std::fs::remove_dir_all(&opts.dir)
            .with_context(|| format!("cannot clear `{}`", opts.dir.display()))?;
    }
    std::fs::create_dir_all(&opts.dir)?;
    println!(
        "gatehouse demo: data directory {} (seed {})",
        opts.dir.display(),
        opts.seed
    );

    step(
        1,
        "Build the skills and the packs (reproducibly), sign and publish them",
        started,
    );
    let root = workspace_root();
    let built = gatehouse::build::build_crates(
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
    let growth = KeyPair::generate("growth", "growth-lead@acme.example")?;
    let legal = KeyPair::generate("legal", "counsel@acme.example")?;
    let brand = KeyPair::generate("brand", "brand-lead@acme.example")?;
    for k in [&growth, &legal, &brand] {
        store.register_key(k.public(), t0)?;
    }
    store.set_trust_policy(
        "schema = 1\n[channel.production.skill]\ngrowth = 1\n[channel.production.config]\ngrowth = 1\n[channel.production.policy-pack]\nlegal = 1\nbrand = 1\n",
        &Change::new("admin", "demo trust policy", t0),
    )?;
    let sandbox = Sandbox::new(gatehouse::EngineOptions {
        cache_dir: Some(opts.dir.join("cache")),
        ..Default::default()
    })?;
    let mut packs = Vec::new();
    for b in &built[3..] {
        let manifest = b.manifest.as_ref().context("a pack without pack.toml")?;
        let pack = gatehouse::load_pack(&sandbox, manifest)?;
        let info = pack
            .pack_info()
            .context("a pack that does not describe itself")?;
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
        println!(
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
        &std::fs::read(&built[0].path)?,
        t0,
    )?;
    let blast = publish(
        &store,
        &[&growth],
        ArtifactKind::Skill,
        "email-outreach",
        "0.1.0",
        &std::fs::read(&built[1].path)?,
        t0,
    )?;
    let reflect = publish(
        &store,
        &[&growth],
        ArtifactKind::Skill,
        "reflect",
        "0.1.0",
        &std::fs::read(&built[2].path)?,
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
        println!(
            "  skill {:<16} {}  signed by growth",
            format!("{}@{}", p.name, p.version),
            &p.hash[..16]
        );
    }
    for c in &configs {
        println!(
            "  config meeting-request-config@{} {}",
            c.version,
            &c.hash[..16]
        );
    }
    println!(
        "  production: meeting-request@0.1.0 + meeting-request-config@1.0.0 (opener = standard)"
    );

    let governance_text = format!(
        "schema = 1\n[agent.{AGENT}]\nemail-per-contact = {{ max = 1, window-days = 7 }}\nsends-per-day = 5000\nspend-per-day-micros = 50_000_000\n[agent.outreach-blast]\nsends-per-day = 5000\nbreaker = {{ blocked-percent = 10, min-actions = 5 }}\n"
    );
    let governance = gatehouse::govern::GovernanceConfig::parse(&governance_text)
        .map_err(|e| anyhow::anyhow!("demo governance: {e}"))?;
    let senders = Arc::new(
        gatehouse::Senders::parse(&format!(
            "[profile.acme]\nagents = [\"{AGENT}\", \"outreach-blast\"]\nbrand = \"Acme\"\n\
             legal-name = \"Acme Inc.\"\nfrom-name = \"Acme Pipeline\"\n\
             from-address = \"pipeline@acme.example\"\nsms-sender-id = \"ACME\"\n\
             postal-address = \"Acme Inc., 100 Main St, Springfield, IL 62701, USA\"\n\
             contact = \"https://acme.example/contact\"\n\
             unsubscribe = \"https://acme.example/unsubscribe\"\n"
        ))
        .map_err(|e| anyhow::anyhow!("demo sender profiles: {e}"))?,
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
        2,
        "Two days on the production version; then the reflect skill reads the metrics and proposes",
        started,
    );
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
        .run(&log, &reflect_guest, &reflect_ctx, figures, sim.now())?;
    let proposed = report
        .decisions
        .iter()
        .find(|d| d.outcome == gatehouse::pipeline::Outcome::Allow)
        .context("the reflect skill proposed nothing the packs allowed")?;
    println!("  reflect: {}", proposed.action.rationale);
    let (prop, approval) =
        proposal::from_action(&log, &proposed.action, "production", &scope, sim.now())?;
    let approval = approval.context("a medium-risk proposal waits for an approver")?;
    store.approve(
        approval,
        &Change::new("ops-lead", "worth a pilot behind the gates", sim.now()),
    )?;
    println!(
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
        3,
        "Pilot 1: activity opener vs standard, ramp 10 -> 25 -> 50%",
        started,
    );
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
        bar(
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
        bar("pilot 1", opts.days, opts.days, "");
    }
    let p1 = pilot::pilot(&log.entries(0, None)?, "opener-activity")?;
    println!(
        "  pilot 1: {:?} after {} days; {} leads so far",
        p1.status, sim.day, crm_size
    );
    if let Ok(resolved) = store.resolve("meeting-request-config@production", &scope) {
        println!(
            "  production now: meeting-request-config@{}",
            resolved.id.version
        );
    }

    step(
        4,
        "Pilot 2: the `urgent` opener (risk low: auto-approved) — a guardrail regression",
        started,
    );
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
        bar(
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
                bar("pilot 2", 10, 10, "");
            }
            break;
        }
    }
    let p2 = pilot::pilot(&log.entries(0, None)?, "opener-urgent")?;
    println!("  pilot 2: {:?} after {batches} daily batches", p2.status);
    if let Some(pilot::PilotEvent::Rollback { reason, .. }) = p2.events.last().map(|e| &e.event) {
        println!("  reason: {reason}");
    }

    step(5, "A misbehaving agent trips the kill-switch", started);
    let blast_guest = sandbox.load(
        &store.get(&blast.hash.parse()?)?,
        "email-outreach",
        Some(Kind::Skill),
    )?;
    let crm = Dataset::load(&root.join("examples/data/crm.json"))?;
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
        .run(&log, &blast_guest, &blast_ctx(1), crm.clone(), sim.now())?;
    let denied = report
        .decisions
        .iter()
        .filter(|d| d.outcome == gatehouse::pipeline::Outcome::Deny)
        .count();
    let rate = denied as f64 / report.decisions.len().max(1) as f64;
    println!(
        "  outreach-blast proposed {} emails; the packs denied {denied} ({:.0}%)",
        report.decisions.len(),
        rate * 100.0
    );
    match store.is_killed("outreach-blast")? {
        Some(kill) => println!(
            "  the circuit breaker fired the kill-switch: {}",
            kill.reason
        ),
        None => bail!("the circuit breaker did not trip on outreach-blast"),
    }
    let report = sim
        .runner
        .run(&log, &blast_guest, &blast_ctx(2), crm, sim.now() + 60_000)?;
    let stopped = report
        .decisions
        .iter()
        .filter(|d| {
            d.governance
                .as_ref()
                .is_some_and(|g| g.findings.iter().any(|f| f.rule == "govern.kill-switch"))
        })
        .count();
    println!(
        "  its next run: {stopped} of {} actions stopped by govern.kill-switch (the packs had denied the rest)",
        report.decisions.len()
    );
    if stopped == 0 {
        bail!("the kill-switch stopped nothing");
    }

    step(6, "An auditor replays a run and verifies the log", started);
    // The first run of pilot 1's candidate.
    let first = log
        .entries(0, None)?
        .into_iter()
        .filter_map(|e| e.run_id)
        .find(|r| r.starts_with("p1-") && r.ends_with("-candidate"))
        .context("pilot 1 recorded no candidate run")?;
    let (_, record) = gatehouse::audit::find_run(&log, &first)?;
    let (skill_guest, pack_guests) = gatehouse::audit::load_components(&sandbox, &store, &record)?;
    let outcome = gatehouse::replay::replay(&sandbox, skill_guest.as_ref(), &pack_guests, &record);
    match &outcome.divergence {
        None => println!(
            "  replay of run `{}`: identical ({} decisions, exact module hashes)",
            outcome.run_id,
            record.report.decisions.len()
        ),
        Some(d) => bail!("replay of `{}` diverged: {d}", outcome.run_id),
    }
    match log.verify()? {
        Ok(v) => println!(
            "  audit log verified: {} entries, hash chain intact",
            v.entries
        ),
        Err(e) => bail!("audit log verification failed: {e}"),
    }

    step(7, "Scorecard", started);
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
    println!("{}", gatehouse_gates::scorecard::render_text(&card));
    let html = opts.dir.join("scorecard.html");
    std::fs::write(&html, gatehouse_gates::scorecard::render_html(&card))?;
    println!("scorecard page: {}", html.display());
    println!(
        "{} leads, {} emails sent, {} audit entries; finished in {:.1} s",
        crm_size,
        sim.contacted,
        entries.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
