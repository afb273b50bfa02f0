//! A small seeded generator (xoshiro256**, seeded through splitmix64) and an
//! exact binomial sampler, so every simulation is reproducible bit for bit.

pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn seeded(seed: u64) -> Self {
        let mut st = seed;
        Rng {
            s: [
                splitmix64(&mut st),
                splitmix64(&mut st),
                splitmix64(&mut st),
                splitmix64(&mut st),
            ],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in (0, 1]: never zero, so its logarithm is finite.
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Successes in `n` Bernoulli(`p`) trials, exactly: jump from success to
    /// success by geometric waiting times (O(n·p) draws).
    pub fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if p <= 0.0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        if p > 0.5 {
            return n - self.binomial(n, 1.0 - p);
        }
        let log_q = (1.0 - p).ln();
        let (mut successes, mut position) = (0u64, 0u64);
        loop {
            // Trials up to and including the next success: Geometric(p).
            let gap = (self.unit().ln() / log_q).floor() as u64 + 1;
            position = position.saturating_add(gap);
            if position > n {
                return successes;
            }
            successes += 1;
        }
    }
}

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
