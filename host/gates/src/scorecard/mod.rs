//! The weekly revenue scorecard: per version and segment, the metrics; the
//! gates with their per-metric estimates and intervals; the decisions taken;
//! and each metric over time per version.
//!
//! [`render_text`] prints terminal tables; [`render_html`] writes one
//! self-contained page (inline CSS, inline SVG charts with interval bands, no
//! script, no external reference). All text from the data is escaped.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::gate::{num, pct};
use crate::{GateReport, GateVerdict, MetricReport, MetricRole, MetricStatus};

mod html;
pub use html::render_html;

/// Everything the scorecard shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Page and report title.
    pub title: String,
    /// When it was generated (RFC 3339, given by the caller).
    pub generated_at: String,
    /// The window it covers (e.g. `2026-03-30 .. 2026-04-05`).
    pub window: String,
    /// Per version × segment.
    pub rows: Vec<ScorecardRow>,
    /// Each pilot's latest gate evaluation.
    pub gates: Vec<PilotGate>,
    /// Decisions taken in the window.
    pub decisions: Vec<DecisionEntry>,
    /// Metrics over time per version; one chart per metric.
    pub series: Vec<Series>,
}

/// One version in one segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScorecardRow {
    /// The version's label (e.g. `email-outreach 1.3.0`).
    pub version: String,
    /// Its content hash.
    pub hash: String,
    /// The cohort (segment, region or channel).
    pub segment: String,
    /// Its metrics.
    pub metrics: Vec<MetricValue>,
}

/// One metric's value, with an interval if there is one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// The metric's name.
    pub metric: String,
    /// Its estimate.
    pub value: f64,
    /// Lower end of its interval.
    pub lower: Option<f64>,
    /// Upper end of its interval.
    pub upper: Option<f64>,
    /// Units behind it.
    pub n: u64,
}

/// A pilot's gate evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PilotGate {
    /// The pilot's id.
    pub pilot: String,
    /// The control version's label.
    pub control: String,
    /// The candidate version's label.
    pub candidate: String,
    /// The gate's report.
    pub report: GateReport,
}

/// A decision taken on a pilot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionEntry {
    /// When (RFC 3339).
    pub at: String,
    /// The pilot's id.
    pub pilot: String,
    /// `ramp`, `promote`, `rollback`, `kill`, `approve`, ...
    pub action: String,
    /// What exactly.
    pub detail: String,
}

/// One metric of one version over time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The metric's name.
    pub metric: String,
    /// The version's label.
    pub version: String,
    /// Points in time order.
    pub points: Vec<Point>,
}

/// One point of a series with its interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The x-axis label: a time that sorts as text (an ISO date, `2026-03-02`).
    pub label: String,
    /// The estimate.
    pub value: f64,
    /// Lower end of its interval.
    pub lower: f64,
    /// Upper end of its interval.
    pub upper: f64,
}

impl Scorecard {
    /// Metric names that have a series, in first-appearance order: one chart each.
    pub fn charted_metrics(&self) -> Vec<&str> {
        unique(self.series.iter().map(|s| s.metric.as_str()))
    }
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn verdict_label(v: GateVerdict) -> &'static str {
    match v {
        GateVerdict::Pass => "PASS",
        GateVerdict::Fail => "FAIL",
        GateVerdict::KeepCollecting => "KEEP COLLECTING",
    }
}

fn status_label(s: MetricStatus) -> &'static str {
    match s {
        MetricStatus::Pass => "pass",
        MetricStatus::Fail => "fail",
        MetricStatus::Inconclusive => "inconclusive",
    }
}

fn role_label(r: MetricRole) -> &'static str {
    match r {
        MetricRole::Kpi => "kpi",
        MetricRole::Guardrail => "guardrail",
        MetricRole::Compliance => "compliance",
    }
}

fn short_hash(h: &str) -> String {
    h.chars().take(12).collect()
}

