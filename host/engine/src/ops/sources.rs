//! One resolver for everything a run names: skills, packs, governance
//! rules and configurations, each a file, a lock entry or a reference into
//! the registry (`name@version`, `name@channel`, a blake3).
//!
//! With a lock file, every reference that is not a file must be an entry of
//! the lock: the lock pins skill, packs, governance and configuration
//! together, and nothing falls back to a moving channel.

use super::Error;
use crate::{Guest, Kind, Sandbox};
use gatehouse_store::{Hash, Lock, Scope, Store};
use std::path::Path;
use std::sync::Arc;

/// Where `--skill`, `--pack` and `--governance` look.
pub struct Sources {
    store: Arc<Store>,
    lock: Option<Lock>,
    scope: Scope,
}

impl Sources {
    /// Resolve in `store` within `scope`, pinned by `lock` if given (the
    /// lock is checked against the store first).
    pub fn new(store: Arc<Store>, lock: Option<Lock>, scope: Scope) -> Result<Self, Error> {
        if let Some(lock) = &lock {
            store.verify_lock(lock)?;
        }
        Ok(Self { store, lock, scope })
    }

    /// The hash a reference stands for: the lock's entry, or (without a
    /// lock) what the registry resolves it to.
    fn hash(&self, spec: &str) -> Result<Hash, Error> {
        match &self.lock {
            Some(lock) => lock.get(spec).map(|e| e.hash).ok_or_else(|| {
                Error::NotFound(format!(
                    "`{spec}` is not a file and not an entry of the lock (a lock pins \
                     everything a run names)"
                ))
            }),
            None => Ok(self.store.resolve(spec, &self.scope)?.id.hash),
        }
    }

    /// The bytes of a file, a lock entry or a published artifact.
    pub fn bytes(&self, spec: &str) -> Result<Vec<u8>, Error> {
        let path = Path::new(spec);
        if path.exists() {
            return std::fs::read(path).map_err(|e| Error::file(path, e));
        }
        Ok(self.store.get(&self.hash(spec)?)?)
    }

    /// Load a component named by a path, a lock entry or a reference.
    pub fn component(&self, sandbox: &Sandbox, spec: &str, kind: Kind) -> Result<Guest, Error> {
        let path = Path::new(spec);
        if path.exists() {
            return Ok(match kind {
                Kind::Policy => crate::load_pack(sandbox, path)?,
                Kind::Skill => sandbox.load_file(path, Some(kind))?,
            });
        }
        let bytes = self.store.get(&self.hash(spec)?)?;
        Ok(sandbox.load(&bytes, spec, Some(kind))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_store::{ArtifactKind, Change, Publish};

    const T0: i64 = 1_772_442_000_000;

    fn store_with_two_versions(dir: &Path) -> Arc<Store> {
        let store = Arc::new(Store::open(dir).unwrap_or_else(|e| panic!("{e}")));
        for (v, text) in [("1.0.0", "a = 1\n"), ("1.1.0", "a = 2\n")] {
            store
                .publish(&Publish {
                    kind: ArtifactKind::Config,
                    name: "rules",
                    version: v,
                    bytes: text.as_bytes(),
                    publisher: "ops",
                    at_ms: T0,
                })
                .unwrap_or_else(|e| panic!("{e}"));
        }
        store
            .promote(
                "rules",
                "1.0.0",
                "production",
                &Scope::any(),
                &Change::new("ops", "first", T0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        store
    }

    #[test]
    fn without_a_lock_a_channel_resolves_to_what_it_points_at() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store_with_two_versions(dir.path());
        let sources = Sources::new(store, None, Scope::any()).unwrap_or_else(|e| panic!("{e}"));
        let bytes = sources
            .bytes("rules@production")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bytes, b"a = 1\n");
        let bytes = sources
            .bytes("rules@1.1.0")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bytes, b"a = 2\n");
    }

    #[test]
    fn a_lock_pins_configuration_too_and_refuses_what_it_does_not_list() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store_with_two_versions(dir.path());
        let lock = store
            .lock(&["rules@production"], &Scope::any())
            .unwrap_or_else(|e| panic!("{e}"));
        // The channel moves after the lock was written: the lock still wins.
        store
            .promote(
                "rules",
                "1.1.0",
                "production",
                &Scope::any(),
                &Change::new("ops", "next", T0 + 1),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let sources =
            Sources::new(store, Some(lock), Scope::any()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sources.bytes("rules").unwrap_or_else(|e| panic!("{e}")),
            b"a = 1\n"
        );
        let err = sources.bytes("rules@1.1.0").err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("not an entry of the lock")),
            "{err:?}"
        );
    }
}
