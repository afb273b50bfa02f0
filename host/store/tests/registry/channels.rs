//! Channels: promote, downgrade protection, rollback, history, scopes and
//! resolving references.

use crate::support::{T0, by, publish, store};
use gatehouse_store::{
    ArtifactKind, Change, ChannelError, ChannelMove, Hash, MoveOp, Reference, ResolveError,
    RollbackTo, Scope, Store,
};

fn three_versions() -> (tempfile::TempDir, Store) {
    let (dir, store) = store();
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        publish(
            &store,
            ArtifactKind::Skill,
            "outreach",
            v,
            format!("outreach {v}").as_bytes(),
        );
    }
    (dir, store)
}

fn promote(store: &Store, version: &str) -> ChannelMove {
    store
        .promote(
            "outreach",
            version,
            "production",
            &Scope::any(),
            &by("release"),
        )
        .unwrap()
}

fn rollback(store: &Store, to: RollbackTo) -> Result<ChannelMove, ChannelError> {
    store.rollback(
        "production",
        "outreach",
        &Scope::any(),
        &to,
        &by("incident 42"),
    )
}

fn current(store: &Store) -> String {
    store
        .resolve("outreach@production", &Scope::any())
        .unwrap()
        .id
        .version
        .to_string()
}

#[test]
fn promote_moves_the_pointer_and_records_who_when_why() {
    let (_dir, store) = three_versions();
    let first = promote(&store, "1.0.0");
    assert_eq!(first.op, MoveOp::Promote);
    assert_eq!(first.from, None);
    assert_eq!(first.to.version.to_string(), "1.0.0");
    assert_eq!(first.to.hash, Hash::of(b"outreach 1.0.0"));
    assert_eq!(
        (first.actor.as_str(), first.reason.as_str(), first.at_ms),
        ("ops@acme.example", "release", T0 + 1)
    );
    assert_eq!(first.kind, ArtifactKind::Skill);
    let second = promote(&store, "1.2.0");
    assert_eq!(
        second.from.as_ref().map(|p| p.version.to_string()),
        Some("1.0.0".into())
    );
    assert_eq!(second.from.as_ref().map(|p| p.hash), Some(first.to.hash));
    assert_eq!(current(&store), "1.2.0");
    assert_eq!(
        store.history("production", Some("outreach")).unwrap(),
        vec![first.clone(), second]
    );
    assert!(store.history("staging", None).unwrap().is_empty());

    // Every move is a record the audit log can take as is.
    let json = serde_json::to_string(&first).unwrap();
    assert!(json.contains("\"op\":\"promote\""), "{json}");
    assert_eq!(serde_json::from_str::<ChannelMove>(&json).unwrap(), first);

    let pointers = store.pointers(Some("outreach")).unwrap();
    assert_eq!(pointers.len(), 1);
    assert_eq!(pointers[0].to.version.to_string(), "1.2.0");
}

#[test]
fn moving_to_an_older_version_needs_rollback() {
    let (_dir, store) = three_versions();
    promote(&store, "1.1.0");
    let err = store
        .promote(
            "outreach",
            "1.0.0",
            "production",
            &Scope::any(),
            &by("oops"),
        )
        .unwrap_err();
    assert!(matches!(err, ChannelError::Downgrade { .. }));
    assert_eq!(
        err.to_string(),
        "`outreach@1.0.0` is older than `outreach@1.1.0`, which channel `production` holds for scope `*/*`; use rollback to move a channel back"
    );
    let err = store
        .promote(
            "outreach",
            "1.1.0",
            "production",
            &Scope::any(),
            &by("again"),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "channel `production` already points `outreach` at 1.1.0 for scope `*/*`"
    );
    assert_eq!(store.history("production", None).unwrap().len(), 1);
}

