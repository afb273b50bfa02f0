//! Publishing, channels, references and blobs.

use crate::{T0, each, newest};
use gatehouse_store::{ArtifactKind, Change, ChannelError, Hash, Publish, RollbackTo, Scope};

fn publish(b: &dyn gatehouse_store::Backend, version: &str, text: &str) -> Hash {
    b.publish(&Publish {
        kind: ArtifactKind::Config,
        name: "rules",
        version,
        bytes: text.as_bytes(),
        publisher: "growth",
        at_ms: T0,
    })
    .unwrap()
    .artifact
    .id
    .hash
}

#[test]
fn a_publication_is_content_addressed_and_recorded() {
    each(|name, b, audit| {
        let h = publish(b, "1.0.0", "a = 1\n");
        assert_eq!(b.get(&h).unwrap(), b"a = 1\n", "{name}");
        assert!(b.contains(&h).unwrap(), "{name}");
        assert_eq!(
            newest(audit, "publish").body["blake3"],
            h.to_string(),
            "{name}"
        );
        // The same bytes again: no new artifact, no new entry.
        let entries = audit.query(&Default::default()).unwrap().len();
        publish(b, "1.0.0", "a = 1\n");
        assert_eq!(
            audit.query(&Default::default()).unwrap().len(),
            entries,
            "{name}"
        );
        assert_eq!(b.list(None, Some("rules")).unwrap().len(), 1, "{name}");
    });
}

#[test]
fn channels_move_forward_roll_back_and_resolve_with_their_entries() {
    each(|name, b, audit| {
        publish(b, "1.0.0", "a = 1\n");
        let h2 = publish(b, "1.1.0", "a = 2\n");
        let any = Scope::any();
        b.promote(
            "rules",
            "1.0.0",
            "production",
            &any,
            &Change::new("ops", "first", T0),
        )
        .unwrap();
        let moved = b
            .promote(
                "rules",
                "1.1.0",
                "production",
                &any,
                &Change::new("ops", "next", T0 + 1),
            )
            .unwrap();
        assert_eq!(
            b.resolve("rules@production", &any).unwrap().id.hash,
            h2,
            "{name}"
        );
        assert_eq!(
            newest(audit, "channel-move").body,
            serde_json::to_value(&moved).unwrap(),
            "{name}"
        );
        assert!(matches!(
            b.promote(
                "rules",
                "1.0.0",
                "production",
                &any,
                &Change::new("ops", "down", T0 + 2)
            ),
            Err(ChannelError::Downgrade { .. })
        ));
        b.rollback(
            "production",
            "rules",
            &any,
            &RollbackTo::Previous,
            &Change::new("ops", "bad", T0 + 3),
        )
        .unwrap();
        assert_eq!(
            b.resolve("rules@production", &any)
                .unwrap()
                .id
                .version
                .to_string(),
            "1.0.0",
            "{name}"
        );
        assert_eq!(
            b.history("production", Some("rules")).unwrap().len(),
            3,
            "{name}"
        );
        let moves = audit
            .query(&gatehouse_store::Query::kind("channel-move"))
            .unwrap();
        assert_eq!(moves.len(), 3, "{name}: every move has its entry");
    });
}

#[test]
fn a_lock_pins_what_references_resolved_to() {
    each(|name, b, _| {
        let h1 = publish(b, "1.0.0", "a = 1\n");
        publish(b, "1.1.0", "a = 2\n");
        let any = Scope::any();
        b.promote(
            "rules",
            "1.0.0",
            "production",
            &any,
            &Change::new("ops", "first", T0),
        )
        .unwrap();
        let lock = b.lock(&["rules@production"], &any).unwrap();
        assert_eq!(lock.get("rules").unwrap().hash, h1, "{name}");
        b.verify_lock(&lock).unwrap();
    });
}
