//! The versioned gate spec: which metric is the KPI, which are guardrails,
//! which is the compliance gate, and the error budget.

use serde::{Deserialize, Serialize};

use crate::GateError;

/// The spec format this crate reads.
pub const SPEC_VERSION: u32 = 1;

/// Which way is better for a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Better {
    /// More is better (meetings booked, SLA adherence).
    Higher,
    /// Less is better (escalation rate, cost per action).
    Lower,
}

/// A versioned gate spec, loaded by the host from TOML.
///
/// ```toml
/// version = 1
/// alpha = 0.05
/// min_sample_per_arm = 2000
///
/// [kpi]
/// metric = "meetings-per-contacted"
/// better = "higher"
/// min_lift = 0.0
///
/// [[guardrails]]
/// metric = "escalation-rate"
/// better = "lower"
/// tolerance = 0.0
///
/// [compliance]
/// metric = "policy-compliance"
/// confidence = 0.95
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// Spec format version; this crate reads [`SPEC_VERSION`].
    pub version: u32,
    /// Overall error budget (e.g. 0.05), split by Bonferroni over the KPI
    /// test and the guardrail tests: each gets `alpha / (1 + guardrails)`.
    pub alpha: f64,
    /// Units per arm before a sequential test may decide (the burn-in of the
    /// asymptotic approximation; also where its interval is tuned to be
    /// tightest). No pass before this many units per arm.
    pub min_sample_per_arm: u64,
    /// The business KPI the candidate must improve.
    pub kpi: KpiGate,
    /// Metrics the candidate must not make worse.
    #[serde(default)]
    pub guardrails: Vec<Guardrail>,
    /// The hard compliance gate.
    pub compliance: ComplianceGate,
}

/// The KPI gate: passes when the lower bound of the relative lift exceeds `min_lift`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiGate {
    /// The metric's name.
    pub metric: String,
    /// Which way is better.
    pub better: Better,
    /// Relative lift the bound must exceed (0.0 = any improvement; 0.05 =
    /// at least 5% better). For [`Better::Lower`], the relative reduction.
    #[serde(default)]
    pub min_lift: f64,
}

/// A guardrail: a one-sided harm test; a fail rolls the candidate back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrail {
    /// The metric's name.
    pub metric: String,
    /// Which way is better.
    pub better: Better,
    /// Absolute worsening allowed before it counts as harm, in the metric's
    /// unit (0.01 on a rate = one percentage point).
    #[serde(default)]
    pub tolerance: f64,
}

/// The compliance gate: any violation in the candidate fails.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceGate {
    /// A [`Sample::Proportion`](crate::Sample::Proportion) metric whose
    /// successes are checks passed and trials checks run.
    pub metric: String,
    /// Confidence of the reported upper bound on the violation rate (0.95).
    pub confidence: f64,
}

impl GateSpec {
    /// Number of sequential tests sharing `alpha`: the KPI and each guardrail.
    pub fn tests(&self) -> usize {
        1 + self.guardrails.len()
    }

    /// The error budget of each sequential test (Bonferroni).
    pub fn alpha_per_test(&self) -> f64 {
        self.alpha / self.tests() as f64
    }

    /// Checks that the spec can be evaluated.
    pub fn validate(&self) -> Result<(), GateError> {
        let invalid = |why: String| Err(GateError::InvalidSpec(why));
        if self.version != SPEC_VERSION {
            return Err(GateError::UnsupportedVersion {
                found: self.version,
                supported: SPEC_VERSION,
            });
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return invalid(format!("alpha `{}` is not in (0, 1)", self.alpha));
        }
        if self.min_sample_per_arm < 2 {
            return invalid(format!(
                "min_sample_per_arm `{}` is below 2 (a variance needs two units)",
                self.min_sample_per_arm
            ));
        }
        if !(self.kpi.min_lift.is_finite() && self.kpi.min_lift > -1.0) {
            return invalid(format!(
                "kpi min_lift `{}` is not a finite lift above -1",
                self.kpi.min_lift
            ));
        }
        if self.kpi.better == Better::Lower && self.kpi.min_lift >= 1.0 {
            return invalid(format!(
                "kpi min_lift `{}` asks for a reduction of 100% or more",
                self.kpi.min_lift
            ));
        }
        for g in &self.guardrails {
            if !(g.tolerance.is_finite() && g.tolerance >= 0.0) {
                return invalid(format!(
                    "guardrail `{}` tolerance `{}` is not a finite non-negative number",
                    g.metric, g.tolerance
                ));
            }
        }
        if !(self.compliance.confidence > 0.0 && self.compliance.confidence < 1.0) {
            return invalid(format!(
                "compliance confidence `{}` is not in (0, 1)",
                self.compliance.confidence
            ));
        }
        let mut names: Vec<&str> = Vec::with_capacity(self.tests() + 1);
        names.push(&self.kpi.metric);
        names.extend(self.guardrails.iter().map(|g| g.metric.as_str()));
        names.push(&self.compliance.metric);
        for (i, name) in names.iter().enumerate() {
            if name.trim().is_empty() {
                return invalid("a metric name is empty".to_owned());
            }
            if names[..i].contains(name) {
                return invalid(format!("metric `{name}` is gated twice"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
version = 1
alpha = 0.05
min_sample_per_arm = 2000

[kpi]
metric = "meetings_per_contacted"
better = "higher"
min_lift = 0.0

[[guardrails]]
metric = "escalation_rate"
better = "lower"
tolerance = 0.0

[[guardrails]]
metric = "sla_adherence"
better = "higher"
tolerance = 0.02

[compliance]
metric = "policy_compliance"
confidence = 0.95
"#;

    #[test]
    fn the_documented_toml_loads_and_validates() {
        let spec: GateSpec = toml::from_str(EXAMPLE).unwrap();
        spec.validate().unwrap();
        assert_eq!(spec.kpi.better, Better::Higher);
        assert_eq!(spec.guardrails[1].better, Better::Higher);
        assert_eq!(spec.tests(), 3);
        assert!((spec.alpha_per_test() - 0.05 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let typo = EXAMPLE.replace("tolerance = 0.02", "tolerence = 0.02");
        let err = toml::from_str::<GateSpec>(&typo).unwrap_err().to_string();
        assert!(err.contains("tolerence"), "{err}");
    }
}
