//! The host side of `gatehouse:agent/host`: every import a guest may call,
//! answered by the host and recorded in the call's transcript.

use crate::evidence::Dataset;
use crate::limits::{LimitError, Limiter, Limits};
use crate::model::{Evidence, HostError, Level, LocalTime, Query, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::StoreContextMut;
use wasmtime::component::Linker;

/// The longest log line kept; longer lines are cut (at a char boundary).
pub const MAX_LOG_LINE: usize = 4096;

/// The import interface gatehouse provides, with the version it implements.
pub const HOST_INTERFACE: &str = concat!("gatehouse:agent/host@", crate::wit_version!());

/// The types interface, imported by guests for its type definitions.
pub const TYPES_INTERFACE: &str = concat!("gatehouse:agent/types@", crate::wit_version!());

/// One host import call and the answer the guest got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// `log`, or a line the guest wrote to WASI stdout (level info) or
    /// stderr (level warn).
    Log {
        /// Level.
        level: Level,
        /// The line (cut at [`MAX_LOG_LINE`] bytes).
        message: String,
    },
    /// `to-local(zone, at)`: the wall clock in a time zone.
    ToLocal {
        /// The IANA zone asked for.
        zone: String,
        /// The instant.
        at: Timestamp,
        /// The answer.
        answer: Result<LocalTime, HostError>,
    },
    /// `next-local(zone, after, hour, minute)`: the next instant the wall
    /// clock reads a time.
    NextLocal {
        /// The IANA zone asked for.
        zone: String,
        /// The earliest instant.
        after: Timestamp,
        /// The hour asked for.
        hour: u8,
        /// The minute asked for.
        minute: u8,
        /// The answer.
        answer: Result<Timestamp, HostError>,
    },
    /// `wasi:clocks/wall-clock.now` (virtual WASI).
    WallClock {
        /// The answer: nanoseconds since the Unix epoch.
        answer: u64,
    },
    /// `wasi:clocks/monotonic-clock.now` (virtual WASI).
    MonotonicClock {
        /// The answer: nanoseconds since the call started.
        answer: u64,
    },
    /// `wasi:random/*` (virtual WASI): random bytes (a `u64` is 8 bytes,
    /// little-endian; an insecure seed 16).
    RandomBytes {
        /// How many bytes were asked for.
        len: u64,
        /// The bytes, hex.
        answer: String,
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

/// Where one guest call's host answers come from.
#[derive(Clone, Debug)]
pub enum Answers {
    /// The live world: answers are computed and recorded.
    Live(World),
    /// A recorded transcript: answers are served in order, and every
    /// request must be exactly the recorded one (replay).
    Recorded(Vec<HostCall>),
}

/// A replayed guest asked something other than what was recorded.
#[derive(
    Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, schemars::JsonSchema,
)]
#[error("replay diverged at host call {index}: recorded {expected}, guest asked {got}")]
pub struct Divergence {
    /// The host call's position in the call's transcript (0-based).
    pub index: usize,
    /// What was recorded there (`nothing` past the end).
    pub expected: String,
    /// What the guest asked (`nothing` when it stopped early).
    pub got: String,
}

impl HostCall {
    /// The request part only, for divergence messages.
    pub fn request(&self) -> String {
        match self {
            Self::Retrieve { query, .. } => format!(
                "retrieve({} {:?} limit {})",
                query.collection, query.filter, query.limit
            ),
            Self::Now { .. } => "now()".to_string(),
            Self::RandomU64 { .. } => "random-u64()".to_string(),
            Self::Config { key, .. } => format!("config({key:?})"),
            Self::Log { level, message } => format!("log({level:?}, {message:?})"),
            Self::ToLocal { zone, at, .. } => format!("to-local({zone:?}, {at})"),
            Self::NextLocal {
                zone,
                after,
                hour,
                minute,
                ..
            } => format!("next-local({zone:?}, {after}, {hour:02}:{minute:02})"),
            Self::WallClock { .. } => "wasi:clocks/wall-clock.now()".to_string(),
            Self::MonotonicClock { .. } => "wasi:clocks/monotonic-clock.now()".to_string(),
            Self::RandomBytes { len, .. } => format!("wasi:random({len} bytes)"),
        }
    }

