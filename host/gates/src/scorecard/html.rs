//! The scorecard as one self-contained HTML page: tables and inline SVG
//! charts, no scripts, no external resources.

use super::*;

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

fn verdict_class(v: GateVerdict) -> &'static str {
    match v {
        GateVerdict::Pass => "pass",
        GateVerdict::Fail => "fail",
        GateVerdict::KeepCollecting => "keep-collecting",
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
        let kpi = g.report.metrics.iter().find(|m| m.role == MetricRole::Kpi);
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
             <table id=\"gate-{i}\" class=\"data gate-table\"><thead><tr><th>Metric</th><th>MetricRole</th>\
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
pub(super) fn tick_step(span: f64) -> f64 {
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
