//! Metrics recomputed from the audit log, per version and cohort.
//!
//! The unit is a **step**: one action a skill proposed in a recorded run
//! (a run whose skill failed counts as one failed step). Every figure is a
//! function of the run records and outcome entries alone, so anyone with
//! the log can recompute it:
//!
//! | metric | definition |
//! |---|---|
//! | `success-rate` | steps performed ÷ steps. Performed: the packs allowed (or modified) the action and the govern stage let it through |
//! | `escalation-rate` | steps escalated to a human (by a pack or by governance) ÷ steps |
//! | `sla-adherence` | time-bound steps performed by their deadline ÷ time-bound steps. A step is time-bound when its run carries the parameter `sla_due_ms`; it is on time when it was performed and went out by that deadline: at the run's clock, or at its `send-at` when a pack rescheduled it (an escalated action waits for a human and is late) |
//! | `policy-compliance` | checks passed ÷ checks run. A check is one pack's judgement of one action (every round); it passes unless the pack denied or failed |
//! | `meetings-per-contacted` | performed steps with a `meeting_booked` outcome ÷ performed steps |
//! | `pipeline-per-contacted` | the sum of `pipeline` outcome values ÷ performed steps |
//! | `cost-per-contacted` | (estimated cost of performed actions + `cost` outcome values) ÷ performed steps, in currency units |
//! | `cost-per-meeting` | the same cost ÷ meetings booked (descriptive: a ratio, not tested) |
//!
//! Times are the runs' own clocks (`context.now`), so a simulated or
//! replayed history gives the same figures as a live one.

use crate::audit::{ActionOutcome, OUTCOME, RUN, parse_record};
use crate::pipeline::{ComponentRef, Outcome as Decided};
use gatehouse_gates::Sample;
use gatehouse_gates::scorecard::MetricValue;
use gatehouse_store::Entry;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The run parameter that names the pilot a run belongs to.
pub const PILOT_PARAM: &str = "pilot";
/// The run parameter that names the pilot arm (`control` or `candidate`).
pub const ARM_PARAM: &str = "arm";
/// The run parameter that makes a run's actions time-bound.
pub const SLA_PARAM: &str = "sla_due_ms";

/// Every metric, in report order.
pub const METRICS: [&str; 8] = [
    "success-rate",
    "escalation-rate",
    "sla-adherence",
    "policy-compliance",
    "meetings-per-contacted",
    "pipeline-per-contacted",
    "cost-per-contacted",
    "cost-per-meeting",
];

/// One step, with everything the metrics need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Step {
    /// The run.
    pub run_id: String,
    /// The run's clock, ms since the epoch.
    pub at_ms: i64,
    /// The agent.
    pub agent: String,
    /// The skill version that proposed it.
    pub version: ComponentRef,
    /// The pilot and arm, when the run was part of a pilot.
    pub pilot: Option<(String, String)>,
    /// The run's cohort (segment), or `all`.
    pub segment: String,
    /// The action's region.
    pub region: String,
    /// The action's channel (kind).
    pub channel: String,
    /// The action's id (none for a failed act).
    pub action: Option<String>,
    /// The recipient, if any.
    pub contact: Option<String>,
    /// Performed: allowed or modified, and let through by governance.
    pub performed: bool,
    /// Escalated to a human.
    pub escalated: bool,
    /// Its run carried a deadline.
    pub time_bound: bool,
    /// Performed by the deadline.
    pub on_time: bool,
    /// Pack checks run.
    pub checks: u64,
    /// Pack checks passed.
    pub checks_passed: u64,
    /// Cost: estimated cost when performed plus `cost` outcomes.
    pub cost: f64,
    /// A meeting was booked.
    pub meeting: bool,
    /// Pipeline value from outcomes.
    pub pipeline: f64,
}

