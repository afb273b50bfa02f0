//! Per-call limits and the typed error a guest gets when it hits one.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Bounds on one guest call. Every call runs in a fresh store with these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions); `None` turns fuel metering off for
    /// the call (the wall-clock deadline still holds).
    pub fuel: Option<u64>,
    /// Linear memory, in bytes, summed over the instance's memories.
    pub memory_bytes: u64,
    /// Table elements, summed over the instance's tables.
    pub table_elements: u64,
    /// Core instances a component may create.
    pub instances: u32,
    /// Wall-clock deadline for the call, in milliseconds.
    pub timeout_ms: u64,
    /// Size of the returned data, in bytes (as gatehouse's JSON encoding).
    pub output_bytes: u64,
    /// Host import calls per guest call.
    pub host_calls: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: Some(100_000_000),
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            instances: 64,
            timeout_ms: 1_000,
            output_bytes: 1 << 20,
            host_calls: 1_000,
        }
    }
}

impl Limits {
    /// The wall-clock deadline as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// A guest hit one of its [`Limits`]. Names the limit, the bound and what
/// was used or asked for.
#[derive(
    Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum LimitError {
    /// Ran out of fuel.
    #[error("out of fuel: used all {limit} units")]
    Fuel {
        /// The fuel given.
        limit: u64,
    },
    /// Ran past the wall-clock deadline.
    #[error("deadline exceeded: ran {elapsed_ms} ms, limit {limit_ms} ms")]
    Deadline {
        /// The deadline.
        limit_ms: u64,
        /// How long it ran.
        elapsed_ms: u64,
    },
    /// Asked for more linear memory than allowed.
    #[error("memory limit: asked for {requested} bytes, limit {limit} bytes")]
    Memory {
        /// The bound.
        limit: u64,
        /// What the guest asked for in total.
        requested: u64,
    },
    /// Asked for more table elements than allowed.
    #[error("table limit: asked for {requested} elements, limit {limit}")]
    Table {
        /// The bound.
        limit: u64,
        /// What the guest asked for.
        requested: u64,
    },
    /// Exhausted the call stack (unbounded recursion).
    #[error("stack exhausted: recursion deeper than the {limit_bytes}-byte wasm stack")]
    Stack {
        /// The stack size.
        limit_bytes: u64,
    },
    /// Returned more data than allowed.
    #[error("output limit: returned {size} bytes, limit {limit} bytes")]
    Output {
        /// The bound.
        limit: u64,
        /// What was returned.
        size: u64,
    },
    /// Called host imports too often.
    #[error("host call limit: more than {limit} host calls")]
    HostCalls {
        /// The bound.
        limit: u32,
    },
}

/// The store's resource limiter: enforces memory and table bounds, records
/// the peak and the first refused request so the error can be typed.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_limit: u64,
    table_limit: u64,
    instances: usize,
    /// Bytes currently granted, summed over memories.
    granted: u64,
    /// The most bytes granted at once.
    pub(crate) peak_memory: u64,
    pub(crate) refused: Option<LimitError>,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            memory_limit: limits.memory_bytes,
            table_limit: limits.table_elements,
            instances: limits.instances as usize,
            granted: 0,
            peak_memory: 0,
            refused: None,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .granted
            .saturating_sub(current as u64)
            .saturating_add(desired as u64);
        if total > self.memory_limit {
            let err = LimitError::Memory {
                limit: self.memory_limit,
                requested: total,
            };
            self.refused = Some(err.clone());
            return Err(err.into());
        }
        self.granted = total;
        self.peak_memory = self.peak_memory.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.table_limit {
            let err = LimitError::Table {
                limit: self.table_limit,
                requested: desired as u64,
            };
            self.refused = Some(err.clone());
            return Err(err.into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.instances
    }
}
