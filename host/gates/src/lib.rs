//! gatehouse's evaluation gates: the statistics that decide whether a piloted
//! change (a new skill, pack, prompt or config hash) is promoted, kept in
//! pilot, or rolled back, and the scorecard that shows the evidence.
//!
//! The host computes each metric per arm from the audit log as a [`Sample`]
//! and calls [`evaluate`] with a [`GateSpec`] as often as it likes (after
//! every batch of outcomes): the answer is [`GateVerdict::Pass`],
//! [`GateVerdict::Fail`] or [`GateVerdict::KeepCollecting`], with per-metric
//! estimates, always-valid intervals and one-line reasons.
//!
//! ```
//! use gatehouse_gates::*;
//!
//! let spec = GateSpec {
//!     version: 1,
//!     alpha: 0.05,
//!     min_sample_per_arm: 2000,
//!     kpi: KpiGate { metric: "meetings".into(), better: Better::Higher, min_lift: 0.0 },
//!     guardrails: vec![Guardrail {
//!         metric: "escalations".into(),
//!         better: Better::Lower,
//!         tolerance: 0.0,
//!     }],
//!     compliance: ComplianceGate { metric: "compliance".into(), confidence: 0.95 },
//! };
//! let p = |successes, trials| Sample::Proportion { successes, trials };
//! let data = [
//!     Observation::new("meetings", p(800, 8000), p(1040, 8000)),
//!     Observation::new("escalations", p(400, 8000), p(390, 8000)),
//!     Observation::new("compliance", p(8000, 8000), p(8000, 8000)),
//! ];
//! let report = evaluate(&spec, &data)?;
//! assert_eq!(report.verdict, GateVerdict::Pass);
//! assert_eq!(report.alpha_per_test, 0.025);
//! # Ok::<(), GateError>(())
//! ```
//!
//! # The gates
//!
//! * **KPI** ([`KpiGate`]): passes when the lower bound of the relative lift
//!   `candidate / control − 1` exceeds `min_lift` (for [`Better::Lower`]:
//!   the lower bound of the reduction `1 − candidate / control`). The test is
//!   done on the linear contrast `candidate − (1 + min_lift)·control` (or
//!   `(1 − min_lift)·control − candidate`), which needs no delta method; the
//!   reported relative interval is Fieller's inversion of the same bound.
//!   If the interval for the difference shows the candidate *worse* than
//!   control, the KPI fails and so does the gate.
//! * **Guardrails** ([`Guardrail`]): one-sided harm tests on the difference
//!   `d = candidate − control`. A metric where lower is better fails when the
//!   lower bound of `d` exceeds `tolerance`; one where higher is better fails
//!   when the upper bound of `d` is below `−tolerance`. It passes when the
//!   other bound rules harm out; otherwise it is inconclusive, which does not
//!   block a pass. Any guardrail fail makes the verdict [`GateVerdict::Fail`]:
//!   the host rolls back.
//! * **Compliance** ([`ComplianceGate`]): a hard gate with no error budget.
//!   Any violation (`trials − successes > 0`) in the candidate fails; the
//!   report gives the exact one-sided upper bound on the violation rate
//!   ([`violation_upper_bound`]). No checks at all is inconclusive.
//! * **GateVerdict**: fail if any metric fails; pass if the KPI passes (which
//!   needs `min_sample_per_arm` units in each arm) and compliance passes;
//!   otherwise keep collecting.
//!
//! # The sequential test
//!
//! Each KPI or guardrail interval is an asymptotic confidence sequence
//! (Waudby-Smith, Arnold, Wu, McAuliffe, Ramdas, *Time-uniform central limit
//! theory and asymptotic confidence sequences*, Ann. Statist. 2024) built on
//! Robbins' normal-mixture boundary — the boundary of the mixture SPRT of
//! Johari, Pekelis, Walsh (*Always valid inference*, Oper. Res. 2022) — in
//! its one-sided, half-normal form. For a contrast `D = μ_t − w·μ_c`:
//!
//! * estimate `D̂ = x̄_t − w·x̄_c`, plug-in standard error
//!   `se = sqrt(s²_t/n_t + w²·s²_c/n_c)`, where `s²` is the sample variance
//!   of a mean, or `p̃(1 − p̃)` with `p̃ = (successes + 1)/(trials + 2)` for a
//!   proportion (never zero);
//! * effective sample `t = n_c·n_t/(n_c + n_t)` (half the per-arm count for
//!   balanced arms), mixing `x = t·ρ²` with
//!   `ρ² = (−2 ln α + ln(1 − 2 ln α)) / t*` and `t* = min_sample_per_arm / 2`,
//!   so the bound is tightest where the gate may first pass;
//! * the multiplier `b(t)` solves `M⁺(b) = 1/α`, where
//!   `M⁺(z) = 2/sqrt(1 + x) · exp(z²·x / (2(1 + x))) · Φ(z·sqrt(x/(1 + x)))`
//!   is the half-normal mixture of `exp(λS − λ²t/2)` over `λ > 0` at
//!   `S = z·sqrt(t)`; it lies between the two-sided normal-mixture boundary
//!   `sqrt((1 + x)/x · (ln(1 + x) − 2 ln a))` at `a = 2α` and at `a = α`;
//! * bounds `D̂ − b·se` and `D̂ + b·se`. By Ville's inequality each holds
//!   at all sample sizes at once with probability `≥ 1 − α`, so looking after
//!   every batch does not inflate the error.
//!
//! `α` here is `alpha_per_test = alpha / (1 + guardrails)`: Bonferroni over
//! the KPI's pass test and the guardrails' harm tests, so the chance of any
//! false pass or false rollback over the whole pilot stays within `alpha`.
//!
//! Assumptions: units are independent and assigned at random with a fixed
//! candidate share over the analysed window (a ramp step changes the share:
//! compare the candidate with the control of the same window); the plug-in
//! variance and the normal approximation are asymptotic, which is why no
//! sequential test decides before `min_sample_per_arm` units per arm (use
//! hundreds at least; more for rare events); a relative lift needs a positive
//! control mean. The simulation tests under `tests/simulation` measure the
//! false-pass rate, the power and the time to rollback under these
//! assumptions.
//!
//! # Scorecard
//!
//! [`scorecard`] renders the weekly revenue scorecard (versions × segments ×
//! metrics, the gates, the decisions) as terminal text or as one
//! self-contained HTML page with inline SVG charts.

#![deny(missing_docs)]

mod bounds;
mod gate;
pub mod rng;
mod sample;
pub mod scorecard;
mod sequential;
mod spec;
mod special;

pub use bounds::{SRM_THRESHOLD, Srm, sample_ratio_mismatch, violation_upper_bound};
pub use gate::{
    GateError, GateReport, GateVerdict, MetricReport, MetricRole, MetricStatus, evaluate,
};
pub use sample::{Observation, Sample};
pub use spec::{Better, ComplianceGate, GateSpec, Guardrail, KpiGate, SPEC_VERSION};
