//! The audit log: chained, verifiable, queryable.

use crate::{T0, each};
use gatehouse_store::{NewEntry, Query};

#[test]
fn entries_chain_verify_and_answer_queries() {
    each(|name, _, audit| {
        let receipts = audit
            .append(&[
                NewEntry {
                    at_ms: T0,
                    kind: "outcome".into(),
                    run_id: Some("r1".into()),
                    body: serde_json::json!({"action": "r1/a", "kind": "reply", "value": 1}),
                },
                NewEntry {
                    at_ms: T0 + 1,
                    kind: "note".into(),
                    run_id: None,
                    body: serde_json::json!({"text": "hello"}),
                },
            ])
            .unwrap();
        assert_eq!(receipts.len(), 2, "{name}");
        assert!(receipts[0].seq < receipts[1].seq, "{name}");
        let v = audit.verify().unwrap().unwrap();
        assert_eq!(v.head.as_deref(), Some(receipts[1].hash.as_str()), "{name}");
        let found = audit
            .query(&Query {
                action_id: Some("r1/a".into()),
                ..Query::default()
            })
            .unwrap();
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0].seq, receipts[0].seq, "{name}");
        assert_eq!(
            audit.checkpoint(T0 + 2).unwrap(),
            Some(receipts[1].seq),
            "{name}"
        );
    });
}
