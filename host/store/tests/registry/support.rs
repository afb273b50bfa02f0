//! Helpers shared by the tests.

use gatehouse_store::{Artifact, ArtifactKind, Change, KeyPair, Publish, Store};
use std::path::Path;
use tempfile::TempDir;

/// A fixed clock: tests pass time explicitly.
pub const T0: i64 = 1_767_607_200_000;

/// A fresh store in a temporary directory.
pub fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// A raw SQLite connection to a store's file, as an attacker (or a disk
/// fault) would see it.
pub fn raw(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join("gatehouse.db")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn
}

pub fn publish(
    store: &Store,
    kind: ArtifactKind,
    name: &str,
    version: &str,
    bytes: &[u8],
) -> Artifact {
    store
        .publish(&Publish {
            kind,
            name,
            version,
            bytes,
            publisher: "alice@acme.example",
            at_ms: T0,
        })
        .unwrap()
        .artifact
}

pub fn by(reason: &str) -> Change<'_> {
    Change::new("ops@acme.example", reason, T0 + 1)
}

/// A key pair for `team`, registered in `store`.
pub fn team_key(store: &Store, team: &str) -> KeyPair {
    let key = KeyPair::generate(team, &format!("{team}-lead@acme.example")).unwrap();
    store.register_key(key.public(), T0).unwrap();
    key
}

/// Sign `name@version` with `key` and attach the signature.
pub fn sign(store: &Store, key: &KeyPair, name: &str, version: &str) {
    let artifact = store.show(name, version).unwrap();
    store
        .add_signature(name, version, &key.sign(&artifact.id), T0)
        .unwrap();
}
