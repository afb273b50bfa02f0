//! Pilots: a candidate version against the control, with sticky hashed
//! assignment, a ramp of exposure caps, minimums per step, health checks,
//! and the gates deciding ramp, promotion or rollback.
//!
//! A pilot lives in the audit log: its start (with the full spec and the
//! exact hashes of both arms), every ramp, the promotion or the rollback
//! are `pilot` entries, and its state is read back from them. Runs of a
//! pilot carry the parameters `pilot` and `arm`, so every figure a gate
//! check uses is recomputed from the log.
//!
//! Assignment is [`Store::expose`] under the key `pilot/<id>`: a contact is
//! assigned once, on first sight, and keeps its arm whatever the cap later
//! becomes, so raising the cap never moves a contact between arms. After a
//! rollback or a promotion the pilot assigns nobody.

use super::LearnError;
use super::metrics::{self, Step};
use gatehouse_gates::{GateReport, GateSpec, GateVerdict};
use gatehouse_sandbox::{Guest, Kind, Sandbox};
use gatehouse_store::{AuditLog, Change, ChannelMove, Entry, Hash, NewEntry, Scope, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Entry kind of pilot events.
pub const PILOT: &str = "pilot";

/// A registry artifact pinned to its exact bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pinned {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// blake3 of its bytes.
    pub hash: String,
}

impl Pinned {
    /// Resolve a reference (`name@version`, `name@channel`, blake3) within
    /// `scope` to exact bytes.
    pub fn resolve(store: &Store, reference: &str, scope: &Scope) -> Result<Self, LearnError> {
        let artifact = store
            .resolve(reference, scope)
            .map_err(|e| LearnError::Invalid(format!("`{reference}`: {e}")))?;
        Ok(Self {
            name: artifact.id.name.clone(),
            version: artifact.id.version.to_string(),
            hash: artifact.id.hash.to_string(),
        })
    }

    fn bytes(&self, store: &Store) -> Result<Vec<u8>, LearnError> {
        let hash: Hash = self
            .hash
            .parse()
            .map_err(|e: gatehouse_store::ParseHashError| LearnError::Invalid(e.to_string()))?;
        store
            .get(&hash)
            .map_err(|e| LearnError::Invalid(format!("{}@{}: {e}", self.name, self.version)))
    }
}

/// One arm: a skill and, optionally, its configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Arm {
    /// The skill.
    pub skill: Pinned,
    /// Its configuration (a TOML table of strings), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Pinned>,
}

impl Arm {
    /// Load the arm's skill with its configuration served.
    pub fn load(&self, sandbox: &Sandbox, store: &Store) -> Result<Guest, LearnError> {
        let bytes = self.skill.bytes(store)?;
        let guest = sandbox
            .load(&bytes, &self.skill.name, Some(Kind::Skill))
            .map_err(|e| LearnError::Invalid(e.to_string()))?;
        match &self.config {
            None => Ok(guest),
            Some(pin) => Ok(guest.with_config(parse_config(&pin.bytes(store)?, &pin.name)?)),
        }
    }
}

impl Arm {
    /// The version key runs of this arm record (see
    /// [`metrics::version_key`]): the skill's hash and its served
    /// configuration's.
    pub fn version_key(&self, store: &Store) -> Result<String, LearnError> {
        let config = match &self.config {
            None => None,
            Some(pin) => {
                gatehouse_sandbox::config_bytes(&parse_config(&pin.bytes(store)?, &pin.name)?)
                    .map(|b| blake3::hash(&b).to_hex().to_string())
            }
        };
        Ok(match config {
            Some(c) => format!("{}+{c}", self.skill.hash),
            None => self.skill.hash.clone(),
        })
    }

    /// `skill@version + config@version`.
    pub fn label(&self) -> String {
        match &self.config {
            Some(c) => format!(
                "{}@{} + {}@{}",
                self.skill.name, self.skill.version, c.name, c.version
            ),
            None => format!("{}@{}", self.skill.name, self.skill.version),
        }
    }
}

