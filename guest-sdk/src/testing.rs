//! Native unit tests for packs and skills: a mock host.
//!
//! ```
//! use gatehouse_guest::prelude::*;
//! use gatehouse_guest::testing::MockHost;
//!
//! MockHost::new()
//!     .at(1_700_000_000_000)
//!     .config("greeting", "Hello")
//!     .record("contacts", "c-1", "EU", &[("name", "Ada")])
//!     .install();
//! assert_eq!(host::now(), 1_700_000_000_000);
//! assert_eq!(host::config("greeting").as_deref(), Some("Hello"));
//! assert_eq!(host::find("contacts", &[("name", "Ada")], 10).unwrap().len(), 1);
//! ```

use std::cell::RefCell;

use crate::types::{
    Evidence, Field, Finding, HostError, Level, LocalTime, Query, Timestamp, Verdict,
};

/// Answers host imports in native tests: fixed time, a seeded counter for
/// randomness, configuration values, evidence records and a captured log.
#[derive(Clone, Debug, Default)]
pub struct MockHost {
    now: Timestamp,
    random: u64,
    config: Vec<(String, String)>,
    records: Vec<Evidence>,
    collections: Vec<String>,
    logs: Vec<(Level, String)>,
}

thread_local! {
    static MOCK: RefCell<MockHost> = RefCell::new(MockHost::default());
}

pub(crate) fn with_mock<R>(f: impl FnOnce(&mut MockHost) -> R) -> R {
    MOCK.with(|m| f(&mut m.borrow_mut()))
}

impl MockHost {
    /// An empty mock: time 0, no records, no configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the clock.
    pub fn at(mut self, now: Timestamp) -> Self {
        self.now = now;
        self
    }

    /// Set a configuration value.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.push((key.to_string(), value.to_string()));
        self
    }

    /// Declare a collection, possibly empty (an undeclared collection with
    /// no records is unknown, as on the host).
    pub fn collection(mut self, name: &str) -> Self {
        self.collections.push(name.to_string());
        self
    }

    /// Add an evidence record.
    pub fn record(
        mut self,
        collection: &str,
        id: &str,
        partition: &str,
        fields: &[(&str, &str)],
    ) -> Self {
        self.records.push(Evidence {
            id: id.to_string(),
            collection: collection.to_string(),
            partition: partition.to_string(),
            fields: fields
                .iter()
                .map(|(n, v)| Field {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        });
        self
    }

    /// Make this mock answer host calls on the current thread.
    pub fn install(self) {
        MOCK.with(|m| *m.borrow_mut() = self);
    }

    /// The lines logged on the current thread since the mock was installed.
    pub fn logs() -> Vec<(Level, String)> {
        with_mock(|m| m.logs.clone())
    }

    pub(crate) fn retrieve(&self, q: &Query) -> Result<Vec<Evidence>, HostError> {
        if !self.collections.contains(&q.collection)
            && !self.records.iter().any(|r| r.collection == q.collection)
        {
            return Err(HostError::UnknownCollection(q.collection.clone()));
        }
        Ok(self
            .records
            .iter()
            .filter(|r| r.collection == q.collection)
            .filter(|r| {
                q.filter.iter().all(|f| {
                    r.fields
                        .iter()
                        .any(|g| g.name == f.name && g.value == f.value)
                })
            })
            .take(q.limit as usize)
            .cloned()
            .collect())
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    pub(crate) fn random_u64(&mut self) -> u64 {
        // splitmix64: deterministic, good enough for tests.
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn config_value(&self, key: &str) -> Option<String> {
        self.config
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    pub(crate) fn to_local(&self, zone: &str, at: Timestamp) -> Result<LocalTime, HostError> {
        gatehouse_zone::to_local(zone, at)
            .map(|t| LocalTime {
                year: t.year,
                month: t.month,
                day: t.day,
                hour: t.hour,
                minute: t.minute,
                weekday: t.weekday,
                utc_offset_minutes: t.utc_offset_minutes,
            })
            .map_err(|e| HostError::InvalidRequest(e.to_string()))
    }

    pub(crate) fn next_local(
        &self,
        zone: &str,
        after: Timestamp,
        hour: u8,
        minute: u8,
    ) -> Result<Timestamp, HostError> {
        gatehouse_zone::next_local(zone, after, hour, minute)
            .map_err(|e| HostError::InvalidRequest(e.to_string()))
    }

    pub(crate) fn log(&mut self, level: Level, msg: &str) {
        self.logs.push((level, msg.to_string()));
    }
}

/// The findings behind a verdict (none for allow), for assertions.
pub fn findings(verdict: &Verdict) -> Vec<&Finding> {
    match verdict {
        Verdict::Allow => Vec::new(),
        Verdict::Deny(f) | Verdict::Escalate(f) => f.iter().collect(),
        Verdict::Modify(m) => m.findings.iter().collect(),
    }
}

/// The rule ids of a verdict's findings, in order, for assertions.
pub fn rules(verdict: &Verdict) -> Vec<&str> {
    findings(verdict).iter().map(|f| f.rule.as_str()).collect()
}
