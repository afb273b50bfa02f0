//! The sandbox: a wasmtime engine that runs skill and policy components
//! under per-call limits and returns their results with metering.
//!
//! It knows nothing of registries, audit logs or governance: it loads a
//! component, checks it against the contract, and runs one call at a time
//! in a fresh store (or a reused one, see [`PolicySession`]).

use crate::cache::{self, Cache};
use crate::checks::{check_header, classify};
use crate::error::{EngineError, GuestError, LoadError};
use crate::guest::*;
use crate::imports::{self, Answers, HostState, World};
use crate::limits::{LimitError, Limits};
use crate::model::{Action, PackInfo, RunContext, SkillError, SkillInfo, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{
    Component, ComponentExportIndex, ComponentNamedList, Instance, Lift, Linker, Lower,
};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store,
    Trap,
};

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = crate::wit_version!();

/// How often the epoch ticks; deadlines are whole ticks.
const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Engine-wide settings: bounds for every call's limits, the instance pool,
/// the compiled-code cache.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// The largest `memory_bytes` any call may be given (the pool's slot size).
    pub max_memory_bytes: u64,
    /// Instances that may be live at once (the pool's size).
    pub pool_size: u32,
    /// The wasm stack available to a call, in bytes.
    pub max_wasm_stack: usize,
    /// Where compiled code is cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Snapshot each component after its `describe` call and run every
    /// instance from the snapshot, so state built in `describe` (tables,
    /// automata) is not rebuilt per instance. A component that cannot be
    /// snapshotted runs as it is. Changes fuel figures, so it is part of
    /// the [`Sandbox::fingerprint`].
    pub preinitialize: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_memory_bytes: 4 << 30,
            pool_size: 64,
            max_wasm_stack: 512 << 10,
            cache_dir: None,
            preinitialize: false,
        }
    }
}

/// Runs components. Cheap to share across threads (`&Sandbox` is enough).
pub struct Sandbox {
    engine: Engine,
    linker: Linker<HostState>,
    options: EngineOptions,
    cache: Option<Cache>,
    ticker: Ticker,
}

struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Sandbox {
    /// An engine with gatehouse's deterministic configuration.
    pub fn new(options: EngineOptions) -> Result<Self, EngineError> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(options.pool_size)
            .total_core_instances(options.pool_size * 4)
            .total_memories(options.pool_size * 2)
            .total_tables(options.pool_size * 4)
            .max_memories_per_component(4)
            .max_memory_size(options.max_memory_bytes as usize)
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(Enabled::Auto);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            // Threads are compiled out (wasmtime without the `threads` feature).
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .cranelift_opt_level(OptLevel::Speed)
            .max_wasm_stack(options.max_wasm_stack)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| EngineError::Config(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        imports::add_to_linker(&mut linker).map_err(|e| EngineError::Config(format!("{e:#}")))?;
        let cache = match &options.cache_dir {
            Some(dir) => Some(Cache::open(dir, &engine, options.preinitialize)?),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("gatehouse-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| EngineError::Config(format!("cannot start the epoch thread: {e}")))?
        };
        Ok(Self {
            engine,
            linker,
            options,
            cache,
            ticker: Ticker {
                stop,
                thread: Some(thread),
            },
        })
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// A fingerprint of the engine configuration and wasmtime version; two
    /// hosts with the same fingerprint produce the same fuel figures.
    pub fn fingerprint(&self) -> String {
        let base = cache::engine_fingerprint(&self.engine);
        if self.options.preinitialize {
            format!("{base}-preinit")
        } else {
            base
        }
    }

    /// Check that `limits` fit this engine.
    pub fn check_limits(&self, limits: &Limits) -> Result<(), EngineError> {
        if limits.memory_bytes > self.options.max_memory_bytes {
            return Err(EngineError::LimitTooLarge {
                what: "memory limit",
                requested: limits.memory_bytes,
                maximum: self.options.max_memory_bytes,
            });
        }
        Ok(())
    }

    /// Load a component from a file; see [`Sandbox::load`].
    pub fn load_file(&self, path: &Path, expect: Option<Kind>) -> Result<Guest, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.load(&bytes, &name, expect)
    }

    /// Load a component: check it is a component of the expected world
    /// (`None`: either) built for a compatible WIT version, importing only
    /// what gatehouse provides; compile it (or take it from the cache); run
    /// its `describe` once under default limits.
    pub fn load(&self, bytes: &[u8], name: &str, expect: Option<Kind>) -> Result<Guest, LoadError> {
        let name = name.to_string();
        check_header(bytes, &name)?;
        let hash = blake3::hash(bytes);
        let started = Instant::now();
        let cached = self.cache.as_ref().and_then(|c| c.get(&self.engine, &hash));
        let from_cache = cached.is_some();
        let component = match cached {
            Some(c) => c,
            None => {
                let snapshot = match self.options.preinitialize {
                    true => self.preinitialize(bytes).ok(),
                    false => None,
                };
                let code = snapshot.as_deref().unwrap_or(bytes);
                let c = Component::new(&self.engine, code).map_err(|e| LoadError::Invalid {
                    name: name.clone(),
                    reason: first_line(&e),
                })?;
                if let Some(cache) = &self.cache {
                    cache.put(&hash, &c);
                }
                c
            }
        };
        let load_us = started.elapsed().as_micros() as u64;
        let (kind, export, imports) = classify(&self.engine, &component, &name)?;
        if let Some(expected) = expect
            && expected != kind
        {
            return Err(LoadError::WrongWorld {
                name,
                expected: expected.noun().to_string(),
                found: kind.noun().to_string(),
            });
        }
        let contract = |reason: String| LoadError::Contract {
            name: name.clone(),
            reason,
        };
        let iface = component
            .get_export_index(None, export.as_str())
            .ok_or_else(|| contract(format!("export `{export}` not found")))?;
        let describe_fn = component
            .get_export_index(Some(&iface), "describe")
            .ok_or_else(|| contract(format!("`{export}` has no function `describe`")))?;
        let main_name = match kind {
            Kind::Skill => "act",
            Kind::Policy => "validate",
        };
        let main_fn = component
            .get_export_index(Some(&iface), main_name)
            .ok_or_else(|| contract(format!("`{export}` has no function `{main_name}`")))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| contract(first_line(&e)))?;
        let mut guest = Guest {
            hash,
            size: bytes.len(),
            name: name.clone(),
            kind,
            export,
            imports,
            describe: Describe::Skill(SkillInfo {
                name: String::new(),
                version: String::new(),
                sdk: None,
            }),
            from_cache,
            load_us,
            config: Arc::new(BTreeMap::new()),
            bytes: Arc::from(bytes),
            pre,
            describe_fn,
            main_fn,
        };
        guest.describe = self.describe(&guest).map_err(|error| match error {
            GuestError::BadOutput { reason } => contract(reason),
            error => LoadError::Describe {
                name: name.clone(),
                error,
            },
        })?;
        Ok(guest)
    }

    fn describe(&self, guest: &Guest) -> Result<Describe, GuestError> {
        let world = Answers::Live(World::new(
            Arc::new(crate::evidence::Dataset::empty()),
            "",
            0,
            "describe",
        ));
        let limits = Limits::default();
        match guest.kind {
            Kind::Policy => {
                let m = self.call::<(), (PackInfo,)>(
                    guest,
                    guest.describe_fn,
                    (),
                    &limits,
                    world.clone(),
                    "describe",
                );
                m.result.map(|(p,)| Describe::Policy(p))
            }
            Kind::Skill => {
                let m = self.call::<(), (SkillInfo,)>(
                    guest,
                    guest.describe_fn,
                    (),
                    &limits,
                    world.clone(),
                    "describe",
                );
                m.result.map(|(s,)| Describe::Skill(s))
            }
        }
    }

    /// Run a skill's `act` in a fresh instance.
    pub fn act(
        &self,
        skill: &Guest,
        ctx: &RunContext,
        answers: Answers,
        limits: &Limits,
    ) -> Metered<Result<Vec<Action>, SkillError>> {
        if skill.kind != Kind::Skill {
            return wrong_kind(skill);
        }
        let m = self.call::<(&RunContext,), (Result<Vec<Action>, SkillError>,)>(
            skill,
            skill.main_fn,
            (ctx,),
            limits,
            answers,
            "act",
        );
        Metered {
            result: m.result.map(|(r,)| r),
            metering: m.metering,
        }
    }

    /// Run a pack's `validate` on one action in a fresh instance.
    pub fn validate(
        &self,
        pack: &Guest,
        action: &Action,
        ctx: &RunContext,
        answers: Answers,
        limits: &Limits,
    ) -> Metered<Verdict> {
        if pack.kind != Kind::Policy {
            return wrong_kind(pack);
        }
        let stream = format!("validate/{}", action.id);
        let m = self.call::<(&Action, &RunContext), (Verdict,)>(
            pack,
            pack.main_fn,
            (action, ctx),
            limits,
            answers,
            &stream,
        );
        Metered {
            result: m.result.map(|(v,)| v),
            metering: m.metering,
        }
    }

    /// Keep one instance of `pack` for many decisions (faster, less
    /// isolated: state a pack keeps between calls is visible to the next).
    pub fn session<'a>(
        &'a self,
        pack: &'a Guest,
        answers: Answers,
        limits: &Limits,
    ) -> PolicySession<'a> {
        PolicySession {
            sandbox: self,
            pack,
            answers,
            limits: limits.clone(),
            live: None,
        }
    }

    fn new_store(
        &self,
        guest: &Guest,
        limits: &Limits,
        answers: Answers,
        stream: &str,
    ) -> Store<HostState> {
        let state = HostState::new(
            limits,
            answers,
            format!("{}/{}", guest.hash.to_hex(), stream),
            guest.config.clone(),
        );
        let mut store = Store::new(&self.engine, state);
        store.data_mut().stack_bytes = self.options.max_wasm_stack;
        store.limiter(|s| &mut s.limiter);
        store
    }

    pub(crate) fn arm(store: &mut Store<HostState>, limits: &Limits) -> Result<(), GuestError> {
        store
            .set_fuel(limits.fuel.unwrap_or(u64::MAX))
            .map_err(|e| GuestError::Instantiate {
                message: first_line(&e),
            })?;
        let ticks = limits
            .timeout_ms
            .div_ceil(EPOCH_TICK.as_millis() as u64)
            .max(1);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        Ok(())
    }

    fn call<P, R>(
        &self,
        guest: &Guest,
        func: ComponentExportIndex,
        params: P,
        limits: &Limits,
        answers: Answers,
        stream: &str,
    ) -> Metered<R>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: ComponentNamedList + Lift + Send + Sync + Serialize + 'static,
    {
        let started = Instant::now();
        let mut store = self.new_store(guest, limits, answers, stream);
        let result = Self::arm(&mut store, limits).and_then(|()| {
            let instance = guest
                .pre
                .instantiate(&mut store)
                .map_err(|e| classify_error(&e, &store, limits, started))?;
            invoke::<P, R>(&mut store, &instance, func, params, limits, started)
        });
        let metering = metering(&mut store, limits, started);
        Metered { result, metering }
    }

    /// The component's bytes after its `describe` call, snapshotted (what
    /// [`EngineOptions::preinitialize`] runs); `Err` says why it cannot be.
    pub fn preinitialize(&self, bytes: &[u8]) -> Result<Vec<u8>, LoadError> {
        check_header(bytes, "component")?;
        crate::preinit::snapshot(&self.engine, &self.linker, bytes).map_err(|reason| {
            LoadError::Invalid {
                name: "component".into(),
                reason,
            }
        })
    }

    /// Compile a component without loading it, returning the time taken in
    /// microseconds (for measurements; the cache is bypassed).
    pub fn compile_only(&self, bytes: &[u8]) -> Result<u64, LoadError> {
        check_header(bytes, "component")?;
        let started = Instant::now();
        Component::new(&self.engine, bytes).map_err(|e| LoadError::Invalid {
            name: "component".into(),
            reason: first_line(&e),
        })?;
        Ok(started.elapsed().as_micros() as u64)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker.stop.store(true, Ordering::Relaxed);
    }
}

