//! gatehouse's state, in one embedded SQLite file under a data directory:
//! content-addressed blobs, the registry of versioned artifacts, channels,
//! signatures, and the hash-chained audit log.
//!
//! Everything stateful goes through [`Store`], so a server deployment can
//! later put PostgreSQL behind the same interface.

#![deny(missing_docs)]

mod db;

pub use db::{Store, StoreError, default_data_dir};
