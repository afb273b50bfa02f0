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

pub mod audit;
pub mod build;
pub mod demo;
pub mod govern;
pub mod lang;
pub mod learn;
mod manifest;
pub mod ops;
pub mod packtest;
pub mod pipeline;
pub mod replay;
mod senders;
pub mod stamp;

// The guest boundary (gatehouse-sandbox), re-exported so users of the
// library name one crate.
pub use gatehouse_sandbox::*;
pub use manifest::{ComponentPin, MANIFEST_SCHEMA, PackManifest, PackMeta, RuleMeta, load_pack};
pub use ops::{Clock, Credentials, Error, Gatehouse, Operation};
pub use senders::{Senders, SendersError};
