//! Guardrail regression: the candidate doubles the escalation rate (5% to
//! 10% of contacts) with no change in meetings booked.
//!
//! Documented bound: **rollback within 6 batches** of 250 contacts per arm
//! (1,500 per arm: the 1,000 minimum sample and two more looks) in at least
//! 95% of pilots. The sequential tests start deciding at batch 4, when the
//! minimum sample is reached.

use gatehouse_gates::{GateVerdict, MetricStatus};

use crate::pilot::{Arm, ESCALATIONS, Pilot, simulate, spec};

const PILOTS: usize = 2_000;
const BATCH: u64 = 250;
const WITHIN_BATCHES: usize = 6;

#[test]
fn doubled_escalations_roll_back_within_six_batches() {
    let spec = spec(1_000);
    let pilot = Pilot {
        control: Arm {
            meeting: 0.10,
            escalation: 0.05,
        },
        candidate: Arm {
            meeting: 0.10,
            escalation: 0.10,
        },
        batch: BATCH,
        max_batches: 40,
    };
    let endings = simulate(0x5AFE, PILOTS, &spec, &pilot);
    let in_time = endings
        .iter()
        .filter(|e| e.verdict == GateVerdict::Fail && e.batches <= WITHIN_BATCHES)
        .count() as f64
        / PILOTS as f64;
    let never_passed = endings.iter().all(|e| e.verdict != GateVerdict::Pass);
    let mut fails: Vec<usize> = endings
        .iter()
        .filter(|e| e.verdict == GateVerdict::Fail)
        .map(|e| e.batches)
        .collect();
    fails.sort_unstable();
    println!(
        "rollback: escalations 5% -> 10%, {PILOTS} pilots, a look every {BATCH} per arm: rolled back \
         within {WITHIN_BATCHES} batches in {in_time:.4}; median at batch {}, slowest at batch {}",
        fails.get(fails.len() / 2).copied().unwrap_or(0),
        fails.last().copied().unwrap_or(0)
    );
    assert!(in_time >= 0.95, "rolled back in time in {in_time}");
    assert!(never_passed, "a harmful candidate was promoted");
}

#[test]
fn the_rollback_names_the_guardrail() {
    // One pilot, looked at once the regression is plain: the failing metric
    // is the escalation guardrail and the reasons say so.
    use gatehouse_gates::{Observation, Sample, evaluate};
    let p = |successes, trials| Sample::Proportion { successes, trials };
    let data = [
        Observation::new(crate::pilot::MEETINGS, p(150, 1500), p(151, 1500)),
        Observation::new(ESCALATIONS, p(75, 1500), p(150, 1500)),
        Observation::new(crate::pilot::COMPLIANCE, p(1500, 1500), p(1500, 1500)),
    ];
    let report = evaluate(&spec(1_000), &data).unwrap();
    assert_eq!(report.verdict, GateVerdict::Fail);
    let failing: Vec<_> = report
        .metrics
        .iter()
        .filter(|m| m.status == MetricStatus::Fail)
        .map(|m| m.metric.as_str())
        .collect();
    assert_eq!(failing, [ESCALATIONS]);
    assert!(report.reasons[0].contains(ESCALATIONS));
}
