//! What the gates read: one arm's sufficient statistics for one metric.

use serde::{Deserialize, Serialize};

use crate::special::normal_quantile;

/// One arm's data for one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Sample {
    /// Successes out of trials: rates such as meetings booked per contacted,
    /// escalation rate, SLA adherence or compliance (checks passed of checks run).
    Proportion {
        /// Units with the event.
        successes: u64,
        /// Units observed.
        trials: u64,
    },
    /// A continuous per-unit value (pipeline per contacted, cost per action),
    /// as count, sum and sum of squares.
    Mean {
        /// Units observed.
        n: u64,
        /// Sum of the per-unit values.
        sum: f64,
        /// Sum of the squared per-unit values.
        sum_sq: f64,
    },
}

impl Sample {
    /// Units observed (trials or `n`).
    pub fn units(&self) -> u64 {
        match *self {
            Sample::Proportion { trials, .. } => trials,
            Sample::Mean { n, .. } => n,
        }
    }

    /// The point estimate: the success rate or the mean; `0.0` with no units.
    pub fn estimate(&self) -> f64 {
        match *self {
            Sample::Proportion { successes, trials } => ratio(successes as f64, trials),
            Sample::Mean { n, sum, .. } => ratio(sum, n),
        }
    }

    /// Accumulates another batch of the same kind; `None` if the kinds differ.
    pub fn merged(&self, other: &Sample) -> Option<Sample> {
        match (self, other) {
            (
                &Sample::Proportion {
                    successes: s1,
                    trials: t1,
                },
                &Sample::Proportion {
                    successes: s2,
                    trials: t2,
                },
            ) => Some(Sample::Proportion {
                successes: s1 + s2,
                trials: t1 + t2,
            }),
            (
                &Sample::Mean {
                    n: n1,
                    sum: a1,
                    sum_sq: q1,
                },
                &Sample::Mean {
                    n: n2,
                    sum: a2,
                    sum_sq: q2,
                },
            ) => Some(Sample::Mean {
                n: n1 + n2,
                sum: a1 + a2,
                sum_sq: q1 + q2,
            }),
            _ => None,
        }
    }

    /// A fixed-sample two-sided interval for this arm's rate or mean at
    /// `confidence` (e.g. 0.95), for scorecards: Wilson's score interval for
    /// a proportion, the normal interval `mean ± z·s/sqrt(n)` for a mean.
    /// `None` with no units (or fewer than two for a mean) or a confidence
    /// outside (0, 1). Gate decisions use the always-valid intervals of
    /// [`evaluate`](crate::evaluate) instead.
    pub fn interval(&self, confidence: f64) -> Option<(f64, f64)> {
        if !(confidence > 0.0 && confidence < 1.0) {
            return None;
        }
        let z = normal_quantile(0.5 + confidence / 2.0);
        match *self {
            Sample::Proportion { trials: 0, .. } | Sample::Mean { n: 0 | 1, .. } => None,
            Sample::Proportion { successes, trials } => {
                let n = trials as f64;
                let p = successes as f64 / n;
                let z2 = z * z;
                let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
                let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
                Some(((centre - half).max(0.0), (centre + half).min(1.0)))
            }
            Sample::Mean { n, .. } => {
                let st = self.stats();
                let half = z * (st.var / n as f64).sqrt();
                Some((st.mean - half, st.mean + half))
            }
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Sample::Proportion { .. } => "proportion",
            Sample::Mean { .. } => "mean",
        }
    }

    /// Why the numbers cannot be one arm's data, if they cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        match *self {
            Sample::Proportion { successes, trials } if successes > trials => {
                Some(format!("{successes} successes out of {trials} trials"))
            }
            Sample::Proportion { .. } => None,
            Sample::Mean { sum, sum_sq, .. } if !sum.is_finite() || !sum_sq.is_finite() => {
                Some("sum or sum of squares is not finite".to_owned())
            }
            Sample::Mean { sum_sq, .. } if sum_sq < 0.0 => {
                Some("negative sum of squares".to_owned())
            }
            Sample::Mean { n: 0, sum, sum_sq } if sum != 0.0 || sum_sq != 0.0 => {
                Some("non-zero sums with no units".to_owned())
            }
            Sample::Mean { .. } => None,
        }
    }

    /// Units, mean and the plug-in per-unit variance the sequential test uses.
    ///
    /// For proportions the variance is `p̃(1 − p̃)` with `p̃ = (s + 1)/(n + 2)`,
    /// which keeps it positive when an arm has seen no event (or only events)
    /// yet; for means it is the unbiased sample variance.
    pub(crate) fn stats(&self) -> ArmStats {
        match *self {
            Sample::Proportion { successes, trials } => {
                let smoothed = (successes as f64 + 1.0) / (trials as f64 + 2.0);
                ArmStats {
                    n: trials,
                    mean: ratio(successes as f64, trials),
                    var: smoothed * (1.0 - smoothed),
                }
            }
            Sample::Mean { n, sum, sum_sq } => {
                let mean = ratio(sum, n);
                let var = if n >= 2 {
                    ((sum_sq - sum * mean) / (n as f64 - 1.0)).max(0.0)
                } else {
                    0.0
                };
                ArmStats { n, mean, var }
            }
        }
    }
}

