//! gatehouse: run AI agents' skills and policy packs as sandboxed
//! WebAssembly components, fail closed, with exact hashes.
//!
//! A **skill** component proposes actions from evidence; **policy pack**
//! components judge each action (allow, deny, escalate, modify). The
//! [`Sandbox`] runs every guest call in a fresh instance under fuel, memory,
//! table, deadline, output and host-call limits; the [`pipeline`] combines
//! the verdicts and fails closed when any pack traps, hits a limit or
//! answers something malformed. Every run can be recorded in the audit log
//! ([`audit`]) and replayed bit for bit ([`replay`]).
//!
//! ```no_run
//! use gatehouse::{Sandbox, EngineOptions, Kind, Limits, pipeline, Dataset};
//! use std::sync::Arc;
//!
//! let sandbox = Sandbox::new(EngineOptions::default())?;
//! let skill = sandbox.load_file("email-outreach.wasm".as_ref(), Some(Kind::Skill))?;
//! let brand = sandbox.load_file("brand.wasm".as_ref(), Some(Kind::Policy))?;
//! let ctx: gatehouse::RunContext = serde_json::from_str(&std::fs::read_to_string("context.json")?)?;
//! let dataset = Arc::new(Dataset::load("crm.json".as_ref())?);
//! let senders = Arc::new(gatehouse::Senders::load("senders.toml".as_ref())?);
//! let env = pipeline::Live::new(&ctx, dataset, senders);
//! let report = pipeline::run(&sandbox, &skill, &[brand], &ctx, &env, &Limits::default());
//! for d in &report.decisions {
//!     println!("{} -> {}", d.action.id, d.outcome);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

/// The version of the WIT package `gatehouse:agent` this host implements
/// (`wit/agent.wit`), as a literal so interface names can be built from it.
#[doc(hidden)]
#[macro_export]
macro_rules! wit_version {
    () => {
        "0.2.0"
    };
}

pub mod audit;
pub mod build;
mod cache;
mod error;
mod evidence;
pub mod govern;
mod imports;
pub mod lang;
pub mod learn;
mod limits;
mod manifest;
mod model;
pub mod packtest;
pub mod pipeline;
mod preinit;
pub mod replay;
mod sandbox;
mod senders;
pub mod stamp;
mod wasi;

pub use cache::wasmtime_version;
pub use error::{EngineError, GuestError, LoadError};
pub use evidence::{Dataset, DatasetError, MAX_RECORDS_PER_QUERY};
pub use imports::{Answers, Divergence, HOST_INTERFACE, HostCall, MAX_LOG_LINE, World};
pub use limits::{LimitError, Limits};
pub use manifest::{ComponentPin, MANIFEST_SCHEMA, PackManifest, PackMeta, RuleMeta, load_pack};
pub use model::*;
pub use sandbox::{
    Describe, EngineOptions, Guest, Kind, Metered, Metering, PolicySession, Sandbox, WIT_VERSION,
};
pub use senders::{Senders, SendersError};
