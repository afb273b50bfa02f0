//! Exposure: sticky per unit, never more than the cap, under concurrency.

use crate::support::{T0, store};
use gatehouse_store::{ExposureCounts, ExposureError, Store};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

const KEY: &str = "outreach@1.3.0";

/// admitted ≤ floor(cap% × units).
fn within_cap(counts: ExposureCounts, cap: u64) -> bool {
    counts.admitted * 100 <= cap * counts.units
}

#[test]
fn the_cap_holds_after_every_assignment_and_admits_a_spread() {
    let (_dir, store) = store();
    let mut first_admitted = None;
    for i in 0..1000 {
        let e = store.expose(KEY, &format!("c-{i:04}"), 10, T0 + i).unwrap();
        assert!(e.new);
        assert_eq!(e.counts.units, i as u64 + 1);
        assert!(within_cap(e.counts, 10), "after unit {i}: {:?}", e.counts);
        if e.admitted && first_admitted.is_none() {
            first_admitted = Some(i);
        }
    }
    let counts = store.exposure_counts(KEY).unwrap();
    assert_eq!(counts.units, 1000);
    // The hash spreads admissions: well over half the cap is used.
    assert!(counts.admitted >= 60, "{counts:?}");
    assert!(counts.admitted <= 100, "{counts:?}");
    // Admission starts as soon as the cap allows, not in a fixed block.
    assert!(first_admitted.unwrap() < 100, "{first_admitted:?}");
}

#[test]
fn an_assignment_is_sticky_whatever_the_cap_later() {
    let (_dir, store) = store();
    let mut answers = BTreeMap::new();
    for i in 0..200 {
        let unit = format!("c-{i}");
        answers.insert(
            unit.clone(),
            store.expose(KEY, &unit, 50, T0).unwrap().admitted,
        );
    }
    assert!(answers.values().any(|a| *a) && answers.values().any(|a| !*a));
    for cap in [0, 50, 100] {
        for (unit, admitted) in &answers {
            let again = store.expose(KEY, unit, cap, T0 + 1).unwrap();
            assert!(!again.new);
            assert_eq!(again.admitted, *admitted, "{unit} at cap {cap}");
            assert_eq!(again.assigned_ms, T0);
        }
    }
    assert_eq!(store.exposure_counts(KEY).unwrap().units, 200);
}

#[test]
fn caps_of_zero_and_one_hundred() {
    let (_dir, store) = store();
    for i in 0..50 {
        assert!(
            !store
                .expose("zero", &format!("u{i}"), 0, T0)
                .unwrap()
                .admitted
        );
        assert!(
            store
                .expose("all", &format!("u{i}"), 100, T0)
                .unwrap()
                .admitted
        );
    }
    assert!(matches!(
        store.expose(KEY, "u", 101, T0),
        Err(ExposureError::Input(e)) if e.what == "exposure cap"
    ));
}

#[test]
fn lowering_the_cap_admits_no_one_until_the_share_falls_below_it() {
    let (_dir, store) = store();
    for i in 0..100 {
        store.expose(KEY, &format!("a{i}"), 50, T0).unwrap();
    }
    let before = store.exposure_counts(KEY).unwrap();
    assert!(before.admitted > 20, "{before:?}");
    // At 10%, nobody is admitted until admitted ≤ 10% of units again.
    let mut counts = before;
    for i in 0..100 {
        let e = store.expose(KEY, &format!("b{i}"), 10, T0).unwrap();
        assert!(!e.admitted, "b{i} admitted at {:?}", e.counts);
        counts = e.counts;
    }
    assert_eq!(counts.admitted, before.admitted);
}

