//! The host's side of the audit log: what a run writes, how an auditor
//! finds it again, replays it, and exports it.

use crate::replay::RunRecord;
use gatehouse_sandbox::{Guest, Kind, Sandbox};
use gatehouse_store::{AuditLog, Entry, Hash, NewEntry, Receipt, Store};
use serde::{Deserialize, Serialize};

/// Entry kind of a run record.
pub const RUN: &str = "run";
/// Entry kind of an outcome.
pub const OUTCOME: &str = "outcome";

/// An audit operation of the host failed.
#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    /// The audit log or the store failed.
    #[error(transparent)]
    Audit(#[from] gatehouse_store::AuditError),
    /// A blob could not be stored or read.
    #[error("blob `{hash}`: {reason}")]
    Blob {
        /// The blob's hash.
        hash: String,
        /// What went wrong.
        reason: String,
    },
    /// No run of that id is recorded.
    #[error("no run `{0}` in the audit log")]
    NoSuchRun(String),
    /// No recorded run proposed that action.
    #[error("no recorded run has an action `{0}`")]
    NoSuchAction(String),
    /// A run entry does not hold a run record this host can read.
    #[error("audit entry {seq}: not a run record this host can read: {reason}")]
    BadRecord {
        /// The entry.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// A recorded component could not be loaded.
    #[error("component {hash}: {reason}")]
    Component {
        /// Its hash.
        hash: String,
        /// Why.
        reason: String,
    },
}

/// Store the components' bytes and append the run record; returns once
/// the entry is durable.
pub fn record_run(
    log: &AuditLog,
    record: &RunRecord,
    components: &[&Guest],
    at_ms: i64,
) -> Result<Receipt, TrailError> {
    let store = log.store();
    let holder = format!("audit run {}", record.report.context.run_id);
    for guest in components {
        let config = guest.config_blob();
        for bytes in std::iter::once(guest.bytes()).chain(config.as_deref()) {
            let hash = Hash::of(bytes);
            let blob_err = |e: gatehouse_store::BlobError| TrailError::Blob {
                hash: hash.to_string(),
                reason: e.to_string(),
            };
            // Reference first, so no collection can run between put and ref.
            store.add_blob_ref(&hash, &holder).map_err(blob_err)?;
            store.put(bytes).map_err(blob_err)?;
        }
    }
    let body = serde_json::to_value(record).map_err(|e| TrailError::BadRecord {
        seq: 0,
        reason: e.to_string(),
    })?;
    let entry = NewEntry {
        at_ms,
        kind: RUN.to_string(),
        run_id: Some(record.report.context.run_id.clone()),
        body,
    };
    let mut receipts = log.append(&[entry])?;
    receipts
        .pop()
        .ok_or_else(|| TrailError::NoSuchRun(record.report.context.run_id.clone()))
}

/// Record a run as the pipeline reported it: the record, under `limits`,
/// with the governance configuration's bytes (stored and referenced by
/// hash) when the run was governed.
pub fn record_report(
    log: &AuditLog,
    report: &crate::pipeline::RunReport,
    limits: &crate::Limits,
    components: &[&Guest],
    governance: Option<&[u8]>,
    at_ms: i64,
) -> Result<Receipt, TrailError> {
    let mut record = RunRecord::new(report.clone(), limits.clone());
    if let Some(bytes) = governance {
        let hash = Hash::of(bytes);
        let blob_err = |e: gatehouse_store::BlobError| TrailError::Blob {
            hash: hash.to_string(),
            reason: e.to_string(),
        };
        let holder = format!("audit run {}", report.context.run_id);
        log.store().add_blob_ref(&hash, &holder).map_err(blob_err)?;
        log.store().put(bytes).map_err(blob_err)?;
        record.governance = Some(hash.to_string());
    }
    record_run(log, &record, components, at_ms)
}

/// Append outcomes of one run's actions in one durable write (the caller
/// knows the run, so no search of the log is needed).
pub fn record_outcomes(
    log: &AuditLog,
    run_id: &str,
    outcomes: &[ActionOutcome],
    at_ms: i64,
) -> Result<Vec<Receipt>, TrailError> {
    let entries = outcomes
        .iter()
        .map(|o| {
            Ok(NewEntry {
                at_ms,
                kind: OUTCOME.to_string(),
                run_id: Some(run_id.to_string()),
                body: serde_json::to_value(o).map_err(|e| TrailError::BadRecord {
                    seq: 0,
                    reason: e.to_string(),
                })?,
            })
        })
        .collect::<Result<Vec<_>, TrailError>>()?;
    Ok(log.append(&entries)?)
}

/// The newest recorded run of `run_id`, with its entry.
pub fn find_run(log: &AuditLog, run_id: &str) -> Result<(Entry, RunRecord), TrailError> {
    let entry = log
        .run(run_id)?
        .into_iter()
        .rev()
        .find(|e| e.kind == RUN)
        .ok_or_else(|| TrailError::NoSuchRun(run_id.to_string()))?;
    let record = parse_record(&entry)?;
    Ok((entry, record))
}

/// Read the run record of a `run` entry.
pub fn parse_record(entry: &Entry) -> Result<RunRecord, TrailError> {
    serde_json::from_value(entry.body.clone()).map_err(|e| TrailError::BadRecord {
        seq: entry.seq,
        reason: e.to_string(),
    })
}

/// Load the exact components a record names from the store: the skill
/// (if the run had one) and the packs, in order. A missing blob, or one
/// whose bytes no longer match the hash, is refused.
pub fn load_components(
    sandbox: &Sandbox,
    store: &Store,
    record: &RunRecord,
) -> Result<(Option<Guest>, Vec<Guest>), TrailError> {
    let blob = |hash: &str| -> Result<Vec<u8>, TrailError> {
        let err = |reason: String| TrailError::Component {
            hash: hash.to_string(),
            reason,
        };
        let h: Hash = hash
            .parse()
            .map_err(|e: gatehouse_store::ParseHashError| err(e.to_string()))?;
        store.get(&h).map_err(|e| err(e.to_string()))
    };
    let load = |c: &crate::pipeline::ComponentRef, kind: Kind| -> Result<Guest, TrailError> {
        let guest = sandbox
            .load(&blob(&c.hash)?, &c.hash, Some(kind))
            .map_err(|e| TrailError::Component {
                hash: c.hash.clone(),
                reason: e.to_string(),
            })?;
        match &c.config {
            None => Ok(guest),
            Some(h) => {
                let config =
                    serde_json::from_slice(&blob(h)?).map_err(|e| TrailError::Component {
                        hash: h.clone(),
                        reason: format!("configuration blob: {e}"),
                    })?;
                Ok(guest.with_config(config))
            }
        }
    };
    let skill = record
        .report
        .act
        .as_ref()
        .map(|a| load(&a.skill, Kind::Skill))
        .transpose()?;
    let packs = record
        .report
        .packs
        .iter()
        .map(|p| load(p, Kind::Policy))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((skill, packs))
}

/// An outcome observed after the fact, joined to an action by id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ActionOutcome {
    /// The action's id.
    pub action: String,
    /// What happened: `reply`, `meeting_booked`, `unsubscribe`, `cost`, ...
    pub kind: String,
    /// A value (count, amount, free text).
    pub value: serde_json::Value,
}

