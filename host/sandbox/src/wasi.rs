//! Virtual WASI: the WASI 0.2 imports that language runtimes (JavaScript's
//! StarlingMonkey, for one) need, served without ambient authority.
//!
//! | interface | what the guest gets |
//! |---|---|
//! | `wasi:clocks/wall-clock` | the run's clock (`World::now`), 1 µs later at each read; recorded |
//! | `wasi:clocks/monotonic-clock` | 0 at the call's start, 1 µs later at each read; recorded; sleeps return at once |
//! | `wasi:random/random`, `insecure`, `insecure-seed` | bytes from the run's seeded generator; recorded |
//! | `wasi:cli/stdout`, `stderr` | each line becomes a `log` host call (info / warn); recorded |
//! | `wasi:cli/stdin` | an empty, closed stream |
//! | `wasi:cli/environment` | no variables, no arguments, no working directory |
//! | `wasi:cli/exit` | a trap |
//! | `wasi:cli/terminal-*` | no terminal |
//! | `wasi:filesystem/preopens`, `types` | no directories, so no file can be opened |
//! | `wasi:io/poll`, `streams`, `error` | what the above need; every pollable is ready |
//!
//! Every nondeterministic answer goes through the same recorded host calls as
//! `gatehouse:agent/host`, so replay serves it back bit for bit. Any other
//! WASI interface (sockets, http, ...) or function is refused at load.

use crate::imports::{HostCall, HostState};
use crate::model::Level;
use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, Linker, LinkerInstance, Lower, Resource, Val};

/// The WASI version the definitions are registered under; imports of any
/// 0.2.x version are served by them (semver-compatible matching).
const VERSION: &str = "0.2.0";

/// Nanoseconds the virtual clocks advance at each read.
const TICK_NS: u64 = 1_000;

/// The most bytes one `get-random-bytes` call may ask for.
const MAX_RANDOM_BYTES: u64 = 1 << 16;

/// What `stdout`/`stderr` representations stand for.
const STDIN: u32 = 0;
const STDOUT: u32 = 1;
const STDERR: u32 = 2;

/// The functions served, by interface (without version). An import of a
/// WASI interface not listed, or of a function not listed under it, is
/// refused at load.
pub(crate) const SERVED: &[(&str, &[&str])] = &[
    ("wasi:io/error", &["[method]error.to-debug-string"]),
    (
        "wasi:io/poll",
        &["[method]pollable.ready", "[method]pollable.block", "poll"],
    ),
    (
        "wasi:io/streams",
        &[
            "[method]input-stream.read",
            "[method]input-stream.blocking-read",
            "[method]input-stream.skip",
            "[method]input-stream.blocking-skip",
            "[method]input-stream.subscribe",
            "[method]output-stream.check-write",
            "[method]output-stream.write",
            "[method]output-stream.blocking-write-and-flush",
            "[method]output-stream.flush",
            "[method]output-stream.blocking-flush",
            "[method]output-stream.subscribe",
            "[method]output-stream.write-zeroes",
            "[method]output-stream.blocking-write-zeroes-and-flush",
        ],
    ),
    ("wasi:cli/stdin", &["get-stdin"]),
    ("wasi:cli/stdout", &["get-stdout"]),
    ("wasi:cli/stderr", &["get-stderr"]),
    (
        "wasi:cli/environment",
        &["get-environment", "get-arguments", "initial-cwd"],
    ),
    ("wasi:cli/exit", &["exit"]),
    ("wasi:cli/terminal-input", &[]),
    ("wasi:cli/terminal-output", &[]),
    ("wasi:cli/terminal-stdin", &["get-terminal-stdin"]),
    ("wasi:cli/terminal-stdout", &["get-terminal-stdout"]),
    ("wasi:cli/terminal-stderr", &["get-terminal-stderr"]),
    ("wasi:clocks/wall-clock", &["now", "resolution"]),
    (
        "wasi:clocks/monotonic-clock",
        &[
            "now",
            "resolution",
            "subscribe-instant",
            "subscribe-duration",
        ],
    ),
    (
        "wasi:random/random",
        &["get-random-bytes", "get-random-u64"],
    ),
    (
        "wasi:random/insecure",
        &["get-insecure-random-bytes", "get-insecure-random-u64"],
    ),
    ("wasi:random/insecure-seed", &["insecure-seed"]),
    ("wasi:filesystem/preopens", &["get-directories"]),
    ("wasi:filesystem/types", FILESYSTEM_TYPES),
];

