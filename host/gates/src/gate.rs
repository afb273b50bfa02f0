//! Evaluating a gate spec against both arms' data.

use serde::{Deserialize, Serialize};

use crate::bounds::violation_upper_bound;
use crate::sample::{ArmStats, Observation, Sample};
use crate::sequential::multiplier;
use crate::spec::{Better, GateSpec, Guardrail};

/// Why a gate could not be evaluated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GateError {
    /// The spec breaks a rule (alpha outside (0, 1), a negative tolerance, ...).
    #[error("invalid gate spec: {0}")]
    InvalidSpec(String),
    /// The spec is in a format version this build does not read.
    #[error("gate spec version `{found}` is not supported (this build reads version {supported})")]
    UnsupportedVersion {
        /// The spec's version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The data has no observation for a metric the spec gates.
    #[error("no observation for metric `{0}`")]
    MissingMetric(String),
    /// The data has two observations for one metric.
    #[error("two observations for metric `{0}`")]
    DuplicateMetric(String),
    /// The two arms of a metric carry different kinds of sample.
    #[error(
        "metric `{metric}` has a {control} sample for control but a {candidate} sample for candidate"
    )]
    MixedSampleKinds {
        /// The metric.
        metric: String,
        /// The control's sample kind.
        control: &'static str,
        /// The candidate's sample kind.
        candidate: &'static str,
    },
    /// A metric's sample is not of the kind its gate needs.
    #[error("metric `{metric}` must be a {expected} sample, found a {found} sample")]
    WrongSampleKind {
        /// The metric.
        metric: String,
        /// The kind the gate needs.
        expected: &'static str,
        /// The kind found.
        found: &'static str,
    },
    /// A sample's numbers cannot be real data.
    #[error("metric `{metric}` {arm} sample is impossible: {problem}")]
    InvalidSample {
        /// The metric.
        metric: String,
        /// `control` or `candidate`.
        arm: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// The gate's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateVerdict {
    /// Promote: minimum sample reached, KPI lift shown, no guardrail harm, no
    /// compliance violation.
    Pass,
    /// Roll back: a guardrail shows harm, the KPI shows the candidate worse
    /// than control, or the candidate violated compliance.
    Fail,
    /// Neither yet.
    KeepCollecting,
}

/// What a metric is gated as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricRole {
    /// The business KPI.
    Kpi,
    /// A guardrail.
    Guardrail,
    /// The compliance gate.
    Compliance,
}

/// One metric's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricStatus {
    /// The metric's gate is met.
    Pass,
    /// The metric's gate is broken.
    Fail,
    /// Not enough evidence either way.
    Inconclusive,
}

/// One metric's estimates, interval and status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricReport {
    /// The metric's name.
    pub metric: String,
    /// What it is gated as.
    pub role: MetricRole,
    /// Control's point estimate (for compliance: its violation rate).
    pub control: f64,
    /// Candidate's point estimate (for compliance: its violation rate).
    pub candidate: f64,
    /// Candidate − control. For compliance: the candidate's violation rate.
    pub difference: f64,
    /// Lower end of the always-valid interval for `difference` (each end
    /// holds with probability `1 − alpha_per_test`, at every look). For
    /// compliance: 0.
    pub lower: f64,
    /// Upper end of that interval. For compliance: the one-sided exact
    /// (Clopper–Pearson) upper bound on the candidate's violation rate at the
    /// spec's confidence.
    pub upper: f64,
    /// Candidate ÷ control − 1, when control's estimate is not zero.
    pub relative_lift: Option<f64>,
    /// Lower end of the always-valid interval for the relative lift (Fieller),
    /// when control's estimate is clearly away from zero.
    #[serde(default)]
    pub relative_lower: Option<f64>,
    /// Upper end of that interval.
    #[serde(default)]
    pub relative_upper: Option<f64>,
    /// Control's units (trials or `n`).
    #[serde(default)]
    pub control_units: u64,
    /// Candidate's units.
    #[serde(default)]
    pub candidate_units: u64,
    /// Pass, fail or inconclusive.
    pub status: MetricStatus,
    /// One line on why.
    pub note: String,
}

