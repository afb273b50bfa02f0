//! A/A: control and candidate are the same version. Every decision is an
//! error; the gate is checked after every batch for up to 100 batches.

use gatehouse_gates::GateVerdict;

use crate::pilot::{Arm, Pilot, share, simulate, spec};

/// Monte Carlo allowance over alpha: 2,000 pilots estimate a rate near 5%
/// with a standard error of 0.5 percentage points; one point is two of them.
const TOLERANCE: f64 = 0.01;
const PILOTS: usize = 2_000;

fn aa_pilot() -> Pilot {
    let same = Arm {
        meeting: 0.10,
        escalation: 0.05,
    };
    // 200 contacts per arm per batch, 100 looks: up to 20,000 per arm.
    Pilot {
        control: same,
        candidate: same,
        batch: 200,
        max_batches: 100,
    }
}

#[test]
fn aa_false_pass_rate_stays_within_alpha_under_continuous_monitoring() {
    let spec = spec(1_000);
    let endings = simulate(0xA11CE, PILOTS, &spec, &aa_pilot());
    let false_pass = share(&endings, GateVerdict::Pass);
    let false_fail = share(&endings, GateVerdict::Fail);
    println!(
        "A/A, {PILOTS} pilots, 100 looks each, alpha {} ({} per test): false pass {:.4}, false rollback {:.4}",
        spec.alpha,
        spec.alpha_per_test(),
        false_pass,
        false_fail
    );
    assert!(
        false_pass <= spec.alpha + TOLERANCE,
        "false pass rate {false_pass}"
    );
    // Bonferroni bounds every error of the pilot together.
    assert!(
        false_pass + false_fail <= spec.alpha + TOLERANCE,
        "{false_pass} + {false_fail}"
    );
}

#[test]
fn aa_false_pass_rate_with_the_whole_budget_on_the_kpi() {
    // No guardrails: the KPI test alone spends alpha = 0.05.
    let mut spec = spec(1_000);
    spec.guardrails.clear();
    let endings = simulate(0xB0B, PILOTS, &spec, &aa_pilot());
    let false_pass = share(&endings, GateVerdict::Pass);
    let false_fail = share(&endings, GateVerdict::Fail);
    println!(
        "A/A, KPI only, {PILOTS} pilots, 100 looks each, alpha {}: false pass {:.4}, KPI-worse rollback {:.4}",
        spec.alpha, false_pass, false_fail
    );
    assert!(
        false_pass <= spec.alpha + TOLERANCE,
        "false pass rate {false_pass}"
    );
}