/// `wasi:filesystem/types`: every function takes a descriptor (there are
/// none to be had) except `filesystem-error-code`.
const FILESYSTEM_TYPES: &[&str] = &[
    "filesystem-error-code",
    "[method]descriptor.read-via-stream",
    "[method]descriptor.write-via-stream",
    "[method]descriptor.append-via-stream",
    "[method]descriptor.advise",
    "[method]descriptor.sync-data",
    "[method]descriptor.get-flags",
    "[method]descriptor.get-type",
    "[method]descriptor.set-size",
    "[method]descriptor.set-times",
    "[method]descriptor.read",
    "[method]descriptor.write",
    "[method]descriptor.read-directory",
    "[method]descriptor.sync",
    "[method]descriptor.create-directory-at",
    "[method]descriptor.stat",
    "[method]descriptor.stat-at",
    "[method]descriptor.set-times-at",
    "[method]descriptor.link-at",
    "[method]descriptor.open-at",
    "[method]descriptor.readlink-at",
    "[method]descriptor.remove-directory-at",
    "[method]descriptor.rename-at",
    "[method]descriptor.symlink-at",
    "[method]descriptor.unlink-file-at",
    "[method]descriptor.is-same-object",
    "[method]descriptor.metadata-hash",
    "[method]descriptor.metadata-hash-at",
    "[method]directory-entry-stream.read-directory-entry",
];

/// The functions served for a WASI interface (name without version), or
/// `None` when the interface is not served at all.
pub(crate) fn served(interface: &str) -> Option<&'static [&'static str]> {
    SERVED
        .iter()
        .find(|(name, _)| *name == interface)
        .map(|(_, funcs)| *funcs)
}

struct Pollable;
struct InputStream;
struct OutputStream;
struct IoError;
struct TerminalInput;
struct TerminalOutput;
struct Descriptor;
struct DirectoryEntryStream;

#[derive(ComponentType, Lift, Lower)]
#[component(variant)]
enum StreamError {
    #[component(name = "last-operation-failed")]
    LastOperationFailed(Resource<IoError>),
    #[component(name = "closed")]
    Closed,
}

#[derive(Clone, Copy, ComponentType, Lift, Lower)]
#[component(record)]
struct Datetime {
    seconds: u64,
    nanoseconds: u32,
}

type Cx<'a> = StoreContextMut<'a, HostState>;

fn interface<'a>(
    linker: &'a mut Linker<HostState>,
    name: &str,
) -> wasmtime::Result<LinkerInstance<'a, HostState>> {
    linker.instance(&format!("{name}@{VERSION}"))
}

fn resource<R: 'static>(
    inst: &mut LinkerInstance<'_, HostState>,
    name: &str,
) -> wasmtime::Result<()> {
    inst.resource(
        name,
        wasmtime::component::ResourceType::host::<R>(),
        |_, _| Ok(()),
    )
}

fn ready() -> Resource<Pollable> {
    Resource::new_own(0)
}