/// A configuration artifact: a TOML table whose values are strings,
/// numbers or booleans (served to the guest as strings).
pub fn parse_config(bytes: &[u8], name: &str) -> Result<BTreeMap<String, String>, LearnError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| LearnError::Invalid(format!("configuration `{name}` is not UTF-8")))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        LearnError::Invalid(format!("configuration `{name}`: {}", e.message()))
    })?;
    table
        .into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k, s)),
            toml::Value::Integer(i) => Ok((k, i.to_string())),
            toml::Value::Float(f) => Ok((k, f.to_string())),
            toml::Value::Boolean(b) => Ok((k, b.to_string())),
            _ => Err(LearnError::Invalid(format!(
                "configuration `{name}`: `{k}` must be a string, number or boolean"
            ))),
        })
        .collect()
}

/// What a pilot compares, and how it ramps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PilotSpec {
    /// Unique id (letters, digits, `-`).
    pub id: String,
    /// The agent whose runs are piloted.
    pub agent: String,
    /// The partition it runs in.
    pub partition: String,
    /// The registry channel the candidate is promoted on.
    pub channel: String,
    /// The change proposal it carries out, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<String>,
    /// The current version.
    pub control: Arm,
    /// The candidate.
    pub candidate: Arm,
    /// Exposure caps in percent, in order (e.g. 1, 5, 10, 25, 50).
    pub ramp: Vec<u8>,
    /// Units (steps) each arm needs in a step before it may move on.
    pub min_units_per_step: u64,
    /// How long each step lasts at least, in ms of the runs' clock.
    pub min_step_ms: i64,
    /// The pilot rolls back if the gates have not passed after this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_ms: Option<i64>,
    /// The gates.
    pub gate: GateSpec,
}

impl PilotSpec {
    fn check(&self) -> Result<(), LearnError> {
        let bad = |m: String| Err(LearnError::Invalid(format!("pilot `{}`: {m}", self.id)));
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return bad("the id must be letters, digits and `-`".into());
        }
        if self.ramp.is_empty() || self.ramp.iter().any(|&p| p == 0 || p > 100) {
            return bad("the ramp needs at least one cap, each from 1 to 100 percent".into());
        }
        if self.ramp.windows(2).any(|w| w[1] <= w[0]) {
            return bad(format!("the ramp {:?} must increase", self.ramp));
        }
        if self.control == self.candidate {
            return bad("the candidate is the control".into());
        }
        Ok(())
    }
}

/// Where a pilot stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Assigning contacts and collecting.
    Running,
    /// The candidate won and was promoted.
    Promoted,
    /// The candidate was rolled back.
    RolledBack,
}

/// An arm's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArmName {
    /// The current version.
    Control,
    /// The candidate.
    Candidate,
}

impl ArmName {
    /// `control` or `candidate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Control => "control",
            Self::Candidate => "candidate",
        }
    }
}

/// Units per arm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmCounts {
    /// Control units.
    pub control: u64,
    /// Candidate units.
    pub candidate: u64,
}

/// One health check of a pilot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Health {
    /// `sample-ratio`, `traffic` or `double-exposure`.
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// What a gate check says should happen next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "next", rename_all = "kebab-case")]
pub enum Next {
    /// Collect more data at the current cap.
    KeepCollecting,
    /// Raise the cap.
    Ramp {
        /// The new cap, in percent.
        percent: u8,
    },
    /// Promote the candidate.
    Promote,
    /// Roll the candidate back.
    Rollback {
        /// Why.
        reason: String,
    },
}

/// A gate check of a pilot at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Check {
    /// The pilot.
    pub pilot: String,
    /// When (the runs' clock).
    pub at_ms: i64,
    /// The ramp step (0 first) and its cap.
    pub step: usize,
    /// The cap, in percent.
    pub percent: u8,
    /// Units per arm over the whole pilot.
    pub units: ArmCounts,
    /// Units per arm in the current step.
    pub step_units: ArmCounts,
    /// The gates' report.
    pub gate: GateReport,
    /// The health checks.
    pub health: Vec<Health>,
    /// What should happen next.
    pub next: Next,
}

/// A pilot event, as its audit entry holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum PilotEvent {
    /// The pilot started.
    Start {
        /// Its spec.
        spec: Box<PilotSpec>,
    },
    /// The cap was raised.
    Ramp {
        /// The new cap.
        percent: u8,
        /// The check that allowed it.
        check: Box<Check>,
    },
    /// The candidate was promoted.
    Promote {
        /// The check that passed.
        check: Box<Check>,
        /// The registry moves made.
        moves: Vec<ChannelMove>,
    },
    /// The candidate was rolled back.
    Rollback {
        /// Why.
        reason: String,
        /// The check that failed, when a check decided it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check: Option<Box<Check>>,
    },
}

