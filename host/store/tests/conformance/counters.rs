//! Budget reservations and exposure caps: all or none, sticky.

use crate::{T0, each};
use gatehouse_store::{Change, Charge, CounterError, ReservationState, Window};

#[test]
fn a_reservation_is_all_or_none_and_a_release_gives_it_back() {
    each(|name, b, _| {
        let held = b
            .reserve("a-1", &[Charge::total("spend/agent", 60, 100)], T0)
            .unwrap();
        assert_eq!(held.state, ReservationState::Held, "{name}");
        // Over the limit on one key: nothing is charged on any.
        let over = b.reserve(
            "a-2",
            &[
                Charge::total("sends/agent", 1, 10),
                Charge::total("spend/agent", 50, 100),
            ],
            T0 + 1,
        );
        assert!(
            matches!(over, Err(CounterError::CapExceeded(_))),
            "{name}: {over:?}"
        );
        assert_eq!(
            b.usage("sends/agent", Window::Total, T0 + 1).unwrap(),
            0,
            "{name}"
        );
        b.release_reservation(held.id, &Change::new("pipeline", "denied", T0 + 2))
            .unwrap();
        assert_eq!(
            b.usage("spend/agent", Window::Total, T0 + 2).unwrap(),
            0,
            "{name}"
        );
        let again = b
            .reserve("a-3", &[Charge::total("spend/agent", 100, 100)], T0 + 3)
            .unwrap();
        b.commit_reservation(again.id, &Change::new("pipeline", "sent", T0 + 4))
            .unwrap();
        assert_eq!(
            b.usage("spend/agent", Window::Total, T0 + 4).unwrap(),
            100,
            "{name}"
        );
    });
}

#[test]
fn exposure_is_sticky_and_capped() {
    each(|name, b, _| {
        let first = b.expose("pilot-1", "c-1", 100, T0).unwrap();
        assert!(first.admitted && first.new, "{name}");
        let again = b.expose("pilot-1", "c-1", 0, T0 + 1).unwrap();
        assert!(again.admitted && !again.new, "{name}: an assignment sticks");
        let none = b.expose("pilot-1", "c-2", 0, T0 + 2).unwrap();
        assert!(!none.admitted, "{name}: a zero cap admits no new unit");
    });
}
