//! Power: the candidate truly lifts meetings booked per contacted by 20%
//! relative, from 10% to 12% (a realistic rate for targeted outbound email
//! that reaches a booked meeting), with escalations unchanged at 5%.
//!
//! Documented sample size: **8,000 contacts per arm** (16 looks of 500 per
//! arm, minimum sample 2,000 per arm, alpha 0.05 split over the KPI and one
//! guardrail). A fixed-sample one-sided z-test at 2.5% would need about
//! 3,800 per arm for 80% power but may be looked at only once; the
//! always-valid gate may be checked at every batch, and most pilots pass
//! well before the horizon (the median pass is printed).

use gatehouse_gates::GateVerdict;

use crate::pilot::{Arm, Pilot, share, simulate, spec};

const PILOTS: usize = 2_000;
const BATCH: u64 = 500;
const HORIZON_PER_ARM: u64 = 8_000;

#[test]
fn a_true_twenty_percent_lift_passes_with_at_least_eighty_percent_power() {
    let spec = spec(2_000);
    let pilot = Pilot {
        control: Arm {
            meeting: 0.10,
            escalation: 0.05,
        },
        candidate: Arm {
            meeting: 0.12,
            escalation: 0.05,
        },
        batch: BATCH,
        max_batches: (HORIZON_PER_ARM / BATCH) as usize,
    };
    let endings = simulate(0x9011, PILOTS, &spec, &pilot);
    let power = share(&endings, GateVerdict::Pass);
    let rolled_back = share(&endings, GateVerdict::Fail);
    let mut passed_at: Vec<u64> = endings
        .iter()
        .filter(|e| e.verdict == GateVerdict::Pass)
        .map(|e| e.batches as u64 * BATCH)
        .collect();
    passed_at.sort_unstable();
    let median = passed_at.get(passed_at.len() / 2).copied().unwrap_or(0);
    println!(
        "power: meetings 10% -> 12% (+20%), {PILOTS} pilots, a look every {BATCH} per arm up to \
         {HORIZON_PER_ARM} per arm: power {power:.4}, rolled back {rolled_back:.4}, median pass at \
         {median} per arm"
    );
    assert!(power >= 0.80, "power {power} at {HORIZON_PER_ARM} per arm");
}