/// A pilot's audit entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PilotEntry {
    /// The pilot.
    pub pilot: String,
    /// When (the runs' clock).
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// What happened.
    #[serde(flatten)]
    pub event: PilotEvent,
}

/// A pilot as its entries tell it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pilot {
    /// Its spec.
    pub spec: PilotSpec,
    /// Where it stands.
    pub status: Status,
    /// The current ramp step (0 first).
    pub step: usize,
    /// When the pilot started.
    pub started_ms: i64,
    /// When the current step started.
    pub step_started_ms: i64,
    /// Every event, oldest first.
    pub events: Vec<PilotEntry>,
}

/// Every pilot in the log, by id.
pub fn pilots(entries: &[Entry]) -> Result<BTreeMap<String, Pilot>, LearnError> {
    let mut out: BTreeMap<String, Pilot> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.kind == PILOT) {
        let entry: PilotEntry =
            serde_json::from_value(e.body.clone()).map_err(|err| LearnError::BadEntry {
                seq: e.seq,
                reason: err.to_string(),
            })?;
        match (&entry.event, out.get_mut(&entry.pilot)) {
            (PilotEvent::Start { spec }, None) => {
                out.insert(
                    entry.pilot.clone(),
                    Pilot {
                        spec: (**spec).clone(),
                        status: Status::Running,
                        step: 0,
                        started_ms: entry.at_ms,
                        step_started_ms: entry.at_ms,
                        events: vec![entry],
                    },
                );
            }
            (PilotEvent::Start { .. }, Some(_)) | (_, None) => {
                return Err(LearnError::BadEntry {
                    seq: e.seq,
                    reason: format!("pilot `{}`: event out of order", entry.pilot),
                });
            }
            (event, Some(pilot)) => {
                match event {
                    PilotEvent::Ramp { .. } => {
                        pilot.step += 1;
                        pilot.step_started_ms = entry.at_ms;
                    }
                    PilotEvent::Promote { .. } => pilot.status = Status::Promoted,
                    PilotEvent::Rollback { .. } => pilot.status = Status::RolledBack,
                    PilotEvent::Start { .. } => {}
                }
                pilot.events.push(entry);
            }
        }
    }
    Ok(out)
}

/// One pilot.
pub fn pilot(entries: &[Entry], id: &str) -> Result<Pilot, LearnError> {
    pilots(entries)?
        .remove(id)
        .ok_or_else(|| LearnError::NoSuchPilot(id.to_string()))
}

fn append(log: &AuditLog, entry: &PilotEntry) -> Result<(), LearnError> {
    let body = serde_json::to_value(entry).map_err(|e| LearnError::Invalid(e.to_string()))?;
    log.append(&[NewEntry {
        at_ms: entry.at_ms,
        kind: PILOT.to_string(),
        run_id: None,
        body,
    }])?;
    Ok(())
}

/// Start a pilot: check the spec, refuse a reused id, record the start.
pub fn start(
    log: &AuditLog,
    spec: PilotSpec,
    actor: &str,
    at_ms: i64,
) -> Result<Pilot, LearnError> {
    spec.check()?;
    check_gate(&spec.gate).map_err(|e| LearnError::Invalid(format!("pilot `{}`: {e}", spec.id)))?;
    let entries = log.entries(0, None)?;
    if pilots(&entries)?.contains_key(&spec.id) {
        return Err(LearnError::Invalid(format!(
            "pilot `{}` exists already",
            spec.id
        )));
    }
    let entry = PilotEntry {
        pilot: spec.id.clone(),
        at_ms,
        actor: actor.to_string(),
        event: PilotEvent::Start {
            spec: Box::new(spec),
        },
    };
    append(log, &entry)?;
    pilot(&log.entries(0, None)?, &entry.pilot)
}

impl Pilot {
    /// The current cap, in percent (0 once the pilot is over).
    pub fn percent(&self) -> u8 {
        match self.status {
            Status::Running => self.spec.ramp.get(self.step).copied().unwrap_or(0),
            _ => 0,
        }
    }