/// Append an outcome to the run that proposed the action.
pub fn record_outcome(
    log: &AuditLog,
    outcome: &ActionOutcome,
    at_ms: i64,
) -> Result<Receipt, TrailError> {
    let run_id = run_of_action(log, &outcome.action)?;
    let body = serde_json::to_value(outcome).map_err(|e| TrailError::BadRecord {
        seq: 0,
        reason: e.to_string(),
    })?;
    let entry = NewEntry {
        at_ms,
        kind: OUTCOME.to_string(),
        run_id: Some(run_id),
        body,
    };
    let mut receipts = log.append(&[entry])?;
    receipts
        .pop()
        .ok_or_else(|| TrailError::NoSuchAction(outcome.action.clone()))
}

/// The run whose decisions include `action_id` (the newest such run): an
/// indexed lookup, not a scan of the log.
fn run_of_action(log: &AuditLog, action_id: &str) -> Result<String, TrailError> {
    let runs = log.query(&gatehouse_store::Query {
        action_id: Some(action_id.to_string()),
        ..gatehouse_store::Query::kind(RUN)
    })?;
    runs.last()
        .and_then(|e| e.run_id.clone())
        .ok_or_else(|| TrailError::NoSuchAction(action_id.to_string()))
}

/// Export entries as OTLP JSON (`ExportTraceServiceRequest`), following
/// the OpenTelemetry GenAI semantic conventions as far as they go: a run
/// is an `invoke_agent` span; the skill's `act` and every pack's
/// `validate` are `execute_tool` spans under it; every finding is a
/// `gen_ai.evaluation.result` event. gatehouse attributes carry module
/// hashes, rule ids, fuel and memory. Ids are derived from the entries'
/// hashes, so an export is reproducible. Non-run entries (outcomes, ...)
/// become `gatehouse.audit.<kind>` events on their run's span when the
/// run is in the export.
pub fn export_otlp(entries: &[Entry]) -> serde_json::Value {
    use serde_json::json;
    let attr = |k: &str, v: serde_json::Value| -> serde_json::Value {
        let value = match v {
            serde_json::Value::String(s) => json!({"stringValue": s}),
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => {
                json!({"intValue": n.to_string()})
            }
            serde_json::Value::Number(n) => json!({"doubleValue": n}),
            serde_json::Value::Bool(b) => json!({"boolValue": b}),
            other => json!({"stringValue": other.to_string()}),
        };
        json!({"key": k, "value": value})
    };
    let id = |seed: &str, len: usize| blake3::hash(seed.as_bytes()).to_hex()[..len].to_string();
    let nanos =
        |ms: i64, us: u64| ((ms.max(0) as u128) * 1_000_000 + (us as u128) * 1_000).to_string();
    let mut spans = Vec::new();
    let mut root_of_run = std::collections::HashMap::new();
    for entry in entries {
        let Ok(record) = parse_record(entry)
            .map_err(|_| ())
            .and_then(|r| if entry.kind == RUN { Ok(r) } else { Err(()) })
        else {
            if let Some(run) = &entry.run_id
                && let Some(&index) = root_of_run.get(run)
                && let Some(span) = spans.get_mut(index)
            {
                let span: &mut serde_json::Value = span;
                if let Some(events) = span["events"].as_array_mut() {
                    events.push(json!({
                        "name": format!("gatehouse.audit.{}", entry.kind),
                        "timeUnixNano": nanos(entry.at_ms, 0),
                        "attributes": [attr("gatehouse.audit.seq", json!(entry.seq)), attr("gatehouse.audit.body", entry.body.clone())],
                    }));
                }
            }
            continue;
        };
        let report = &record.report;
        let ctx = &report.context;
        let trace = id(&entry.hash, 32);
        let root = id(&format!("{}/root", entry.hash), 16);
        let total: u64 = report
            .act
            .as_ref()
            .map(|a| a.metering.duration_us)
            .unwrap_or(0)
            + report
                .decisions
                .iter()
                .flat_map(|d| &d.packs)
                .map(|p| p.metering.duration_us)
                .sum::<u64>();
        root_of_run.insert(ctx.run_id.clone(), spans.len());
        spans.push(json!({
            "traceId": trace, "spanId": root, "name": format!("invoke_agent {}", ctx.agent), "kind": 1,
            "startTimeUnixNano": nanos(entry.at_ms, 0), "endTimeUnixNano": nanos(entry.at_ms, total),
            "attributes": [
                attr("gen_ai.operation.name", json!("invoke_agent")),
                attr("gen_ai.agent.name", json!(ctx.agent)),
                attr("gen_ai.agent.id", json!(ctx.agent)),
                attr("gen_ai.conversation.id", json!(ctx.run_id)),
                attr("gatehouse.partition", json!(ctx.partition)),
                attr("gatehouse.engine", json!(report.engine)),
                attr("gatehouse.wasmtime", json!(record.wasmtime)),
                attr("gatehouse.audit.seq", json!(entry.seq)),
                attr("gatehouse.audit.hash", json!(entry.hash)),
                attr("gatehouse.decisions", json!(report.decisions.len())),
            ],
            "events": [],
            "status": {"code": 1},
        }));
        let mut offset = 0u64;
        if let Some(act) = &report.act {
            spans.push(json!({
                "traceId": trace, "spanId": id(&format!("{}/act", entry.hash), 16), "parentSpanId": root,
                "name": format!("execute_tool {}", act.skill.name), "kind": 1,
                "startTimeUnixNano": nanos(entry.at_ms, 0), "endTimeUnixNano": nanos(entry.at_ms, act.metering.duration_us),
                "attributes": [
                    attr("gen_ai.operation.name", json!("execute_tool")),
                    attr("gen_ai.tool.name", json!(act.skill.name)),
                    attr("gen_ai.tool.type", json!("extension")),
                    attr("gatehouse.stage", json!("act")),
                    attr("gatehouse.module.hash", json!(act.skill.hash)),
                    attr("gatehouse.module.version", json!(act.skill.version)),
                    attr("gatehouse.fuel_used", json!(act.metering.fuel_used)),
                    attr("gatehouse.memory.peak_bytes", json!(act.metering.peak_memory_bytes)),
                    attr("gatehouse.host_calls", json!(act.metering.host_calls.len())),
                    attr("gatehouse.proposed", json!(act.proposed.len())),
                ],
                "status": {"code": if act.error.is_some() { 2 } else { 1 }},
            }));
            offset = act.metering.duration_us;
        }
        for d in &report.decisions {
            for (i, p) in d.packs.iter().enumerate() {
                let start = offset;
                offset += p.metering.duration_us;
                let verdict = p.verdict.as_ref().map(|v| v.name()).unwrap_or("error");
                let events: Vec<serde_json::Value> = p
                    .verdict
                    .as_ref()
                    .map(|v| v.findings().to_vec())
                    .unwrap_or_default()
                    .iter()
                    .map(|f| {
                        json!({
                            "name": "gen_ai.evaluation.result", "timeUnixNano": nanos(entry.at_ms, offset),
                            "attributes": [
                                attr("gen_ai.evaluation.name", json!(f.rule)),
                                attr("gen_ai.evaluation.score.label", json!(verdict)),
                                attr("gen_ai.evaluation.explanation", json!(f.message)),
                                attr("gatehouse.rule.id", json!(f.rule)),
                                attr("gatehouse.rule.severity", json!(f.severity)),
                            ],
                        })
                    })
                    .collect();
                let rules: Vec<&str> = p
                    .verdict
                    .as_ref()
                    .map(|v| v.findings().iter().map(|f| f.rule.as_str()).collect())
                    .unwrap_or_default();
                spans.push(json!({
                    "traceId": trace, "spanId": id(&format!("{}/{}/{}", entry.hash, d.action.id, i), 16), "parentSpanId": root,
                    "name": format!("execute_tool {}", p.pack.name), "kind": 1,
                    "startTimeUnixNano": nanos(entry.at_ms, start), "endTimeUnixNano": nanos(entry.at_ms, offset),
                    "attributes": [
                        attr("gen_ai.operation.name", json!("execute_tool")),
                        attr("gen_ai.tool.name", json!(p.pack.name)),
                        attr("gen_ai.tool.type", json!("extension")),
                        attr("gen_ai.tool.call.id", json!(format!("{}#{}", d.action.id, i))),
                        attr("gatehouse.stage", json!("validate")),
                        attr("gatehouse.action.id", json!(d.action.id)),
                        attr("gatehouse.action.kind", json!(d.action.kind.name())),
                        attr("gatehouse.round", json!(p.round)),
                        attr("gatehouse.verdict", json!(verdict)),
                        attr("gatehouse.decision", json!(d.outcome.to_string())),
                        attr("gatehouse.fail_closed", json!(d.fail_closed)),
                        attr("gatehouse.rule_ids", json!(rules.join(","))),
                        attr("gatehouse.module.hash", json!(p.pack.hash)),
                        attr("gatehouse.module.version", json!(p.pack.version)),
                        attr("gatehouse.fuel_used", json!(p.metering.fuel_used)),
                        attr("gatehouse.memory.peak_bytes", json!(p.metering.peak_memory_bytes)),
                    ],
                    "events": events,
                    "status": if let Some(e) = &p.error { json!({"code": 2, "message": e.to_string()}) } else { json!({"code": 1}) },
                }));
            }
        }
    }
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", json!("gatehouse")), attr("service.version", json!(env!("CARGO_PKG_VERSION")))]},
        "scopeSpans": [{"scope": {"name": "gatehouse", "version": env!("CARGO_PKG_VERSION")}, "spans": spans}],
    }]})
}