/// The gate's verdict with its reasons and every metric's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// Pass, fail or keep collecting.
    pub verdict: GateVerdict,
    /// Why, one line each, most important first.
    pub reasons: Vec<String>,
    /// The KPI, then the guardrails in spec order, then compliance.
    pub metrics: Vec<MetricReport>,
    /// The error budget each sequential test got.
    pub alpha_per_test: f64,
}

/// Evaluates `spec` against `data` (one [`Observation`] per gated metric;
/// others are ignored). Safe to call after every batch: the intervals are
/// confidence sequences.
pub fn evaluate(spec: &GateSpec, data: &[Observation]) -> Result<GateReport, GateError> {
    spec.validate()?;
    let alpha = spec.alpha_per_test();
    let t_star = spec.min_sample_per_arm as f64 / 2.0;
    let ctx = Ctx {
        min: spec.min_sample_per_arm,
        alpha,
        t_star,
    };

    let kpi_obs = find(data, &spec.kpi.metric)?;
    let mut metrics = vec![kpi_report(&ctx, spec, kpi_obs)];
    for g in &spec.guardrails {
        metrics.push(guardrail_report(&ctx, g, find(data, &g.metric)?));
    }
    let comp_obs = find(data, &spec.compliance.metric)?;
    metrics.push(compliance_report(spec, comp_obs)?);

    let mut fails = Vec::new();
    let mut waits = Vec::new();
    for m in &metrics {
        let line = format!("{} `{}`: {}", role_name(m.role), m.metric, m.note);
        match m.status {
            MetricStatus::Fail => fails.push(line),
            MetricStatus::Inconclusive if m.role != MetricRole::Guardrail => waits.push(line),
            _ => {}
        }
    }
    let (verdict, reasons) = if !fails.is_empty() {
        (GateVerdict::Fail, fails)
    } else if waits.is_empty() {
        let passes = metrics
            .iter()
            .filter(|m| m.role != MetricRole::Guardrail || m.status == MetricStatus::Pass)
            .map(|m| format!("{} `{}`: {}", role_name(m.role), m.metric, m.note))
            .collect();
        (GateVerdict::Pass, passes)
    } else {
        (GateVerdict::KeepCollecting, waits)
    };
    Ok(GateReport {
        verdict,
        reasons,
        metrics,
        alpha_per_test: alpha,
    })
}

struct Ctx {
    min: u64,
    alpha: f64,
    t_star: f64,
}

fn role_name(role: MetricRole) -> &'static str {
    match role {
        MetricRole::Kpi => "kpi",
        MetricRole::Guardrail => "guardrail",
        MetricRole::Compliance => "compliance",
    }
}

fn find<'a>(data: &'a [Observation], metric: &str) -> Result<&'a Observation, GateError> {
    let mut hits = data.iter().filter(|o| o.metric == metric);
    let obs = hits
        .next()
        .ok_or_else(|| GateError::MissingMetric(metric.to_owned()))?;
    if hits.next().is_some() {
        return Err(GateError::DuplicateMetric(metric.to_owned()));
    }
    for (arm, s) in [("control", &obs.control), ("candidate", &obs.candidate)] {
        if let Some(problem) = s.problem() {
            return Err(GateError::InvalidSample {
                metric: metric.to_owned(),
                arm,
                problem,
            });
        }
    }
    if obs.control.kind() != obs.candidate.kind() {
        return Err(GateError::MixedSampleKinds {
            metric: metric.to_owned(),
            control: obs.control.kind(),
            candidate: obs.candidate.kind(),
        });
    }
    Ok(obs)
}

/// The two arms' statistics and the boundary multiplier at their sample.
struct Arms {
    c: ArmStats,
    t: ArmStats,
    b: f64,
}

