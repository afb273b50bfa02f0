//! Sandbox costs, measured side by side in one process:
//! compile vs cached load of the brand pack, and the latency of one
//! `validate` decision with a fresh instance per decision vs a reused
//! instance. Prints medians, p99 and ratios.
//!
//! `cargo bench -p gatehouse --bench sandbox` (builds the guests first).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use gatehouse::{Action, Answers, EngineOptions, Limits, Sandbox, World};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = root.join("target/bench-guests");
    let built = gatehouse::build::build_crates(
        &[
            root.join("policies/brand"),
            root.join("examples/email-outreach"),
        ],
        None,
        Some(&out),
    )
    .expect("build the brand pack");
    let manifest = built[0].manifest.clone().expect("brand manifest");
    let bytes = std::fs::read(&built[0].path).unwrap();

    let cache = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new(EngineOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();

    // Compile (no cache) vs load from the compiled cache.
    let mut compile: Vec<Duration> = (0..10)
        .map(|_| Duration::from_micros(sandbox.compile_only(&bytes).unwrap()))
        .collect();
    gatehouse::load_pack(&sandbox, &manifest).unwrap();
    let mut cached: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let g = sandbox.load(&bytes, "brand.wasm", None).unwrap();
            assert!(g.from_cache);
            t.elapsed()
        })
        .collect();

    // Decisions on the sample actions.
    let pack = gatehouse::load_pack(&sandbox, &manifest).unwrap();
    let text = std::fs::read_to_string(root.join("examples/data/actions.jsonl")).unwrap();
    let actions: Vec<Action> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ctx: gatehouse::RunContext = serde_json::from_str(
        &std::fs::read_to_string(root.join("examples/data/context.json")).unwrap(),
    )
    .unwrap();
    let world = Answers::Live(World::new(
        Arc::new(gatehouse::Dataset::empty()),
        &ctx.partition,
        ctx.now,
        &ctx.run_id,
    ));
    let limits = Limits::default();
    let rounds = 500;

    let mut fresh = Vec::with_capacity(rounds * actions.len());
    for _ in 0..rounds {
        for a in &actions {
            let t = Instant::now();
            let m = sandbox.validate(&pack, a, &ctx, world.clone(), &limits);
            fresh.push(t.elapsed());
            assert!(m.result.is_ok());
        }
    }
    let mut session = sandbox.session(&pack, world.clone(), &limits);
    let mut reused = Vec::with_capacity(rounds * actions.len());
    for _ in 0..rounds {
        for a in &actions {
            let t = Instant::now();
            let m = session.validate(a, &ctx);
            reused.push(t.elapsed());
            assert!(m.result.is_ok());
        }
    }

    let rows = [
        (
            "compile brand pack (no cache)",
            percentile(&mut compile, 0.5),
            percentile(&mut compile, 0.99),
        ),
        (
            "load brand pack from cache",
            percentile(&mut cached, 0.5),
            percentile(&mut cached, 0.99),
        ),
        (
            "validate, fresh instance per decision",
            percentile(&mut fresh, 0.5),
            percentile(&mut fresh, 0.99),
        ),
        (
            "validate, reused instance",
            percentile(&mut reused, 0.5),
            percentile(&mut reused, 0.99),
        ),
    ];
    println!(
        "brand pack: {} bytes, blake3 {}",
        bytes.len(),
        built[0].hash.to_hex()
    );
    println!("{:<40} {:>12} {:>12}", "measure", "median µs", "p99 µs");
    for (name, median, p99) in &rows {
        println!("{name:<40} {:>12.1} {:>12.1}", us(*median), us(*p99));
    }
    // A whole run (skill + brand pack), live vs replayed from its record.
    let skill = sandbox
        .load_file(&built[1].path, Some(gatehouse::Kind::Skill))
        .unwrap();
    let data = Arc::new(gatehouse::Dataset::load(&root.join("examples/data/crm.json")).unwrap());
    let senders =
        Arc::new(gatehouse::Senders::load(&root.join("examples/data/senders.toml")).unwrap());
    let env = gatehouse::pipeline::Live::new(&ctx, data, senders.clone());
    let packs = std::slice::from_ref(&pack);
    let mut live = Vec::new();
    let mut replayed = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let report = gatehouse::pipeline::run(&sandbox, &skill, packs, &ctx, &env, &limits);
        live.push(t.elapsed());
        let record = gatehouse::replay::RunRecord::new(report, limits.clone());
        let t = Instant::now();
        let outcome = gatehouse::replay::replay(&sandbox, Some(&skill), packs, &record);
        replayed.push(t.elapsed());
        assert!(outcome.identical());
    }
    // The same run governed: kill switch, partition, evidence, a frequency
    // cap and a budget (reserve + commit: durable SQLite transactions).
    let store_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(gatehouse_store::Store::open(store_dir.path()).unwrap());
    let config = gatehouse::govern::GovernanceConfig::parse(
        "schema = 1\n[agent.\"*\"]\nemail-per-contact = { max = 1000000, window-days = 7 }\nspend-per-day-micros = 1000000000000\n",
    )
    .unwrap();
    let mut governed = Vec::new();
    let mut governed_actions = 0;
    for _ in 0..200 {
        let env = gatehouse::pipeline::Live::new(
            &ctx,
            Arc::new(gatehouse::Dataset::load(&root.join("examples/data/crm.json")).unwrap()),
            senders.clone(),
        )
        .governed(gatehouse::govern::Governor::new(
            store.clone(),
            config.clone(),
            "bench",
        ));
        let t = Instant::now();
        let report = gatehouse::pipeline::run(&sandbox, &skill, packs, &ctx, &env, &limits);
        governed.push(t.elapsed());
        governed_actions = report
            .decisions
            .iter()
            .filter(|d| d.governance.is_some())
            .count();
        assert!(governed_actions > 0);
    }
    let governed_m = percentile(&mut governed, 0.5);
    let (live_m, replay_m) = (percentile(&mut live, 0.5), percentile(&mut replayed, 0.5));
    println!(
        "{:<40} {:>12.1} {:>12.1}",
        "sample run, live (act + 6 actions)",
        us(live_m),
        us(percentile(&mut live, 0.99))
    );
    println!(
        "{:<40} {:>12.1} {:>12.1}",
        "sample run, replayed and compared",
        us(replay_m),
        us(percentile(&mut replayed, 0.99))
    );
    println!(
        "compile / cached load: {:.0}x",
        us(rows[0].1) / us(rows[1].1)
    );
    println!(
        "{:<40} {:>12.1} {:>12.1}",
        "sample run, governed",
        us(governed_m),
        us(percentile(&mut governed, 0.99))
    );
    println!("replay / live run: {:.2}x", us(replay_m) / us(live_m));
    println!(
        "governance per governed action: {:.1} µs",
        (us(governed_m) - us(live_m)) / governed_actions as f64
    );
    println!(
        "fresh / reused decision: {:.2}x",
        us(rows[2].1) / us(rows[3].1)
    );
}