/// The audit log could not be read as metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A run entry is not a run record.
    #[error(transparent)]
    Record(#[from] crate::audit::TrailError),
    /// An outcome entry is malformed.
    #[error("audit entry {seq}: not an outcome: {reason}")]
    BadOutcome {
        /// The entry.
        seq: u64,
        /// Why.
        reason: String,
    },
}

/// The version key of a component: its hash, and its configuration's.
pub fn version_key(c: &ComponentRef) -> String {
    match &c.config {
        Some(config) => format!("{}+{}", c.hash, config),
        None => c.hash.clone(),
    }
}

/// A short, readable label: `name@version #hash[+config]`.
pub fn version_label(c: &ComponentRef) -> String {
    match &c.config {
        Some(config) => format!(
            "{}@{} #{}+{}",
            c.name,
            c.version,
            &c.hash[..8],
            &config[..8]
        ),
        None => format!("{}@{} #{}", c.name, c.version, &c.hash[..8]),
    }
}

fn number(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::Number(n) => n.as_f64().unwrap_or(0.0),
        serde_json::Value::Bool(b) => f64::from(u8::from(*b)),
        serde_json::Value::String(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// The steps of every recorded run in `entries` whose clock falls in
/// `[from_ms, to_ms)`, with their outcomes joined.
pub fn steps(entries: &[Entry], from_ms: i64, to_ms: i64) -> Result<Vec<Step>, MetricsError> {
    // Outcomes first: (run, action) → outcomes.
    let mut outcomes: HashMap<(String, String), Vec<ActionOutcome>> = HashMap::new();
    for e in entries.iter().filter(|e| e.kind == OUTCOME) {
        let outcome: ActionOutcome =
            serde_json::from_value(e.body.clone()).map_err(|err| MetricsError::BadOutcome {
                seq: e.seq,
                reason: err.to_string(),
            })?;
        let run = e.run_id.clone().unwrap_or_default();
        outcomes
            .entry((run, outcome.action.clone()))
            .or_default()
            .push(outcome);
    }
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.kind == RUN) {
        let record = parse_record(e)?;
        let report = record.report;
        let ctx = &report.context;
        if ctx.now < from_ms || ctx.now >= to_ms {
            continue;
        }
        let Some(act) = &report.act else { continue };
        let param = |name: &str| {
            ctx.params
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.value.clone())
        };
        let pilot = param(PILOT_PARAM).zip(param(ARM_PARAM));
        let due = param(SLA_PARAM).and_then(|v| v.trim().parse::<i64>().ok());
        let segment = ctx.cohort.clone().unwrap_or_else(|| "all".to_string());
        let base = Step {
            run_id: ctx.run_id.clone(),
            at_ms: ctx.now,
            agent: ctx.agent.clone(),
            version: act.skill.clone(),
            pilot,
            segment,
            region: ctx.partition.clone(),
            channel: "none".to_string(),
            action: None,
            contact: None,
            performed: false,
            escalated: false,
            time_bound: due.is_some(),
            on_time: false,
            checks: 0,
            checks_passed: 0,
            cost: 0.0,
            meeting: false,
            pipeline: 0.0,
        };
        if act.error.is_some() || act.skill_error.is_some() {
            out.push(base);
            continue;
        }
        for d in &report.decisions {
            let mut step = base.clone();
            step.region = d.action.region.clone();
            step.channel = d.action.kind.name().to_string();
            step.action = Some(d.action.id.clone());
            step.contact = d.action.recipient().map(|r| r.contact_id.clone());
            step.performed = matches!(d.outcome, Decided::Allow | Decided::Modify);
            step.escalated = d.outcome == Decided::Escalate;
            step.on_time = step.performed && due.is_some_and(|due| goes_out_at(d, ctx.now) <= due);
            step.checks = d.packs.len() as u64;
            step.checks_passed = d
                .packs
                .iter()
                .filter(|p| {
                    p.error.is_none() && !matches!(p.verdict, Some(crate::Verdict::Deny(_)))
                })
                .count() as u64;
            if step.performed {
                let performed = d.final_action.as_ref().unwrap_or(&d.action);
                step.cost = performed.estimated_cost.micros as f64 / 1e6;
            }
            if let Some(list) = outcomes.get(&(ctx.run_id.clone(), d.action.id.clone())) {
                for o in list {
                    match o.kind.as_str() {
                        "meeting_booked" => step.meeting |= number(&o.value) > 0.0,
                        "pipeline" => step.pipeline += number(&o.value),
                        "cost" => step.cost += number(&o.value),
                        _ => {}
                    }
                }
            }
            out.push(step);
        }
    }
    Ok(out)
}

