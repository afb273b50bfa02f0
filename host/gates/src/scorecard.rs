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
use crate::{GateReport, MetricReport, MetricStatus, Role, Verdict};

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

fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::KeepCollecting => "KEEP COLLECTING",
    }
}

fn status_label(s: MetricStatus) -> &'static str {
    match s {
        MetricStatus::Pass => "pass",
        MetricStatus::Fail => "fail",
        MetricStatus::Inconclusive => "inconclusive",
    }
}

fn role_label(r: Role) -> &'static str {
    match r {
        Role::Kpi => "kpi",
        Role::Guardrail => "guardrail",
        Role::Compliance => "compliance",
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

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const PALETTE: [&str; 6] = [
    "#1c64c8", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#5c6f7c",
];

const CSS: &str = "
:root{--fg:#1d232a;--muted:#5b6672;--line:#d8dee4;--bg:#fff;--soft:#f4f6f8;--pass:#2b8a3e;--fail:#c92a2a;--wait:#b26b00}
*{box-sizing:border-box}
body{margin:0;background:var(--soft);color:var(--fg);font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px}
header h1{margin:0 0 4px;font-size:24px}
.meta{margin:0;color:var(--muted)}
section{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:17px;margin:0 0 12px}
h3{font-size:15px;margin:0 0 8px}
table.data{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
table.data th,table.data td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
table.data th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}
td.num{text-align:right;white-space:nowrap}
td.nowrap{white-space:nowrap}
td.status{min-width:260px}
.sub{display:block;color:var(--muted);font-size:12px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:4px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--muted)}
.badge.pass,.badge.promote,.badge.approve{background:var(--pass)}
.badge.fail,.badge.rollback,.badge.kill{background:var(--fail)}
.badge.keep-collecting,.badge.inconclusive,.badge.ramp{background:var(--wait)}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 240px;border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card .who{color:var(--muted);font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
figure.chart{margin:0}
figure.chart figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font-size:11px;fill:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:12px;color:var(--muted)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
ul.reasons{margin:8px 0 0;padding-left:20px;color:var(--muted)}
article.gate+article.gate{margin-top:20px;padding-top:16px;border-top:1px solid var(--line)}
";

/// Renders the scorecard as one self-contained HTML page: inline CSS and
/// inline SVG charts (one per metric, a line per version with its interval
/// band), no script and no external reference. Text is escaped.
pub fn render_html(card: &Scorecard) -> String {
    let metrics = card.charted_metrics();
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <main id=\"scorecard\" data-charts=\"{}\" data-gates=\"{}\" data-rows=\"{}\" data-decisions=\"{}\">\n",
        esc(&card.title),
        metrics.len(),
        card.gates.len(),
        card.rows.len(),
        card.decisions.len()
    );
    let _ = writeln!(
        h,
        "<header><h1>{}</h1><p class=\"meta\">Generated {} &middot; window {}</p></header>",
        esc(&card.title),
        esc(&card.generated_at),
        esc(&card.window)
    );
    html_summary(&mut h, card);
    html_rows(&mut h, card);
    html_charts(&mut h, card, &metrics);
    html_gates(&mut h, card);
    html_decisions(&mut h, card);
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::KeepCollecting => "keep-collecting",
    }
}

