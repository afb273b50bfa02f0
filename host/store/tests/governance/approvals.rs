//! Approvals: no self-approval, no double vote, expiry, a second approver
//! for critical risk, rejection, and release exactly once (also racing).

use crate::support::{T0, store};
use gatehouse_store::{
    Approval, ApprovalError, ApprovalId, ApprovalRequest, ApprovalStatus, Change, Risk, Store,
    VoteDecision,
};
use serde_json::json;
use std::sync::{Arc, Barrier};

const HOUR: i64 = 3_600_000;

fn subject() -> serde_json::Value {
    json!({
        "run": "r-17",
        "action": {"kind": "ad-budget", "campaign": "q1-eu", "from": 1_000_000, "to": 5_000_000},
        "findings": [{"rule": "risk-tier", "severity": "high"}]
    })
}

fn request(store: &Store, risk: Risk, needed: u8) -> Approval {
    let subject = subject();
    store
        .request_approval(&ApprovalRequest {
            subject: &subject,
            risk,
            requested_by: "alice",
            expires_at_ms: T0 + HOUR,
            approvals_needed: needed,
            at_ms: T0,
        })
        .unwrap()
}

fn as_(who: &str, at_ms: i64) -> Change<'_> {
    Change::new(who, "looks right", at_ms)
}

#[test]
fn nobody_approves_their_own_request() {
    let (_dir, store) = store();
    let a = request(&store, Risk::High, 1);
    assert_eq!(a.status, ApprovalStatus::Pending);
    for me in ["alice", " Alice ", "ALICE"] {
        let err = store.approve(a.id, &as_(me, T0 + 1)).unwrap_err();
        assert!(
            matches!(err, ApprovalError::SelfApproval { .. }),
            "{me}: {err}"
        );
    }
    assert_eq!(
        store
            .approve(a.id, &as_("alice", T0 + 1))
            .unwrap_err()
            .to_string(),
        format!(
            "`alice` requested approval `{}` and cannot approve it; another approver must",
            a.id
        )
    );
    assert_eq!(store.approval(a.id, T0 + 1).unwrap().votes, []);
    let approved = store.approve(a.id, &as_("bob", T0 + 2)).unwrap();
    assert_eq!(approved.status, ApprovalStatus::Approved);
}

#[test]
fn critical_needs_two_distinct_approvers() {
    let (_dir, store) = store();
    let a = request(&store, Risk::Critical, 2);
    let one = store.approve(a.id, &as_("bob", T0 + 1)).unwrap();
    assert_eq!(one.status, ApprovalStatus::Pending);
    assert!(matches!(
        store.release_approval(a.id, "pipeline", T0 + 2),
        Err(ApprovalError::NotApproved {
            status: ApprovalStatus::Pending,
            ..
        })
    ));
    // Bob again, under another spelling, does not count twice.
    assert!(matches!(
        store.approve(a.id, &as_("Bob", T0 + 2)),
        Err(ApprovalError::AlreadyVoted { .. })
    ));
    let two = store.approve(a.id, &as_("carol", T0 + 3)).unwrap();
    assert_eq!(two.status, ApprovalStatus::Approved);
    assert_eq!(
        two.votes
            .iter()
            .map(|v| (v.approver.as_str(), v.decision))
            .collect::<Vec<_>>(),
        [
            ("bob", VoteDecision::Approve),
            ("carol", VoteDecision::Approve)
        ]
    );
    assert!(matches!(
        store.approve(a.id, &as_("dave", T0 + 4)),
        Err(ApprovalError::NotPending {
            status: ApprovalStatus::Approved,
            ..
        })
    ));
}

