//! The seeded generator's binomial sampler.

use gatehouse_gates::rng::Rng;

#[test]
fn binomial_sampler_has_the_right_mean_and_variance() {
    let mut rng = Rng::seeded(7);
    for (n, p) in [(200u64, 0.1), (500, 0.7), (50, 0.02)] {
        let draws: Vec<f64> = (0..20_000).map(|_| rng.binomial(n, p) as f64).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (draws.len() - 1) as f64;
        let (m, v) = (n as f64 * p, n as f64 * p * (1.0 - p));
        assert!(
            (mean - m).abs() < 4.0 * (v / 20_000.0).sqrt(),
            "n={n} p={p}: mean {mean} vs {m}"
        );
        assert!(
            (var / v - 1.0).abs() < 0.05,
            "n={n} p={p}: var {var} vs {v}"
        );
    }
}
