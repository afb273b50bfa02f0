//! `gatehouse pack`: the pack author's toolkit.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use gatehouse::lang::Lang;
use gatehouse::{EngineOptions, Kind, Limits, PackManifest, Sandbox};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Pack subcommands.
#[derive(Subcommand)]
pub enum PackCommand {
    /// Scaffold a pack crate that builds and passes its tests out of the box.
    New {
        /// The pack's name (lowercase letters, digits, `-`).
        name: String,
        /// The language: rust, python or js.
        #[arg(long, default_value = "rust")]
        lang: String,
        /// Where to create it (default: ./<name>).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Path of the gatehouse guest SDK crate (default: the one this gatehouse was built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build the pack reproducibly; print its blake3.
    Build {
        /// The pack's directory (with Cargo.toml and pack.toml).
        dir: PathBuf,
    },
    /// Build, then run the pack's cases.json: pass/fail per case and coverage per rule.
    Test {
        /// The pack's directory.
        dir: PathBuf,
        /// Fail when fewer than this percentage of rules are covered both ways.
        #[arg(long, default_value_t = 0.0)]
        coverage_min: f64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Build, then publish the pack as name@version (from pack.toml).
    Publish {
        /// The pack's directory.
        dir: PathBuf,
    },
    /// Sign the pack's name@version (from pack.toml) with a secret key file.
    Sign {
        /// The pack's directory.
        dir: PathBuf,
        /// The secret key file.
        #[arg(long)]
        key: PathBuf,
    },
}

fn build(dir: &Path) -> Result<(gatehouse::build::Built, PathBuf)> {
    if !dir.join("pack.toml").exists() {
        bail!("`{}` has no pack.toml", dir.display());
    }
    let built = match Lang::detect(dir)? {
        Lang::Rust => gatehouse::build::build_crates(&[dir.to_path_buf()], None, None)?
            .into_iter()
            .next()
            .context("nothing built")?,
        lang => gatehouse::lang::build_guest(dir, lang)?,
    };
    let manifest = built.manifest.clone().context("no manifest written")?;
    println!(
        "{}  {:>9} bytes  {}",
        built.hash.to_hex(),
        built.size,
        built.path.display()
    );
    Ok((built, manifest))
}

fn manifest_id(dir: &Path) -> Result<(String, String)> {
    let m = PackManifest::load(&dir.join("pack.toml"))?;
    Ok((m.pack.name, m.pack.version))
}

/// Run a pack command.
pub fn execute(data_dir: &Path, command: PackCommand) -> Result<ExitCode> {
    match command {
        PackCommand::New {
            name,
            lang,
            dir,
            sdk,
        } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            match Lang::parse(&lang) {
                Some(Lang::Rust) => {}
                Some(lang) => {
                    let files = gatehouse::lang::scaffold(&dir, &name, lang, Kind::Policy)?;
                    for f in &files {
                        println!("created {}", f.display());
                    }
                    println!("next: gatehouse pack test {}", dir.display());
                    return Ok(ExitCode::SUCCESS);
                }
                None => bail!("`--lang {lang}`: use rust, python or js"),
            }
            let sdk = match sdk {
                Some(s) => s,
                None => std::fs::canonicalize(
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guest-sdk"),
                )
                .context("cannot find the guest SDK; pass --sdk")?,
            };
            let files = gatehouse::packtest::scaffold(&dir, &name, &sdk.display().to_string())?;
            for f in &files {
                println!("created {}", f.display());
            }
            println!("next: gatehouse pack test {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        PackCommand::Build { dir } => {
            build(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
        PackCommand::Test {
            dir,
            coverage_min,
            json,
        } => {
            let (_, manifest) = build(&dir)?;
            let sandbox = Sandbox::new(EngineOptions {
                cache_dir: crate::args::default_cache_dir(),
                ..Default::default()
            })?;
            let pack = gatehouse::load_pack(&sandbox, &manifest)?;
            let cases = gatehouse::packtest::CaseFile::load(&dir.join("cases.json"))?;
            let report =
                gatehouse::packtest::run_cases(&sandbox, &pack, &cases, &Limits::default());
            let coverage = report.coverage_percent();
            if json {
                crate::print::print_json(&report)?;
            } else {
                for c in &report.cases {
                    match &c.problem {
                        None => println!("pass  {}", c.name),
                        Some(p) => println!("FAIL  {}: {p}", c.name),
                    }
                }
                println!();
                println!(
                    "{:<40} {:>6} {:>10} {:>10} {:>7}",
                    "rule", "fired", "not fired", "precision", "recall"
                );
                for (rule, score) in &report.rules {
                    let c = report.coverage.get(rule).cloned().unwrap_or_default();
                    let mark = if c.covered() {
                        ""
                    } else {
                        "  <- not covered both ways"
                    };
                    println!(
                        "{rule:<40} {:>6} {:>10} {:>10} {:>7}{mark}",
                        c.fired,
                        c.not_fired,
                        ratio(score.precision()),
                        ratio(score.recall())
                    );
                }
                println!();
                println!("{:<40} {:>10} {:>7}", "decision", "precision", "recall");
                for (decision, score) in &report.decisions {
                    println!(
                        "{decision:<40} {:>10} {:>7}",
                        ratio(score.precision()),
                        ratio(score.recall())
                    );
                }
                println!();
                println!(
                    "{} case(s): {} passed, {} failed; coverage {coverage:.0}% of {} rule(s)",
                    report.cases.len(),
                    report.cases.len() - report.failed(),
                    report.failed(),
                    report.coverage.len()
                );
            }
            if report.failed() > 0 {
                return Ok(ExitCode::FAILURE);
            }
            if coverage + 1e-9 < coverage_min {
                eprintln!(
                    "gatehouse: coverage {coverage:.0}% is below --coverage-min {coverage_min}"
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        PackCommand::Publish { dir } => {
            let (built, _) = build(&dir)?;
            let (name, version) = manifest_id(&dir)?;
            super::registry::execute(
                data_dir,
                super::registry::RegistryCommand::Publish {
                    file: built.path,
                    name: Some(name),
                    version: Some(version),
                    kind: Some("policy-pack".into()),
                },
            )
        }
        PackCommand::Sign { dir, key } => {
            let (name, version) = manifest_id(&dir)?;
            super::registry::execute(
                data_dir,
                super::registry::RegistryCommand::Sign {
                    reference: format!("{name}@{version}"),
                    key,
                },
            )
        }
    }
}

/// A ratio as a percentage, or `-` when there was nothing to divide.
fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", 100.0 * r))
}
