//! Builds a sample weekly scorecard from a small deterministic simulated
//! world — two pilots checked daily: an email skill that truly lifts meetings
//! booked by 20%, and a prompt change that doubles escalations — then prints
//! it as text and writes the HTML page.
//!
//! `cargo run -p gatehouse-gates --example scorecard -- target/scorecard.html`

use gatehouse_gates::scorecard::{
    DecisionEntry, MetricValue, PilotGate, Point, Scorecard, ScorecardRow, Series, render_html,
    render_text,
};
use gatehouse_gates::{
    Better, ComplianceGate, GateSpec, Guardrail, KpiGate, Observation, Sample, Verdict, evaluate,
};

const SEGMENTS: [(&str, f64); 3] = [("smb", 0.12), ("mid-market", 0.10), ("enterprise", 0.07)];
const DAYS: u32 = 14;
const CONTACTS_PER_SEGMENT_DAY: u64 = 120;

/// splitmix64: enough randomness for a sample page, and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn binomial(&mut self, n: u64, p: f64) -> u64 {
        (0..n)
            .filter(|_| ((self.next() >> 11) as f64) / ((1u64 << 53) as f64) < p)
            .count() as u64
    }
    fn hash(&mut self) -> String {
        (0..4).map(|_| format!("{:016x}", self.next())).collect()
    }
}

struct Version {
    label: &'static str,
    hash: String,
    meeting_lift: f64,
    escalation: f64,
}

#[derive(Default, Clone)]
struct Counts {
    contacted: u64,
    meetings: u64,
    escalations: u64,
}

fn prop(s: u64, n: u64) -> Sample {
    Sample::Proportion {
        successes: s,
        trials: n,
    }
}

fn spec() -> GateSpec {
    GateSpec {
        version: 1,
        alpha: 0.05,
        min_sample_per_arm: 1500,
        kpi: KpiGate {
            metric: "meetings_per_contacted".into(),
            better: Better::Higher,
            min_lift: 0.0,
        },
        guardrails: vec![Guardrail {
            metric: "escalation_rate".into(),
            better: Better::Lower,
            tolerance: 0.0,
        }],
        compliance: ComplianceGate {
            metric: "policy_compliance".into(),
            confidence: 0.95,
        },
    }
}

fn observations(c: &Counts, t: &Counts) -> Vec<Observation> {
    vec![
        Observation::new(
            "meetings_per_contacted",
            prop(c.meetings, c.contacted),
            prop(t.meetings, t.contacted),
        ),
        Observation::new(
            "escalation_rate",
            prop(c.escalations, c.contacted),
            prop(t.escalations, t.contacted),
        ),
        Observation::new(
            "policy_compliance",
            prop(c.contacted, c.contacted),
            prop(t.contacted, t.contacted),
        ),
    ]
}

