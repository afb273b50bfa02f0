//! The compiled-code cache: native code keyed by the component's blake3, the
//! engine's precompile-compatibility hash and the wasmtime version.
//!
//! An entry written by another wasmtime version or engine configuration has
//! another key and is never read. Each entry starts with the blake3 of the
//! rest, checked before use, so a torn or corrupted file is recompiled
//! instead of loaded. Entries are written to a temporary file and renamed,
//! so readers never see half an entry. The directory must be as trusted as
//! the gatehouse binary itself: its entries are native code.

use crate::error::EngineError;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A directory of compiled components.
#[derive(Clone, Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    engine_key: String,
}

impl Cache {
    /// `preinit`: entries hold pre-initialised code (a key of their own).
    pub(crate) fn open(dir: &Path, engine: &Engine, preinit: bool) -> Result<Self, EngineError> {
        std::fs::create_dir_all(dir).map_err(|source| EngineError::Cache {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            engine_key: match preinit {
                true => format!("{}-preinit", engine_fingerprint(engine)),
                false => engine_fingerprint(engine),
            },
        })
    }

    fn path(&self, hash: &blake3::Hash) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", hash.to_hex(), self.engine_key))
    }

    /// The compiled component, if a sound entry exists.
    pub(crate) fn get(&self, engine: &Engine, hash: &blake3::Hash) -> Option<Component> {
        let bytes = std::fs::read(self.path(hash)).ok()?;
        if bytes.len() < 32 || blake3::hash(&bytes[32..]).as_bytes() != &bytes[..32] {
            return None;
        }
        // SAFETY: the entry was written by `put` from `Component::serialize`
        // of an engine with the same compatibility hash and wasmtime version
        // (both in the file name), and its checksum matches, so the bytes are
        // exactly what wasmtime produced. The cache directory is trusted like
        // the binary (module docs).
        unsafe { Component::deserialize(engine, &bytes[32..]) }.ok()
    }

    /// Store a compiled component; failures only cost a later recompile.
    pub(crate) fn put(&self, hash: &blake3::Hash, component: &Component) {
        let Ok(code) = component.serialize() else {
            return;
        };
        let mut bytes = Vec::with_capacity(code.len() + 32);
        bytes.extend_from_slice(blake3::hash(&code).as_bytes());
        bytes.extend_from_slice(&code);
        let path = self.path(hash);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &bytes).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// A stable text key for the engine's code-compatibility: wasmtime's own
/// compatibility hash plus the wasmtime version.
pub(crate) fn engine_fingerprint(engine: &Engine) -> String {
    let mut h = StableHasher(blake3::Hasher::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    let digest = h.0.finalize();
    format!("wasmtime{}-{}", wasmtime_version(), &digest.to_hex()[..16])
}

/// The wasmtime version this host was built with (from `Cargo.lock`, at
/// build time).
pub fn wasmtime_version() -> &'static str {
    env!("GATEHOUSE_WASMTIME_VERSION")
}

struct StableHasher(blake3::Hasher);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0.finalize().as_bytes()[..8]);
        u64::from_le_bytes(b)
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
