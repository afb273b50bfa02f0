//! The host side of `gatehouse:agent/host`: every import a guest may call,
//! answered by the host and recorded in the call's transcript.

use crate::evidence::Dataset;
use crate::limits::{LimitError, Limiter, Limits};
use crate::model::{Evidence, HostError, Level, Query, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::StoreContextMut;
use wasmtime::component::Linker;

/// The longest log line kept; longer lines are cut (at a char boundary).
pub const MAX_LOG_LINE: usize = 4096;

/// The import interface gatehouse provides, with the version it implements.
pub const HOST_INTERFACE: &str = "gatehouse:agent/host@0.1.0";

/// The types interface, imported by guests for its type definitions.
pub const TYPES_INTERFACE: &str = "gatehouse:agent/types@0.1.0";

/// One host import call and the answer the guest got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "call")]
pub enum HostCall {
    /// `retrieve`.
    Retrieve {
        /// The query.
        query: Query,
        /// The answer.
        answer: Result<Vec<Evidence>, HostError>,
    },
    /// `now`.
    Now {
        /// The answer.
        answer: Timestamp,
    },
    /// `random-u64`.
    RandomU64 {
        /// The answer.
        answer: u64,
    },
    /// `config`.
    Config {
        /// The key asked for.
        key: String,
        /// The answer.
        answer: Option<String>,
    },
    /// `log`.
    Log {
        /// Level.
        level: Level,
        /// The line (cut at [`MAX_LOG_LINE`] bytes).
        message: String,
    },
}

/// Where a guest call's host answers come from: the live world.
#[derive(Clone, Debug)]
pub struct World {
    /// The records retrievable this run.
    pub dataset: Arc<Dataset>,
    /// The data partition the run is confined to.
    pub partition: String,
    /// The run's clock.
    pub now: Timestamp,
    /// Seed of the run's random numbers (derived from the run id).
    pub seed: [u8; 32],
}

impl World {
    /// A world for a run: its dataset, partition, clock and run id (which
    /// seeds the random numbers).
    pub fn new(dataset: Arc<Dataset>, partition: &str, now: Timestamp, run_id: &str) -> Self {
        let seed = blake3::derive_key("gatehouse 2026 random-u64 seed", run_id.as_bytes());
        Self {
            dataset,
            partition: partition.to_string(),
            now,
            seed,
        }
    }
}

/// The state of one store: limits, the world, the transcript.
pub(crate) struct HostState {
    pub(crate) limiter: Limiter,
    world: World,
    /// Distinguishes the random streams of different calls in one run.
    stream: String,
    config: Arc<BTreeMap<String, String>>,
    max_calls: u32,
    pub(crate) transcript: Vec<HostCall>,
    /// The engine's wasm stack size, for the stack-exhaustion error.
    pub(crate) stack_bytes: usize,
}

impl HostState {
    pub(crate) fn new(
        limits: &Limits,
        world: World,
        stream: String,
        config: Arc<BTreeMap<String, String>>,
    ) -> Self {
        Self {
            limiter: Limiter::new(limits),
            world,
            stream,
            config,
            max_calls: limits.host_calls,
            transcript: Vec::new(),
            stack_bytes: 0,
        }
    }

    fn count(&self) -> wasmtime::Result<()> {
        if self.transcript.len() >= self.max_calls as usize {
            return Err(LimitError::HostCalls {
                limit: self.max_calls,
            }
            .into());
        }
        Ok(())
    }

    fn retrieve(&mut self, query: Query) -> wasmtime::Result<Result<Vec<Evidence>, HostError>> {
        self.count()?;
        let answer = self.world.dataset.retrieve(&self.world.partition, &query);
        self.transcript.push(HostCall::Retrieve {
            query,
            answer: answer.clone(),
        });
        Ok(answer)
    }

    fn now(&mut self) -> wasmtime::Result<Timestamp> {
        self.count()?;
        let answer = self.world.now;
        self.transcript.push(HostCall::Now { answer });
        Ok(answer)
    }

    fn random_u64(&mut self) -> wasmtime::Result<u64> {
        self.count()?;
        let n = self
            .transcript
            .iter()
            .filter(|c| matches!(c, HostCall::RandomU64 { .. }))
            .count() as u64;
        let mut h = blake3::Hasher::new_keyed(&self.world.seed);
        h.update(self.stream.as_bytes());
        h.update(&n.to_le_bytes());
        let bytes = h.finalize();
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes.as_bytes()[..8]);
        let answer = u64::from_le_bytes(word);
        self.transcript.push(HostCall::RandomU64 { answer });
        Ok(answer)
    }

    fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.count()?;
        let answer = self.config.get(&key).cloned();
        self.transcript.push(HostCall::Config {
            key,
            answer: answer.clone(),
        });
        Ok(answer)
    }

    fn log(&mut self, level: Level, mut message: String) -> wasmtime::Result<()> {
        self.count()?;
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        self.transcript.push(HostCall::Log { level, message });
        Ok(())
    }
}

/// Define `gatehouse:agent/host` in the linker.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    // The types interface has no functions; guests import it for its types.
    linker.instance(TYPES_INTERFACE)?;
    let mut host = linker.instance(HOST_INTERFACE)?;
    host.func_wrap(
        "retrieve",
        |mut cx: StoreContextMut<'_, HostState>, (q,): (Query,)| Ok((cx.data_mut().retrieve(q)?,)),
    )?;
    host.func_wrap("now", |mut cx: StoreContextMut<'_, HostState>, (): ()| {
        Ok((cx.data_mut().now()?,))
    })?;
    host.func_wrap(
        "random-u64",
        |mut cx: StoreContextMut<'_, HostState>, (): ()| Ok((cx.data_mut().random_u64()?,)),
    )?;
    host.func_wrap(
        "config",
        |mut cx: StoreContextMut<'_, HostState>, (key,): (String,)| {
            Ok((cx.data_mut().config(key)?,))
        },
    )?;
    host.func_wrap(
        "log",
        |mut cx: StoreContextMut<'_, HostState>, (level, msg): (Level, String)| {
            cx.data_mut().log(level, msg)
        },
    )?;
    Ok(())
}
