//! The engines: native Rust, gatehouse in three modes, and the peers
//! (regorus, Cedar, Extism, in their own modules).

use crate::data::{self, Decision, Record, Verdict};
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use anyhow::{Context, Result, anyhow, bail};
use gatehouse::pipeline::{self, Outcome};
use gatehouse::{
    Action, ActionKind, Answers, Dataset, EngineOptions, GenericAction, Guest, Kind, Limits, Money,
    RunContext, Sandbox, World,
};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Row names.
pub const NATIVE: &str = "native Rust (aho-corasick)";
pub const REUSED: &str = "gatehouse, reused instance";
pub const FRESH: &str = "gatehouse, fresh instance";
pub const FULL: &str = "gatehouse, full validate path";
pub const REGO: &str = "regorus interpreter";
pub const REGO_RVM: &str = "regorus RVM";
pub const CEDAR: &str = "cedar-policy";
pub const EXTISM: &str = "extism, reused plug-in";
#[cfg(feature = "extism")]
pub const EXTISM_FRESH: &str = "extism, fresh plug-in";

/// One engine instance, owned by one thread.
pub trait Engine {
    /// Convert the records to the engine's own input form (not timed).
    fn prepare(&mut self, records: &[Record]) -> Result<()>;
    /// Judge prepared input `i` (timed).
    fn decide(&mut self, i: usize) -> Result<Decision>;
}

/// Makes engines; shared by the threads of a run.
pub struct Factory<'a> {
    pub name: String,
    pub note: String,
    pub make: Box<dyn Fn() -> Result<Box<dyn Engine + 'a>> + Sync + 'a>,
}

impl<'a> Factory<'a> {
    fn new(
        name: &str,
        note: &str,
        make: impl Fn() -> Result<Box<dyn Engine + 'a>> + Sync + 'a,
    ) -> Self {
        Self {
            name: name.to_string(),
            note: note.to_string(),
            make: Box::new(make),
        }
    }
}

/// Compile and load figures of the gatehouse pack.
pub struct PackFigures {
    pub size: usize,
    pub preinit_size: usize,
    pub compile_ms: f64,
    pub compile_preinit_ms: f64,
    pub cached_load_ms: f64,
    pub cached_loads: usize,
}

/// Everything built once: the guests, the compiled policies, the sandbox.
pub struct Setup {
    preinitialize: bool,
    banned: Vec<String>,
    sandbox: Sandbox,
    pack: Guest,
    pack_bytes: Vec<u8>,
    #[cfg(feature = "extism")]
    extism_wasm: Vec<u8>,
    audit: Arc<gatehouse_store::AuditLog>,
    runs: AtomicU64,
    _dirs: Vec<tempfile::TempDir>,
}