impl Arms {
    fn new(ctx: &Ctx, obs: &Observation) -> Self {
        let c = obs.control.stats();
        let t = obs.candidate.stats();
        let (nc, nt) = (c.n as f64, t.n as f64);
        let eff = if c.n == 0 || t.n == 0 {
            0.0
        } else {
            nc * nt / (nc + nt)
        };
        Arms {
            c,
            t,
            b: multiplier(eff, ctx.t_star, ctx.alpha),
        }
    }

    fn has_data(&self) -> bool {
        self.c.n > 0 && self.t.n > 0
    }

    fn burned_in(&self, ctx: &Ctx) -> bool {
        self.c.n >= ctx.min && self.t.n >= ctx.min
    }

    /// Variance of the candidate's and the control's mean.
    fn var_means(&self) -> (f64, f64) {
        (self.t.var / self.t.n as f64, self.c.var / self.c.n as f64)
    }

    /// `(estimate, lower, upper)` of `candidate − w·control`.
    fn contrast(&self, w: f64) -> (f64, f64, f64) {
        if !self.has_data() {
            let d = self.t.mean - w * self.c.mean;
            return (d, d, d);
        }
        let (vt, vc) = self.var_means();
        let est = self.t.mean - w * self.c.mean;
        let half = self.b * (vt + w * w * vc).sqrt();
        (est, est - half, est + half)
    }

    /// Fieller's interval for `candidate / control − 1` at the same multiplier:
    /// all `q − 1` with `|t − q·c| ≤ b·sqrt(v_t + q²·v_c)`.
    fn relative_interval(&self) -> Option<(f64, f64)> {
        if !self.has_data() {
            return None;
        }
        let (vt, vc) = self.var_means();
        let (a, c, b2) = (self.t.mean, self.c.mean, self.b * self.b);
        let qa = c * c - b2 * vc;
        if qa <= 0.0 {
            return None;
        }
        let qb = a * c;
        let disc = qb * qb - qa * (a * a - b2 * vt);
        if disc < 0.0 {
            return None;
        }
        let root = disc.sqrt();
        Some(((qb - root) / qa - 1.0, (qb + root) / qa - 1.0))
    }

    fn relative_lift(&self) -> Option<f64> {
        (self.c.mean != 0.0).then(|| self.t.mean / self.c.mean - 1.0)
    }

    fn waiting_note(&self, ctx: &Ctx) -> String {
        format!(
            "needs {} units per arm, has {} control and {} candidate",
            ctx.min, self.c.n, self.t.n
        )
    }

    fn report(
        &self,
        metric: &str,
        role: MetricRole,
        status: MetricStatus,
        note: String,
    ) -> MetricReport {
        let (difference, lower, upper) = self.contrast(1.0);
        let rel = self.relative_interval();
        MetricReport {
            metric: metric.to_owned(),
            role,
            control: self.c.mean,
            candidate: self.t.mean,
            difference,
            lower,
            upper,
            relative_lift: self.relative_lift(),
            relative_lower: rel.map(|r| r.0),
            relative_upper: rel.map(|r| r.1),
            control_units: self.c.n,
            candidate_units: self.t.n,
            status,
            note,
        }
    }
}