    fn same_request(&self, other: &HostCall) -> bool {
        match (self, other) {
            (Self::Retrieve { query: a, .. }, Self::Retrieve { query: b, .. }) => a == b,
            (Self::Now { .. }, Self::Now { .. })
            | (Self::RandomU64 { .. }, Self::RandomU64 { .. })
            | (Self::WallClock { .. }, Self::WallClock { .. })
            | (Self::MonotonicClock { .. }, Self::MonotonicClock { .. }) => true,
            (Self::RandomBytes { len: a, .. }, Self::RandomBytes { len: b, .. }) => a == b,
            (Self::Config { key: a, .. }, Self::Config { key: b, .. }) => a == b,
            (Self::ToLocal { zone: a, at: x, .. }, Self::ToLocal { zone: b, at: y, .. }) => {
                a == b && x == y
            }
            (
                Self::NextLocal {
                    zone: a,
                    after: x,
                    hour: h,
                    minute: m,
                    ..
                },
                Self::NextLocal {
                    zone: b,
                    after: y,
                    hour: i,
                    minute: n,
                    ..
                },
            ) => a == b && x == y && h == i && m == n,
            (
                Self::Log {
                    level: a,
                    message: m,
                },
                Self::Log {
                    level: b,
                    message: n,
                },
            ) => a == b && m == n,
            _ => false,
        }
    }
}