fn ratio(num: f64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num / den as f64 }
}

/// One arm's units, mean and per-unit variance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArmStats {
    pub n: u64,
    pub mean: f64,
    pub var: f64,
}

/// Both arms' data for one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The metric's name, as the gate spec names it.
    pub metric: String,
    /// The control arm (the version in production).
    pub control: Sample,
    /// The candidate arm (the version under pilot).
    pub candidate: Sample,
}

impl Observation {
    /// An observation of `metric` in both arms.
    pub fn new(metric: impl Into<String>, control: Sample, candidate: Sample) -> Self {
        Observation {
            metric: metric.into(),
            control,
            candidate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_stats_match_the_textbook_variance() {
        let values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let s = Sample::Mean {
            n: values.len() as u64,
            sum: values.iter().sum(),
            sum_sq: values.iter().map(|v| v * v).sum(),
        };
        let st = s.stats();
        assert_eq!(st.mean, 5.0);
        assert!((st.var - 32.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn wilson_interval_known_value() {
        // 10 of 100 at 95%: Wilson gives [0.0552, 0.1744].
        let (lo, hi) = Sample::Proportion {
            successes: 10,
            trials: 100,
        }
        .interval(0.95)
        .unwrap();
        assert!(
            (lo - 0.055_229).abs() < 1e-4 && (hi - 0.174_366).abs() < 1e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = Sample::Proportion {
            successes: 0,
            trials: 50,
        }
        .interval(0.95)
        .unwrap();
        assert!(lo == 0.0 && hi > 0.0);
        assert!(
            Sample::Proportion {
                successes: 0,
                trials: 0
            }
            .interval(0.95)
            .is_none()
        );
        assert!(
            Sample::Mean {
                n: 1,
                sum: 1.0,
                sum_sq: 1.0
            }
            .interval(0.95)
            .is_none()
        );
        let (lo, hi) = Sample::Mean {
            n: 100,
            sum: 500.0,
            sum_sq: 2896.0,
        }
        .interval(0.95)
        .unwrap();
        // mean 5, variance (2896 - 2500)/99 = 4, se 0.2
        assert!(
            (lo - (5.0 - 1.959_964 * 0.2)).abs() < 1e-4
                && (hi - (5.0 + 1.959_964 * 0.2)).abs() < 1e-4
        );
    }

    #[test]
    fn merging_adds_and_refuses_mixed_kinds() {
        let a = Sample::Proportion {
            successes: 3,
            trials: 10,
        };
        let b = Sample::Proportion {
            successes: 1,
            trials: 5,
        };
        assert_eq!(
            a.merged(&b),
            Some(Sample::Proportion {
                successes: 4,
                trials: 15
            })
        );
        assert_eq!(
            a.merged(&Sample::Mean {
                n: 1,
                sum: 1.0,
                sum_sq: 1.0
            }),
            None
        );
    }

    #[test]
    fn impossible_samples_are_named() {
        assert!(
            Sample::Proportion {
                successes: 11,
                trials: 10
            }
            .problem()
            .is_some()
        );
        assert!(
            Sample::Mean {
                n: 0,
                sum: 1.0,
                sum_sq: 1.0
            }
            .problem()
            .is_some()
        );
        assert!(
            Sample::Mean {
                n: 2,
                sum: f64::NAN,
                sum_sq: 1.0
            }
            .problem()
            .is_some()
        );
        assert!(
            Sample::Mean {
                n: 2,
                sum: 1.0,
                sum_sq: 1.0
            }
            .problem()
            .is_none()
        );
    }
}