    /// The exposure key of its assignments.
    pub fn key(&self) -> String {
        format!("pilot/{}", self.spec.id)
    }

    /// The arm of `contact`: sticky, hashed, under the current cap.
    pub fn assign(&self, store: &Store, contact: &str, at_ms: i64) -> Result<ArmName, LearnError> {
        if self.status != Status::Running {
            return Err(LearnError::Invalid(format!(
                "pilot `{}` is over ({:?})",
                self.spec.id, self.status
            )));
        }
        let exposure = store
            .expose(&self.key(), contact, self.percent(), at_ms)
            .map_err(|e| LearnError::Invalid(e.to_string()))?;
        Ok(if exposure.admitted {
            ArmName::Candidate
        } else {
            ArmName::Control
        })
    }

    /// [`Pilot::assign`] for many contacts in one durable write.
    pub fn assign_all(
        &self,
        store: &Store,
        contacts: &[&str],
        at_ms: i64,
    ) -> Result<Vec<ArmName>, LearnError> {
        if self.status != Status::Running {
            return Err(LearnError::Invalid(format!(
                "pilot `{}` is over ({:?})",
                self.spec.id, self.status
            )));
        }
        Ok(store
            .expose_all(&self.key(), contacts, self.percent(), at_ms)
            .map_err(|e| LearnError::Invalid(e.to_string()))?
            .into_iter()
            .map(|e| {
                if e.admitted {
                    ArmName::Candidate
                } else {
                    ArmName::Control
                }
            })
            .collect())
    }