/// Define the virtual WASI interfaces in the linker.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    {
        let mut i = interface(linker, "wasi:io/error")?;
        resource::<IoError>(&mut i, "error")?;
        i.func_wrap(
            "[method]error.to-debug-string",
            |_: Cx<'_>, (_e,): (Resource<IoError>,)| Ok((String::new(),)),
        )?;
    }
    {
        let mut i = interface(linker, "wasi:io/poll")?;
        resource::<Pollable>(&mut i, "pollable")?;
        i.func_wrap(
            "[method]pollable.ready",
            |_: Cx<'_>, (_p,): (Resource<Pollable>,)| Ok((true,)),
        )?;
        i.func_wrap(
            "[method]pollable.block",
            |_: Cx<'_>, (_p,): (Resource<Pollable>,)| Ok(()),
        )?;
        i.func_wrap("poll", |_: Cx<'_>, (list,): (Vec<Resource<Pollable>>,)| {
            Ok(((0..list.len() as u32).collect::<Vec<u32>>(),))
        })?;
    }
    {
        let mut i = interface(linker, "wasi:io/streams")?;
        resource::<InputStream>(&mut i, "input-stream")?;
        resource::<OutputStream>(&mut i, "output-stream")?;
        for name in [
            "[method]input-stream.read",
            "[method]input-stream.blocking-read",
        ] {
            i.func_wrap(
                name,
                |_: Cx<'_>, (_s, _len): (Resource<InputStream>, u64)| {
                    Ok((Err::<Vec<u8>, _>(StreamError::Closed),))
                },
            )?;
        }
        for name in [
            "[method]input-stream.skip",
            "[method]input-stream.blocking-skip",
        ] {
            i.func_wrap(
                name,
                |_: Cx<'_>, (_s, _len): (Resource<InputStream>, u64)| {
                    Ok((Err::<u64, _>(StreamError::Closed),))
                },
            )?;
        }
        i.func_wrap(
            "[method]input-stream.subscribe",
            |_: Cx<'_>, (_s,): (Resource<InputStream>,)| Ok((ready(),)),
        )?;
        i.func_wrap(
            "[method]output-stream.check-write",
            |_: Cx<'_>, (_s,): (Resource<OutputStream>,)| {
                Ok((Ok::<u64, StreamError>(crate::imports::MAX_LOG_LINE as u64),))
            },
        )?;
        for name in [
            "[method]output-stream.write",
            "[method]output-stream.blocking-write-and-flush",
        ] {
            i.func_wrap(
                name,
                |mut cx: Cx<'_>, (s, bytes): (Resource<OutputStream>, Vec<u8>)| {
                    cx.data_mut().wasi_write(s.rep(), &bytes)?;
                    Ok((Ok::<(), StreamError>(()),))
                },
            )?;
        }
        for name in [
            "[method]output-stream.write-zeroes",
            "[method]output-stream.blocking-write-zeroes-and-flush",
        ] {
            i.func_wrap(
                name,
                |mut cx: Cx<'_>, (s, len): (Resource<OutputStream>, u64)| {
                    let zeroes = vec![0u8; len.min(crate::imports::MAX_LOG_LINE as u64) as usize];
                    cx.data_mut().wasi_write(s.rep(), &zeroes)?;
                    Ok((Ok::<(), StreamError>(()),))
                },
            )?;
        }
        for name in [
            "[method]output-stream.flush",
            "[method]output-stream.blocking-flush",
        ] {
            i.func_wrap(name, |_: Cx<'_>, (_s,): (Resource<OutputStream>,)| {
                Ok((Ok::<(), StreamError>(()),))
            })?;
        }
        i.func_wrap(
            "[method]output-stream.subscribe",
            |_: Cx<'_>, (_s,): (Resource<OutputStream>,)| Ok((ready(),)),
        )?;
    }
    interface(linker, "wasi:cli/stdin")?.func_wrap("get-stdin", |_: Cx<'_>, (): ()| {
        Ok((Resource::<InputStream>::new_own(STDIN),))
    })?;
    interface(linker, "wasi:cli/stdout")?.func_wrap("get-stdout", |_: Cx<'_>, (): ()| {
        Ok((Resource::<OutputStream>::new_own(STDOUT),))
    })?;
    interface(linker, "wasi:cli/stderr")?.func_wrap("get-stderr", |_: Cx<'_>, (): ()| {
        Ok((Resource::<OutputStream>::new_own(STDERR),))
    })?;
    {
        let mut i = interface(linker, "wasi:cli/environment")?;
        i.func_wrap("get-environment", |_: Cx<'_>, (): ()| {
            Ok((Vec::<(String, String)>::new(),))
        })?;
        i.func_wrap("get-arguments", |_: Cx<'_>, (): ()| {
            Ok((Vec::<String>::new(),))
        })?;
        i.func_wrap("initial-cwd", |_: Cx<'_>, (): ()| Ok((None::<String>,)))?;
    }
    interface(linker, "wasi:cli/exit")?.func_wrap(
        "exit",
        |_: Cx<'_>, (status,): (Result<(), ()>,)| -> wasmtime::Result<()> {
            Err(wasmtime::Error::msg(match status {
                Ok(()) => "the guest called wasi:cli/exit (success)",
                Err(()) => "the guest called wasi:cli/exit (failure)",
            }))
        },
    )?;
    resource::<TerminalInput>(
        &mut interface(linker, "wasi:cli/terminal-input")?,
        "terminal-input",
    )?;
    resource::<TerminalOutput>(
        &mut interface(linker, "wasi:cli/terminal-output")?,
        "terminal-output",
    )?;
    interface(linker, "wasi:cli/terminal-stdin")?
        .func_wrap("get-terminal-stdin", |_: Cx<'_>, (): ()| {
            Ok((None::<Resource<TerminalInput>>,))
        })?;
    for (iface, func) in [
        ("wasi:cli/terminal-stdout", "get-terminal-stdout"),
        ("wasi:cli/terminal-stderr", "get-terminal-stderr"),
    ] {
        interface(linker, iface)?.func_wrap(func, |_: Cx<'_>, (): ()| {
            Ok((None::<Resource<TerminalOutput>>,))
        })?;
    }
    {
        let mut i = interface(linker, "wasi:clocks/wall-clock")?;
        i.func_wrap("now", |mut cx: Cx<'_>, (): ()| {
            let ns = cx.data_mut().wasi_clock(ClockKind::Wall)?;
            Ok((Datetime {
                seconds: ns / 1_000_000_000,
                nanoseconds: (ns % 1_000_000_000) as u32,
            },))
        })?;
        i.func_wrap("resolution", |_: Cx<'_>, (): ()| {
            Ok((Datetime {
                seconds: 0,
                nanoseconds: TICK_NS as u32,
            },))
        })?;
    }
    {
        let mut i = interface(linker, "wasi:clocks/monotonic-clock")?;
        i.func_wrap("now", |mut cx: Cx<'_>, (): ()| {
            Ok((cx.data_mut().wasi_clock(ClockKind::Monotonic)?,))
        })?;
        i.func_wrap("resolution", |_: Cx<'_>, (): ()| Ok((TICK_NS,)))?;
        for name in ["subscribe-instant", "subscribe-duration"] {
            i.func_wrap(name, |_: Cx<'_>, (_when,): (u64,)| Ok((ready(),)))?;
        }
    }
    for (iface, bytes, word) in [
        ("wasi:random/random", "get-random-bytes", "get-random-u64"),
        (
            "wasi:random/insecure",
            "get-insecure-random-bytes",
            "get-insecure-random-u64",
        ),
    ] {
        let mut i = interface(linker, iface)?;
        i.func_wrap(bytes, |mut cx: Cx<'_>, (len,): (u64,)| {
            Ok((cx.data_mut().wasi_random(len)?,))
        })?;
        i.func_wrap(word, |mut cx: Cx<'_>, (): ()| {
            let b = cx.data_mut().wasi_random(8)?;
            Ok((le_u64(&b),))
        })?;
    }
    interface(linker, "wasi:random/insecure-seed")?.func_wrap(
        "insecure-seed",
        |mut cx: Cx<'_>, (): ()| {
            let b = cx.data_mut().wasi_random(16)?;
            Ok(((le_u64(&b), le_u64(b.get(8..).unwrap_or_default())),))
        },
    )?;
    {
        let mut i = interface(linker, "wasi:filesystem/types")?;
        resource::<Descriptor>(&mut i, "descriptor")?;
        resource::<DirectoryEntryStream>(&mut i, "directory-entry-stream")?;
        for name in FILESYSTEM_TYPES {
            if *name == "filesystem-error-code" {
                i.func_new(
                    name,
                    |_: Cx<'_>, _ty, _params: &[Val], results: &mut [Val]| {
                        if let Some(r) = results.first_mut() {
                            *r = Val::Option(None);
                        }
                        Ok(())
                    },
                )?;
            } else {
                // Unreachable: a descriptor can only come from a preopen,
                // and there are none.
                i.func_new(
                    name,
                    |_: Cx<'_>, _ty, _params: &[Val], _results: &mut [Val]| {
                        Err(wasmtime::Error::msg(
                            "gatehouse serves no filesystem: there is no descriptor",
                        ))
                    },
                )?;
            }
        }
    }
    interface(linker, "wasi:filesystem/preopens")?
        .func_wrap("get-directories", |_: Cx<'_>, (): ()| {
            Ok((Vec::<(Resource<Descriptor>, String)>::new(),))
        })?;
    Ok(())
}

