//! gatehouse's guest boundary: everything between a WebAssembly component
//! and the host, and nothing about storage.
//!
//! A **skill** component proposes actions from evidence; a **policy pack**
//! component judges each action. The [`Sandbox`] runs every guest call in a
//! fresh instance under fuel, memory, table, deadline, output and host-call
//! limits ([`Limits`]); the contract's types ([`Action`], [`Verdict`], …)
//! are defined once, in Rust, and lifted from / lowered into guests
//! directly. Every nondeterministic answer a guest gets (evidence, the
//! clock, time zones, randomness) comes through the recorded host imports
//! ([`Answers`], [`HostCall`]), so a run can be replayed bit for bit.
//!
//! This crate depends on no store: the walls are checked in CI.

#![deny(missing_docs)]

/// The version of the WIT package `gatehouse:agent` this host implements,
/// read from `wit/agent.wit` at build time, as a literal so interface names
/// can be built from it.
#[doc(hidden)]
#[macro_export]
macro_rules! wit_version {
    () => {
        env!("GATEHOUSE_WIT_VERSION")
    };
}

mod cache;
mod checks;
mod error;
mod evidence;
mod guest;
mod imports;
mod limits;
mod model;
mod preinit;
mod sandbox;
mod wasi;

pub use cache::wasmtime_version;
pub use error::{EngineError, GuestError, LoadError};
pub use evidence::{Dataset, DatasetError, MAX_RECORDS_PER_QUERY};
pub use guest::{Describe, Guest, Kind, Metered, Metering, config_bytes};
pub use imports::{Answers, Divergence, HOST_INTERFACE, HostCall, MAX_LOG_LINE, World};
pub use limits::{LimitError, Limits};
pub use model::*;
pub use sandbox::{EngineOptions, PolicySession, Sandbox, WIT_VERSION};
