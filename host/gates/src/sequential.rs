//! The always-valid confidence sequence behind the KPI and guardrail tests.
//!
//! See the crate documentation for the formula and its assumptions.

use crate::special::normal_cdf;

/// The near-optimal mixing parameter `x* = t*·ρ²` of the normal mixture for a
/// boundary tuned to be tightest at the effective sample `t*`
/// (Waudby-Smith et al. 2023, eq. (12): `ρ² = (−2 ln α + ln(1 − 2 ln α)) / t*`).
fn tuned_mixing(alpha: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    l + (1.0 + l).ln()
}

/// `ln M⁺(z)`: the one-sided (half-normal) mixture martingale at standardised
/// statistic `z` with mixing `x = t·ρ²`.
fn ln_mixture(z: f64, x: f64) -> f64 {
    let shrink = x / (1.0 + x);
    std::f64::consts::LN_2 - 0.5 * (1.0 + x).ln()
        + 0.5 * z * z * shrink
        + normal_cdf(z * shrink.sqrt()).ln()
}

/// The multiplier `b` such that `estimate − b·se` is a lower bound (and
/// `estimate + b·se` an upper bound) that holds at every effective sample size
/// simultaneously with probability at least `1 − alpha` each.
///
/// `t` is the current effective sample `n_c·n_t/(n_c + n_t)`, `t_star` the one
/// the boundary is tuned for. Returns `f64::INFINITY` when `t` is zero.
pub(crate) fn multiplier(t: f64, t_star: f64, alpha: f64) -> f64 {
    if t <= 0.0 || t_star <= 0.0 {
        return f64::INFINITY;
    }
    let x = tuned_mixing(alpha) * t / t_star;
    let target = -alpha.ln();
    // M⁺(0) = 1/sqrt(1 + x) < 1/α; the two-sided normal-mixture boundary at α
    // is an upper start because M⁺ ≥ 2·M·Φ(0) = M there.
    let mut z = ((1.0 + x) / x * ((1.0 + x).ln() - 2.0 * alpha.ln())).sqrt();
    // ln M⁺ is increasing and convex in z ≥ 0 (its second derivative is
    // s·(1 + (ln Φ)'') with (ln Φ)'' in (−1, 0)), so Newton's method from a
    // point at or right of the root descends monotonically onto it.
    let s = x / (1.0 + x);
    let root_s = s.sqrt();
    for _ in 0..100 {
        let f = ln_mixture(z, x) - target;
        if f <= 1e-12 {
            break;
        }
        let y = z * root_s;
        let density = (-0.5 * y * y).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let slope = z * s + root_s * density / normal_cdf(y);
        z -= f / slope;
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wider_than_a_fixed_sample_test_and_tightest_near_the_tuning_point() {
        let alpha = 0.025;
        let at_tuning = multiplier(1000.0, 1000.0, alpha);
        // A fixed-n one-sided z at 2.5% is 1.96; a time-uniform bound must be wider.
        assert!(at_tuning > 1.96, "{at_tuning}");
        assert!(at_tuning < 3.5, "{at_tuning}");
        assert!(multiplier(100.0, 1000.0, alpha) > at_tuning);
        assert!(multiplier(100_000.0, 1000.0, alpha) > at_tuning);
        // Smaller alpha, wider bound.
        assert!(multiplier(1000.0, 1000.0, 0.001) > at_tuning);
        assert!(multiplier(0.0, 1000.0, alpha).is_infinite());
    }

    #[test]
    fn one_sided_mixture_solves_its_equation() {
        let alpha = 0.05;
        let b = multiplier(500.0, 1000.0, alpha);
        let x = tuned_mixing(alpha) * 0.5;
        assert!((ln_mixture(b, x) + alpha.ln()).abs() < 1e-9);
        // Half-normal mixture at α sits between the two-sided normal mixture
        // at 2α and at α.
        let two_sided = |a: f64| ((1.0 + x) / x * ((1.0 + x).ln() - 2.0 * a.ln())).sqrt();
        assert!(b >= two_sided(2.0 * alpha) - 1e-9 && b <= two_sided(alpha) + 1e-9);
    }
}