/// A CSS class from free text: lowercase letters, digits and dashes only.
fn class_of(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn html_summary(h: &mut String, card: &Scorecard) {
    if card.gates.is_empty() {
        return;
    }
    h.push_str("<section id=\"summary\"><h2>Pilots</h2><div class=\"cards\">\n");
    for g in &card.gates {
        let kpi = g.report.metrics.iter().find(|m| m.role == Role::Kpi);
        let _ = write!(
            h,
            "<div class=\"card\"><div class=\"who\">{}</div><h3>{} <span class=\"sub\">vs {}</span></h3>\
             <span class=\"badge {}\">{}</span>",
            esc(&g.pilot),
            esc(&g.candidate),
            esc(&g.control),
            verdict_class(g.report.verdict),
            verdict_label(g.report.verdict)
        );
        if let Some(k) = kpi {
            let _ = write!(
                h,
                " <span class=\"sub\">{}: {}</span>",
                esc(&k.metric),
                esc(&lift(k))
            );
        }
        h.push_str("</div>\n");
    }
    h.push_str("</div></section>\n");
}

fn html_rows(h: &mut String, card: &Scorecard) {
    let metrics = unique(
        card.rows
            .iter()
            .flat_map(|r| r.metrics.iter().map(|m| m.metric.as_str())),
    );
    h.push_str("<section id=\"versions\"><h2>Versions by segment</h2>\n");
    h.push_str("<table id=\"versions-table\" class=\"data\"><thead><tr><th>Version</th><th>Hash</th><th>Segment</th>");
    for m in &metrics {
        let _ = write!(h, "<th class=\"num\">{}</th>", esc(m));
    }
    h.push_str("</tr></thead><tbody>\n");
    for row in &card.rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code title=\"{}\">{}</code></td><td>{}</td>",
            esc(&row.version),
            esc(&row.hash),
            esc(&short_hash(&row.hash)),
            esc(&row.segment)
        );
        for m in &metrics {
            match row.metrics.iter().find(|v| v.metric == *m) {
                Some(v) => {
                    let _ = write!(
                        h,
                        "<td class=\"num\">{}<span class=\"sub\">{} n={}</span></td>",
                        esc(&num(v.value)),
                        esc(&interval(v.lower, v.upper)),
                        v.n
                    );
                }
                None => h.push_str("<td class=\"num\">&ndash;</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    if card.rows.is_empty() {
        h.push_str("<tr><td colspan=\"3\">No runs in the window.</td></tr>\n");
    }
    h.push_str("</tbody></table></section>\n");
}

fn html_gates(h: &mut String, card: &Scorecard) {
    h.push_str("<section id=\"gates\"><h2>Gates</h2>\n");
    if card.gates.is_empty() {
        h.push_str("<p class=\"meta\">No pilots.</p>\n");
    }
    for (i, g) in card.gates.iter().enumerate() {
        let _ = write!(
            h,
            "<article class=\"gate\"><h3>{}: {} vs {} <span class=\"badge {}\">{}</span> \
             <span class=\"sub\">always-valid intervals, alpha {} per test</span></h3>\n\
             <table id=\"gate-{i}\" class=\"data gate-table\"><thead><tr><th>Metric</th><th>Role</th>\
             <th class=\"num\">Control</th><th class=\"num\">Candidate</th><th class=\"num\">Difference</th>\
             <th>Interval</th><th>Lift</th><th>Status</th></tr></thead><tbody>\n",
            esc(&g.pilot),
            esc(&g.candidate),
            esc(&g.control),
            verdict_class(g.report.verdict),
            verdict_label(g.report.verdict),
            esc(&num(g.report.alpha_per_test))
        );
        for m in &g.report.metrics {
            let _ = writeln!(
                h,
                "<tr><td>{}<span class=\"sub\">n = {} / {}</span></td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td>\
                 <td class=\"status\"><span class=\"badge {}\">{}</span><span class=\"sub\">{}</span></td></tr>",
                esc(&m.metric),
                m.control_units,
                m.candidate_units,
                role_label(m.role),
                esc(&num(m.control)),
                esc(&num(m.candidate)),
                esc(&num(m.difference)),
                esc(&interval(Some(m.lower), Some(m.upper))),
                esc(&lift(m)),
                status_label(m.status),
                status_label(m.status),
                esc(&m.note)
            );
        }
        h.push_str("</tbody></table>\n<ul class=\"reasons\">");
        for r in &g.report.reasons {
            let _ = write!(h, "<li>{}</li>", esc(r));
        }
        h.push_str("</ul></article>\n");
    }
    h.push_str("</section>\n");
}

fn html_decisions(h: &mut String, card: &Scorecard) {
    h.push_str(
        "<section id=\"decisions\"><h2>Decisions</h2>\n<table id=\"decisions-table\" class=\"data\">\
         <thead><tr><th>At</th><th>Pilot</th><th>Action</th><th>Detail</th></tr></thead><tbody>\n",
    );
    for d in &card.decisions {
        let _ = writeln!(
            h,
            "<tr><td class=\"nowrap\">{}</td><td>{}</td><td><span class=\"badge {}\">{}</span></td><td>{}</td></tr>",
            esc(&d.at),
            esc(&d.pilot),
            class_of(&d.action),
            esc(&d.action),
            esc(&d.detail)
        );
    }
    if card.decisions.is_empty() {
        h.push_str("<tr><td colspan=\"4\">No decisions in the window.</td></tr>\n");
    }
    h.push_str("</tbody></table></section>\n");
}

// ---------------------------------------------------------------- charts

const W: f64 = 560.0;
const H: f64 = 250.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 44.0;

/// A "nice" tick step (1, 2, 2.5 or 5 × 10^k) for about four intervals.
fn tick_step(span: f64) -> f64 {
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn html_charts(h: &mut String, card: &Scorecard, metrics: &[&str]) {
    if metrics.is_empty() {
        return;
    }
    let versions = unique(card.series.iter().map(|s| s.version.as_str()));
    h.push_str("<section id=\"charts\"><h2>Metrics over time</h2><div class=\"charts\">\n");
    for metric in metrics {
        let series: Vec<&Series> = card.series.iter().filter(|s| s.metric == *metric).collect();
        let colour = |v: &str| {
            let i = versions.iter().position(|x| *x == v).unwrap_or(0);
            PALETTE[i % PALETTE.len()]
        };
        let _ = writeln!(
            h,
            "<figure class=\"chart\" data-metric=\"{m}\"><figcaption>{m}</figcaption>",
            m = esc(metric)
        );
        chart_svg(h, metric, &series, &colour);
        h.push_str("<div class=\"legend\">");
        for s in &series {
            let _ = write!(
                h,
                "<span><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
                colour(&s.version),
                esc(&s.version)
            );
        }
        h.push_str("<span>shaded: interval</span></div></figure>\n");
    }
    h.push_str("</div></section>\n");
}

fn chart_svg(
    h: &mut String,
    metric: &str,
    series: &[&Series],
    colour: &dyn Fn(&str) -> &'static str,
) {
    // One time axis for every series: labels sort as text in time order
    // (ISO dates).
    let mut labels = unique(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.label.as_str())),
    );
    labels.sort_unstable();
    // Finite points only, with the interval clamped around the value.
    let pts = |s: &Series| -> Vec<(usize, f64, f64, f64)> {
        s.points
            .iter()
            .filter(|p| p.value.is_finite())
            .map(|p| {
                let x = labels.iter().position(|l| *l == p.label).unwrap_or(0);
                let lo = if p.lower.is_finite() {
                    p.lower.min(p.value)
                } else {
                    p.value
                };
                let hi = if p.upper.is_finite() {
                    p.upper.max(p.value)
                } else {
                    p.value
                };
                (x, p.value, lo, hi)
            })
            .collect()
    };
    let all: Vec<(usize, f64, f64, f64)> = series.iter().flat_map(|s| pts(s)).collect();
    let (mut ymin, mut ymax) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.2), b.max(p.3))
        });
    if !ymin.is_finite() {
        (ymin, ymax) = (0.0, 1.0);
    }
    if ymax - ymin <= f64::EPSILON * ymax.abs().max(1.0) {
        let pad = if ymax == 0.0 { 1.0 } else { ymax.abs() * 0.1 };
        (ymin, ymax) = (ymin - pad, ymax + pad);
    }
    let step = tick_step(ymax - ymin);
    let (y0, y1) = ((ymin / step).floor() * step, (ymax / step).ceil() * step);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let sx = |i: usize| {
        if labels.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (labels.len() - 1) as f64
        }
    };
    let sy = |v: f64| TOP + plot_h * (1.0 - (v - y0) / (y1 - y0));

    let _ = writeln!(
        h,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{m} over time per version\">\
         <title>{m} over time per version</title>",
        m = esc(metric)
    );
    // Grid and y labels.
    let mut v = y0;
    let mut guard = 0;
    while v <= y1 + step * 1e-9 && guard < 20 {
        let y = sy(v);
        let _ = writeln!(
            h,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e3e8ee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&num(v))
        );
        v += step;
        guard += 1;
    }
    // X labels: at most eight, evenly spread, counted back from the last.
    let every = labels.len().div_ceil(8).max(1);
    for (i, l) in labels.iter().enumerate() {
        if (labels.len() - 1 - i) % every == 0 {
            let _ = writeln!(
                h,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                sx(i),
                H - BOTTOM + 18.0,
                esc(l)
            );
        }
    }
    let _ = writeln!(
        h,
        "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{b:.1}\" y2=\"{b:.1}\" stroke=\"#9aa5b1\"/>",
        W - RIGHT,
        b = TOP + plot_h
    );
    for s in series {
        let p = pts(s);
        if p.is_empty() {
            continue;
        }
        let c = colour(&s.version);
        // Band: upper edge left to right, lower edge back.
        let mut band = String::new();
        for q in &p {
            let _ = write!(band, "{:.1},{:.1} ", sx(q.0), sy(q.3));
        }
        for q in p.iter().rev() {
            let _ = write!(band, "{:.1},{:.1} ", sx(q.0), sy(q.2));
        }
        let line: String = p
            .iter()
            .map(|q| format!("{:.1},{:.1} ", sx(q.0), sy(q.1)))
            .collect();
        let _ = writeln!(
            h,
            "<g class=\"series\" data-version=\"{v}\"><polygon class=\"band\" points=\"{}\" fill=\"{c}\" fill-opacity=\"0.16\"/>\
             <polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>",
            band.trim_end(),
            line.trim_end(),
            v = esc(&s.version)
        );
        for q in &p {
            let _ = writeln!(
                h,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"><title>{}: {} {} [{}, {}]</title></circle>",
                sx(q.0),
                sy(q.1),
                esc(&s.version),
                esc(labels.get(q.0).copied().unwrap_or("")),
                esc(&num(q.1)),
                esc(&num(q.2)),
                esc(&num(q.3))
            );
        }
        h.push_str("</g>\n");
    }
    if all.is_empty() {
        let _ = writeln!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no data</text>",
            W / 2.0,
            H / 2.0
        );
    }
    h.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GateReport, MetricReport};

    fn report(verdict: Verdict) -> GateReport {
        GateReport {
            verdict,
            reasons: vec![
                "kpi `meetings<b>`: lift +20.0% [+5.0%, +36.0%] clears the target".into(),
            ],
            metrics: vec![MetricReport {
                metric: "meetings<b>".into(),
                role: Role::Kpi,
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
                report: report(Verdict::Pass),
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
