//! A loaded component and what it says of itself: its world, its
//! `describe` answer, its configuration; and the metering of a call.

use crate::error::GuestError;
use crate::imports::{HostCall, HostState};
use crate::model::{PackInfo, SkillInfo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::component::{ComponentExportIndex, InstancePre};

/// Which world a component implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Exports `gatehouse:agent/skill`.
    Skill,
    /// Exports `gatehouse:agent/policy`.
    Policy,
}

impl Kind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Self::Skill => "skill (world `skill-world`)",
            Self::Policy => "policy pack (world `policy-world`)",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Skill => "skill",
            Self::Policy => "policy",
        })
    }
}

/// What a component says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Describe {
    /// A skill.
    Skill(SkillInfo),
    /// A policy pack.
    Policy(PackInfo),
}

/// Metering of one guest call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Metering {
    /// Fuel consumed.
    pub fuel_used: u64,
    /// The most linear memory the instance held, in bytes.
    pub peak_memory_bytes: u64,
    /// Wall-clock time of the call including instantiation, in microseconds.
    pub duration_us: u64,
    /// Every host import call and its answer, in order.
    pub host_calls: Vec<HostCall>,
}

/// The result of one guest call and what it cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Metered<T> {
    /// The guest's answer, or why there is none.
    pub result: Result<T, GuestError>,
    /// What the call used.
    pub metering: Metering,
}

/// A loaded component: its identity, its world and its compiled code.
#[derive(Clone)]
pub struct Guest {
    /// blake3 of the component's bytes.
    pub hash: blake3::Hash,
    /// Size of the component in bytes.
    pub size: usize,
    /// A display name (file name or hash).
    pub name: String,
    /// Its world.
    pub kind: Kind,
    /// The gatehouse interface it exports, as named in the component
    /// (e.g. `gatehouse:agent/policy@0.1.0`).
    pub export: String,
    /// Its imports, as named in the component.
    pub imports: Vec<String>,
    /// Its own description (from `describe`).
    pub describe: Describe,
    /// Whether the compiled code came from the cache.
    pub from_cache: bool,
    /// Time to compile or load from cache, in microseconds.
    pub load_us: u64,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) bytes: Arc<[u8]>,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) describe_fn: ComponentExportIndex,
    pub(crate) main_fn: ComponentExportIndex,
}

impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest")
            .field("name", &self.name)
            .field("hash", &self.hash.to_hex())
            .field("kind", &self.kind)
            .finish()
    }
}

impl Guest {
    /// Configuration values served to the guest through `host.config`.
    pub fn with_config(mut self, config: BTreeMap<String, String>) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// The component's bytes (their blake3 is [`Guest::hash`]).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The configuration as a content-addressed blob (canonical JSON: keys
    /// sorted), or `None` when there is none.
    pub fn config_blob(&self) -> Option<Vec<u8>> {
        config_bytes(&self.config)
    }

    /// The configuration served to the guest.
    pub fn config(&self) -> &BTreeMap<String, String> {
        &self.config
    }

    /// The pack's own description, if a policy.
    pub fn pack_info(&self) -> Option<&PackInfo> {
        match &self.describe {
            Describe::Policy(p) => Some(p),
            Describe::Skill(_) => None,
        }
    }

    /// The guest's name as it describes itself.
    pub fn own_name(&self) -> &str {
        match &self.describe {
            Describe::Policy(p) => &p.name,
            Describe::Skill(s) => &s.name,
        }
    }
}

/// The canonical bytes of a configuration (its JSON, keys in order), as
/// runs record and hash it; `None` for an empty one.
pub fn config_bytes(config: &BTreeMap<String, String>) -> Option<Vec<u8>> {
    if config.is_empty() {
        return None;
    }
    serde_json::to_vec(config).ok()
}
