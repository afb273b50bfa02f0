//! Per-language figures for the same rules (the conformance suite's
//! `claims` pack in Rust, Python and JavaScript): component size, Cranelift
//! compile time, cached load time, instantiation time and per-call latency.
//! Prints a Markdown table (medians; p99 in brackets) for the README.
//!
//! `cargo bench -p gatehouse --bench lang` (after `scripts/lang-toolchains.sh`;
//! builds the guests first, unchanged Python/JS guests are not rebuilt).
//!
//! Instantiation is the median of a fresh-instance `validate` minus the
//! median of the same call on a reused instance.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use gatehouse::lang::Lang;
use gatehouse::packtest::CaseFile;
use gatehouse::{Answers, EngineOptions, Limits, Sandbox, World};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("tests/conformance");
    let rust = gatehouse::build::build_crates(
        &[dir.join("rust")],
        None,
        Some(&root.join("target/bench-guests/conformance")),
    )
    .expect("build the rust claims pack");
    let built = [
        ("Rust (wit-bindgen)", rust[0].clone()),
        (
            "Python (componentize-py 0.25.1)",
            gatehouse::lang::build_guest(&dir.join("python"), Lang::Python).expect("python"),
        ),
        (
            "JavaScript (componentize-js 0.23.0)",
            gatehouse::lang::build_guest(&dir.join("js"), Lang::Js).expect("js"),
        ),
    ];
    let cases = CaseFile::load(&dir.join("cases.json")).unwrap();
    let limits = Limits::default();
    let compiles = 3;
    let loads = 20;
    let rounds = 20;

    println!(
        "| language | component | compile (no cache) | cached load | instantiation | validate, fresh instance | validate, reused instance | WASI imports |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for (lang, b) in &built {
        let bytes = std::fs::read(&b.path).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(EngineOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            ..Default::default()
        })
        .unwrap();
        let mut compile: Vec<Duration> = (0..compiles)
            .map(|_| Duration::from_micros(sandbox.compile_only(&bytes).unwrap()))
            .collect();
        let manifest = b.manifest.clone().expect("a manifest");
        let pack = gatehouse::load_pack(&sandbox, &manifest).unwrap();
        let mut cached: Vec<Duration> = (0..loads)
            .map(|_| {
                let t = Instant::now();
                let g = sandbox.load(&bytes, "claims.wasm", None).unwrap();
                assert!(g.from_cache);
                t.elapsed()
            })
            .collect();
        let wasi = pack
            .imports
            .iter()
            .filter(|i| i.starts_with("wasi:"))
            .count();

        let mut fresh = Vec::new();
        let mut reused = Vec::new();
        for case in &cases.cases {
            let ctx = case.context.clone().unwrap();
            let mut config = pack.config().clone();
            config.extend(case.config.clone());
            let guest = pack.clone().with_config(config);
            let world = Answers::Live(World::new(
                Arc::new(gatehouse::Dataset::empty()),
                "EU",
                ctx.now,
                &ctx.run_id,
            ));
            for _ in 0..rounds {
                let t = Instant::now();
                let m = sandbox.validate(&guest, &case.action, &ctx, world.clone(), &limits);
                fresh.push(t.elapsed());
                assert!(m.result.is_ok());
            }
            let mut session = sandbox.session(&guest, world.clone(), &limits);
            session.validate(&case.action, &ctx).result.unwrap();
            for _ in 0..rounds {
                let t = Instant::now();
                let m = session.validate(&case.action, &ctx);
                reused.push(t.elapsed());
                assert!(m.result.is_ok());
            }
        }
        let (fresh_m, reused_m) = (percentile(&mut fresh, 0.5), percentile(&mut reused, 0.5));
        println!(
            "| {lang} | {:.2} MB | {:.0} ms | {:.1} ms | {:.0} µs | {:.0} µs (p99 {:.0}) | {:.0} µs (p99 {:.0}) | {wasi} |",
            bytes.len() as f64 / 1e6,
            ms(percentile(&mut compile, 0.5)),
            ms(percentile(&mut cached, 0.5)),
            us(fresh_m.saturating_sub(reused_m)),
            us(fresh_m),
            us(percentile(&mut fresh, 0.99)),
            us(reused_m),
            us(percentile(&mut reused, 0.99)),
        );
    }
    println!();
    println!(
        "{} cases x {rounds} rounds per language; compile: median of {compiles}; cached load: median of {loads}; wasmtime {}",
        cases.cases.len(),
        gatehouse::wasmtime_version()
    );
}
