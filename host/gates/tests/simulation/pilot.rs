//! One simulated pilot: contacts arrive in batches split evenly between
//! control and candidate; each contacted unit books a meeting, escalates and
//! passes its compliance checks with the arm's true rates; the gate is
//! evaluated after every batch and the pilot stops at the first pass or fail.

use gatehouse_gates::{
    Better, ComplianceGate, GateSpec, GateVerdict, Guardrail, KpiGate, Observation, Sample,
    evaluate,
};

use gatehouse_gates::rng::Rng;

pub const MEETINGS: &str = "meetings_per_contacted";
pub const ESCALATIONS: &str = "escalation_rate";
pub const COMPLIANCE: &str = "policy_compliance";

/// The gate spec a pilot of an email skill would ship with.
pub fn spec(min_sample_per_arm: u64) -> GateSpec {
    GateSpec {
        version: 1,
        alpha: 0.05,
        min_sample_per_arm,
        kpi: KpiGate {
            metric: MEETINGS.into(),
            better: Better::Higher,
            min_lift: 0.0,
        },
        guardrails: vec![Guardrail {
            metric: ESCALATIONS.into(),
            better: Better::Lower,
            tolerance: 0.0,
        }],
        compliance: ComplianceGate {
            metric: COMPLIANCE.into(),
            confidence: 0.95,
        },
    }
}

/// True per-contact rates of one arm.
#[derive(Clone, Copy)]
pub struct Arm {
    pub meeting: f64,
    pub escalation: f64,
}

pub struct Pilot {
    pub control: Arm,
    pub candidate: Arm,
    /// Contacts per arm per batch.
    pub batch: u64,
    /// Batches before the pilot is stopped undecided.
    pub max_batches: usize,
}

/// How a pilot ended: the verdict, and after how many batches (1-based).
pub struct Ending {
    pub verdict: GateVerdict,
    pub batches: usize,
}

#[derive(Default)]
struct Counts {
    meetings: u64,
    escalations: u64,
    contacted: u64,
}

impl Counts {
    fn add(&mut self, rng: &mut Rng, arm: Arm, n: u64) {
        self.meetings += rng.binomial(n, arm.meeting);
        self.escalations += rng.binomial(n, arm.escalation);
        self.contacted += n;
    }
}

fn prop(successes: u64, trials: u64) -> Sample {
    Sample::Proportion { successes, trials }
}

impl Pilot {
    pub fn run(&self, spec: &GateSpec, rng: &mut Rng) -> Ending {
        let (mut c, mut t) = (Counts::default(), Counts::default());
        for batch in 1..=self.max_batches {
            c.add(rng, self.control, self.batch);
            t.add(rng, self.candidate, self.batch);
            let data = [
                Observation::new(
                    MEETINGS,
                    prop(c.meetings, c.contacted),
                    prop(t.meetings, t.contacted),
                ),
                Observation::new(
                    ESCALATIONS,
                    prop(c.escalations, c.contacted),
                    prop(t.escalations, t.contacted),
                ),
                Observation::new(
                    COMPLIANCE,
                    prop(c.contacted, c.contacted),
                    prop(t.contacted, t.contacted),
                ),
            ];
            let report = evaluate(spec, &data).expect("the spec and data are valid");
            if report.verdict != GateVerdict::KeepCollecting {
                return Ending {
                    verdict: report.verdict,
                    batches: batch,
                };
            }
        }
        Ending {
            verdict: GateVerdict::KeepCollecting,
            batches: self.max_batches,
        }
    }
}

/// Runs `runs` pilots from one seed and returns their endings.
pub fn simulate(seed: u64, runs: usize, spec: &GateSpec, pilot: &Pilot) -> Vec<Ending> {
    let mut rng = Rng::seeded(seed);
    (0..runs).map(|_| pilot.run(spec, &mut rng)).collect()
}

pub fn share(endings: &[Ending], verdict: GateVerdict) -> f64 {
    endings.iter().filter(|e| e.verdict == verdict).count() as f64 / endings.len() as f64
}