fn kpi_report(ctx: &Ctx, spec: &GateSpec, obs: &Observation) -> MetricReport {
    let kpi = &spec.kpi;
    let arms = Arms::new(ctx, obs);
    let (d, lower, upper) = arms.contrast(1.0);
    let lift = match (arms.relative_lift(), arms.relative_interval()) {
        (Some(l), Some((lo, hi))) => format!("lift {} [{}, {}]", pct(l), pct(lo), pct(hi)),
        (Some(l), None) => format!("lift {} (interval unbounded)", pct(l)),
        _ => format!(
            "difference {} [{}, {}]",
            signed(d),
            signed(lower),
            signed(upper)
        ),
    };
    let (status, note) = if !arms.burned_in(ctx) {
        (MetricStatus::Inconclusive, arms.waiting_note(ctx))
    } else {
        // `candidate − w·control > 0` is `lift > min_lift` (higher is better)
        // or `reduction > min_lift` (lower is better) for a positive control.
        let (w, sign) = match kpi.better {
            Better::Higher => (1.0 + kpi.min_lift, 1.0),
            Better::Lower => (1.0 - kpi.min_lift, -1.0),
        };
        let (_, c_lo, c_hi) = arms.contrast(w);
        let shown_better = if sign > 0.0 { c_lo > 0.0 } else { c_hi < 0.0 };
        let shown_worse = match kpi.better {
            Better::Higher => upper < 0.0,
            Better::Lower => lower > 0.0,
        };
        let target = match kpi.better {
            Better::Higher => format!("target lift {}", pct(kpi.min_lift)),
            Better::Lower => format!("target reduction {}", pct(kpi.min_lift)),
        };
        if shown_better {
            (MetricStatus::Pass, format!("{lift} clears the {target}"))
        } else if shown_worse {
            (
                MetricStatus::Fail,
                format!("{lift}: candidate is worse than control"),
            )
        } else {
            (
                MetricStatus::Inconclusive,
                format!("{lift} does not yet clear the {target}"),
            )
        }
    };
    arms.report(&kpi.metric, MetricRole::Kpi, status, note)
}

fn guardrail_report(ctx: &Ctx, g: &Guardrail, obs: &Observation) -> MetricReport {
    let arms = Arms::new(ctx, obs);
    let (d, lower, upper) = arms.contrast(1.0);
    let shown = format!(
        "difference {} [{}, {}]",
        signed(d),
        signed(lower),
        signed(upper)
    );
    let (status, note) = if !arms.burned_in(ctx) {
        (MetricStatus::Inconclusive, arms.waiting_note(ctx))
    } else {
        // Harm: the candidate is worse than control by more than the tolerance.
        let (harm_shown, safe_shown) = match g.better {
            Better::Lower => (lower > g.tolerance, upper <= g.tolerance),
            Better::Higher => (upper < -g.tolerance, lower >= -g.tolerance),
        };
        let tol = format!("tolerance {}", num(g.tolerance));
        if harm_shown {
            (
                MetricStatus::Fail,
                format!("{shown} is worse than control beyond the {tol}"),
            )
        } else if safe_shown {
            (
                MetricStatus::Pass,
                format!("{shown} rules out harm beyond the {tol}"),
            )
        } else {
            (
                MetricStatus::Inconclusive,
                format!("{shown}: no harm shown beyond the {tol}"),
            )
        }
    };
    arms.report(&g.metric, MetricRole::Guardrail, status, note)
}

fn compliance_report(spec: &GateSpec, obs: &Observation) -> Result<MetricReport, GateError> {
    let gate = &spec.compliance;
    let counts = |s: &Sample| match *s {
        Sample::Proportion { successes, trials } => Ok((trials - successes, trials)),
        Sample::Mean { .. } => Err(GateError::WrongSampleKind {
            metric: gate.metric.clone(),
            expected: "proportion",
            found: "mean",
        }),
    };
    let (cv, cn) = counts(&obs.control)?;
    let (tv, tn) = counts(&obs.candidate)?;
    let rate = |v: u64, n: u64| if n == 0 { 0.0 } else { v as f64 / n as f64 };
    let upper = violation_upper_bound(tv, tn, gate.confidence);
    let bound = format!(
        "{tv} violations in {tn} checks, violation rate at most {} ({}% upper bound)",
        num(upper),
        percent_label(gate.confidence)
    );
    let (status, note) = if tn == 0 {
        (
            MetricStatus::Inconclusive,
            "no compliance checks ran in the candidate yet".to_owned(),
        )
    } else if tv > 0 {
        (MetricStatus::Fail, bound)
    } else {
        (MetricStatus::Pass, bound)
    };
    Ok(MetricReport {
        metric: gate.metric.clone(),
        role: MetricRole::Compliance,
        control: rate(cv, cn),
        candidate: rate(tv, tn),
        difference: rate(tv, tn),
        lower: 0.0,
        upper,
        relative_lift: None,
        relative_lower: None,
        relative_upper: None,
        control_units: cn,
        candidate_units: tn,
        status,
        note,
    })
}

