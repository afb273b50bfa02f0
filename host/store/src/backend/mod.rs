//! The storage seam: the traits every gatehouse backend implements, by
//! domain. The embedded SQLite [`Store`] implements them here; a server
//! backend (PostgreSQL) implements the same traits and passes the same
//! conformance tests (`host/store/tests/`, written against these traits).
//!
//! Every state-changing method commits its audit entry in the same
//! transaction as the change; errors are typed, and no backend type
//! appears in them ([`crate::BackendError`]).

mod audit;
mod blobs;
mod counters;
mod governance;
mod registry;

pub use audit::Audit;
pub use blobs::Blobs;
pub use counters::Counters;
pub use governance::Governance;
pub use registry::Registry;

use crate::*;

/// A whole backend: every domain of gatehouse's state.
pub trait Backend: Blobs + Registry + Governance + Counters {}

impl<T: Blobs + Registry + Governance + Counters> Backend for T {}
