//! Audit commands: verify, show, export; replay and backtest.

use crate::args::{AuditCommand, EXIT_FAIL_ON, ExportFormat, default_cache_dir};
use crate::auth;
use crate::print::{guest_label, print_json, print_report};
use anyhow::{Context, Result, bail};
use gatehouse_store::Query;
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn audit_command(data_dir: &Path, command: AuditCommand) -> Result<ExitCode> {
    if let AuditCommand::CheckReceipt { file, trust_key } = &command {
        // Offline: no data directory is opened.
        return check_receipt(file, trust_key);
    }
    let gh = auth::open(data_dir)?;
    match command {
        AuditCommand::CheckReceipt { .. } => Ok(ExitCode::SUCCESS),
        AuditCommand::Receipt { seq } => {
            print_json(&gh.receipt(seq)?)?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Prove { from } => {
            print_json(&gh.prove(from)?)?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Key => {
            let (public, origin) = gh.log_key()?;
            println!("{public}  {origin}");
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify { json } => {
            let result = match auth::witness() {
                Some(dir) => gh.verify_witnessed(dir)?,
                None => gh.verify()?,
            };
            if json {
                print_json(&match &result {
                    Ok(v) => {
                        serde_json::json!({"ok": true, "entries": v.entries, "checkpoints": v.checkpoints, "tree-heads": v.tree_heads, "root": v.root, "head": v.head})
                    }
                    Err(e) => serde_json::json!({"ok": false, "seq": e.seq, "reason": e.reason}),
                })?;
            }
            match result {
                Ok(v) => {
                    if !json {
                        println!(
                            "ok: {} entries, {} checkpoint signatures, head {}",
                            v.entries,
                            v.checkpoints,
                            v.head.as_deref().unwrap_or("(empty log)")
                        );
                        if v.witnessed > 0 {
                            println!("consistent with {} heads the witness holds", v.witnessed);
                        }
                        if let Some(root) = &v.root {
                            println!(
                                "{} signed tree heads; the newest covers every entry, Merkle root {root}",
                                v.tree_heads
                            );
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if !json {
                        println!("FAILED: {e}");
                    }
                    Ok(ExitCode::from(EXIT_FAIL_ON))
                }
            }
        }
        AuditCommand::Show { run_id, json } => {
            let entries = gh.run_entries(&run_id)?;
            if json {
                print_json(&entries)?;
                return Ok(ExitCode::SUCCESS);
            }
            for e in &entries {
                println!(
                    "entry {}  {}  at {} ms  hash {}",
                    e.seq,
                    e.kind,
                    e.at_ms,
                    &e.hash[..16]
                );
                if e.kind == gatehouse::audit::RUN {
                    let record = gatehouse::audit::parse_record(e)?;
                    print_report(&record.report, false)?;
                } else {
                    println!("  {}", e.body);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Query {
            run,
            action,
            agent,
            kinds,
            since,
            until,
            limit,
            json,
        } => {
            let entries = gh.query(&Query {
                run_id: run,
                action_id: action,
                agent,
                kinds,
                from_ms: since,
                until_ms: until,
                after_seq: 0,
                limit,
            })?;
            if json {
                print_json(&entries)?;
            } else {
                for e in &entries {
                    println!(
                        "entry {}  {}  at {} ms  run {}  hash {}",
                        e.seq,
                        e.kind,
                        e.at_ms,
                        e.run_id.as_deref().unwrap_or("-"),
                        &e.hash[..16]
                    );
                }
                println!("{} entries", entries.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { format, since } => {
            let format = match format {
                ExportFormat::Jsonl => gatehouse::ops::ExportFormat::Jsonl,
                ExportFormat::OtlpJson => gatehouse::ops::ExportFormat::OtlpJson,
            };
            gh.export(format, since, &mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `audit check-receipt`: a receipt, or a consistency proof, checked
/// against the pinned log key.
fn check_receipt(file: &Path, trust_key: &str) -> Result<ExitCode> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("`{}`", file.display()))?;
    let key = gatehouse::ops::parse_public_key(trust_key)?;
    // A run's JSON carries its receipt under `receipt`.
    let value = value.get("receipt").cloned().unwrap_or(value);
    let outcome = if value.get("proof").is_some() {
        let proof: gatehouse_store::ConsistencyProof = serde_json::from_value(value)
            .with_context(|| format!("`{}`: not a consistency proof", file.display()))?;
        gatehouse::ops::check_consistency(&proof, &key).map(|(a, b)| {
            format!(
                "ok: the log of {} entries extends the log of {} ({})",
                b.size, a.size, b.origin
            )
        })
    } else {
        let receipt: gatehouse_store::SignedReceipt = serde_json::from_value(value)
            .with_context(|| format!("`{}`: not a receipt", file.display()))?;
        gatehouse::ops::check_receipt(&receipt, &key).map(|h| {
            format!(
                "ok: entry {} is in the log of {} entries signed by {} (root {})",
                receipt.entry.seq, h.size, h.origin, h.root
            )
        })
    };
    match outcome {
        Ok(line) => {
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAILED: {e}");
            Ok(ExitCode::from(EXIT_FAIL_ON))
        }
    }
}

pub(crate) fn replay_command(
    data_dir: &Path,
    run_id: Option<String>,
    all: bool,
    since: Option<i64>,
    json: bool,
) -> Result<ExitCode> {
    if run_id.is_none() && !all {
        bail!("name a run id, or use --all");
    }
    let gh = auth::open(data_dir)?.with_cache_dir(default_cache_dir());
    let sandbox = gh.sandbox()?;
    let replayed = gh.replay(&sandbox, run_id.as_deref(), since)?;
    if !json {
        for r in &replayed {
            let o = &r.outcome;
            match &o.divergence {
                None => println!(
                    "run `{}` (entry {}): identical  [recorded {:.2} ms, replayed {:.2} ms]",
                    o.run_id,
                    r.seq,
                    o.original_us as f64 / 1000.0,
                    o.replay_us as f64 / 1000.0
                ),
                Some(d) => println!("run `{}` (entry {}): DIVERGED: {d}", o.run_id, r.seq),
            }
        }
    }
    let diverged = replayed.iter().filter(|r| !r.outcome.identical()).count();
    if json {
        let outcomes: Vec<_> = replayed.iter().map(|r| &r.outcome).collect();
        print_json(&outcomes)?;
    } else if replayed.len() > 1 || all {
        println!(
            "{} run(s) replayed: {} identical, {} diverged",
            replayed.len(),
            replayed.len() - diverged,
            diverged
        );
    }
    Ok(if diverged > 0 {
        ExitCode::from(EXIT_FAIL_ON)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn backtest_command(
    data_dir: &Path,
    candidate: &str,
    since: Option<i64>,
    json: bool,
) -> Result<ExitCode> {
    let gh = auth::open(data_dir)?.with_cache_dir(default_cache_dir());
    let sandbox = gh.sandbox()?;
    let (candidate, backtest) = gh.backtest(&sandbox, candidate, since)?;
    if json {
        print_json(&backtest)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "backtest of {} over {} run(s), {} action(s): {} decision(s) would change",
        guest_label(&candidate),
        backtest.runs,
        backtest.actions,
        backtest.changed
    );
    for (t, n) in &backtest.transitions {
        println!("  {t}: {n}");
    }
    for (rule, (added, removed)) in &backtest.rules {
        println!("  {rule}: fires in {added} more, {removed} fewer");
    }
    for e in &backtest.examples {
        println!(
            "  e.g. {} / {}: {} -> {} (+[{}] -[{}])",
            e.run_id,
            e.action_id,
            e.before,
            e.after,
            e.rules_added.join(", "),
            e.rules_removed.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
