//! Pre-initialisation: run a component's `describe` once and snapshot the
//! instance (with wasmtime-wizer), so that every fresh instance starts with
//! whatever the component built there (tables, automata, a language
//! runtime's heap) already in its linear memory.
//!
//! The snapshot is a deterministic function of the component's bytes: the
//! `describe` call runs under default limits with no configuration and an
//! empty world (no evidence, clock at 0), exactly like the `describe` call
//! of [`Sandbox::load`](crate::Sandbox::load). A component keeps its
//! identity (the blake3 of its own bytes); only the compiled code differs.

use crate::checks::classify;
use crate::imports::{Answers, HostState, World};
use crate::limits::Limits;
use crate::sandbox::Sandbox;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use wasmtime::component::{Component, Instance, Lift, Linker, WasmList};
use wasmtime::{Engine, Store};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

/// Snapshot `bytes` after its `describe` call; `Err` says why it cannot be.
pub(crate) fn snapshot(
    engine: &Engine,
    linker: &Linker<HostState>,
    bytes: &[u8],
) -> Result<Vec<u8>, String> {
    let mut wizer = Wizer::new();
    wizer.keep_init_func(true);
    let (cx, instrumented) = wizer
        .instrument_component(bytes)
        .map_err(|e| format!("cannot instrument: {e}"))?;
    let component = Component::new(engine, &instrumented)
        .map_err(|e| format!("cannot compile the instrumented component: {e}"))?;
    let (_, export, _) = classify(engine, &component, "component").map_err(|e| e.to_string())?;
    let iface = component
        .get_export_index(None, &export)
        .ok_or_else(|| format!("export `{export}` not found"))?;
    let describe = component
        .get_export_index(Some(&iface), "describe")
        .ok_or_else(|| format!("`{export}` has no function `describe`"))?;
    let limits = Limits::default();
    let world = Answers::Live(World::new(
        Arc::new(crate::evidence::Dataset::empty()),
        "",
        0,
        "describe",
    ));
    let state = HostState::new(
        &limits,
        world,
        "preinit".to_string(),
        Arc::new(BTreeMap::new()),
    );
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    Sandbox::arm(&mut store, &limits).map_err(|e| e.to_string())?;
    let instance = linker
        .instantiate(&mut store, &component)
        .map_err(|e| format!("cannot instantiate: {e}"))?;
    let func = instance
        .get_func(&mut store, describe)
        .ok_or_else(|| "`describe` is not a function".to_string())?;
    let mut results = [wasmtime::component::Val::Bool(false)];
    func.call(&mut store, &[], &mut results)
        .map_err(|e| format!("`describe` failed: {e}"))?;
    let mut state = Snapshotting {
        store: &mut store,
        instance,
        error: None,
    };
    let snap = ready(wizer.snapshot_component(&cx, &mut state))?
        .map_err(|e| format!("cannot snapshot: {e}"))?;
    match state.error {
        Some(e) => Err(e),
        None => Ok(snap),
    }
}

/// Poll a future that never waits (every await below is on a future that
/// is ready at once) to its end.
fn ready<F: Future>(fut: F) -> Result<F::Output, String> {
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err("the snapshot did not complete synchronously".to_string()),
    }
}

/// Wizer's view of the instance: it reads memories and globals through
/// the accessor functions instrumentation added. The trait cannot fail, so
/// the first error is kept here and the snapshot discarded.
struct Snapshotting<'a> {
    store: &'a mut Store<HostState>,
    instance: Instance,
    error: Option<String>,
}

impl Snapshotting<'_> {
    fn call<R: Lift + 'static>(
        &mut self,
        instance: &str,
        func: &str,
        use_ret: impl FnOnce(&mut Store<HostState>, R),
    ) {
        if self.error.is_some() {
            return;
        }
        let result = (|| {
            let (_, iface) = self
                .instance
                .get_export(&mut *self.store, None, instance)
                .ok_or_else(|| format!("no export `{instance}`"))?;
            let (_, f) = self
                .instance
                .get_export(&mut *self.store, Some(&iface), func)
                .ok_or_else(|| format!("no export `{instance}#{func}`"))?;
            let f = self
                .instance
                .get_typed_func::<(), (R,)>(&mut *self.store, f)
                .map_err(|e| format!("`{instance}#{func}`: {e}"))?;
            let (r,) = f
                .call(&mut *self.store, ())
                .map_err(|e| format!("`{instance}#{func}`: {e}"))?;
            Ok::<R, String>(r)
        })();
        match result {
            Ok(r) => use_ret(self.store, r),
            Err(e) => self.error = Some(e),
        }
    }

    fn value<R: Lift + Default + Copy + 'static>(&mut self, instance: &str, func: &str) -> R {
        let mut out = R::default();
        self.call(instance, func, |_, r: R| out = r);
        out
    }
}

impl ComponentInstanceState for Snapshotting<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        let mut contents = Some(contents);
        self.call(instance, func, |store, list: WasmList<u8>| {
            if let Some(f) = contents.take() {
                f(list.as_le_slice(&*store));
            }
        });
        if let Some(f) = contents.take() {
            // The call failed (recorded in `error`): hand wizer an empty
            // memory; the snapshot is discarded anyway.
            f(&[]);
        }
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.value(instance, func)
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.value(instance, func)
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.value::<f32>(instance, func).to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.value::<f64>(instance, func).to_bits()
    }
}
