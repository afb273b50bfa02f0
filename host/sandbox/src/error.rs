//! Typed errors: one enum per fallible operation.

use crate::limits::LimitError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A component could not be loaded. Every message is one line that says
/// what is wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bytes are not WebAssembly at all.
    #[error("`{name}` is not a WebAssembly component: {reason}")]
    NotWasm {
        /// File name or hash.
        name: String,
        /// What was found instead.
        reason: String,
    },
    /// A core module was given where a component is needed.
    #[error(
        "`{name}` is a core wasm module, not a component: encode it with `gatehouse build` or `gatehouse componentize`"
    )]
    CoreModule {
        /// File name or hash.
        name: String,
    },
    /// The component is malformed or truncated.
    #[error("`{name}` is not a valid component: {reason}")]
    Invalid {
        /// File name or hash.
        name: String,
        /// The first line of the validator's message.
        reason: String,
    },
    /// The component implements another world than the one asked for.
    #[error("`{name}` is a {found}, not a {expected}")]
    WrongWorld {
        /// File name or hash.
        name: String,
        /// What was asked for.
        expected: String,
        /// What it is.
        found: String,
    },
    /// The component exports neither a skill nor a policy.
    #[error(
        "`{name}` exports neither `gatehouse:agent/skill` nor `gatehouse:agent/policy` (exports: {exports})"
    )]
    NoGatehouseExport {
        /// File name or hash.
        name: String,
        /// What it exports.
        exports: String,
    },
    /// The component imports something gatehouse does not provide.
    #[error(
        "`{name}` imports `{import}`, which gatehouse does not provide (guests may import only `gatehouse:agent/host`, `gatehouse:agent/types` and the virtual WASI 0.2 interfaces)"
    )]
    UnsupportedImport {
        /// File name or hash.
        name: String,
        /// The import.
        import: String,
    },
    /// The component was built for an incompatible version of the WIT package.
    #[error(
        "`{name}` was built for `{interface}`, incompatible with this host's gatehouse:agent@{supported}"
    )]
    IncompatibleVersion {
        /// File name or hash.
        name: String,
        /// The interface as the component names it.
        interface: String,
        /// The version this host implements.
        supported: String,
    },
    /// Types or functions do not match the contract.
    #[error("`{name}` does not match the gatehouse contract: {reason}")]
    Contract {
        /// File name or hash.
        name: String,
        /// What does not match.
        reason: String,
    },
    /// The component's `describe` export failed.
    #[error("`{name}` failed in `describe`: {error}")]
    Describe {
        /// File name or hash.
        name: String,
        /// The failure.
        error: GuestError,
    },
    /// A pack manifest is malformed or does not match its component.
    #[error("manifest `{path}`: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A guest call failed. The action it concerned is blocked (fail closed).
#[derive(
    Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case", tag = "error")]
pub enum GuestError {
    /// A limit was hit.
    #[error("{0}")]
    Limit(LimitError),
    /// The guest trapped (panic, unreachable, out-of-bounds access, ...).
    #[error("guest trapped: {message}")]
    Trap {
        /// What the trap was.
        message: String,
    },
    /// The guest returned something gatehouse does not accept.
    #[error("malformed output: {reason}")]
    BadOutput {
        /// What is wrong with it.
        reason: String,
    },
    /// In replay: the guest asked the host something other than what was
    /// recorded, or stopped early.
    #[error("{0}")]
    Divergence(crate::imports::Divergence),
    /// The component could not be instantiated.
    #[error("instantiation failed: {message}")]
    Instantiate {
        /// Why.
        message: String,
    },
}

impl From<LimitError> for GuestError {
    fn from(e: LimitError) -> Self {
        Self::Limit(e)
    }
}

/// The engine could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// wasmtime refused the configuration.
    #[error("engine configuration refused: {0}")]
    Config(String),
    /// A limit is larger than the engine was configured for.
    #[error("{what} of {requested} exceeds the engine's maximum of {maximum}")]
    LimitTooLarge {
        /// Which limit.
        what: &'static str,
        /// Asked for.
        requested: u64,
        /// The engine's bound.
        maximum: u64,
    },
    /// The compiled-code cache directory could not be used.
    #[error("cache directory `{path}`: {source}")]
    Cache {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
