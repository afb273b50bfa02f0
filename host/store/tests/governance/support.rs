//! Helpers shared by the tests.

use gatehouse_store::{Change, Store};
use std::path::Path;
use tempfile::TempDir;

/// A fixed clock: tests pass time explicitly.
pub const T0: i64 = 1_767_607_200_000;

/// A week in milliseconds.
pub const WEEK: u64 = 7 * 24 * 3600 * 1000;

/// A fresh store in a temporary directory.
pub fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

/// A change by `actor` at `at_ms`.
pub fn by(actor: &str, at_ms: i64) -> Change<'_> {
    Change::new(actor, "test", at_ms)
}

/// A raw SQLite connection to a store's file, as an attacker with the
/// file would see it.
pub fn raw(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join("gatehouse.db")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn
}
