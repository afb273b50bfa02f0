//! The host imports: the only way a guest reaches the world.
//!
//! Every call is answered by gatehouse and recorded in the run's transcript,
//! so a replay sees exactly the same answers. On a native target (unit tests)
//! the calls are answered by the [`MockHost`](crate::testing::MockHost)
//! installed on the current thread.

use crate::types::{Evidence, Field, HostError, Level, LocalTime, Query, Timestamp};

#[cfg(target_arch = "wasm32")]
use crate::policy_bindings::gatehouse::agent::host as imports;

/// Retrieve evidence records of the run's partition.
pub fn retrieve(query: &Query) -> Result<Vec<Evidence>, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        imports::retrieve(query)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::with_mock(|m| m.retrieve(query))
    }
}

/// Retrieve up to `limit` records of `collection` whose fields equal `filter`.
pub fn find(
    collection: &str,
    filter: &[(&str, &str)],
    limit: u32,
) -> Result<Vec<Evidence>, HostError> {
    retrieve(&Query {
        collection: collection.to_string(),
        filter: filter
            .iter()
            .map(|(n, v)| Field {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        limit,
    })
}

/// The run's current time in milliseconds since the Unix epoch.
pub fn now() -> Timestamp {
    #[cfg(target_arch = "wasm32")]
    {
        imports::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::with_mock(|m| m.now())
    }
}

/// A random number from the run's seeded generator.
pub fn random_u64() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        imports::random_u64()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::with_mock(|m| m.random_u64())
    }
}

/// A configuration value of this component (from its manifest).
pub fn config(key: &str) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        imports::config(key)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::with_mock(|m| m.config_value(key))
    }
}

/// The wall clock in IANA time zone `zone` at `at`, daylight saving time
/// included (the host's time zone database; the run records its version).
pub fn to_local(zone: &str, at: Timestamp) -> Result<LocalTime, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        imports::to_local(zone, at)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::with_mock(|m| m.to_local(zone, at))
    }
}

/// The first instant at or after `after` at which the wall clock in `zone`
/// reads `hour:minute` (a time skipped by a daylight saving change is
/// shifted forward by the gap).
pub fn next_local(
    zone: &str,
    after: Timestamp,
    hour: u8,
    minute: u8,
) -> Result<Timestamp, HostError> {
    #[cfg(target_arch = "wasm32")]
    {
        imports::next_local(zone, after, hour, minute)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::with_mock(|m| m.next_local(zone, after, hour, minute))
    }
}

/// Write a line to the run's log.
pub fn log(level: Level, msg: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        imports::log(level, msg)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::with_mock(|m| m.log(level, msg))
    }
}