#[test]
fn rollback_walks_back_one_target_at_a_time() {
    let (_dir, store) = three_versions();
    let err = rollback(&store, RollbackTo::Previous).unwrap_err();
    assert_eq!(
        err.to_string(),
        "channel `production` has no pointer for `outreach` at scope `*/*`; promote first"
    );
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        promote(&store, v);
    }
    let back = rollback(&store, RollbackTo::Previous).unwrap();
    assert_eq!(back.op, MoveOp::Rollback);
    assert_eq!(back.from.as_ref().unwrap().version.to_string(), "1.2.0");
    assert_eq!(back.to.version.to_string(), "1.1.0");
    assert_eq!(back.reason, "incident 42");
    assert_eq!(current(&store), "1.1.0");
    rollback(&store, RollbackTo::Previous).unwrap();
    assert_eq!(current(&store), "1.0.0");
    let err = rollback(&store, RollbackTo::Previous).unwrap_err();
    assert_eq!(
        err.to_string(),
        "channel `production` has no earlier target for `outreach` at scope `*/*`"
    );
    // Promote goes forward again from here.
    promote(&store, "1.2.0");
    assert_eq!(
        rollback(&store, RollbackTo::Previous)
            .unwrap()
            .to
            .version
            .to_string(),
        "1.0.0"
    );
    let ops: Vec<MoveOp> = store
        .history("production", None)
        .unwrap()
        .iter()
        .map(|m| m.op)
        .collect();
    assert_eq!(
        ops,
        [
            MoveOp::Promote,
            MoveOp::Promote,
            MoveOp::Promote,
            MoveOp::Rollback,
            MoveOp::Rollback,
            MoveOp::Promote,
            MoveOp::Rollback
        ]
    );
}

#[test]
fn rollback_to_an_earlier_version_or_hash() {
    let (_dir, store) = three_versions();
    publish(
        &store,
        ArtifactKind::Skill,
        "outreach",
        "0.9.0",
        b"never promoted",
    );
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        promote(&store, v);
    }
    let to_first = rollback(&store, RollbackTo::Hash(Hash::of(b"outreach 1.0.0"))).unwrap();
    assert_eq!(to_first.to.version.to_string(), "1.0.0");
    // Back in 1.0.0's state: nothing before it.
    assert!(matches!(
        rollback(&store, RollbackTo::Previous),
        Err(ChannelError::NothingToRollBack { .. })
    ));
    // "Rollback" to a later target the channel held undoes the rollback.
    rollback(&store, RollbackTo::parse("1.2.0").unwrap()).unwrap();
    assert_eq!(current(&store), "1.2.0");
    assert_eq!(
        rollback(&store, RollbackTo::Previous)
            .unwrap()
            .to
            .version
            .to_string(),
        "1.1.0"
    );

    let err = rollback(&store, RollbackTo::parse("0.9.0").unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "channel `production` never pointed `outreach` at version 0.9.0 for scope `*/*`; rollback only returns to earlier targets (publish the old bytes as a new version to promote them)"
    );
    let err = rollback(&store, RollbackTo::parse("1.1.0").unwrap()).unwrap_err();
    assert!(matches!(err, ChannelError::AlreadyOn { .. }), "{err}");
    assert!(RollbackTo::parse("latest").is_err());
}

#[test]
fn rollback_moves_a_pointer_and_rewrites_no_blob() {
    let (dir, store) = three_versions();
    promote(&store, "1.0.0");
    promote(&store, "1.1.0");
    let blobs_before: Vec<(String, i64)> = {
        let conn = crate::support::raw(dir.path());
        let mut stmt = conn
            .prepare("SELECT hash, rowid FROM blobs ORDER BY hash")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    rollback(&store, RollbackTo::Previous).unwrap();
    let conn = crate::support::raw(dir.path());
    let mut stmt = conn
        .prepare("SELECT hash, rowid FROM blobs ORDER BY hash")
        .unwrap();
    let blobs_after: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(blobs_before, blobs_after);
    let pointers: i64 = conn
        .query_row("SELECT count(*) FROM channel_pointers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pointers, 1, "one pointer row, moved in place");
}

#[test]
fn rollback_refuses_a_target_whose_trust_was_revoked() {
    let (_dir, store) = three_versions();
    store
        .set_trust_policy(
            "schema = 1\n[channel.production.skill]\nengineering = 1\n",
            &by("skills need engineering"),
        )
        .unwrap();
    let old = crate::support::team_key(&store, "engineering");
    let new = crate::support::team_key(&store, "engineering");
    crate::support::sign(&store, &old, "outreach", "1.0.0");
    crate::support::sign(&store, &new, "outreach", "1.1.0");
    promote(&store, "1.0.0");
    promote(&store, "1.1.0");
    store.revoke_key(old.key_id(), &by("compromised")).unwrap();
    let err = rollback(&store, RollbackTo::Previous).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "found 0 valid (1 by revoked key `{}`)",
            old.key_id()
        )),
        "{err}"
    );
    assert_eq!(current(&store), "1.1.0");
}