/// One live instance of a pack serving many `validate` calls. Limits apply
/// per call; after any failure the instance is dropped and the next call
/// gets a fresh one (a trapped instance is never entered again).
pub struct PolicySession<'a> {
    sandbox: &'a Sandbox,
    pack: &'a Guest,
    answers: Answers,
    limits: Limits,
    live: Option<(Store<HostState>, Instance)>,
}

impl PolicySession<'_> {
    /// Judge one action with the session's instance.
    pub fn validate(&mut self, action: &Action, ctx: &RunContext) -> Metered<Verdict> {
        if self.pack.kind != Kind::Policy {
            return wrong_kind(self.pack);
        }
        let started = Instant::now();
        let (mut store, instance) = match self.live.take() {
            Some(live) => live,
            None => {
                let mut store = self.sandbox.new_store(
                    self.pack,
                    &self.limits,
                    self.answers.clone(),
                    "session",
                );
                if let Err(e) = Sandbox::arm(&mut store, &self.limits) {
                    return Metered {
                        result: Err(e),
                        metering: metering(&mut store, &self.limits, started),
                    };
                }
                match self.pack.pre.instantiate(&mut store) {
                    Ok(i) => (store, i),
                    Err(e) => {
                        let err = classify_error(&e, &store, &self.limits, started);
                        return Metered {
                            result: Err(err),
                            metering: metering(&mut store, &self.limits, started),
                        };
                    }
                }
            }
        };
        store.data_mut().transcript.clear();
        let result = Sandbox::arm(&mut store, &self.limits).and_then(|()| {
            invoke::<(&Action, &RunContext), (Verdict,)>(
                &mut store,
                &instance,
                self.pack.main_fn,
                (action, ctx),
                &self.limits,
                started,
            )
        });
        let metering = metering(&mut store, &self.limits, started);
        if result.is_ok() {
            self.live = Some((store, instance));
        }
        Metered {
            result: result.map(|(v,)| v),
            metering,
        }
    }
}

