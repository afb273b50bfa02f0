//! The operations layer: the product's operations, one method each, on one
//! facade, [`Gatehouse`]. The CLI (and the service after it) only parses a
//! request, calls one method and prints what it returns; every rule — who
//! may do what ([`Operation::role`]), how many approvers a risk needs
//! ([`approvals_needed`]), how references resolve ([`Sources`]) — lives
//! here, once.
//!
//! Every state change goes through the store, which writes it and its
//! audit entry in one transaction.

mod approval;
mod audit;
mod error;
mod governance;
mod learning;
mod registry;
mod roles;
mod runs;
mod sources;

pub use approval::{Approvable, approvals_needed};
pub use audit::{ExportFormat, Verification, parse_public_key};
pub use error::Error;
pub use gatehouse_store::{check_consistency, check_receipt};
pub use governance::Released;
pub use learning::{PilotBatch, PilotStart, ScorecardQuery, read_gate};
pub use registry::{Promotion, PublishRequest, split_version};
pub use roles::Operation;
pub use runs::{Inputs, Judged, Proposed, Replayed, default_context, parse_actions, scope_of};
pub use sources::Sources;

use gatehouse_store::{AuditLog, Principal, Role, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Who is calling: an API token, or nobody (the implicit local admin, only
/// while no admin token has been issued).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// An API token, as issued by [`Gatehouse::issue_token`].
    Token(String),
    /// No token.
    None,
}

/// Where "now" comes from: this machine's clock, or a fixed instant (a
/// simulation, a test, a `--at` flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The system clock; one set before 1970 is refused, never read as 0.
    System,
    /// Milliseconds since the Unix epoch.
    At(i64),
}

impl Clock {
    /// The current time, in milliseconds since the Unix epoch.
    pub fn now(self) -> Result<i64, Error> {
        match self {
            Clock::At(ms) => Ok(ms),
            Clock::System => now_ms(),
        }
    }
}

/// This machine's clock, in milliseconds since the Unix epoch; one set
/// before 1970 is an error, never 0.
pub fn now_ms() -> Result<i64, Error> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Error::Clock)?;
    i64::try_from(since.as_millis()).map_err(|_| Error::Clock)
}

/// The facade: one data directory, one caller.
pub struct Gatehouse {
    dir: PathBuf,
    store: Arc<Store>,
    log: Arc<AuditLog>,
    credentials: Credentials,
    clock: Clock,
    cache_dir: Option<PathBuf>,
}

impl Gatehouse {
    /// Open (creating if needed) the data directory `dir` for the caller
    /// these credentials name.
    pub fn open(dir: &Path, credentials: &Credentials) -> Result<Self, Error> {
        let store = Arc::new(Store::open(dir)?);
        let log = Arc::new(AuditLog::open(store.clone())?);
        Ok(Self {
            dir: dir.to_path_buf(),
            store,
            log,
            credentials: credentials.clone(),
            clock: Clock::System,
            cache_dir: None,
        })
    }

    /// Take "now" from `clock` from here on.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Keep compiled components in `dir` (see [`crate::EngineOptions`]).
    pub fn with_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// Also append every signed tree head to the witness file in `dir`
    /// (outside the data directory; see [`gatehouse_store::WITNESS_FILE`]).
    pub fn with_witness(self, dir: Option<&Path>) -> Self {
        self.store.set_witness(dir);
        self
    }

    /// Move the fixed clock (a simulation's day), or switch clocks.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The caller, as the credentials name them now (a revoked token
    /// stops working at once).
    pub fn caller(&self) -> Result<Principal, Error> {
        Ok(match &self.credentials {
            Credentials::Token(t) => self.store.authenticate(t)?,
            Credentials::None => self.store.local_admin()?,
        })
    }

    /// The current time by this facade's clock.
    pub fn now(&self) -> Result<i64, Error> {
        self.clock.now()
    }

    /// Check that the caller may perform `op`; returns the caller's name.
    pub fn authorize(&self, op: Operation) -> Result<String, Error> {
        let role = op.role();
        let caller = self.caller()?;
        // Reading what operators act on (the registry, channel history, the
        // approvals queue, the log) is the auditor's, and operators may
        // read it too.
        if role == Role::Auditor && caller.has(Role::Operator) {
            return Ok(caller.name().to_string());
        }
        caller.require(role, op.describe())?;
        Ok(caller.name().to_string())
    }

    /// A sandbox with this facade's compiled-code cache.
    pub fn sandbox(&self) -> Result<crate::Sandbox, Error> {
        Ok(crate::Sandbox::new(crate::EngineOptions {
            cache_dir: self.cache_dir.clone(),
            ..Default::default()
        })?)
    }
}