    /// The pilot's steps in `entries`, by arm.
    fn arm_steps<'a>(&self, steps: &'a [Step]) -> (Vec<&'a Step>, Vec<&'a Step>) {
        let mut control = Vec::new();
        let mut candidate = Vec::new();
        for s in steps {
            match &s.pilot {
                Some((p, arm)) if *p == self.spec.id && arm == "control" => control.push(s),
                Some((p, arm)) if *p == self.spec.id && arm == "candidate" => candidate.push(s),
                _ => {}
            }
        }
        (control, candidate)
    }

    /// Check the gates and the pilot's health at `at_ms` over `entries`
    /// (the audit log), and say what should happen next.
    pub fn check(&self, entries: &[Entry], at_ms: i64) -> Result<Check, LearnError> {
        let steps = metrics::steps(entries, self.started_ms, at_ms.saturating_add(1))?;
        let (control, candidate) = self.arm_steps(&steps);
        let units = ArmCounts {
            control: control.len() as u64,
            candidate: candidate.len() as u64,
        };
        let in_step =
            |v: &[&Step]| v.iter().filter(|s| s.at_ms >= self.step_started_ms).count() as u64;
        let step_units = ArmCounts {
            control: in_step(&control),
            candidate: in_step(&candidate),
        };
        let gate = self.spec.gate.clone();
        let mut observations = Vec::new();
        for metric in gate_metrics(&gate) {
            let (Some(c), Some(t)) = (
                metrics::sample(metric, &control),
                metrics::sample(metric, &candidate),
            ) else {
                return Err(LearnError::Invalid(format!(
                    "gate metric `{metric}` is not one of {}",
                    metrics::METRICS.join(", ")
                )));
            };
            observations.push(gatehouse_gates::Observation {
                metric: metric.to_string(),
                control: c,
                candidate: t,
            });
        }
        let report = gatehouse_gates::evaluate(&gate, &observations)
            .map_err(|e| LearnError::Invalid(format!("pilot `{}`: {e}", self.spec.id)))?;
        let health = self.health(&control, &candidate, at_ms);
        let next = self.next(&report, &health, step_units, at_ms);
        Ok(Check {
            pilot: self.spec.id.clone(),
            at_ms,
            step: self.step,
            percent: self.percent(),
            units,
            step_units,
            gate: report,
            health,
            next,
        })
    }

    fn health(&self, control: &[&Step], candidate: &[&Step], at_ms: i64) -> Vec<Health> {
        let mut out = Vec::new();
        // Sample ratio: units first seen in each step should split by that
        // step's cap.
        let mut first_seen: HashMap<&str, (i64, ArmName)> = HashMap::new();
        for (arm, list) in [(ArmName::Control, control), (ArmName::Candidate, candidate)] {
            for s in list {
                if let Some(c) = &s.contact {
                    let e = first_seen.entry(c.as_str()).or_insert((s.at_ms, arm));
                    if s.at_ms < e.0 {
                        *e = (s.at_ms, arm);
                    }
                }
            }
        }
        let bounds = self.step_bounds();
        let (mut expected, mut total, mut admitted) = (0.0, 0u64, 0u64);
        for (at, arm) in first_seen.values() {
            let step = bounds.iter().rposition(|&b| *at >= b).unwrap_or(0);
            expected += f64::from(self.spec.ramp[step.min(self.spec.ramp.len() - 1)]) / 100.0;
            total += 1;
            admitted += u64::from(*arm == ArmName::Candidate);
        }
        if total > 0 {
            let share = expected / total as f64;
            let srm = gatehouse_gates::sample_ratio_mismatch(total - admitted, admitted, share);
            out.push(Health {
                check: "sample-ratio".into(),
                ok: !srm.mismatch,
                detail: format!(
                    "{admitted} of {total} contacts in the candidate, {:.1} expected (p = {:.4})",
                    expected, srm.p_value
                ),
            });
        }
        // Traffic: both arms saw units in the current step once it has run
        // its minimum time.
        let step_old = at_ms - self.step_started_ms >= self.spec.min_step_ms;
        let seen = |v: &[&Step]| v.iter().any(|s| s.at_ms >= self.step_started_ms);
        let traffic_ok = !step_old || (seen(control) && seen(candidate));
        out.push(Health {
            check: "traffic".into(),
            ok: traffic_ok,
            detail: if traffic_ok {
                "both arms have traffic".into()
            } else {
                format!(
                    "no traffic in the {} arm since the step started",
                    if seen(control) {
                        "candidate"
                    } else {
                        "control"
                    }
                )
            },
        });
        // Double exposure: a contact reached by both arms.
        let in_control: std::collections::HashSet<&str> = control
            .iter()
            .filter_map(|s| s.contact.as_deref())
            .collect();
        let both: Vec<&str> = candidate
            .iter()
            .filter_map(|s| s.contact.as_deref())
            .filter(|c| in_control.contains(c))
            .collect();
        out.push(Health {
            check: "double-exposure".into(),
            ok: both.is_empty(),
            detail: match both.first() {
                None => "no contact saw both arms".into(),
                Some(c) => format!("{} contacts saw both arms, e.g. `{c}`", both.len()),
            },
        });
        out
    }

    /// When each ramp step started.
    fn step_bounds(&self) -> Vec<i64> {
        let mut b = vec![self.started_ms];
        b.extend(self.events.iter().filter_map(|e| match e.event {
            PilotEvent::Ramp { .. } => Some(e.at_ms),
            _ => None,
        }));
        b
    }

    fn next(&self, report: &GateReport, health: &[Health], step: ArmCounts, at_ms: i64) -> Next {
        if self.status != Status::Running {
            return Next::KeepCollecting;
        }
        if report.verdict == GateVerdict::Fail {
            return Next::Rollback {
                reason: format!("gates failed: {}", report.reasons.join("; ")),
            };
        }
        for h in health {
            if !h.ok && h.check != "traffic" {
                return Next::Rollback {
                    reason: format!("health check `{}` failed: {}", h.check, h.detail),
                };
            }
        }
        let minimums = at_ms - self.step_started_ms >= self.spec.min_step_ms
            && step.control >= self.spec.min_units_per_step
            && step.candidate >= self.spec.min_units_per_step;
        let last = self.step + 1 >= self.spec.ramp.len();
        let healthy = health.iter().all(|h| h.ok);
        match (report.verdict, minimums && healthy, last) {
            (GateVerdict::Pass, true, true) => Next::Promote,
            (_, true, false) => Next::Ramp {
                percent: self.spec.ramp[self.step + 1],
            },
            _ => match self.spec.max_duration_ms {
                Some(max) if at_ms - self.started_ms > max => Next::Rollback {
                    reason: format!("no conclusive result after {} h", max / 3_600_000),
                },
                _ => Next::KeepCollecting,
            },
        }
    }
}

