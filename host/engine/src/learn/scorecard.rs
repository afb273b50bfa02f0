//! The scorecard: per version and segment, every metric; per pilot, the
//! gates; the decisions taken; and each metric over time per version.
//! Built from the audit log alone.

use super::LearnError;
use super::metrics::{self, Step};
use super::pilot::{self, PilotEvent, Status};
use gatehouse_gates::scorecard::{
    DecisionEntry, PilotGate, Point, Scorecard, ScorecardRow, Series,
};
use gatehouse_store::Entry;
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

/// The metrics drawn over time.
const SERIES: [&str; 4] = [
    "meetings-per-contacted",
    "escalation-rate",
    "success-rate",
    "cost-per-contacted",
];

fn day(ms: i64) -> String {
    // Civil date from days since the epoch (proleptic Gregorian).
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Which cohort a scorecard's rows split each version by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cohort {
    /// The run's cohort (segment).
    #[default]
    Segment,
    /// The action's region.
    Region,
    /// The action's channel (kind).
    Channel,
}

impl Cohort {
    fn of(self, s: &Step) -> &str {
        match self {
            Self::Segment => &s.segment,
            Self::Region => &s.region,
            Self::Channel => &s.channel,
        }
    }

    fn all(self) -> &'static str {
        match self {
            Self::Segment => "all segments",
            Self::Region => "all regions",
            Self::Channel => "all channels",
        }
    }
}

/// What a scorecard covers and how it is titled.
#[derive(Clone, Debug)]
pub struct Options {
    /// Its title.
    pub title: String,
    /// When it was made (shown as given).
    pub generated_at: String,
    /// Runs whose clock is at or after this (ms since the epoch).
    pub from_ms: i64,
    /// ... and before this.
    pub to_ms: i64,
    /// The cohort rows are split by.
    pub by: Cohort,
}

/// The scorecard of the runs whose clock falls in the window: rows per
/// version and cohort (and each version over all its cohorts).
pub fn build(
    entries: &[Entry],
    store: Option<&gatehouse_store::Store>,
    options: &Options,
) -> Result<Scorecard, LearnError> {
    let (from_ms, to_ms) = (options.from_ms, options.to_ms);
    let steps = metrics::steps(entries, from_ms, to_ms)?;
    let all_pilots = pilot::pilots(entries)?;
    // Name versions by their registry artifacts where a pilot pins them.
    let mut names = std::collections::HashMap::new();
    if let Some(store) = store {
        for p in all_pilots.values() {
            for arm in [&p.spec.control, &p.spec.candidate] {
                names.insert(arm.version_key(store)?, arm.label());
            }
        }
    }
    let label = |s: &Step| {
        names
            .get(&metrics::version_key(&s.version))
            .cloned()
            .unwrap_or_else(|| metrics::version_label(&s.version))
    };

    // Rows: version × cohort, plus each version over all its cohorts.
    let by = options.by;
    let mut groups: BTreeMap<(String, String, String), Vec<&Step>> = BTreeMap::new();
    let mut cohorts: BTreeMap<String, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for s in &steps {
        let hash = metrics::version_key(&s.version);
        cohorts.entry(hash.clone()).or_default().insert(by.of(s));
        groups
            .entry((label(s), hash, by.of(s).to_string()))
            .or_default()
            .push(s);
    }
    for s in &steps {
        let hash = metrics::version_key(&s.version);
        if cohorts.get(&hash).is_some_and(|c| c.len() > 1) {
            groups
                .entry((label(s), hash, by.all().to_string()))
                .or_default()
                .push(s);
        }
    }
    let rows = groups
        .iter()
        .map(|((version, hash, segment), list)| ScorecardRow {
            version: version.clone(),
            hash: hash.clone(),
            segment: segment.clone(),
            metrics: metrics::METRICS
                .iter()
                .map(|m| metrics::figure(m, list))
                .collect(),
        })
        .collect();

    // Series: cumulative value per version at the end of each day.
    let mut by_version: BTreeMap<String, Vec<&Step>> = BTreeMap::new();
    for s in &steps {
        by_version.entry(label(s)).or_default().push(s);
    }
    let mut series = Vec::new();
    for metric in SERIES {
        for (version, list) in &by_version {
            let mut days: Vec<i64> = list.iter().map(|s| s.at_ms.div_euclid(DAY_MS)).collect();
            days.sort_unstable();
            days.dedup();
            let points = days
                .iter()
                .map(|d| {
                    let upto: Vec<&Step> = list
                        .iter()
                        .copied()
                        .filter(|s| s.at_ms.div_euclid(DAY_MS) <= *d)
                        .collect();
                    let f = metrics::figure(metric, &upto);
                    Point {
                        label: day(d * DAY_MS),
                        value: f.value,
                        lower: f.lower.unwrap_or(f.value),
                        upper: f.upper.unwrap_or(f.value),
                    }
                })
                .collect();
            series.push(Series {
                metric: metric.to_string(),
                version: version.clone(),
                points,
            });
        }
    }

    // Gates: each pilot's last check (or a check now while it runs).
    let mut gates = Vec::new();
    let mut decisions = Vec::new();
    let last_clock = steps.iter().map(|s| s.at_ms).max().unwrap_or(from_ms);
    for (id, p) in all_pilots {
        let last = p.events.iter().rev().find_map(|e| match &e.event {
            PilotEvent::Promote { check, .. } => Some((**check).clone()),
            PilotEvent::Rollback {
                check: Some(check), ..
            } => Some((**check).clone()),
            _ => None,
        });
        let check = match (p.status, last) {
            (Status::Running, _) | (_, None) => p.check(entries, last_clock.max(p.started_ms))?,
            (_, Some(check)) => check,
        };
        gates.push(PilotGate {
            pilot: id.clone(),
            control: p.spec.control.label(),
            candidate: p.spec.candidate.label(),
            report: check.gate,
        });
        for e in &p.events {
            let (action, detail) = match &e.event {
                PilotEvent::Start { spec } => (
                    "start",
                    format!("ramp {:?}%, gates v{}", spec.ramp, spec.gate.version),
                ),
                PilotEvent::Ramp { percent, .. } => {
                    ("ramp", format!("exposure cap raised to {percent}%"))
                }
                PilotEvent::Promote { moves, .. } => (
                    "promote",
                    format!(
                        "{} moved on `{}`",
                        moves
                            .iter()
                            .map(|m| format!("{}@{}", m.name, m.to.version))
                            .collect::<Vec<_>>()
                            .join(", "),
                        p.spec.channel
                    ),
                ),
                PilotEvent::Rollback { reason, .. } => ("rollback", reason.clone()),
            };
            decisions.push(DecisionEntry {
                at: day(e.at_ms),
                pilot: id.clone(),
                action: action.to_string(),
                detail,
            });
        }
    }
    for e in entries
        .iter()
        .filter(|e| e.kind == "kill" || e.kind == "revive")
    {
        let agent = e.body.get("agent").and_then(|a| a.as_str()).unwrap_or("?");
        let reason = e.body.get("reason").and_then(|a| a.as_str()).unwrap_or("");
        decisions.push(DecisionEntry {
            at: day(e.at_ms),
            pilot: "-".to_string(),
            action: e.kind.clone(),
            detail: format!("agent `{agent}`: {reason}"),
        });
    }
    decisions.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(Scorecard {
        title: options.title.clone(),
        generated_at: options.generated_at.clone(),
        window: format!(
            "{} to {}",
            day(from_ms.max(0)),
            day(to_ms.min(253_402_300_799_000) - 1)
        ),
        rows,
        gates,
        decisions,
        series,
    })
}
