//! Exact bounds and health checks that need no sequential machinery.

use serde::{Deserialize, Serialize};

use crate::special::{erfc, incomplete_beta};

/// The p-value below which [`sample_ratio_mismatch`] flags a mismatch.
pub const SRM_THRESHOLD: f64 = 0.001;

/// A sample-ratio-mismatch check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Srm {
    /// P-value of the chi-square goodness-of-fit test (one degree of freedom).
    pub p_value: f64,
    /// `p_value < 0.001`: the split is not what assignment should produce,
    /// so the pilot's comparison cannot be trusted.
    pub mismatch: bool,
    /// The chi-square statistic.
    #[serde(default)]
    pub chi_square: f64,
    /// The candidate's observed share of units.
    #[serde(default)]
    pub observed_candidate_share: f64,
}

/// Tests whether the units split between the arms as assignment intended.
///
/// Pearson's chi-square with one degree of freedom,
/// `X² = Σ (observed − expected)² / expected` over the two arms, with
/// `p = P(χ²₁ ≥ X²) = erfc(sqrt(X²/2))`; flagged when `p < 0.001`
/// ([`SRM_THRESHOLD`]), the usual threshold, strict because the check runs
/// at every look. With no units, `p = 1`. An `expected_candidate_share` of 0
/// or 1 (or outside that range) is a degenerate split: any unit in the wrong
/// arm is a mismatch with `p = 0`.
pub fn sample_ratio_mismatch(
    control_units: u64,
    candidate_units: u64,
    expected_candidate_share: f64,
) -> Srm {
    let total = control_units as f64 + candidate_units as f64;
    let observed = if total > 0.0 {
        candidate_units as f64 / total
    } else {
        0.0
    };
    let done = |p_value: f64, chi_square: f64| Srm {
        p_value,
        mismatch: p_value < SRM_THRESHOLD,
        chi_square,
        observed_candidate_share: observed,
    };
    if total == 0.0 {
        return done(1.0, 0.0);
    }
    let share = expected_candidate_share;
    if !(share > 0.0 && share < 1.0) {
        let conforms = if share >= 1.0 {
            control_units == 0
        } else {
            candidate_units == 0
        };
        return if conforms {
            done(1.0, 0.0)
        } else {
            done(0.0, f64::MAX)
        };
    }
    let exp_t = total * share;
    let exp_c = total * (1.0 - share);
    let chi = (candidate_units as f64 - exp_t).powi(2) / exp_t
        + (control_units as f64 - exp_c).powi(2) / exp_c;
    done(erfc((chi / 2.0).sqrt()).clamp(0.0, 1.0), chi)
}

/// The exact one-sided (Clopper–Pearson) upper bound on a violation rate
/// after `violations` in `checks`, at `confidence` (e.g. 0.95).
///
/// It is the rate `u` at which seeing `violations` or fewer has probability
/// `1 − confidence`: `P(Binomial(checks, u) ≤ violations) = 1 − confidence`,
/// i.e. the `confidence` quantile of `Beta(violations + 1, checks − violations)`.
/// With no violations this is `1 − (1 − confidence)^(1/checks)` (≈ 3/n at 95%,
/// the "rule of three"). With no checks, or violations in every check, it is 1.
/// A `confidence` at or below 0 gives the observed rate, at or above 1 gives 1.
pub fn violation_upper_bound(violations: u64, checks: u64, confidence: f64) -> f64 {
    if checks == 0 || violations >= checks || confidence >= 1.0 || confidence.is_nan() {
        return 1.0;
    }
    if confidence <= 0.0 {
        return violations as f64 / checks as f64;
    }
    let n = checks as f64;
    if violations == 0 {
        return 1.0 - (1.0 - confidence).powf(1.0 / n);
    }
    let (a, b) = (violations as f64 + 1.0, n - violations as f64);
    // I_u(a, b) increases in u from 0 to 1: bisect for I_u = confidence.
    let (mut lo, mut hi) = (violations as f64 / n, 1.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if incomplete_beta(mid, a, b) < confidence {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_with_no_violations_is_the_closed_form() {
        for (n, c) in [(1u64, 0.95), (30, 0.95), (1000, 0.95), (250, 0.99)] {
            let want = 1.0 - (1.0f64 - c).powf(1.0 / n as f64);
            assert!((violation_upper_bound(0, n, c) - want).abs() < 1e-12);
        }
        // The rule of three: about 3/n at 95%.
        assert!((violation_upper_bound(0, 3000, 0.95) - 3.0 / 3000.0).abs() < 2e-6);
    }

    #[test]
    fn clopper_pearson_matches_exact_binomial_tails() {
        // References solved from P(Bin(n, u) <= k) = 1 - c by exact summation.
        for (k, n, c, want) in [
            (1, 10, 0.95, 0.394_163_302_436_504_7),
            (3, 100, 0.95, 0.075_710_793_749_830_1),
            (5, 1000, 0.99, 0.013_055_421_233_690_247),
        ] {
            let got = violation_upper_bound(k, n, c);
            assert!((got - want).abs() < 1e-9, "{k}/{n} at {c}: {got} vs {want}");
        }
    }

    #[test]
    fn clopper_pearson_edges() {
        assert_eq!(violation_upper_bound(0, 0, 0.95), 1.0);
        assert_eq!(violation_upper_bound(7, 7, 0.95), 1.0);
        assert_eq!(violation_upper_bound(2, 10, 0.0), 0.2);
        assert!(violation_upper_bound(2, 10, 0.95) > violation_upper_bound(1, 10, 0.95));
        assert!(violation_upper_bound(1, 10, 0.99) > violation_upper_bound(1, 10, 0.95));
    }

    #[test]
    fn srm_flags_a_45_55_split_at_large_n_and_not_a_fair_one() {
        let skewed = sample_ratio_mismatch(5500, 4500, 0.5);
        assert!(skewed.mismatch);
        assert!((skewed.chi_square - 100.0).abs() < 1e-9);
        assert!(skewed.p_value < 1e-20);

        let fair = sample_ratio_mismatch(5030, 4970, 0.5);
        assert!(!fair.mismatch);
        assert!((fair.p_value - 0.548_506_235_500_147_2).abs() < 1e-6);

        // A 10% ramp that got its 10%.
        let ramp = sample_ratio_mismatch(9000, 1000, 0.1);
        assert!(!ramp.mismatch && (ramp.p_value - 1.0).abs() < 1e-9);
        // The same 45/55 split in a small pilot is not evidence of a mismatch.
        assert!(!sample_ratio_mismatch(55, 45, 0.5).mismatch);
    }

    #[test]
    fn srm_degenerate_inputs() {
        assert!(!sample_ratio_mismatch(0, 0, 0.5).mismatch);
        assert!(sample_ratio_mismatch(10, 1, 0.0).mismatch);
        assert!(!sample_ratio_mismatch(10, 0, 0.0).mismatch);
        assert!(sample_ratio_mismatch(1, 10, 1.0).mismatch);
        assert!(sample_ratio_mismatch(1, 10, f64::NAN).mismatch);
    }
}
