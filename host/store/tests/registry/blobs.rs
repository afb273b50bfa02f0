//! Blobs: content addressing, tamper detection on read, gc.

use crate::support::{T0, by, publish, raw, store};
use gatehouse_store::{ArtifactId, ArtifactKind, BlobError, Hash, IntegrityProblem, Lock, Scope};

#[test]
fn put_is_idempotent_and_names_bytes_by_blake3() {
    let (_dir, store) = store();
    let hash = store.put(b"any bytes at all").unwrap();
    assert_eq!(
        hash.to_string(),
        blake3::hash(b"any bytes at all").to_hex().to_string()
    );
    assert_eq!(store.put(b"any bytes at all").unwrap(), hash);
    assert_eq!(store.get(&hash).unwrap(), b"any bytes at all");
    assert!(store.contains(&hash).unwrap());
    assert!(!store.contains(&Hash::of(b"other")).unwrap());
    let empty = store.put(b"").unwrap();
    assert_eq!(store.get(&empty).unwrap(), b"");
}

#[test]
fn the_same_bytes_get_the_same_hash_in_two_stores() {
    let (_a, one) = store();
    let (_b, two) = store();
    let bytes = b"(component bytes)";
    let x = publish(&one, ArtifactKind::Skill, "outreach", "1.0.0", bytes);
    let y = publish(&two, ArtifactKind::Skill, "outreach", "1.0.0", bytes);
    assert_eq!(x.id.hash, y.id.hash);
    assert_eq!(x.id.hash, Hash::of(bytes));
}

#[test]
fn a_tampered_blob_is_detected_on_read_and_never_returned() {
    let (dir, store) = store();
    let hash = store.put(b"deny: banned claims").unwrap();
    raw(dir.path())
        .execute(
            "UPDATE blobs SET data = ?1 WHERE hash = ?2",
            rusqlite::params![b"allow: everything".to_vec(), hash.to_string()],
        )
        .unwrap();

    let err = store.get(&hash).unwrap_err();
    match &err {
        BlobError::Corrupt {
            hash: named,
            actual,
        } => {
            assert_eq!(*named, hash);
            assert_eq!(*actual, Hash::of(b"allow: everything"));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "blob `{hash}` is corrupt: its stored bytes hash to `{}`",
            Hash::of(b"allow: everything")
        )
    );
    assert_eq!(
        store.check_integrity().unwrap(),
        vec![IntegrityProblem::CorruptBlob {
            hash,
            actual: Hash::of(b"allow: everything")
        }]
    );

    // Rewritten as text (another storage class): still corrupt, not a type error.
    raw(dir.path())
        .execute(
            "UPDATE blobs SET data = 'text' WHERE hash = ?1",
            [hash.to_string()],
        )
        .unwrap();
    assert!(matches!(store.get(&hash), Err(BlobError::Corrupt { .. })));

    // Putting the right bytes again repairs the row.
    store.put(b"deny: banned claims").unwrap();
    assert_eq!(store.get(&hash).unwrap(), b"deny: banned claims");
    assert!(store.check_integrity().unwrap().is_empty());
}

#[test]
fn a_tampered_artifact_blob_cannot_be_promoted() {
    let (dir, store) = store();
    let a = publish(
        &store,
        ArtifactKind::PolicyPack,
        "brand",
        "1.0.0",
        b"pack v1",
    );
    raw(dir.path())
        .execute(
            "UPDATE blobs SET data = x'00' WHERE hash = ?1",
            [a.id.hash.to_string()],
        )
        .unwrap();
    let err = store
        .promote("brand", "1.0.0", "staging", &Scope::any(), &by("ship"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("blob `{}` is corrupt", a.id.hash)),
        "{err}"
    );
    assert!(store.history("staging", None).unwrap().is_empty());
}

#[test]
fn a_missing_blob_is_not_found() {
    let (_dir, store) = store();
    let h = Hash::of(b"never stored");
    assert_eq!(
        store.get(&h).unwrap_err().to_string(),
        format!("blob `{h}` is not in the store")
    );
}

#[test]
fn hash_text_round_trips_and_garbage_is_refused() {
    let h = Hash::of(b"x");
    assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
    assert_eq!(h.to_string().to_uppercase().parse::<Hash>().unwrap(), h);
    for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(65)] {
        let err = bad.parse::<Hash>().unwrap_err();
        assert!(err.to_string().starts_with("invalid blake3 `"), "{err}");
    }
    assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{h}\""));
}

#[test]
fn gc_deletes_only_blobs_that_nothing_references() {
    let (dir, store) = store();
    let artifact = publish(
        &store,
        ArtifactKind::Skill,
        "outreach",
        "1.0.0",
        b"skill v1",
    );
    store
        .promote(
            "outreach",
            "1.0.0",
            "production",
            &Scope::any(),
            &by("launch"),
        )
        .unwrap();
    let policy = "schema = 1\n";
    store
        .set_trust_policy(policy, &by("initial policy"))
        .unwrap();
    let loose = store.put(b"loose bytes").unwrap();
    // The audit log registers its reference first, then puts.
    let audited = Hash::of(b"run input");
    store.add_blob_ref(&audited, "audit:17").unwrap();
    assert_eq!(
        store.add_blob_ref(&audited, "").unwrap_err().to_string(),
        "invalid blob holder ``: must not be empty"
    );
    store.put(b"run input").unwrap();
    // A lock may name bytes that are not an artifact here.
    let locked = store.put(b"locked config").unwrap();
    let lock = Lock::new([ArtifactId {
        name: "cfg".into(),
        kind: ArtifactKind::Config,
        version: "1.0.0".parse().unwrap(),
        hash: locked,
    }])
    .unwrap();
    let lock_hash = store.register_lock(&lock, "run-17", T0).unwrap();

    let dry = store.gc(true).unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        dry.unreferenced.iter().map(|b| b.hash).collect::<Vec<_>>(),
        vec![loose]
    );
    assert_eq!(dry.bytes, 11);
    assert!(store.contains(&loose).unwrap(), "a dry run deletes nothing");

    let real = store.gc(false).unwrap();
    assert_eq!(real.unreferenced.len(), 1);
    assert!(!store.contains(&loose).unwrap());
    for kept in [
        artifact.id.hash,
        audited,
        locked,
        lock_hash,
        Hash::of(policy.as_bytes()),
    ] {
        store.get(&kept).unwrap();
    }
    assert!(store.gc(true).unwrap().unreferenced.is_empty());

    // Dropping the holders makes their blobs collectable.
    assert!(store.unregister_lock(&lock_hash).unwrap());
    store.remove_blob_ref(&audited, "audit:17").unwrap();
    let mut gone: Vec<Hash> = store
        .gc(false)
        .unwrap()
        .unreferenced
        .iter()
        .map(|b| b.hash)
        .collect();
    gone.sort();
    let mut expected = vec![audited, locked, lock_hash];
    expected.sort();
    assert_eq!(gone, expected);

    // Belt and braces: SQLite itself refuses to delete a referenced blob.
    let conn = raw(dir.path());
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    let refused = conn.execute(
        "DELETE FROM blobs WHERE hash = ?1",
        [artifact.id.hash.to_string()],
    );
    assert!(refused.is_err(), "an artifact's blob must not be deletable");
    assert!(store.check_integrity().unwrap().is_empty());
}