/// When a decided action takes effect: a message at its send time (a pack
/// that rescheduled it, for quiet hours, moved it), anything else at the
/// run's clock.
fn goes_out_at(d: &crate::pipeline::Decision, now: i64) -> i64 {
    d.final_action
        .as_ref()
        .unwrap_or(&d.action)
        .send_time(now)
        .unwrap_or(now)
}

/// A metric's data over `steps`, as the gates test it (`None` for the
/// descriptive `cost-per-meeting` and unknown names).
pub fn sample(metric: &str, steps: &[&Step]) -> Option<Sample> {
    let count = |f: &dyn Fn(&Step) -> bool| steps.iter().filter(|s| f(s)).count() as u64;
    let performed: Vec<&&Step> = steps.iter().filter(|s| s.performed).collect();
    let mean = |f: &dyn Fn(&Step) -> f64| {
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for s in &performed {
            let v = f(s);
            sum += v;
            sum_sq += v * v;
        }
        Sample::Mean {
            n: performed.len() as u64,
            sum,
            sum_sq,
        }
    };
    Some(match metric {
        "success-rate" => Sample::Proportion {
            successes: count(&|s| s.performed),
            trials: steps.len() as u64,
        },
        "escalation-rate" => Sample::Proportion {
            successes: count(&|s| s.escalated),
            trials: steps.len() as u64,
        },
        "sla-adherence" => Sample::Proportion {
            successes: count(&|s| s.time_bound && s.on_time),
            trials: count(&|s| s.time_bound),
        },
        "policy-compliance" => Sample::Proportion {
            successes: steps.iter().map(|s| s.checks_passed).sum(),
            trials: steps.iter().map(|s| s.checks).sum(),
        },
        "meetings-per-contacted" => Sample::Proportion {
            successes: performed.iter().filter(|s| s.meeting).count() as u64,
            trials: performed.len() as u64,
        },
        "pipeline-per-contacted" => mean(&|s| s.pipeline),
        "cost-per-contacted" => mean(&|s| s.cost),
        _ => return None,
    })
}

/// A metric's value over `steps`, with its 95% interval where it is a
/// rate or a mean.
pub fn figure(metric: &str, steps: &[&Step]) -> MetricValue {
    match sample(metric, steps) {
        Some(sample) => {
            let interval = sample.interval(0.95);
            MetricValue {
                metric: metric.to_string(),
                value: sample.estimate(),
                lower: interval.map(|i| i.0),
                upper: interval.map(|i| i.1),
                n: sample.units(),
            }
        }
        None => {
            let meetings = steps.iter().filter(|s| s.performed && s.meeting).count() as u64;
            let cost: f64 = steps.iter().filter(|s| s.performed).map(|s| s.cost).sum();
            MetricValue {
                metric: metric.to_string(),
                value: if meetings > 0 {
                    cost / meetings as f64
                } else {
                    0.0
                },
                lower: None,
                upper: None,
                n: meetings,
            }
        }
    }
}