fn le_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    for (w, b) in word.iter_mut().zip(bytes) {
        *w = *b;
    }
    u64::from_le_bytes(word)
}

/// Which virtual clock was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClockKind {
    Wall,
    Monotonic,
}

impl HostState {
    /// Append guest output to the stream's line buffer; each complete line
    /// (or a buffer of [`crate::MAX_LOG_LINE`] bytes) becomes a `log` call.
    fn wasi_write(&mut self, stream: u32, bytes: &[u8]) -> wasmtime::Result<()> {
        let level = if stream == STDERR {
            Level::Warn
        } else {
            Level::Info
        };
        let buffer = self.stdio_buffer(stream);
        buffer.extend_from_slice(bytes);
        loop {
            let buffer = self.stdio_buffer(stream);
            let line = match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => {
                    let mut line: Vec<u8> = buffer.drain(..=at).collect();
                    line.pop();
                    line
                }
                None if buffer.len() >= crate::imports::MAX_LOG_LINE => std::mem::take(buffer),
                None => break,
            };
            self.log(level, String::from_utf8_lossy(&line).into_owned())?;
        }
        Ok(())
    }

    /// Log what the guest wrote without a final newline (at the end of a call).
    pub(crate) fn flush_stdio(&mut self) -> wasmtime::Result<()> {
        for (stream, level) in [(STDOUT, Level::Info), (STDERR, Level::Warn)] {
            let rest = std::mem::take(self.stdio_buffer(stream));
            if !rest.is_empty() {
                self.log(level, String::from_utf8_lossy(&rest).into_owned())?;
            }
        }
        Ok(())
    }

    fn wasi_clock(&mut self, kind: ClockKind) -> wasmtime::Result<u64> {
        let asked = match kind {
            ClockKind::Wall => HostCall::WallClock { answer: 0 },
            ClockKind::Monotonic => HostCall::MonotonicClock { answer: 0 },
        };
        let reads = self.clock_reads;
        let call = self.next(asked, |w, _| {
            let elapsed = reads.saturating_add(1).saturating_mul(TICK_NS);
            match kind {
                ClockKind::Wall => HostCall::WallClock {
                    answer: (w.now.max(0) as u64)
                        .saturating_mul(1_000_000)
                        .saturating_add(elapsed),
                },
                ClockKind::Monotonic => HostCall::MonotonicClock { answer: elapsed },
            }
        })?;
        self.clock_reads += 1;
        match call {
            HostCall::WallClock { answer } | HostCall::MonotonicClock { answer } => Ok(answer),
            _ => Err(wasmtime::Error::msg("host call kind mismatch")),
        }
    }

    fn wasi_random(&mut self, len: u64) -> wasmtime::Result<Vec<u8>> {
        if len > MAX_RANDOM_BYTES {
            return Err(wasmtime::Error::msg(format!(
                "get-random-bytes asked for {len} bytes; the most is {MAX_RANDOM_BYTES}"
            )));
        }
        let asked = HostCall::RandomBytes {
            len,
            answer: String::new(),
        };
        let call = self.next(asked, |w, s| {
            let mut h = blake3::Hasher::new_keyed(&w.seed);
            h.update(b"wasi:random ");
            h.update(s.stream_name().as_bytes());
            h.update(&s.random_draws().to_le_bytes());
            let mut out = vec![0u8; len as usize];
            h.finalize_xof().fill(&mut out);
            HostCall::RandomBytes {
                len,
                answer: hex(&out),
            }
        })?;
        self.count_random_draw();
        match call {
            HostCall::RandomBytes { answer, .. } => unhex(&answer)
                .filter(|b| b.len() as u64 == len)
                .ok_or_else(|| wasmtime::Error::msg("recorded random bytes are malformed")),
            _ => Err(wasmtime::Error::msg("host call kind mismatch")),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