fn interval(lower: Option<f64>, upper: Option<f64>) -> String {
    match (lower, upper) {
        (Some(l), Some(u)) => format!("[{}, {}]", num(l), num(u)),
        (None, Some(u)) => format!("[.., {}]", num(u)),
        (Some(l), None) => format!("[{}, ..]", num(l)),
        (None, None) => String::new(),
    }
}

fn lift(m: &MetricReport) -> String {
    match (m.relative_lift, m.relative_lower, m.relative_upper) {
        (Some(l), Some(lo), Some(hi)) => format!("{} [{}, {}]", pct(l), pct(lo), pct(hi)),
        (Some(l), _, _) => pct(l),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------- text

/// Drops control characters so data cannot move the terminal's cursor or
/// change its colours.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

struct Table {
    head: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[(&str, bool)]) -> Self {
        Table {
            head: head.iter().map(|h| h.0.to_string()).collect(),
            right: head.iter().map(|h| h.1).collect(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row.iter().map(|c| clean(c)).collect());
    }

    fn render(&self, out: &mut String, indent: &str) {
        let mut widths: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>, out: &mut String| {
            let mut l = String::from(indent);
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i > 0 {
                    l.push_str("  ");
                }
                let pad = w.saturating_sub(cell.chars().count());
                if self.right[i] {
                    l.push_str(&" ".repeat(pad));
                    l.push_str(cell);
                } else {
                    l.push_str(cell);
                    l.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(self.head.iter().map(String::as_str).collect(), out);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(rule.iter().map(String::as_str).collect(), out);
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect(), out);
        }
    }
}

/// Renders the scorecard as plain-text tables for a terminal.
pub fn render_text(card: &Scorecard) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", clean(&card.title));
    let _ = writeln!(
        out,
        "generated {}  window {}",
        clean(&card.generated_at),
        clean(&card.window)
    );

    out.push_str("\nVERSIONS BY SEGMENT\n");
    if card.rows.is_empty() {
        out.push_str("  (no runs in the window)\n");
    } else {
        // One block per version: a row per segment, a column per metric.
        let mut start = 0;
        while start < card.rows.len() {
            let first = &card.rows[start];
            let end = card.rows[start..]
                .iter()
                .position(|r| r.version != first.version || r.hash != first.hash)
                .map_or(card.rows.len(), |i| start + i);
            let _ = writeln!(
                out,
                "  {}  #{}",
                clean(&first.version),
                short_hash(&first.hash)
            );
            let mut head: Vec<(&str, bool)> = vec![("segment", false), ("n", true)];
            head.extend(first.metrics.iter().map(|m| (m.metric.as_str(), true)));
            let mut t = Table::new(&head);
            for row in &card.rows[start..end] {
                let mut cells = vec![
                    row.segment.clone(),
                    row.metrics.first().map_or(0, |m| m.n).to_string(),
                ];
                cells.extend(row.metrics.iter().map(|m| num(m.value)));
                t.push(cells);
            }
            t.render(&mut out, "    ");
            start = end;
        }
    }

    out.push_str("\nGATES\n");
    if card.gates.is_empty() {
        out.push_str("  (no pilots)\n");
    }
    for g in &card.gates {
        let _ = writeln!(
            out,
            "  pilot {}: {} vs control {} => {} (alpha per test {})",
            clean(&g.pilot),
            clean(&g.candidate),
            clean(&g.control),
            verdict_label(g.report.verdict),
            num(g.report.alpha_per_test)
        );
        let mut t = Table::new(&[
            ("metric", false),
            ("role", false),
            ("control", true),
            ("candidate", true),
            ("difference", true),
            ("interval", false),
            ("lift", false),
            ("status", false),
        ]);
        for m in &g.report.metrics {
            t.push(vec![
                m.metric.clone(),
                role_label(m.role).to_owned(),
                num(m.control),
                num(m.candidate),
                num(m.difference),
                interval(Some(m.lower), Some(m.upper)),
                lift(m),
                status_label(m.status).to_owned(),
            ]);
        }
        t.render(&mut out, "    ");
        for r in &g.report.reasons {
            let _ = writeln!(out, "    - {}", clean(r));
        }
    }

    out.push_str("\nDECISIONS\n");
    if card.decisions.is_empty() {
        out.push_str("  (none)\n");
    } else {
        let mut t = Table::new(&[
            ("at", false),
            ("pilot", false),
            ("action", false),
            ("detail", false),
        ]);
        for d in &card.decisions {
            t.push(vec![
                d.at.clone(),
                d.pilot.clone(),
                d.action.clone(),
                d.detail.clone(),
            ]);
        }
        t.render(&mut out, "  ");
    }
    out
}

// ---------------------------------------------------------------- HTML

#[cfg(test)]
mod tests {
    use super::html::tick_step;
    use super::*;
    use crate::{GateReport, MetricReport};

    fn report(verdict: GateVerdict) -> GateReport {
        GateReport {
            verdict,
            reasons: vec![
                "kpi `meetings<b>`: lift +20.0% [+5.0%, +36.0%] clears the target".into(),
            ],
            metrics: vec![MetricReport {
                metric: "meetings<b>".into(),
                role: MetricRole::Kpi,
                control: 0.1,
                candidate: 0.12,
                difference: 0.02,
                lower: 0.005,
                upper: 0.035,
                relative_lift: Some(0.2),
                relative_lower: Some(0.05),
                relative_upper: Some(0.36),
                control_units: 8000,
                candidate_units: 8000,
                status: MetricStatus::Pass,
                note: "clears \"the\" target".into(),
            }],
            alpha_per_test: 0.025,
        }
    }

    fn card() -> Scorecard {
        let points = |base: f64| -> Vec<Point> {
            (1..=5)
                .map(|d| Point {
                    label: format!("day {d}"),
                    value: base,
                    lower: base - 0.01,
                    upper: base + 0.01,
                })
                .collect()
        };
        Scorecard {
            title: "Weekly <script>alert(1)</script> scorecard".into(),
            generated_at: "2026-04-06T09:00:00Z".into(),
            window: "2026-03-30 .. 2026-04-05".into(),
            rows: vec![ScorecardRow {
                version: "email 1.3.0 & co".into(),
                hash: "0123456789abcdef0123".into(),
                segment: "smb \"west\"".into(),
                metrics: vec![MetricValue {
                    metric: "meetings<b>".into(),
                    value: 0.12,
                    lower: Some(0.11),
                    upper: Some(0.13),
                    n: 4000,
                }],
            }],
            gates: vec![PilotGate {
                pilot: "pilot-1".into(),
                control: "email 1.2.0".into(),
                candidate: "email 1.3.0".into(),
                report: report(GateVerdict::Pass),
            }],
            decisions: vec![DecisionEntry {
                at: "2026-04-05T17:00:00Z".into(),
                pilot: "pilot-1".into(),
                action: "promote".into(),
                detail: "gate passed; 'production' -> 1.3.0".into(),
            }],
            series: vec![
                Series {
                    metric: "meetings<b>".into(),
                    version: "email 1.2.0".into(),
                    points: points(0.1),
                },
                Series {
                    metric: "meetings<b>".into(),
                    version: "email 1.3.0".into(),
                    points: points(0.12),
                },
                Series {
                    metric: "escalations".into(),
                    version: "email 1.2.0".into(),
                    points: points(0.05),
                },
                Series {
                    metric: "escalations".into(),
                    version: "email 1.3.0".into(),
                    points: points(0.05),
                },
                Series {
                    metric: "cost".into(),
                    version: "email 1.3.0".into(),
                    points: vec![],
                },
            ],
        }
    }

    #[test]
    fn html_escapes_every_piece_of_text() {
        let html = render_html(&card());
        assert!(!html.contains("<script"), "raw script tag");
        assert!(html.contains("Weekly &lt;script&gt;alert(1)&lt;/script&gt; scorecard"));
        assert!(html.contains("meetings&lt;b&gt;"));
        assert!(!html.contains("meetings<b>"));
        assert!(html.contains("email 1.3.0 &amp; co"));
        assert!(html.contains("smb &quot;west&quot;"));
        assert!(html.contains("&#39;production&#39; -&gt; 1.3.0"));
        assert!(html.contains("clears &quot;the&quot; target"));
    }

    #[test]
    fn html_has_one_chart_per_metric_and_the_tables() {
        let c = card();
        let html = render_html(&c);
        assert_eq!(c.charted_metrics(), ["meetings<b>", "escalations", "cost"]);
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 3);
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 3);
        assert!(html.contains("data-charts=\"3\""));
        // Two versions with points in each of the first two charts: a band and a line each.
        assert_eq!(html.matches("<polygon class=\"band\"").count(), 4);
        assert_eq!(html.matches("<polyline").count(), 4);
        assert!(html.contains("no data"), "the empty series says so");
        for id in ["versions-table", "gate-0", "decisions-table"] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(html.contains("<span class=\"badge pass\">PASS</span>"));
        assert!(html.contains("+20.0% [+5.0%, +36.0%]"));
    }

    #[test]
    fn html_is_self_contained() {
        let html = render_html(&card()).to_ascii_lowercase();
        assert!(!html.contains("http"), "an external reference");
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("src="));
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn html_survives_empty_and_non_finite_data() {
        let mut c = card();
        c.series = vec![Series {
            metric: "m".into(),
            version: "v".into(),
            points: vec![
                Point {
                    label: "a".into(),
                    value: f64::NAN,
                    lower: 0.0,
                    upper: 1.0,
                },
                Point {
                    label: "b".into(),
                    value: 2.0,
                    lower: f64::NEG_INFINITY,
                    upper: 3.0,
                },
            ],
        }];
        let html = render_html(&c);
        assert!(!html.contains("NaN") && !html.contains("inf"), "{html}");
        let empty = Scorecard {
            title: "t".into(),
            generated_at: String::new(),
            window: String::new(),
            rows: vec![],
            gates: vec![],
            decisions: vec![],
            series: vec![],
        };
        let html = render_html(&empty);
        assert_eq!(html.matches("<svg").count(), 0);
        assert!(html.contains("No decisions in the window."));
        assert!(render_text(&empty).contains("(no pilots)"));
    }

    #[test]
    fn text_has_the_three_sections_and_strips_control_characters() {
        let mut c = card();
        c.rows[0].segment = "smb\u{1b}[31m".into();
        let text = render_text(&c);
        let sections: Vec<_> = ["VERSIONS BY SEGMENT", "GATES", "DECISIONS"]
            .iter()
            .map(|s| text.find(s).unwrap())
            .collect();
        assert!(sections.windows(2).all(|w| w[0] < w[1]));
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("smb?[31m"));
        assert!(text.contains("pilot pilot-1: email 1.3.0 vs control email 1.2.0 => PASS"));
        assert!(text.contains("[0.0050, 0.0350]"));
        assert!(text.contains("#0123456789ab\n"), "hash shortened to 12");
        assert!(text.contains("promote"));
        // Columns line up: every row of the gate table is as wide as its header or narrower.
        let header = text
            .lines()
            .find(|l| l.trim_start().starts_with("metric "))
            .unwrap();
        let rule = text.lines().skip_while(|l| *l != header).nth(1).unwrap();
        assert!(rule.trim_start().starts_with("---"));
    }

    #[test]
    fn scorecards_round_trip_through_json() {
        let c = card();
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"verdict\":\"pass\""));
        assert_eq!(serde_json::from_str::<Scorecard>(&json).unwrap(), c);
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(1.0), 0.25);
        assert_eq!(tick_step(0.04), 0.01);
        assert_eq!(tick_step(3000.0), 1000.0);
    }
}