/// The state of one store: limits, the answers' source, the transcript.
pub(crate) struct HostState {
    pub(crate) limiter: Limiter,
    answers: Answers,
    /// Distinguishes the random streams of different calls in one run.
    stream: String,
    config: Arc<BTreeMap<String, String>>,
    max_calls: u32,
    randoms: u64,
    pub(crate) transcript: Vec<HostCall>,
    /// The engine's wasm stack size, for the stack-exhaustion error.
    pub(crate) stack_bytes: usize,
    /// Set when a replayed guest diverged from its recording.
    pub(crate) diverged: Option<Divergence>,
    /// Reads of the virtual WASI clocks so far.
    pub(crate) clock_reads: u64,
    /// Unfinished lines the guest wrote to WASI stdout and stderr.
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl HostState {
    pub(crate) fn new(
        limits: &Limits,
        answers: Answers,
        stream: String,
        config: Arc<BTreeMap<String, String>>,
    ) -> Self {
        Self {
            limiter: Limiter::new(limits),
            answers,
            stream,
            config,
            max_calls: limits.host_calls,
            randoms: 0,
            transcript: Vec::new(),
            stack_bytes: 0,
            diverged: None,
            clock_reads: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// The unfinished-line buffer of WASI stdout (1) or stderr (other).
    pub(crate) fn stdio_buffer(&mut self, stream: u32) -> &mut Vec<u8> {
        if stream == 1 {
            &mut self.stdout
        } else {
            &mut self.stderr
        }
    }

    /// Distinguishes the random streams of different calls in one run.
    pub(crate) fn stream_name(&self) -> &str {
        &self.stream
    }

    /// Random draws so far (host `random-u64` and WASI random alike).
    pub(crate) fn random_draws(&self) -> u64 {
        self.randoms
    }

    /// Count one random draw.
    pub(crate) fn count_random_draw(&mut self) {
        self.randoms += 1;
    }

    /// In replay, the recorded calls the guest did not make.
    pub(crate) fn unconsumed(&self) -> Option<Divergence> {
        match &self.answers {
            Answers::Recorded(calls) if calls.len() > self.transcript.len() => Some(Divergence {
                index: self.transcript.len(),
                expected: calls[self.transcript.len()].request(),
                got: "nothing".to_string(),
            }),
            _ => None,
        }
    }

    /// Take the next call: computed live, or the recorded one when its
    /// request matches `asked`.
    pub(crate) fn next(
        &mut self,
        asked: HostCall,
        live: impl FnOnce(&World, &Self) -> HostCall,
    ) -> wasmtime::Result<HostCall> {
        if self.transcript.len() >= self.max_calls as usize {
            return Err(LimitError::HostCalls {
                limit: self.max_calls,
            }
            .into());
        }
        let call = match &self.answers {
            Answers::Live(world) => live(world, self),
            Answers::Recorded(calls) => match calls.get(self.transcript.len()) {
                Some(recorded) if recorded.same_request(&asked) => recorded.clone(),
                other => {
                    let d = Divergence {
                        index: self.transcript.len(),
                        expected: other
                            .map(HostCall::request)
                            .unwrap_or_else(|| "nothing".to_string()),
                        got: asked.request(),
                    };
                    self.diverged = Some(d.clone());
                    return Err(d.into());
                }
            },
        };
        self.transcript.push(call.clone());
        Ok(call)
    }

    fn retrieve(&mut self, query: Query) -> wasmtime::Result<Result<Vec<Evidence>, HostError>> {
        let asked = HostCall::Retrieve {
            query: query.clone(),
            answer: Ok(Vec::new()),
        };
        match self.next(asked, |w, _| HostCall::Retrieve {
            answer: w.dataset.retrieve(&w.partition, &query),
            query,
        })? {
            HostCall::Retrieve { answer, .. } => Ok(answer),
            _ => Err(wasmtime::Error::msg("host call kind mismatch")),
        }
    }

    fn now(&mut self) -> wasmtime::Result<Timestamp> {
        match self.next(HostCall::Now { answer: 0 }, |w, _| HostCall::Now {
            answer: w.now,
        })? {
            HostCall::Now { answer } => Ok(answer),
            _ => Err(wasmtime::Error::msg("host call kind mismatch")),
        }
    }

    fn random_u64(&mut self) -> wasmtime::Result<u64> {
        let call = self.next(HostCall::RandomU64 { answer: 0 }, |w, s| {
            let mut h = blake3::Hasher::new_keyed(&w.seed);
            h.update(s.stream.as_bytes());
            h.update(&s.randoms.to_le_bytes());
            let mut word = [0u8; 8];
            word.copy_from_slice(&h.finalize().as_bytes()[..8]);
            HostCall::RandomU64 {
                answer: u64::from_le_bytes(word),
            }
        })?;
        self.randoms += 1;
        match call {
            HostCall::RandomU64 { answer } => Ok(answer),
            _ => Err(wasmtime::Error::msg("host call kind mismatch")),
        }
    }

    fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let asked = HostCall::Config {
            key: key.clone(),
            answer: None,
        };
        match self.next(asked, |_, s| HostCall::Config {
            answer: s.config.get(&key).cloned(),
            key,
        })? {
            HostCall::Config { answer, .. } => Ok(answer),
            _ => Err(wasmtime::Error::msg("host call kind mismatch")),
        }
    }

    fn local_time(
        &mut self,
        zone: String,
        at: Timestamp,
    ) -> wasmtime::Result<Result<LocalTime, HostError>> {
        let asked = HostCall::ToLocal {
            zone: zone.clone(),
            at,
            answer: Err(HostError::InvalidRequest(String::new())),
        };
        match self.next(asked, |_, _| HostCall::ToLocal {
            answer: gatehouse_zone::to_local(&zone, at)
                .map(LocalTime::from)
                .map_err(|e| HostError::InvalidRequest(e.to_string())),
            zone,
            at,
        })? {
            HostCall::ToLocal { answer, .. } => Ok(answer),
            _ => Err(wasmtime::Error::msg("host call kind mismatch")),
        }
    }

    fn next_local(
        &mut self,
        zone: String,
        after: Timestamp,
        hour: u8,
        minute: u8,
    ) -> wasmtime::Result<Result<Timestamp, HostError>> {
        let asked = HostCall::NextLocal {
            zone: zone.clone(),
            after,
            hour,
            minute,
            answer: Err(HostError::InvalidRequest(String::new())),
        };
        match self.next(asked, |_, _| HostCall::NextLocal {
            answer: gatehouse_zone::next_local(&zone, after, hour, minute)
                .map_err(|e| HostError::InvalidRequest(e.to_string())),
            zone,
            after,
            hour,
            minute,
        })? {
            HostCall::NextLocal { answer, .. } => Ok(answer),
            _ => Err(wasmtime::Error::msg("host call kind mismatch")),
        }
    }

    pub(crate) fn log(&mut self, level: Level, mut message: String) -> wasmtime::Result<()> {
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let asked = HostCall::Log { level, message };
        self.next(asked.clone(), |_, _| asked)?;
        Ok(())
    }
}

/// Define `gatehouse:agent/host` and the virtual WASI interfaces in the linker.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    crate::wasi::add_to_linker(linker)?;
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
        "to-local",
        |mut cx: StoreContextMut<'_, HostState>, (zone, at): (String, Timestamp)| {
            Ok((cx.data_mut().local_time(zone, at)?,))
        },
    )?;
    host.func_wrap(
        "next-local",
        |mut cx: StoreContextMut<'_, HostState>,
         (zone, after, hour, minute): (String, Timestamp, u8, u8)| {
            Ok((cx.data_mut().next_local(zone, after, hour, minute)?,))
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