/// A number for a one-line note: four significant-ish digits.
pub(crate) fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

/// A confidence as a percentage without needless decimals (95, 99.5).
fn percent_label(confidence: f64) -> String {
    let p = confidence * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

/// A relative change as a signed percentage.
pub(crate) fn pct(v: f64) -> String {
    format!("{:+.1}%", v * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ComplianceGate, KpiGate};

    fn spec() -> GateSpec {
        GateSpec {
            version: 1,
            alpha: 0.05,
            min_sample_per_arm: 1000,
            kpi: KpiGate {
                metric: "meetings".into(),
                better: Better::Higher,
                min_lift: 0.0,
            },
            guardrails: vec![Guardrail {
                metric: "escalations".into(),
                better: Better::Lower,
                tolerance: 0.0,
            }],
            compliance: ComplianceGate {
                metric: "compliance".into(),
                confidence: 0.95,
            },
        }
    }

    fn p(successes: u64, trials: u64) -> Sample {
        Sample::Proportion { successes, trials }
    }

    fn data(meet: (u64, u64, u64), esc: (u64, u64, u64), viol: u64) -> Vec<Observation> {
        vec![
            Observation::new("meetings", p(meet.0, meet.2), p(meet.1, meet.2)),
            Observation::new("escalations", p(esc.0, esc.2), p(esc.1, esc.2)),
            Observation::new("compliance", p(meet.2, meet.2), p(meet.2 - viol, meet.2)),
        ]
    }

    #[test]
    fn a_clear_lift_passes_and_names_its_reasons() {
        let r = evaluate(&spec(), &data((1000, 1300, 10_000), (500, 490, 10_000), 0)).unwrap();
        assert_eq!(r.verdict, GateVerdict::Pass, "{r:#?}");
        let kpi = &r.metrics[0];
        assert_eq!(
            (kpi.role, kpi.status),
            (MetricRole::Kpi, MetricStatus::Pass)
        );
        assert!((kpi.relative_lift.unwrap() - 0.3).abs() < 1e-12);
        assert!(kpi.lower > 0.0 && kpi.lower < kpi.difference && kpi.difference < kpi.upper);
        let (lo, hi) = (kpi.relative_lower.unwrap(), kpi.relative_upper.unwrap());
        assert!(lo > 0.0 && lo < 0.3 && hi > 0.3);
        assert_eq!(r.metrics.len(), 3);
        assert_eq!(r.metrics[2].role, MetricRole::Compliance);
        assert!(r.reasons.iter().any(|l| l.starts_with("kpi `meetings`")));
        assert_eq!(r.alpha_per_test, 0.025);
    }

    #[test]
    fn no_pass_before_the_minimum_sample() {
        let r = evaluate(&spec(), &data((50, 150, 999), (50, 50, 999), 0)).unwrap();
        assert_eq!(r.verdict, GateVerdict::KeepCollecting);
        assert!(
            r.reasons[0].contains("needs 1000 units per arm"),
            "{:?}",
            r.reasons
        );
    }

    #[test]
    fn a_target_lift_is_harder_to_clear_than_any_lift() {
        let d = data((1000, 1150, 10_000), (500, 500, 10_000), 0);
        assert_eq!(evaluate(&spec(), &d).unwrap().verdict, GateVerdict::Pass);
        let mut s = spec();
        s.kpi.min_lift = 0.10;
        let r = evaluate(&s, &d).unwrap();
        assert_eq!(r.verdict, GateVerdict::KeepCollecting, "{r:#?}");
        assert!(r.metrics[0].relative_lower.unwrap() < 0.10);
    }

    #[test]
    fn lower_is_better_kpi_passes_on_a_reduction() {
        let mut s = spec();
        s.kpi.better = Better::Lower;
        s.kpi.min_lift = 0.05;
        let n = 5000;
        // cost per action: control mean 10, candidate mean 8, both sd 2
        let mean = |m: f64| Sample::Mean {
            n,
            sum: m * n as f64,
            sum_sq: (4.0 + m * m) * n as f64,
        };
        let mut d = data((1000, 1000, 10_000), (500, 500, 10_000), 0);
        d[0] = Observation::new("meetings", mean(10.0), mean(8.0));
        let r = evaluate(&s, &d).unwrap();
        assert_eq!(r.verdict, GateVerdict::Pass, "{r:#?}");
        d[0] = Observation::new("meetings", mean(8.0), mean(10.0));
        let r = evaluate(&s, &d).unwrap();
        assert_eq!(r.verdict, GateVerdict::Fail, "{r:#?}");
        assert_eq!(r.metrics[0].status, MetricStatus::Fail);
    }

    #[test]
    fn a_guardrail_regression_fails_the_gate_even_with_a_kpi_win() {
        let r = evaluate(&spec(), &data((1000, 1300, 10_000), (500, 1000, 10_000), 0)).unwrap();
        assert_eq!(r.verdict, GateVerdict::Fail);
        assert_eq!(r.metrics[1].status, MetricStatus::Fail);
        assert!(
            r.reasons[0].starts_with("guardrail `escalations`"),
            "{:?}",
            r.reasons
        );
        // Within tolerance it is not harm.
        let mut s = spec();
        s.guardrails[0].tolerance = 0.08;
        let r = evaluate(&s, &data((1000, 1300, 10_000), (500, 1000, 10_000), 0)).unwrap();
        assert_eq!(r.verdict, GateVerdict::Pass, "{r:#?}");
        assert_eq!(r.metrics[1].status, MetricStatus::Pass);
    }

    #[test]
    fn higher_is_better_guardrail_fails_on_a_drop() {
        let mut s = spec();
        s.guardrails[0].better = Better::Higher;
        let r = evaluate(&s, &data((1000, 1000, 10_000), (9500, 9000, 10_000), 0)).unwrap();
        assert_eq!(r.metrics[1].status, MetricStatus::Fail);
        assert_eq!(r.verdict, GateVerdict::Fail);
    }

    #[test]
    fn one_compliance_violation_fails_and_reports_its_bound() {
        let r = evaluate(&spec(), &data((1000, 1300, 10_000), (500, 490, 10_000), 1)).unwrap();
        assert_eq!(r.verdict, GateVerdict::Fail);
        let c = &r.metrics[2];
        assert_eq!(c.status, MetricStatus::Fail);
        assert!((c.candidate - 1e-4).abs() < 1e-15);
        assert!((c.upper - violation_upper_bound(1, 10_000, 0.95)).abs() < 1e-15);
        // None: passes, bound by the closed form.
        let r = evaluate(&spec(), &data((1000, 1300, 10_000), (500, 490, 10_000), 0)).unwrap();
        let c = &r.metrics[2];
        assert_eq!(c.status, MetricStatus::Pass);
        assert!((c.upper - (1.0 - 0.05f64.powf(1e-4))).abs() < 1e-12);
    }

    #[test]
    fn no_compliance_checks_keeps_collecting() {
        let mut d = data((1000, 1300, 10_000), (500, 490, 10_000), 0);
        d[2] = Observation::new("compliance", p(0, 0), p(0, 0));
        assert_eq!(
            evaluate(&spec(), &d).unwrap().verdict,
            GateVerdict::KeepCollecting
        );
    }

    #[test]
    fn bad_specs_and_data_are_typed_errors() {
        let d = data((1000, 1300, 10_000), (500, 490, 10_000), 0);
        let mut s = spec();
        s.alpha = 1.0;
        assert!(matches!(evaluate(&s, &d), Err(GateError::InvalidSpec(_))));
        s.alpha = 0.0;
        assert!(matches!(evaluate(&s, &d), Err(GateError::InvalidSpec(_))));
        let mut s = spec();
        s.version = 2;
        assert_eq!(
            evaluate(&s, &d).unwrap_err(),
            GateError::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        );
        let mut s = spec();
        s.guardrails[0].tolerance = -0.1;
        assert!(matches!(evaluate(&s, &d), Err(GateError::InvalidSpec(_))));
        let mut s = spec();
        s.compliance.confidence = 1.5;
        assert!(matches!(evaluate(&s, &d), Err(GateError::InvalidSpec(_))));
        let mut s = spec();
        s.guardrails[0].metric = "meetings".into();
        let e = evaluate(&s, &d).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid gate spec: metric `meetings` is gated twice"
        );
        let mut s = spec();
        s.min_sample_per_arm = 1;
        assert!(matches!(evaluate(&s, &d), Err(GateError::InvalidSpec(_))));

        assert_eq!(
            evaluate(&spec(), &d[..2]).unwrap_err().to_string(),
            "no observation for metric `compliance`"
        );
        let mut dup = d.clone();
        dup.push(d[0].clone());
        assert_eq!(
            evaluate(&spec(), &dup).unwrap_err(),
            GateError::DuplicateMetric("meetings".into())
        );
        let mut mixed = d.clone();
        mixed[0].candidate = Sample::Mean {
            n: 10,
            sum: 1.0,
            sum_sq: 1.0,
        };
        assert!(matches!(
            evaluate(&spec(), &mixed),
            Err(GateError::MixedSampleKinds { .. })
        ));
        let mut kind = d.clone();
        kind[2] = Observation::new(
            "compliance",
            Sample::Mean {
                n: 10,
                sum: 1.0,
                sum_sq: 1.0,
            },
            Sample::Mean {
                n: 10,
                sum: 1.0,
                sum_sq: 1.0,
            },
        );
        let e = evaluate(&spec(), &kind).unwrap_err();
        assert_eq!(
            e.to_string(),
            "metric `compliance` must be a proportion sample, found a mean sample"
        );
        let mut bad = d;
        bad[1].control = p(11, 10);
        let e = evaluate(&spec(), &bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "metric `escalations` control sample is impossible: 11 successes out of 10 trials"
        );
    }

    #[test]
    fn reports_never_carry_non_finite_numbers() {
        let d = vec![
            Observation::new("meetings", p(0, 0), p(0, 0)),
            Observation::new("escalations", p(0, 0), p(0, 0)),
            Observation::new("compliance", p(0, 0), p(0, 0)),
        ];
        let r = evaluate(&spec(), &d).unwrap();
        assert_eq!(r.verdict, GateVerdict::KeepCollecting);
        for m in &r.metrics {
            for v in [m.control, m.candidate, m.difference, m.lower, m.upper] {
                assert!(v.is_finite(), "{m:#?}");
            }
        }
    }
}

