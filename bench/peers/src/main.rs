//! The brand-safety benchmark: every engine on the same 1,000 actions in
//! one process run (see `bench/brand-safety/data/RULES.md`).
//!
//! `scripts/bench.sh` builds and runs it; `scripts/bench.sh --smoke`
//! checks a few actions per engine without timing anything; `--only NAME`
//! runs the engines whose name contains NAME; `--no-preinit` runs
//! gatehouse without pre-initialisation (to see what it saves).
//!
//! Each engine first judges all actions (the smoke mode: the first
//! [`SMOKE_ACTIONS`]); an engine with any verdict or rule id other than
//! `expected.jsonl` is reported and not timed, and the run fails. Then per
//! engine: the latency of each decision (median, p99) on one thread, and
//! decisions per second on one and on two threads. Inputs are converted to
//! each engine's own form before timing.

mod cedar;
mod data;
mod engines;
#[cfg(feature = "extism")]
mod extism_peer;
mod rego;

use anyhow::{Context, Result, bail};
use data::{Decision, Record};
use engines::Factory;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Actions per engine in the smoke mode.
const SMOKE_ACTIONS: usize = 40;
/// Time spent measuring latency per engine (at least one round of all
/// actions is always measured).
const LATENCY_BUDGET: Duration = Duration::from_secs(3);
/// Time spent measuring throughput per engine and thread count.
const THROUGHPUT_BUDGET: Duration = Duration::from_millis(1500);

/// One row of the table.
struct Row {
    engine: String,
    note: String,
    median_us: f64,
    p99_us: f64,
    per_sec_1: f64,
    per_sec_2: f64,
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool> {
    let mut smoke = false;
    let mut only: Option<String> = None;
    let mut preinit = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--smoke" => smoke = true,
            "--only" => only = args.next(),
            "--no-preinit" => preinit = false,
            other => bail!("unknown argument `{other}` (use --smoke, --only NAME, --no-preinit)"),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().context("the repository root")?;
    let (records, expected) = data::load(&root.join("bench/brand-safety/data"))?;
    let n = if smoke { SMOKE_ACTIONS } else { records.len() };
    let (records, expected) = (&records[..n], &expected[..n]);

    let setup = engines::Setup::new(&root, preinit)?;
    let mut rows = Vec::new();
    let mut ok = true;
    for factory in setup.factories()? {
        if only.as_deref().is_some_and(|o| !factory.name.contains(o)) {
            continue;
        }
        match check(&factory, records, expected) {
            Ok(()) => println!("{:<34} {n} verdicts match", factory.name),
            Err(e) => {
                println!("{:<34} NOT TIMED: {e:#}", factory.name);
                ok = false;
                continue;
            }
        }
        if !smoke {
            rows.push(measure(&factory, records)?);
        }
    }
    #[cfg(not(feature = "extism"))]
    println!("extism: not in this build (built without the `extism` feature)");
    if smoke {
        println!(
            "smoke: {} ({n} actions per engine, no timing)",
            if ok { "ok" } else { "FAILED" }
        );
        return Ok(ok);
    }
    let pack = setup.pack_figures()?;
    report(&root, &rows, &pack)?;
    Ok(ok)
}

/// Every verdict and rule id as expected, or the first difference.
fn check(factory: &Factory, records: &[Record], expected: &[Decision]) -> Result<()> {
    let mut engine = (factory.make)()?;
    engine.prepare(records)?;
    let mut wrong = 0;
    let mut first = None;
    for (i, want) in expected.iter().enumerate() {
        let got = engine.decide(i)?;
        if &got != want {
            wrong += 1;
            first.get_or_insert((i, got));
        }
    }
    match first {
        None => Ok(()),
        Some((i, got)) => bail!(
            "{wrong} of {} verdicts differ; first: action {} gave {got}, expected {}",
            expected.len(),
            i + 1,
            expected[i]
        ),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(i)
        .map(|d| d.as_secs_f64() * 1e6)
        .unwrap_or(f64::NAN)
}

fn measure(factory: &Factory, records: &[Record]) -> Result<Row> {
    // Latency: one thread, each decision timed on its own.
    let mut engine = (factory.make)()?;
    engine.prepare(records)?;
    let mut samples = Vec::with_capacity(records.len() * 8);
    let started = Instant::now();
    while samples.is_empty() || started.elapsed() < LATENCY_BUDGET {
        for i in 0..records.len() {
            let t = Instant::now();
            let d = engine.decide(i)?;
            samples.push(t.elapsed());
            std::hint::black_box(d);
        }
    }
    samples.sort_unstable();
    drop(engine);
    let per_sec_1 = throughput(factory, records, 1)?;
    let per_sec_2 = throughput(factory, records, 2)?;
    Ok(Row {
        engine: factory.name.clone(),
        note: factory.note.clone(),
        median_us: percentile(&samples, 0.5),
        p99_us: percentile(&samples, 0.99),
        per_sec_1,
        per_sec_2,
    })
}

/// Decisions per second with `threads` threads, each with its own engine
/// judging all actions in rounds until the budget is spent.
fn throughput(factory: &Factory, records: &[Record], threads: usize) -> Result<f64> {
    let start = std::sync::Barrier::new(threads);
    let results: Vec<Result<(usize, Duration)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<(usize, Duration)> {
                    let mut engine = (factory.make)()?;
                    engine.prepare(records)?;
                    start.wait();
                    let t = Instant::now();
                    let mut done = 0;
                    while done == 0 || t.elapsed() < THROUGHPUT_BUDGET {
                        for i in 0..records.len() {
                            std::hint::black_box(engine.decide(i)?);
                        }
                        done += records.len();
                    }
                    Ok((done, t.elapsed()))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a thread panicked")))
            })
            .collect()
    });
    let mut total = 0.0;
    for r in results {
        let (done, elapsed) = r?;
        total += done as f64 / elapsed.as_secs_f64();
    }
    Ok(total)
}