/// Carry out what a check says: record a ramp, promote the candidate on
/// the pilot's channel (the artifacts that differ from the control), or
/// roll it back (no contact is assigned to it from then on). Returns the
/// entry recorded, if any.
pub fn apply(
    log: &AuditLog,
    pilot: &Pilot,
    check: &Check,
    actor: &str,
) -> Result<Option<PilotEntry>, LearnError> {
    if pilot.status != Status::Running {
        return Ok(None);
    }
    let event = match &check.next {
        Next::KeepCollecting => return Ok(None),
        Next::Ramp { percent } => PilotEvent::Ramp {
            percent: *percent,
            check: Box::new(check.clone()),
        },
        Next::Rollback { reason } => PilotEvent::Rollback {
            reason: reason.clone(),
            check: Some(Box::new(check.clone())),
        },
        Next::Promote => {
            let store = log.store();
            let scope = Scope::new(&pilot.spec.agent, &pilot.spec.partition)
                .map_err(|e| LearnError::Invalid(e.to_string()))?;
            let reason = format!("pilot {} passed its gates", pilot.spec.id);
            let change = Change::new(actor, &reason, check.at_ms);
            let (c, t) = (&pilot.spec.control, &pilot.spec.candidate);
            let mut moves = Vec::new();
            let mut changed = Vec::new();
            if c.skill != t.skill {
                changed.push(&t.skill);
            }
            if let Some(config) = &t.config
                && c.config.as_ref() != Some(config)
            {
                changed.push(config);
            }
            for pin in changed {
                moves.push(
                    store
                        .promote(
                            &pin.name,
                            &pin.version,
                            &pilot.spec.channel,
                            &scope,
                            &change,
                        )
                        .map_err(|e| {
                            LearnError::Invalid(format!(
                                "promote {}@{}: {e}",
                                pin.name, pin.version
                            ))
                        })?,
                );
            }
            PilotEvent::Promote {
                check: Box::new(check.clone()),
                moves,
            }
        }
    };
    let entry = PilotEntry {
        pilot: pilot.spec.id.clone(),
        at_ms: check.at_ms,
        actor: actor.to_string(),
        event,
    };
    append(log, &entry)?;
    Ok(Some(entry))
}

/// Roll a pilot back by hand (an operator's decision, recorded).
pub fn roll_back(
    log: &AuditLog,
    pilot: &Pilot,
    reason: &str,
    actor: &str,
    at_ms: i64,
) -> Result<PilotEntry, LearnError> {
    if pilot.status != Status::Running {
        return Err(LearnError::Invalid(format!(
            "pilot `{}` is over",
            pilot.spec.id
        )));
    }
    let entry = PilotEntry {
        pilot: pilot.spec.id.clone(),
        at_ms,
        actor: actor.to_string(),
        event: PilotEvent::Rollback {
            reason: reason.to_string(),
            check: None,
        },
    };
    append(log, &entry)?;
    Ok(entry)
}

/// The metrics a gate spec tests: the KPI, the guardrails, compliance.
pub fn gate_metrics(spec: &GateSpec) -> Vec<&str> {
    std::iter::once(spec.kpi.metric.as_str())
        .chain(spec.guardrails.iter().map(|g| g.metric.as_str()))
        .chain(std::iter::once(spec.compliance.metric.as_str()))
        .collect()
}

/// Refuse a gate spec the gates cannot evaluate (unknown metric, bad
/// alpha, ...), before any pilot relies on it.
pub fn check_gate(spec: &GateSpec) -> Result<(), LearnError> {
    let no_steps: Vec<&Step> = Vec::new();
    let mut observations = Vec::new();
    for metric in gate_metrics(spec) {
        let sample = metrics::sample(metric, &no_steps).ok_or_else(|| {
            LearnError::Invalid(format!(
                "gate metric `{metric}` is not one of {}",
                metrics::METRICS[..7].join(", ")
            ))
        })?;
        observations.push(gatehouse_gates::Observation {
            metric: metric.to_string(),
            control: sample.clone(),
            candidate: sample,
        });
    }
    gatehouse_gates::evaluate(spec, &observations)
        .map(|_| ())
        .map_err(|e| LearnError::Invalid(format!("gate spec: {e}")))
}