#[test]
fn scopes_resolve_most_specific_first() {
    let (_dir, store) = store();
    for v in ["1.0.0", "1.1.0", "1.2.0", "1.3.0"] {
        publish(&store, ArtifactKind::PolicyPack, "brand", v, v.as_bytes());
    }
    let put = |version, agent, partition| {
        store
            .promote(
                "brand",
                version,
                "production",
                &Scope::new(agent, partition).unwrap(),
                &by("pin"),
            )
            .unwrap();
    };
    put("1.3.0", "agent-a", "eu");
    put("1.2.0", "agent-a", "*");
    put("1.1.0", "*", "eu");
    // Downgrade protection is per scope: */* starts below the others.
    put("1.0.0", "*", "*");
    let at = |agent, partition| {
        store
            .resolve("brand@production", &Scope::new(agent, partition).unwrap())
            .unwrap()
            .id
            .version
            .to_string()
    };
    assert_eq!(at("agent-a", "eu"), "1.3.0");
    assert_eq!(at("agent-a", "us"), "1.2.0");
    assert_eq!(at("agent-b", "eu"), "1.1.0");
    assert_eq!(at("agent-b", "us"), "1.0.0");
    assert_eq!(at("*", "*"), "1.0.0");
    assert_eq!(store.pointers(None).unwrap().len(), 4);
    assert_eq!(
        Scope::new("agent-a", "eu")
            .unwrap()
            .fallbacks()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["agent-a/eu", "agent-a/*", "*/eu", "*/*"]
    );
    // Scopes are case-insensitive; malformed ones get a one-line error.
    assert_eq!(
        Scope::new("Agent-A", "EU").unwrap(),
        Scope::new("agent-a", "eu").unwrap()
    );
    assert_eq!(
        Scope::new("agent a", "*")
            .unwrap_err()
            .to_string()
            .lines()
            .count(),
        1
    );
}

#[test]
fn references_resolve_by_version_channel_or_hash() {
    let (_dir, store) = three_versions();
    promote(&store, "1.1.0");
    let any = Scope::any();
    assert_eq!(
        store
            .resolve("outreach@1.0.0", &any)
            .unwrap()
            .id
            .version
            .to_string(),
        "1.0.0"
    );
    assert_eq!(
        store
            .resolve("outreach@production", &any)
            .unwrap()
            .id
            .version
            .to_string(),
        "1.1.0"
    );
    let hash = Hash::of(b"outreach 1.2.0");
    let by_hash = store.resolve(&hash.to_string(), &any).unwrap();
    assert_eq!(
        (
            by_hash.id.name.as_str(),
            by_hash.id.version.to_string().as_str()
        ),
        ("outreach", "1.2.0")
    );

    let err = store.resolve("outreach@staging", &any).unwrap_err();
    assert_eq!(
        err.to_string(),
        "channel `staging` has no pointer for `outreach` at scope `*/*` or any broader scope"
    );
    let err = store
        .resolve(&Hash::of(b"nothing").to_string(), &any)
        .unwrap_err();
    assert!(matches!(err, ResolveError::UnknownHash { .. }));
    assert_eq!(
        store
            .resolve("outreach@9.0.0", &any)
            .unwrap_err()
            .to_string(),
        "`outreach@9.0.0` is not published"
    );
    for bad in [
        "outreach",
        "outreach@",
        "Outreach@1.0.0",
        "outreach@1.0",
        "@production",
    ] {
        let err = store.resolve(bad, &any).unwrap_err();
        assert!(matches!(err, ResolveError::Input(_)), "{bad}: {err}");
    }
    assert_eq!(
        "outreach@production".parse::<Reference>().unwrap(),
        Reference::Channel {
            name: "outreach".into(),
            channel: "production".into()
        }
    );
    let lock = store.lock(&["outreach@production"], &any).unwrap();
    assert_eq!(lock.entries()[0].version.to_string(), "1.1.0");
}

#[test]
fn moves_need_an_actor_and_a_reason() {
    let (_dir, store) = three_versions();
    let err = store
        .promote(
            "outreach",
            "1.0.0",
            "production",
            &Scope::any(),
            &Change::new("ops", " ", T0),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid reason ` `: must not be empty");
    let err = store
        .promote(
            "outreach",
            "1.0.0",
            "production",
            &Scope::any(),
            &Change::new("", "why", T0),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid actor ``: must not be empty");
    let err = store
        .promote("outreach", "1.0.0", "1prod", &Scope::any(), &by("x"))
        .unwrap_err();
    assert!(
        err.to_string().starts_with("invalid channel `1prod`"),
        "{err}"
    );
}