impl Setup {
    pub fn new(root: &Path, preinitialize: bool) -> Result<Self> {
        let data_dir = root.join("bench/brand-safety/data");
        let banned = data::banned_terms(&data_dir)?;
        let out = root.join("target/bench");
        let built = gatehouse::build::build_crates(
            &[root.join("bench/brand-safety/pack")],
            Some(&root.join("target")),
            Some(&out),
        )
        .context("building the brand-safety pack")?;
        let built = built.first().ok_or_else(|| anyhow!("no pack built"))?;
        let pack_bytes = std::fs::read(&built.path)?;
        let cache = tempfile::tempdir()?;
        let sandbox = Sandbox::new(EngineOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            preinitialize,
            ..Default::default()
        })?;
        let pack = sandbox.load(&pack_bytes, "brand-safety.wasm", Some(Kind::Policy))?;
        #[cfg(feature = "extism")]
        let extism_wasm = crate::extism_peer::build(root)?;
        let store_dir = tempfile::tempdir()?;
        let store = Arc::new(gatehouse_store::Store::open(store_dir.path())?);
        let audit = Arc::new(gatehouse_store::AuditLog::open(store)?);
        Ok(Self {
            preinitialize,
            banned,
            sandbox,
            pack,
            pack_bytes,
            #[cfg(feature = "extism")]
            extism_wasm,
            audit,
            runs: AtomicU64::new(0),
            _dirs: vec![cache, store_dir],
        })
    }

    pub fn factories(&self) -> Result<Vec<Factory<'_>>> {
        let rego_text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/brand_safety.rego"),
        )?;
        let rego = Arc::new(crate::rego::Policy::new(&rego_text, &self.banned)?);
        let rvm = rego.clone();
        let cedar = Arc::new(crate::cedar::Policy::new(&self.banned)?);
        let banned = self.banned.clone();
        let fresh_note = match self.preinitialize {
            true => "pooled, pre-initialised",
            false => "pooled, NOT pre-initialised",
        };
        let mut all = vec![
            Factory::new(NATIVE, "", move || {
                Ok(Box::new(Native::new(&banned)?) as Box<dyn Engine>)
            }),
            Factory::new(REUSED, "", || {
                Ok(Box::new(Gatehouse::new(self, Mode::Reused)) as Box<dyn Engine>)
            }),
            Factory::new(FRESH, fresh_note, || {
                Ok(Box::new(Gatehouse::new(self, Mode::Fresh)) as Box<dyn Engine>)
            }),
            Factory::new(
                FULL,
                "fresh instance, decision record, durable audit append",
                || Ok(Box::new(Gatehouse::new(self, Mode::Full)) as Box<dyn Engine>),
            ),
            Factory::new(REGO_RVM, "", move || {
                Ok(Box::new(rvm.rvm()?) as Box<dyn Engine>)
            }),
            Factory::new(REGO, "", move || {
                Ok(Box::new(rego.interpreter()?) as Box<dyn Engine>)
            }),
            Factory::new(CEDAR, crate::cedar::NOTE, move || {
                Ok(Box::new(cedar.engine()) as Box<dyn Engine>)
            }),
        ];
        all.extend(self.extism_factories()?);
        Ok(all)
    }

    #[cfg(feature = "extism")]
    fn extism_factories(&self) -> Result<Vec<Factory<'_>>> {
        let mut all = Vec::new();
        let extism = Arc::new(crate::extism_peer::Compiled::new(&self.extism_wasm)?);
        let extism_fresh = extism.clone();
        all.push(Factory::new(
            EXTISM,
            "extism 1.30.0, wasmtime 43",
            move || Ok(Box::new(extism.reused()?) as Box<dyn Engine>),
        ));
        all.push(Factory::new(
            EXTISM_FRESH,
            "from a compiled plug-in",
            move || Ok(Box::new(extism_fresh.fresh()) as Box<dyn Engine>),
        ));
        Ok(all)
    }

    #[cfg(not(feature = "extism"))]
    fn extism_factories(&self) -> Result<Vec<Factory<'_>>> {
        Ok(Vec::new())
    }

    /// Compile, pre-initialisation and cached-load figures of the pack.
    pub fn pack_figures(&self) -> Result<PackFigures> {
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let compile: Vec<f64> = (0..3)
            .map(|_| {
                self.sandbox
                    .compile_only(&self.pack_bytes)
                    .map(|us| us as f64 / 1e3)
            })
            .collect::<Result<_, _>>()?;
        let mut preinit_size = 0;
        let mut with_preinit = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let snap = self.sandbox.preinitialize(&self.pack_bytes)?;
            self.sandbox.compile_only(&snap)?;
            with_preinit.push(t.elapsed().as_secs_f64() * 1e3);
            preinit_size = snap.len();
        }
        let cached_loads = 101;
        let mut cached = Vec::with_capacity(cached_loads);
        for _ in 0..cached_loads {
            let t = Instant::now();
            let g = self
                .sandbox
                .load(&self.pack_bytes, "brand-safety.wasm", Some(Kind::Policy))?;
            cached.push(t.elapsed().as_secs_f64() * 1e3);
            if !g.from_cache {
                bail!("the pack was not loaded from the compiled-code cache");
            }
        }
        Ok(PackFigures {
            size: self.pack_bytes.len(),
            preinit_size,
            compile_ms: median(compile),
            compile_preinit_ms: median(with_preinit),
            cached_load_ms: median(cached),
            cached_loads,
        })
    }
}

/// The limit: the rules as a plain Rust function over one automaton.
struct Native {
    ac: AhoCorasick,
    records: Vec<Record>,
}

impl Native {
    fn new(banned: &[String]) -> Result<Self> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(banned)?;
        Ok(Self {
            ac,
            records: Vec::new(),
        })
    }
}

impl Engine for Native {
    fn prepare(&mut self, records: &[Record]) -> Result<()> {
        self.records = records.to_vec();
        Ok(())
    }

    fn decide(&mut self, i: usize) -> Result<Decision> {
        let r = &self.records[i];
        let mut rules: Vec<Cow<'static, str>> = Vec::new();
        if self.ac.is_match(&r.subject) || self.ac.is_match(&r.body) {
            rules.push(Cow::Borrowed("banned-term"));
        }
        if r.channel == "email" && !r.has_unsubscribe_link {
            rules.push(Cow::Borrowed("missing-unsubscribe"));
        }
        if r.region == "EU" && !r.consent {
            rules.push(Cow::Borrowed("no-consent-eu"));
        }
        Ok(if !rules.is_empty() {
            Decision::new(Verdict::Deny, rules)
        } else if r.audience_size > 10_000 && r.evidence.is_empty() {
            Decision::new(Verdict::Escalate, vec![Cow::Borrowed("evidence-required")])
        } else {
            Decision::new(Verdict::Allow, rules)
        })
    }
}

/// How gatehouse runs the pack.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One instance for every decision (`Sandbox::session`).
    Reused,
    /// A fresh instance per decision (`Sandbox::validate`).
    Fresh,
    /// What `gatehouse validate` does per action: the pipeline (agent and
    /// id checks, the fresh-instance call with fuel and limits, findings,
    /// the decision), the run record, and its durable audit append.
    Full,
}

