//! Extism 1.30 (with its own wasmtime 43): the rules in a plug-in built
//! with extism-pdk; JSON in, JSON out.

use crate::data::{Decision, Record};
use crate::engines::Engine;
use anyhow::{Context, Result, anyhow, bail};
use extism::{CompiledPlugin, Manifest, Plugin, PluginBuilder, Wasm};
use std::borrow::Cow;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// Build the plug-in for wasm32-unknown-unknown; returns its bytes.
pub fn build(root: &Path) -> Result<Vec<u8>> {
    let manifest = root.join("bench/peers/Cargo.toml");
    let target = root.join("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .args(["-p", "brand-safety-extism", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .env_remove("RUSTFLAGS")
        .status()
        .context("starting cargo for the Extism plug-in")?;
    if !status.success() {
        bail!("building the Extism plug-in failed");
    }
    let path = target.join("wasm32-unknown-unknown/release/brand_safety_extism.wasm");
    std::fs::read(&path).with_context(|| format!("{}", path.display()))
}

fn builder(wasm: &[u8]) -> PluginBuilder<'static> {
    PluginBuilder::new(Manifest::new([Wasm::data(wasm.to_vec())])).with_wasi(false)
}

/// The plug-in compiled once.
pub struct Compiled {
    wasm: Vec<u8>,
    compiled: CompiledPlugin,
}

impl Compiled {
    pub fn new(wasm: &[u8]) -> Result<Self> {
        let compiled = CompiledPlugin::new(builder(wasm)).map_err(|e| anyhow!("extism: {e}"))?;
        Ok(Self {
            wasm: wasm.to_vec(),
            compiled,
        })
    }

    /// One plug-in serving every decision.
    pub fn reused(&self) -> Result<Reused> {
        let plugin = builder(&self.wasm)
            .build()
            .map_err(|e| anyhow!("extism: {e}"))?;
        Ok(Reused {
            plugin,
            inputs: Vec::new(),
        })
    }

    /// A new plug-in instance (from the compiled plug-in) per decision.
    pub fn fresh(self: &Arc<Self>) -> Fresh {
        Fresh {
            compiled: self.clone(),
            inputs: Vec::new(),
        }
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    verdict: String,
    rules: Vec<String>,
}

fn call(plugin: &mut Plugin, input: &[u8]) -> Result<Decision> {
    let out: &[u8] = plugin
        .call("validate", input)
        .map_err(|e| anyhow!("extism: {e}"))?;
    let a: Answer = serde_json::from_slice(out)?;
    Decision::named(&a.verdict, a.rules.into_iter().map(Cow::Owned).collect())
}

fn inputs(records: &[Record]) -> Result<Vec<Vec<u8>>> {
    records.iter().map(|r| Ok(serde_json::to_vec(r)?)).collect()
}

/// A reused plug-in.
pub struct Reused {
    plugin: Plugin,
    inputs: Vec<Vec<u8>>,
}

impl Engine for Reused {
    fn prepare(&mut self, records: &[Record]) -> Result<()> {
        self.inputs = inputs(records)?;
        Ok(())
    }

    fn decide(&mut self, i: usize) -> Result<Decision> {
        call(&mut self.plugin, &self.inputs[i])
    }
}

/// A fresh plug-in per decision.
pub struct Fresh {
    compiled: Arc<Compiled>,
    inputs: Vec<Vec<u8>>,
}

impl Engine for Fresh {
    fn prepare(&mut self, records: &[Record]) -> Result<()> {
        self.inputs = inputs(records)?;
        Ok(())
    }

    fn decide(&mut self, i: usize) -> Result<Decision> {
        let mut plugin = Plugin::new_from_compiled(&self.compiled.compiled)
            .map_err(|e| anyhow!("extism: {e}"))?;
        call(&mut plugin, &self.inputs[i])
    }
}