/// Threads, each with its own connection, assign their own units and
/// 100 shared units (in different orders) at once: the cap holds after
/// every call and at the end, and every shared unit gets one answer.
#[test]
fn the_cap_holds_and_answers_agree_under_concurrency() {
    const CAP: u64 = 50;
    const THREADS: usize = 6;
    const OWN: usize = 300;
    const SHARED: usize = 100;
    let (dir, _store) = store();
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Store::open(dir.path()).unwrap();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut shared = BTreeMap::new();
                let mut admitted = 0u64;
                for i in 0..OWN {
                    let e = store
                        .expose(KEY, &format!("t{t}-{i}"), CAP as u8, T0)
                        .unwrap();
                    assert!(within_cap(e.counts, CAP), "{:?}", e.counts);
                    admitted += u64::from(e.admitted);
                    if i % 3 == 0 {
                        // Each thread walks the shared units from another start.
                        let unit = format!("c-{}", (i / 3 + t * 17) % SHARED);
                        let e = store.expose(KEY, &unit, CAP as u8, T0).unwrap();
                        assert!(within_cap(e.counts, CAP), "{:?}", e.counts);
                        shared.insert(unit, e.admitted);
                    }
                }
                (shared, admitted)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let first = &results[0].0;
    assert_eq!(first.len(), SHARED);
    for (shared, _) in &results[1..] {
        assert_eq!(shared, first, "two threads got different answers");
    }
    let store = Store::open(dir.path()).unwrap();
    let counts = store.exposure_counts(KEY).unwrap();
    assert_eq!(counts.units, (THREADS * OWN + SHARED) as u64);
    let own_admitted: u64 = results.iter().map(|(_, a)| a).sum();
    let shared_admitted = first.values().filter(|a| **a).count() as u64;
    assert_eq!(counts.admitted, own_admitted + shared_admitted);
    assert!(within_cap(counts, CAP), "{counts:?}");
    assert!(counts.admitted > 0);
}

/// Units of `key` whose hash bucket is below `cap` (rule 1 of
/// `Store::expose` would let them in), found in a scratch store where
/// rule 2 cannot bind: 2n units refused at cap 0 come first.
fn eligible_units(key: &str, cap: u8, n: usize) -> Vec<String> {
    let (_dir, scratch) = store();
    for i in 0..2 * n {
        scratch.expose(key, &format!("seed-{i}"), 0, T0).unwrap();
    }
    let mut units = Vec::new();
    for i in 0.. {
        let unit = format!("u-{i}");
        if scratch.expose(key, &unit, cap, T0).unwrap().admitted {
            units.push(unit);
            if units.len() == n {
                return units;
            }
        }
    }
    unreachable!()
}

/// Threads assign units that rule 1 would all admit, so rule 2 (the hard
/// cap) binds at every other unit: the case a race would break.
#[test]
fn the_cap_holds_when_every_unit_is_eligible() {
    const CAP: u8 = 50;
    const THREADS: usize = 4;
    const PER_THREAD: usize = 30;
    let units = eligible_units(KEY, CAP, THREADS * PER_THREAD);
    let (dir, _store) = store();
    let start = Arc::new(Barrier::new(THREADS + 1));
    let handles: Vec<_> = units
        .chunks(PER_THREAD)
        .map(|chunk| {
            let store = Store::open(dir.path()).unwrap();
            let start = Arc::clone(&start);
            let chunk = chunk.to_vec();
            std::thread::spawn(move || {
                start.wait();
                let mut admitted = 0u64;
                for unit in &chunk {
                    let e = store.expose(KEY, unit, CAP, T0).unwrap();
                    assert!(within_cap(e.counts, u64::from(CAP)), "{:?}", e.counts);
                    admitted += u64::from(e.admitted);
                }
                admitted
            })
        })
        .collect();
    // A reader checks every state it sees: the cap must hold at every
    // moment, not only once the dust settles.
    let done = Arc::new(AtomicBool::new(false));
    let monitor = {
        let store = Store::open(dir.path()).unwrap();
        let (done, start) = (Arc::clone(&done), Arc::clone(&start));
        std::thread::spawn(move || {
            start.wait();
            loop {
                let finished = done.load(Ordering::Acquire);
                let counts = store.exposure_counts(KEY).unwrap();
                assert!(
                    within_cap(counts, u64::from(CAP)),
                    "a reader saw {counts:?}"
                );
                if finished {
                    break;
                }
            }
        })
    };
    let admitted: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    done.store(true, Ordering::Release);
    monitor.join().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let counts = store.exposure_counts(KEY).unwrap();
    assert_eq!(counts.units, (THREADS * PER_THREAD) as u64);
    assert_eq!(counts.admitted, admitted);
    // Every unit is eligible, so the cap is filled exactly.
    assert_eq!(counts.admitted, counts.units / 2, "{counts:?}");
}
