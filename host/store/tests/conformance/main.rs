//! The storage seam's conformance tests: what every backend must do,
//! written against the traits (`Blobs`, `Registry`, `Governance`,
//! `Counters`, `Audit`), never a concrete store. The embedded SQLite store
//! runs them here; a server backend adds its opener to [`backends`] and
//! must pass the same tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod audit;
mod counters;
mod governance;
mod registry;

use gatehouse_store::{Audit, AuditLog, Backend, Store};
use std::sync::Arc;

/// 2026-01-05 10:00 UTC.
pub const T0: i64 = 1_767_607_200_000;

/// A fresh backend and its audit log, kept alive by the guard.
pub struct Fresh<B, A> {
    /// The backend.
    pub backend: B,
    /// Its audit log.
    pub audit: A,
    _guard: tempfile::TempDir,
}

/// Every backend under test, fresh, by name.
pub fn backends() -> Vec<(&'static str, Fresh<Arc<Store>, AuditLog>)> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let audit = AuditLog::open(store.clone()).unwrap();
    vec![(
        "sqlite",
        Fresh {
            backend: store,
            audit,
            _guard: dir,
        },
    )]
}

/// Run `test` on every backend.
pub fn each(test: impl Fn(&str, &dyn Backend, &dyn Audit)) {
    for (name, fresh) in backends() {
        test(name, fresh.backend.as_ref(), &fresh.audit);
    }
}

/// The newest audit entry of `kind`, as the backend's log holds it.
pub fn newest(audit: &dyn Audit, kind: &str) -> gatehouse_store::Entry {
    audit
        .query(&gatehouse_store::Query::kind(kind))
        .unwrap()
        .pop()
        .unwrap_or_else(|| panic!("no `{kind}` entry"))
}