fn invoke<P, R>(
    store: &mut Store<HostState>,
    instance: &Instance,
    func: ComponentExportIndex,
    params: P,
    limits: &Limits,
    started: Instant,
) -> Result<R, GuestError>
where
    P: ComponentNamedList + Lower + Send + Sync,
    R: ComponentNamedList + Lift + Send + Sync + Serialize + 'static,
{
    let f = instance
        .get_typed_func::<P, R>(&mut *store, func)
        .map_err(|e| GuestError::BadOutput {
            reason: format!("signature does not match the contract: {}", first_line(&e)),
        })?;
    let out = f
        .call(&mut *store, params)
        .map_err(|e| classify_error(&e, store, limits, started))?;
    store
        .data_mut()
        .flush_stdio()
        .map_err(|e| classify_error(&e, store, limits, started))?;
    let size = serde_json::to_vec(&out)
        .map(|v| v.len() as u64)
        .unwrap_or(u64::MAX);
    if size > limits.output_bytes {
        return Err(LimitError::Output {
            limit: limits.output_bytes,
            size,
        }
        .into());
    }
    if let Some(d) = store.data().unconsumed() {
        return Err(GuestError::Divergence(d));
    }
    Ok(out)
}

fn metering(store: &mut Store<HostState>, limits: &Limits, started: Instant) -> Metering {
    let left = store.get_fuel().unwrap_or(0);
    let given = limits.fuel.unwrap_or(u64::MAX);
    let data = store.data_mut();
    Metering {
        fuel_used: given.saturating_sub(left),
        peak_memory_bytes: data.limiter.peak_memory,
        duration_us: started.elapsed().as_micros() as u64,
        host_calls: std::mem::take(&mut data.transcript),
    }
}

fn wrong_kind<T>(guest: &Guest) -> Metered<T> {
    Metered {
        result: Err(GuestError::BadOutput {
            reason: format!(
                "`{}` is a {}, called as the other world",
                guest.name, guest.kind
            ),
        }),
        metering: Metering::default(),
    }
}

/// Turn a wasmtime error into the typed guest error it stands for.
fn classify_error(
    err: &wasmtime::Error,
    store: &Store<HostState>,
    limits: &Limits,
    started: Instant,
) -> GuestError {
    let stack = store.data().stack_bytes;
    if let Some(d) = &store.data().diverged {
        return GuestError::Divergence(d.clone());
    }
    if let Some(limit) = err.downcast_ref::<LimitError>() {
        return GuestError::Limit(limit.clone());
    }
    if let Some(limit) = &store.data().limiter.refused {
        return GuestError::Limit(limit.clone());
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => GuestError::Limit(LimitError::Fuel {
            limit: limits.fuel.unwrap_or(u64::MAX),
        }),
        Some(Trap::Interrupt) => GuestError::Limit(LimitError::Deadline {
            limit_ms: limits.timeout_ms,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }),
        Some(Trap::StackOverflow) => GuestError::Limit(LimitError::Stack {
            limit_bytes: stack as u64,
        }),
        Some(trap) => GuestError::Trap {
            message: trap.to_string(),
        },
        None => GuestError::Trap {
            message: first_line(err),
        },
    }
}

/// One line for an error: each cause's first line, joined, skipping
/// wasmtime's backtrace header.
fn first_line(e: &wasmtime::Error) -> String {
    let parts: Vec<String> = e
        .chain()
        .filter_map(|c| c.to_string().lines().next().map(str::to_string))
        .filter(|l| !l.is_empty() && !l.starts_with("error while executing at wasm backtrace"))
        .collect();
    if parts.is_empty() {
        "unknown error".to_string()
    } else {
        parts.join(": ")
    }
}