#[cfg(test)]
mod wire {
    use super::*;

    #[test]
    fn samples_and_reports_round_trip_through_json() {
        let s: Sample =
            serde_json::from_str(r#"{"kind":"proportion","successes":3,"trials":10}"#).unwrap();
        assert_eq!(
            s,
            Sample::Proportion {
                successes: 3,
                trials: 10
            }
        );
        let m = Sample::Mean {
            n: 2,
            sum: 3.0,
            sum_sq: 5.0,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"kind":"mean","n":2,"sum":3.0,"sum_sq":5.0}"#
        );

        let spec: GateSpec = serde_json::from_value(serde_json::json!({
            "version": 1, "alpha": 0.05, "min_sample_per_arm": 100,
            "kpi": {"metric": "k", "better": "higher"},
            "compliance": {"metric": "c", "confidence": 0.95}
        }))
        .unwrap();
        let p = |s, t| Sample::Proportion {
            successes: s,
            trials: t,
        };
        let report = evaluate(
            &spec,
            &[
                Observation::new("k", p(10, 50), p(12, 50)),
                Observation::new("c", p(50, 50), p(50, 50)),
            ],
        )
        .unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["verdict"], "keep-collecting");
        assert_eq!(json["metrics"][0]["role"], "kpi");
        assert_eq!(json["metrics"][0]["status"], "inconclusive");
        let back: GateReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
    }
}