fn point(label: String, s: &Sample) -> Point {
    let (lower, upper) = s.interval(0.95).unwrap_or((0.0, 1.0));
    Point {
        label,
        value: s.estimate(),
        lower,
        upper,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/scorecard.html".into());
    let mut rng = Rng(2026);
    let versions = [
        Version {
            label: "email-outreach 1.2.0",
            hash: rng.hash(),
            meeting_lift: 1.0,
            escalation: 0.04,
        },
        Version {
            label: "email-outreach 1.3.0",
            hash: rng.hash(),
            meeting_lift: 1.2,
            escalation: 0.04,
        },
        Version {
            label: "email-outreach 1.2.1-prompt",
            hash: rng.hash(),
            meeting_lift: 1.0,
            escalation: 0.08,
        },
    ];
    let pilots = [("pilot-email-1.3.0", 1usize), ("pilot-prompt-tone", 2usize)];
    let spec = spec();
    let mut totals = vec![vec![Counts::default(); SEGMENTS.len()]; versions.len()];
    let mut series: Vec<Series> = Vec::new();
    for metric in ["meetings_per_contacted", "escalation_rate"] {
        for v in &versions {
            series.push(Series {
                metric: metric.into(),
                version: v.label.into(),
                points: vec![],
            });
        }
    }
    let mut decisions = vec![];
    let mut open = [true, true];
    let mut gates = vec![];
    for (p, (pilot, _)) in pilots.iter().enumerate() {
        decisions.push(DecisionEntry {
            at: "2026-03-23T09:00:00Z".into(),
            pilot: (*pilot).into(),
            action: "approve".into(),
            detail: if p == 0 {
                "low risk: auto-approved into a pilot at 50%".into()
            } else {
                "medium risk: approved by revops-lead".into()
            },
        });
    }
    for day in 1..=DAYS {
        let at = format!("{}T18:00:00Z", date(day));
        for (vi, v) in versions.iter().enumerate() {
            // A rolled-back or promoted candidate stops getting traffic.
            if vi > 0 && !open[vi - 1] {
                continue;
            }
            for (si, (_, base)) in SEGMENTS.iter().enumerate() {
                let c = &mut totals[vi][si];
                c.contacted += CONTACTS_PER_SEGMENT_DAY;
                c.meetings += rng.binomial(CONTACTS_PER_SEGMENT_DAY, base * v.meeting_lift);
                c.escalations += rng.binomial(CONTACTS_PER_SEGMENT_DAY, v.escalation);
            }
        }
        let sum = |vi: usize| {
            totals[vi].iter().fold(Counts::default(), |a, c| Counts {
                contacted: a.contacted + c.contacted,
                meetings: a.meetings + c.meetings,
                escalations: a.escalations + c.escalations,
            })
        };
        for (vi, v) in versions.iter().enumerate() {
            if vi > 0 && !open[vi - 1] {
                continue;
            }
            let c = sum(vi);
            for s in series.iter_mut().filter(|s| s.version == v.label) {
                let sample = if s.metric == "escalation_rate" {
                    prop(c.escalations, c.contacted)
                } else {
                    prop(c.meetings, c.contacted)
                };
                s.points.push(point(date(day)[5..].to_owned(), &sample));
            }
        }
        for (p, (pilot, cand)) in pilots.iter().enumerate() {
            if !open[p] {
                continue;
            }
            let report = evaluate(&spec, &observations(&sum(0), &sum(*cand)))?;
            let action = match report.verdict {
                Verdict::Pass => "promote",
                Verdict::Fail => "rollback",
                Verdict::KeepCollecting => {
                    if day == DAYS {
                        gates.push(gate(pilot, &versions, *cand, report));
                    }
                    continue;
                }
            };
            decisions.push(DecisionEntry {
                at: at.clone(),
                pilot: (*pilot).into(),
                action: action.into(),
                detail: report.reasons.first().cloned().unwrap_or_default(),
            });
            open[p] = false;
            gates.push(gate(pilot, &versions, *cand, report));
        }
    }
    decisions.sort_by(|a, b| a.at.cmp(&b.at));
    let mut rows = vec![];
    for (vi, v) in versions.iter().enumerate() {
        for (si, (segment, _)) in SEGMENTS.iter().enumerate() {
            let c = &totals[vi][si];
            let mv = |metric: &str, s: Sample| {
                let (lo, hi) = s.interval(0.95).unzip();
                MetricValue {
                    metric: metric.into(),
                    value: s.estimate(),
                    lower: lo,
                    upper: hi,
                    n: s.units(),
                }
            };
            rows.push(ScorecardRow {
                version: v.label.into(),
                hash: v.hash.clone(),
                segment: (*segment).into(),
                metrics: vec![
                    mv("meetings_per_contacted", prop(c.meetings, c.contacted)),
                    mv("escalation_rate", prop(c.escalations, c.contacted)),
                ],
            });
        }
    }
    let card = Scorecard {
        title: "Weekly revenue scorecard".into(),
        generated_at: "2026-04-06T08:00:00Z".into(),
        window: format!("{} .. {}", date(1), date(DAYS)),
        rows,
        gates,
        decisions,
        series,
    };
    print!("{}", render_text(&card));
    std::fs::write(&out, render_html(&card))?;
    eprintln!("wrote {out}");
    Ok(())
}

fn gate(
    pilot: &str,
    versions: &[Version],
    cand: usize,
    report: gatehouse_gates::GateReport,
) -> PilotGate {
    PilotGate {
        pilot: pilot.into(),
        control: versions[0].label.into(),
        candidate: versions[cand].label.into(),
        report,
    }
}

/// Day `d` of the window, starting Monday 2026-03-23.
fn date(d: u32) -> String {
    let day = 22 + d;
    if day <= 31 {
        format!("2026-03-{day:02}")
    } else {
        format!("2026-04-{:02}", day - 31)
    }
}