fn report(root: &Path, rows: &[Row], pack: &engines::PackFigures) -> Result<()> {
    let native = rows
        .iter()
        .find(|r| r.engine == engines::NATIVE)
        .map(|r| r.median_us);
    println!();
    println!(
        "| engine | median µs | p99 µs | decisions/s, 1 thread | decisions/s, 2 threads | median / native |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut json_rows = Vec::new();
    for r in rows {
        let ratio = native.map(|n| r.median_us / n);
        let name = if r.note.is_empty() {
            r.engine.clone()
        } else {
            format!("{} ({})", r.engine, r.note)
        };
        println!(
            "| {name} | {:.2} | {:.2} | {:.0} | {:.0} | {} |",
            r.median_us,
            r.p99_us,
            r.per_sec_1,
            r.per_sec_2,
            ratio.map(|x| format!("{x:.2}×")).unwrap_or_default()
        );
        json_rows.push(json!({
            "engine": r.engine, "note": r.note,
            "median_us": r.median_us, "p99_us": r.p99_us,
            "decisions_per_sec_1_thread": r.per_sec_1,
            "decisions_per_sec_2_threads": r.per_sec_2,
            "ratio_to_native": ratio,
        }));
    }
    println!();
    println!(
        "gatehouse pack: component {} bytes ({} pre-initialised), compile {:.1} ms (with pre-initialisation {:.1} ms), cached load {:.3} ms (median of {})",
        pack.size,
        pack.preinit_size,
        pack.compile_ms,
        pack.compile_preinit_ms,
        pack.cached_load_ms,
        pack.cached_loads
    );
    let by = |name: &str| rows.iter().find(|r| r.engine == name).map(|r| r.median_us);
    let targets = [
        (
            "fresh instance ≤ 3× native",
            engines::FRESH,
            engines::NATIVE,
            3.0,
            false,
        ),
        (
            "reused instance ≤ 2× native",
            engines::REUSED,
            engines::NATIVE,
            2.0,
            false,
        ),
        (
            "≥ 5× faster than regorus RVM",
            engines::REGO_RVM,
            engines::FRESH,
            5.0,
            true,
        ),
        (
            "≥ 20× faster than regorus interpreter",
            engines::REGO,
            engines::FRESH,
            20.0,
            true,
        ),
        (
            "≥ 25× faster than Cedar",
            engines::CEDAR,
            engines::FRESH,
            25.0,
            true,
        ),
        (
            "≥ 15× faster than Extism (reused plug-in)",
            engines::EXTISM,
            engines::REUSED,
            15.0,
            true,
        ),
    ];
    let mut json_targets = Vec::new();
    println!();
    for (what, a, b, bound, faster) in targets {
        if let (Some(x), Some(y)) = (by(a), by(b)) {
            let ratio = x / y;
            let met = if faster {
                ratio >= bound
            } else {
                ratio <= bound
            };
            let how = if faster {
                format!("{a} / {b} = {ratio:.1}×")
            } else {
                format!("{a} / {b} = {ratio:.2}×")
            };
            println!(
                "target {what}: {how}: {}",
                if met { "met" } else { "MISSED" }
            );
            json_targets.push(json!({"target": what, "ratio": ratio, "met": met}));
        }
    }
    let cached_met = pack.cached_load_ms <= 1.0;
    println!(
        "target cached Rust pack load ≤ 1 ms: {:.3} ms: {}",
        pack.cached_load_ms,
        if cached_met { "met" } else { "MISSED" }
    );
    json_targets.push(json!({"target": "cached Rust pack load ≤ 1 ms", "ms": pack.cached_load_ms, "met": cached_met}));
    let out: PathBuf = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let path = out.join("brand-safety.json");
    let doc = json!({
        "benchmark": "brand-safety",
        "actions": 1000,
        "threads_available": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "wasmtime": gatehouse::wasmtime_version(),
        "engines": json_rows,
        "pack": {
            "component_bytes": pack.size,
            "preinitialized_bytes": pack.preinit_size,
            "compile_ms": pack.compile_ms,
            "compile_with_preinit_ms": pack.compile_preinit_ms,
            "cached_load_ms": pack.cached_load_ms,
        },
        "targets": json_targets,
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&doc)?)?;
    println!("written: {}", path.display());
    Ok(())
}
