//! Locks: round trip, digests checked on load, registration, checks
//! against the registry.

use crate::support::{T0, by, publish, store};
use gatehouse_store::{ArtifactId, ArtifactKind, Hash, Lock, LockError, Scope};

fn sample() -> (tempfile::TempDir, gatehouse_store::Store, Lock) {
    let (dir, store) = store();
    publish(
        &store,
        ArtifactKind::PolicyPack,
        "brand",
        "1.0.0",
        b"brand v1",
    );
    publish(
        &store,
        ArtifactKind::PolicyPack,
        "brand",
        "1.1.0",
        b"brand v2",
    );
    publish(&store, ArtifactKind::Skill, "outreach", "2.0.0", b"skill");
    store
        .promote("brand", "1.0.0", "production", &Scope::any(), &by("ship"))
        .unwrap();
    let lock = store
        .lock(&["outreach@2.0.0", "brand@production"], &Scope::any())
        .unwrap();
    (dir, store, lock)
}

#[test]
fn a_lock_round_trips_and_outlives_channel_moves() {
    let (dir, store, lock) = sample();
    assert_eq!(
        lock.entries()
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["brand", "outreach"]
    );
    let text = lock.to_json();
    assert_eq!(Lock::from_json(&text).unwrap(), lock);
    assert_eq!(lock.to_json(), text, "deterministic");
    let path = dir.path().join("run.lock.json");
    lock.write(&path).unwrap();
    assert_eq!(Lock::load(&path).unwrap(), lock);
    // Through serde too.
    let via_serde: Lock = serde_json::from_str(&text).unwrap();
    assert_eq!(via_serde, lock);

    // The channel moves on; the lock still names the bytes the run used.
    store
        .promote("brand", "1.1.0", "production", &Scope::any(), &by("next"))
        .unwrap();
    let brand = lock.get("brand").unwrap();
    assert_eq!(brand.hash, Hash::of(b"brand v1"));
    assert_eq!(store.get(&brand.hash).unwrap(), b"brand v1");
    store.verify_lock(&lock).unwrap();

    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema"], 1);
    assert_eq!(value["entries"][0]["kind"], "policy-pack");
    assert_eq!(
        value["entries"][0]["blake3"],
        Hash::of(b"brand v1").to_string()
    );
}

#[test]
fn a_tampered_lock_is_refused_naming_the_entry_or_field() {
    let (_dir, _store, lock) = sample();
    let text = lock.to_json();

    let edited = text.replacen("\"version\": \"1.0.0\"", "\"version\": \"1.1.0\"", 1);
    assert_ne!(edited, text);
    let err = Lock::from_json(&edited).unwrap_err();
    assert!(
        matches!(err, LockError::EntryDigest { index: 1, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "lock entry #1 `brand` does not match its digest: its name, kind, version or blake3 was edited"
    );

    let h = Hash::of(b"skill").to_string();
    let err = Lock::from_json(&text.replace(&h, &h[..60])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "lock entry #2 `outreach`: invalid `blake3`: expected 64 hexadecimal characters"
    );
    let err =
        Lock::from_json(&text.replace("\"kind\": \"skill\"", "\"kind\": \"plugin\"")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("lock entry #2 `outreach`: invalid `kind`"),
        "{err}"
    );

    // Dropping an entry (with its digest) breaks the lock's digest.
    let one = Lock::new([lock.entries()[1].clone()]).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&one.to_json()).unwrap();
    value["digest"] = serde_json::Value::String(lock.digest().to_string());
    let err = Lock::from_json(&value.to_string()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "lock digest does not match its entries: an entry was added or removed"
    );

    let err = Lock::from_json(&text.replacen("\"schema\": 1", "\"schema\": 2", 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "lock schema 2 is not supported (this gatehouse reads schema 1)"
    );
    let err = Lock::from_json(&text.replacen("{", "{\n  \"note\": \"hi\",", 1)).unwrap_err();
    assert!(err.to_string().starts_with("lock, line 2, column"), "{err}");
    assert!(err.to_string().contains("unknown field `note`"), "{err}");
    // serde's path checks as much.
    assert!(serde_json::from_str::<Lock>(&edited).is_err());
}

#[test]
fn a_lock_is_checked_against_the_registry() {
    let (_dir, store, lock) = sample();
    let mut wrong = lock.entries().to_vec();
    wrong[0].hash = Hash::of(b"something else");
    let wrong = Lock::new(wrong).unwrap();
    let err = store.verify_lock(&wrong).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "lock entry `brand`: the lock says blake3 `{}`, the registry has `{}`",
            Hash::of(b"something else"),
            Hash::of(b"brand v1")
        )
    );
    let unknown = Lock::new([ArtifactId {
        name: "ghost".into(),
        kind: ArtifactKind::Prompt,
        version: "1.0.0".parse().unwrap(),
        hash: Hash::of(b"boo"),
    }])
    .unwrap();
    assert_eq!(
        store.verify_lock(&unknown).unwrap_err().to_string(),
        "`ghost@1.0.0` is not published"
    );
    let dup = Lock::new([lock.entries()[0].clone(), lock.entries()[0].clone()]).unwrap_err();
    assert_eq!(dup.to_string(), "lock lists `brand` twice");
    let mut bad = lock.entries()[0].clone();
    bad.name = "Brand Pack".into();
    let err = Lock::new([bad]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid artifact name `Brand Pack`"),
        "{err}"
    );
}

#[test]
fn a_registered_lock_keeps_its_blobs_through_gc() {
    let (_dir, store, lock) = sample();
    let held = store.put(b"config only the lock knows").unwrap();
    let mut entries = lock.entries().to_vec();
    entries.push(ArtifactId {
        name: "tuning".into(),
        kind: ArtifactKind::Config,
        version: "1.0.0".parse().unwrap(),
        hash: held,
    });
    let lock = Lock::new(entries).unwrap();
    let handle = store
        .register_lock(&lock, "run-2026-01-05-001", T0)
        .unwrap();
    assert_eq!(
        store
            .register_lock(&lock, "run-2026-01-05-001", T0)
            .unwrap(),
        handle,
        "idempotent"
    );
    assert_eq!(
        Lock::from_json(&String::from_utf8(store.get(&handle).unwrap()).unwrap()).unwrap(),
        lock
    );
    assert!(store.gc(false).unwrap().unreferenced.is_empty());
    assert!(store.contains(&held).unwrap());
}
