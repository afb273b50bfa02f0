//! What the command line prints: reports, decisions, components.

use crate::args::Common;
use anyhow::Result;
use gatehouse::pipeline::{Outcome, RunReport};
use gatehouse::{Action, Describe, Guest, Kind, Metering};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

pub(crate) fn inspect(path: &Path, common: &Common) -> Result<ExitCode> {
    let sandbox = common.sandbox()?;
    let guest = sandbox.load_file(path, None)?;
    let package = guest.export.split_once('/').map(|(p, rest)| {
        let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
        format!("{p}@{version}")
    });
    let functions = match guest.kind {
        Kind::Skill => "describe, act",
        Kind::Policy => "describe, validate",
    };
    if common.json {
        print_json(&serde_json::json!({
            "file": path,
            "blake3": guest.hash.to_hex().to_string(),
            "size": guest.size,
            "world": guest.kind,
            "package": package,
            "imports": guest.imports,
            "exports": [guest.export],
            "describe": guest.describe,
            "from-cache": guest.from_cache,
            "load-us": guest.load_us,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("file:     {}", path.display());
    println!("blake3:   {}", guest.hash.to_hex());
    println!("size:     {} bytes", guest.size);
    println!("world:    {}", guest.kind);
    println!("package:  {}", package.unwrap_or_default());
    println!(
        "imports:  {}",
        if guest.imports.is_empty() {
            "none".to_string()
        } else {
            guest.imports.join(", ")
        }
    );
    println!("exports:  {} ({functions})", guest.export);
    match &guest.describe {
        Describe::Policy(p) => {
            println!(
                "pack:     {} {} ({})",
                p.name,
                p.version,
                p.sdk.as_deref().unwrap_or("no sdk marker")
            );
            println!("rules:");
            for r in &p.rules {
                println!(
                    "  {:<28} {:<8} {}{}",
                    r.id,
                    format!("{:?}", r.severity).to_lowercase(),
                    r.description,
                    r.citation
                        .as_deref()
                        .map(|c| format!(" [{c}]"))
                        .unwrap_or_default()
                );
            }
        }
        Describe::Skill(s) => println!(
            "skill:    {} {} ({})",
            s.name,
            s.version,
            s.sdk.as_deref().unwrap_or("no sdk marker")
        ),
    }
    let how = if guest.from_cache {
        "loaded from cache"
    } else {
        "compiled"
    };
    println!("load:     {how} in {:.2} ms", guest.load_us as f64 / 1000.0);
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn guest_label(g: &Guest) -> String {
    let (name, version) = match &g.describe {
        Describe::Policy(p) => (&p.name, &p.version),
        Describe::Skill(s) => (&s.name, &s.version),
    };
    format!("{name}@{version} ({}…)", &g.hash.to_hex()[..12])
}

pub(crate) fn meter(m: &Metering) -> String {
    format!(
        "fuel {}  mem {:.1} MiB  {:.2} ms  {} host calls",
        m.fuel_used,
        m.peak_memory_bytes as f64 / (1 << 20) as f64,
        m.duration_us as f64 / 1000.0,
        m.host_calls.len()
    )
}

pub(crate) fn action_line(a: &Action) -> String {
    use gatehouse::ActionKind as K;
    let what = match &a.kind {
        K::Email(e) => format!(
            "email to {} <{}>: \"{}\"",
            e.to.contact_id, e.to.address, e.subject
        ),
        K::Sms(s) => format!(
            "sms to {} <{}>: \"{}\"",
            s.to.contact_id, s.to.address, s.body
        ),
        K::AdBudget(b) => format!(
            "ad budget {} {}: {:.2} -> {:.2} {}/day",
            b.platform,
            b.campaign_id,
            b.current_daily_micros as f64 / 1e6,
            b.proposed_daily_micros as f64 / 1e6,
            b.currency
        ),
        K::Audience(u) => format!(
            "audience {:?} {} on {} ({} contacts)",
            u.operation,
            u.audience_id,
            u.platform,
            u.contact_ids.len()
        ),
        K::Generic(g) => format!("{} {}", g.kind, g.payload_json),
    };
    format!("  {}  {what}", a.id)
}

/// A judged run, then the entry that records it.
pub(crate) fn print_judged(
    judged: &gatehouse::ops::Judged,
    receipt: Option<&gatehouse_store::SignedReceipt>,
    json: bool,
) -> Result<()> {
    if json {
        // The report, with the receipt of the entry that records it.
        let mut value = serde_json::to_value(&judged.report)?;
        if let (Some(map), Some(r)) = (value.as_object_mut(), receipt) {
            map.insert("receipt".into(), serde_json::to_value(r)?);
        }
        return print_json(&value);
    }
    print_report(&judged.report, false)?;
    println!(
        "recorded: audit entry {} (run `{}`)",
        judged.receipt.seq, judged.report.context.run_id
    );
    Ok(())
}

pub(crate) fn print_report(report: &RunReport, json: bool) -> Result<()> {
    if json {
        return print_json(report);
    }
    if let Some(act) = &report.act {
        let s = &act.skill;
        let head = format!("skill {}@{} ({}…)", s.name, s.version, &s.hash[..12]);
        match (&act.error, &act.skill_error) {
            (Some(e), _) => println!("{head} FAILED: {e}  [{}]", meter(&act.metering)),
            (None, Some(e)) => {
                println!("{head} proposed nothing: {e:?}  [{}]", meter(&act.metering))
            }
            (None, None) => println!(
                "{head} proposed {} action(s)  [{}]",
                act.proposed.len(),
                meter(&act.metering)
            ),
        }
    }
    for p in &report.packs {
        println!("pack  {}@{} ({}…)", p.name, p.version, &p.hash[..12]);
    }
    let mut counts = [0usize; 4];
    for d in &report.decisions {
        counts[d.outcome as usize] += 1;
        println!();
        println!("{}", action_line(&d.action).trim_start());
        let tag = if d.fail_closed { " (fail closed)" } else { "" };
        println!("  => {}{tag}", d.outcome.to_string().to_uppercase());
        for f in &d.findings {
            let at = f
                .location
                .as_ref()
                .map(|s| format!(" [{} {}..{} \"{}\"]", s.field, s.start, s.end, s.excerpt))
                .unwrap_or_default();
            let cited = f
                .citation
                .as_deref()
                .map(|c| format!(" under {c}"))
                .unwrap_or_default();
            println!(
                "     {} ({}){cited}{at}: {}",
                f.rule,
                format!("{:?}", f.severity).to_lowercase(),
                f.message
            );
            if let Some(fix) = &f.fix {
                // A fix is applied only when the decision is to modify.
                let applied = if d.outcome == Outcome::Modify {
                    ""
                } else {
                    " (not applied: the action is not sent as proposed)"
                };
                println!("       fix{applied}: {fix}");
            }
        }
        for f in d.governance.iter().flat_map(|g| &g.findings) {
            println!(
                "     {} ({}): {}",
                f.rule,
                format!("{:?}", f.severity).to_lowercase(),
                f.message
            );
        }
        if let Some(fa) = &d.final_action {
            for line in describe_change(&d.action, fa) {
                println!("     changed: {line}");
            }
        }
        for r in &d.packs {
            let what = match (&r.verdict, &r.error) {
                (Some(v), _) => v.name().to_string(),
                (None, Some(e)) => format!("error: {e}"),
                (None, None) => "-".to_string(),
            };
            println!(
                "     · {} round {}: {what}  [{}]",
                r.pack.name,
                r.round,
                meter(&r.metering)
            );
        }
    }
    println!();
    println!(
        "{} decision(s): {} allow, {} modify, {} escalate, {} deny",
        report.decisions.len(),
        counts[Outcome::Allow as usize],
        counts[Outcome::Modify as usize],
        counts[Outcome::Escalate as usize],
        counts[Outcome::Deny as usize]
    );
    Ok(())
}

pub(crate) fn describe_change(before: &Action, after: &Action) -> Vec<String> {
    use gatehouse::ActionKind as K;
    let mut out = Vec::new();
    let texts = |a: &Action| match &a.kind {
        K::Email(e) => Some((
            Some(e.subject.clone()),
            e.body.clone(),
            e.unsubscribe.clone(),
            e.send_at,
        )),
        K::Sms(s) => Some((None, s.body.clone(), None, s.send_at)),
        _ => None,
    };
    match (texts(before), texts(after)) {
        (Some((s0, b0, u0, t0)), Some((s1, b1, u1, t1))) => {
            if s0 != s1 {
                out.push(format!(
                    "subject \"{}\" -> \"{}\"",
                    s0.unwrap_or_default(),
                    s1.unwrap_or_default()
                ));
            }
            if b0 != b1 {
                match b1.strip_prefix(b0.as_str()) {
                    Some(added) => out.push(format!("body: appended {:?}", added.trim())),
                    None => out.push(format!("body ({} -> {} bytes)", b0.len(), b1.len())),
                }
            }
            if u0 != u1 {
                out.push(format!("unsubscribe {u0:?} -> {u1:?}"));
            }
            if t0 != t1 {
                let at = |t: Option<i64>| {
                    t.map_or_else(|| "now".to_string(), gatehouse_zone::format_instant)
                };
                out.push(format!("send-at {} -> {}", at(t0), at(t1)));
            }
        }
        _ if before.kind != after.kind => out.push(format!("{} content", after.kind.name())),
        _ => {}
    }
    out
}