#[test]
fn an_expired_request_can_no_longer_be_approved_or_released() {
    let (_dir, store) = store();
    let late = request(&store, Risk::High, 1);
    let just_in_time = request(&store, Risk::High, 1);
    let unreleased = request(&store, Risk::High, 1);
    let expiry = T0 + HOUR;

    // Valid strictly before the expiry.
    store
        .approve(just_in_time.id, &as_("bob", expiry - 1))
        .unwrap();
    store
        .approve(unreleased.id, &as_("bob", expiry - 1))
        .unwrap();
    let err = store.approve(late.id, &as_("bob", expiry)).unwrap_err();
    assert!(
        matches!(err, ApprovalError::Expired { expires_ms, .. } if expires_ms == expiry),
        "{err}"
    );
    assert!(matches!(
        store.reject(late.id, &as_("bob", expiry)),
        Err(ApprovalError::Expired { .. })
    ));
    store
        .release_approval(just_in_time.id, "pipeline", expiry - 1)
        .unwrap();
    // Approved but not released in time: fail closed.
    assert!(matches!(
        store.release_approval(unreleased.id, "pipeline", expiry),
        Err(ApprovalError::Expired { .. })
    ));

    let status = |id, now| store.approval(id, now).unwrap().status;
    assert_eq!(status(late.id, expiry - 1), ApprovalStatus::Pending);
    assert_eq!(status(late.id, expiry), ApprovalStatus::Expired);
    assert_eq!(status(unreleased.id, expiry), ApprovalStatus::Expired);
    assert_eq!(status(just_in_time.id, expiry), ApprovalStatus::Released);

    let pending = |now| -> Vec<ApprovalId> {
        store
            .approvals(true, now)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    assert_eq!(pending(expiry - 1), [late.id]);
    assert_eq!(pending(expiry), []);
    assert_eq!(store.approvals(false, expiry).unwrap().len(), 3);
}

#[test]
fn one_rejection_is_final() {
    let (_dir, store) = store();
    let a = request(&store, Risk::Critical, 2);
    store.approve(a.id, &as_("bob", T0 + 1)).unwrap();
    let rejected = store
        .reject(a.id, &Change::new("carol", "budget jump too large", T0 + 2))
        .unwrap();
    assert_eq!(rejected.status, ApprovalStatus::Rejected);
    assert!(matches!(
        store.approve(a.id, &as_("dave", T0 + 3)),
        Err(ApprovalError::NotPending {
            status: ApprovalStatus::Rejected,
            ..
        })
    ));
    assert!(matches!(
        store.release_approval(a.id, "pipeline", T0 + 3),
        Err(ApprovalError::NotApproved {
            status: ApprovalStatus::Rejected,
            ..
        })
    ));
    // The requester may withdraw (reject) their own request.
    let b = request(&store, Risk::High, 1);
    let withdrawn = store.reject(b.id, &as_("alice", T0 + 1)).unwrap();
    assert_eq!(withdrawn.status, ApprovalStatus::Rejected);
}

#[test]
fn an_approved_subject_is_released_exactly_once() {
    let (_dir, store) = store();
    let a = request(&store, Risk::High, 1);
    store.approve(a.id, &as_("bob", T0 + 1)).unwrap();
    let released = store.release_approval(a.id, "pipeline", T0 + 2).unwrap();
    assert_eq!(released.subject, subject());
    assert_eq!(released.status, ApprovalStatus::Released);
    assert_eq!(released.released_by.as_deref(), Some("pipeline"));
    assert_eq!(
        released.subject_blake3,
        blake3::hash(serde_json::to_string(&subject()).unwrap().as_bytes())
            .to_hex()
            .to_string()
    );
    let err = store
        .release_approval(a.id, "pipeline", T0 + 3)
        .unwrap_err();
    assert!(
        matches!(err, ApprovalError::AlreadyReleased { at_ms, .. } if at_ms == T0 + 2),
        "{err}"
    );
    assert!(matches!(
        store.release_approval(ApprovalId(999), "pipeline", T0),
        Err(ApprovalError::NoApproval { .. })
    ));
}

/// Threads with their own connections release one approved request at
/// the same moment: exactly one gets the subject.
#[test]
fn racing_releases_hand_out_the_subject_once() {
    const THREADS: usize = 4;
    let (dir, store) = store();
    for round in 0..5 {
        let a = request(&store, Risk::High, 1);
        store.approve(a.id, &as_("bob", T0 + 1)).unwrap();
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = Store::open(dir.path()).unwrap();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    store.release_approval(a.id, &format!("worker-{t}"), T0 + 2)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let released: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(released.len(), 1, "round {round}: {results:?}");
        assert_eq!(released[0].subject, subject());
        for r in &results {
            if let Err(e) = r {
                assert!(matches!(e, ApprovalError::AlreadyReleased { .. }), "{e}");
            }
        }
    }
}

#[test]
fn bad_requests_are_refused() {
    let (_dir, store) = store();
    let subject = subject();
    let base = ApprovalRequest {
        subject: &subject,
        risk: Risk::High,
        requested_by: "alice",
        expires_at_ms: T0 + HOUR,
        approvals_needed: 1,
        at_ms: T0,
    };
    for (bad, what) in [
        (
            ApprovalRequest {
                approvals_needed: 0,
                ..base
            },
            "approvals needed",
        ),
        (
            ApprovalRequest {
                approvals_needed: 3,
                ..base
            },
            "approvals needed",
        ),
        (
            ApprovalRequest {
                expires_at_ms: T0,
                ..base
            },
            "expiry",
        ),
        (
            ApprovalRequest {
                requested_by: " ",
                ..base
            },
            "requester",
        ),
    ] {
        match store.request_approval(&bad) {
            Err(ApprovalError::Input(e)) => assert_eq!(e.what, what),
            other => panic!("{what}: {other:?}"),
        }
    }
    let a = store.request_approval(&base).unwrap();
    assert!(matches!(
        store.approve(a.id, &Change::new("bob", "", T0)),
        Err(ApprovalError::Input(e)) if e.what == "reason"
    ));
    assert_eq!("critical".parse::<Risk>().unwrap(), Risk::Critical);
    assert!("severe".parse::<Risk>().is_err());
}