struct Gatehouse<'a> {
    setup: &'a Setup,
    mode: Mode,
    ctx: RunContext,
    limits: Limits,
    answers: Answers,
    dataset: Arc<Dataset>,
    session: Option<gatehouse::PolicySession<'a>>,
    actions: Vec<Action>,
}

impl<'a> Gatehouse<'a> {
    fn new(setup: &'a Setup, mode: Mode) -> Self {
        let ctx = RunContext {
            run_id: "brand-safety".to_string(),
            agent: "bench".to_string(),
            partition: "global".to_string(),
            cohort: None,
            campaign: None,
            now: 1_750_000_000_000,
            params: Vec::new(),
        };
        let dataset = Arc::new(Dataset::empty());
        let answers = Answers::Live(World::new(
            dataset.clone(),
            &ctx.partition,
            ctx.now,
            &ctx.run_id,
        ));
        let limits = Limits::default();
        let session = (mode == Mode::Reused)
            .then(|| setup.sandbox.session(&setup.pack, answers.clone(), &limits));
        Self {
            setup,
            mode,
            ctx,
            limits,
            answers,
            dataset,
            session,
            actions: Vec::new(),
        }
    }
}

/// The record as a gatehouse action (see the pack's docs for the mapping).
fn action(i: usize, r: &Record) -> Result<Action> {
    let payload = serde_json::json!({
        "channel": r.channel,
        "audience_size": r.audience_size,
        "has_unsubscribe_link": r.has_unsubscribe_link,
        "consent": r.consent,
        "subject": r.subject,
        "body": r.body,
    });
    Ok(Action {
        id: format!("a{:04}", i + 1),
        agent: "bench".to_string(),
        region: r.region.clone(),
        estimated_cost: Money {
            currency: "USD".to_string(),
            micros: 0,
        },
        evidence: r.evidence.clone(),
        rationale: String::new(),
        kind: ActionKind::Generic(GenericAction {
            kind: "campaign-message".to_string(),
            payload_json: serde_json::to_string(&payload)?,
        }),
    })
}

fn rules_of(findings: &[gatehouse::Finding]) -> Vec<Cow<'static, str>> {
    findings
        .iter()
        .map(|f| Cow::Owned(f.rule.clone()))
        .collect()
}

impl Engine for Gatehouse<'_> {
    fn prepare(&mut self, records: &[Record]) -> Result<()> {
        self.actions = records
            .iter()
            .enumerate()
            .map(|(i, r)| action(i, r))
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn decide(&mut self, i: usize) -> Result<Decision> {
        let action = &self.actions[i];
        let verdict = match self.mode {
            Mode::Reused => match &mut self.session {
                Some(s) => s.validate(action, &self.ctx).result,
                None => bail!("no session"),
            },
            Mode::Fresh => {
                self.setup
                    .sandbox
                    .validate(
                        &self.setup.pack,
                        action,
                        &self.ctx,
                        self.answers.clone(),
                        &self.limits,
                    )
                    .result
            }
            Mode::Full => return self.full(action),
        };
        match verdict.map_err(|e| anyhow!("the pack failed: {e}"))? {
            gatehouse::Verdict::Allow => Ok(Decision::new(Verdict::Allow, Vec::new())),
            gatehouse::Verdict::Deny(f) => Ok(Decision::new(Verdict::Deny, rules_of(&f))),
            gatehouse::Verdict::Escalate(f) => Ok(Decision::new(Verdict::Escalate, rules_of(&f))),
            gatehouse::Verdict::Modify(_) => bail!("the pack modified an action"),
        }
    }
}

impl Gatehouse<'_> {
    fn full(&self, action: &Action) -> Result<Decision> {
        let seq = self.setup.runs.fetch_add(1, Ordering::Relaxed);
        let ctx = RunContext {
            run_id: format!("brand-safety-{seq}"),
            ..self.ctx.clone()
        };
        let env = pipeline::Live::unstamped(&ctx, self.dataset.clone());
        let packs = std::slice::from_ref(&self.setup.pack);
        let report = pipeline::validate_all(
            &self.setup.sandbox,
            packs,
            vec![action.clone()],
            &ctx,
            &env,
            &self.limits,
        );
        let record = gatehouse::replay::RunRecord::new(report, self.limits.clone());
        gatehouse::audit::record_run(&self.setup.audit, &record, &[&self.setup.pack], ctx.now)?;
        let d = record
            .report
            .decisions
            .first()
            .ok_or_else(|| anyhow!("no decision"))?;
        let verdict = match d.outcome {
            Outcome::Allow => Verdict::Allow,
            Outcome::Deny => Verdict::Deny,
            Outcome::Escalate => Verdict::Escalate,
            Outcome::Modify => bail!("the pack modified an action"),
        };
        Ok(Decision::new(verdict, rules_of(&d.findings)))
    }
}