/// The metrics as a `metrics` collection a skill can retrieve (the
/// reflect step as a component): one record per metric, version and
/// segment (and `all segments`), in `partition`. Fields: `metric`,
/// `segment`, `version` (a label), `version_key`, `skill`, `value`,
/// `lower`, `upper`, `n`, and the version's configuration as
/// `config.<key>` (read from the store; a configuration whose bytes are
/// gone is left out).
pub fn records(
    steps: &[Step],
    store: &gatehouse_store::Store,
    partition: &str,
) -> Vec<crate::Evidence> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(String, String), Vec<&Step>> = BTreeMap::new();
    for s in steps {
        let key = version_key(&s.version);
        groups
            .entry((key.clone(), s.segment.clone()))
            .or_default()
            .push(s);
        if s.segment != "all" {
            groups
                .entry((key, "all segments".to_string()))
                .or_default()
                .push(s);
        }
    }
    let config_fields = |c: &ComponentRef| -> Vec<crate::Field> {
        let Some(hash) = c
            .config
            .as_ref()
            .and_then(|h| h.parse::<gatehouse_store::Hash>().ok())
        else {
            return Vec::new();
        };
        let Ok(bytes) = store.get(&hash) else {
            return Vec::new();
        };
        serde_json::from_slice::<BTreeMap<String, String>>(&bytes)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| crate::Field {
                        name: format!("config.{k}"),
                        value: v,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for ((key, segment), list) in &groups {
        let version = &list[0].version;
        let config = config_fields(version);
        for metric in METRICS {
            let f = figure(metric, list);
            let field = |name: &str, value: String| crate::Field {
                name: name.to_string(),
                value,
            };
            let mut fields = vec![
                field("metric", metric.to_string()),
                field("segment", segment.clone()),
                field("version", version_label(version)),
                field("version_key", key.clone()),
                field("skill", version.name.clone()),
                field("value", f.value.to_string()),
                field("n", f.n.to_string()),
            ];
            fields.extend(f.lower.map(|v| field("lower", v.to_string())));
            fields.extend(f.upper.map(|v| field("upper", v.to_string())));
            fields.extend(config.iter().cloned());
            out.push(crate::Evidence {
                // The key is the skill's hash and its configuration's: name
                // both, shortly, so two configurations never share an id.
                id: format!(
                    "metric/{metric}/{}/{segment}",
                    &blake3::hash(key.as_bytes()).to_hex()[..16]
                ),
                collection: "metrics".to_string(),
                partition: partition.to_string(),
                fields,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Decision, Outcome};
    use gatehouse_sandbox::{Action, ActionKind, Purpose, Recipient, Sms};

    fn sms(send_at: Option<i64>) -> Action {
        Action {
            id: "s-1".into(),
            agent: "a".into(),
            region: "US".into(),
            estimated_cost: Default::default(),
            evidence: Vec::new(),
            rationale: String::new(),
            kind: ActionKind::Sms(Sms {
                to: Recipient {
                    contact_id: "c-1".into(),
                    address: String::new(),
                    region: String::new(),
                    country: "US".into(),
                    consent: Default::default(),
                    lawful_basis: None,
                    relationship: Default::default(),
                    time_zone: "America/New_York".into(),
                    first_contact: false,
                },
                sender: Default::default(),
                body: "Hi".into(),
                purpose: Purpose::Commercial,
                send_at,
                targeting: Vec::new(),
            }),
        }
    }

    /// A text rescheduled past its deadline is late, though its run was on
    /// time: the SLA metric honours the new send time.
    #[test]
    fn a_rescheduled_message_counts_at_its_new_send_time() {
        let now = 1_000;
        let mut d = Decision {
            action: sms(None),
            outcome: Outcome::Allow,
            final_action: None,
            findings: Vec::new(),
            fail_closed: false,
            packs: Vec::new(),
            governance: None,
        };
        assert_eq!(goes_out_at(&d, now), now);
        d.outcome = Outcome::Modify;
        d.final_action = Some(sms(Some(50_000)));
        assert_eq!(goes_out_at(&d, now), 50_000);
    }
}
