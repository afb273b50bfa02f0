//! A policy pack that misbehaves on request, for gatehouse's sandbox tests.
//!
//! The behaviour is chosen by the kind of a generic action (`kind` field):
//! each mode below attacks one of the host's limits or checks. Any other
//! kind is allowed, so the same component also proves that the next call on
//! the same host still works.

#![allow(missing_docs)]

use gatehouse_guest::prelude::*;

pub struct Hostile;

impl Policy for Hostile {
    fn describe() -> PackInfo {
        PackInfo::new("hostile", "0.1.0").rule(
            "hostile.any",
            Severity::High,
            "misbehaves on request",
        )
    }

    fn validate(action: Action, _ctx: RunContext) -> Verdict {
        let mode = match &action.kind {
            ActionKind::Generic(g) => g.kind.clone(),
            _ => String::new(),
        };
        match mode.as_str() {
            "loop" => spin(),
            "memory" => hoard(),
            "recursion" => Verdict::Deny(vec![Finding::new(
                "hostile.any",
                Severity::High,
                format!("{}", recurse(1)),
            )]),
            "big-return" => Verdict::Deny(vec![Finding::new(
                "hostile.any",
                Severity::High,
                "x".repeat(100 << 20),
            )]),
            "panic" => trap(),
            "host-spam" => {
                let mut n = 0u64;
                loop {
                    n = n.wrapping_add(host::random_u64());
                    if n == 42 {
                        return Verdict::Allow;
                    }
                }
            }
            "bad-host-enum" => raw::log_with_bad_level(),
            "bad-host-pointer" => raw::log_with_bad_pointer(),
            "bad-host-utf8" => raw::log_with_bad_utf8(),
            "modify-identity" => {
                let mut changed = action.clone();
                changed.id = format!("{}-other", action.id);
                Verdict::Modify(Modification {
                    action: changed,
                    findings: vec![Finding::new(
                        "hostile.any",
                        Severity::High,
                        "renamed the action",
                    )],
                })
            }
            "deny-silently" => Verdict::Deny(Vec::new()),
            _ => Verdict::Allow,
        }
    }
}

fn spin() -> Verdict {
    let mut x: u64 = 1;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        if x == 0 {
            return Verdict::Allow;
        }
    }
}

fn hoard() -> Verdict {
    // Toward 4 GiB, 64 MiB at a time, touching every chunk.
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    for i in 0..64u8 {
        chunks.push(vec![i; 64 << 20]);
    }
    Verdict::Deny(vec![Finding::new(
        "hostile.any",
        Severity::High,
        format!("{}", chunks.len()),
    )])
}

/// Recursion that lives on the wasm stack (no shadow-stack frame), so the
/// engine's stack bound is what stops it.
fn recurse(n: u64) -> u64 {
    if n == u64::MAX {
        return 0;
    }
    let below = recurse(std::hint::black_box(n) + 1);
    below.rotate_left((n % 63) as u32) ^ n
}

#[expect(clippy::panic, reason = "this guest exists to trap")]
fn trap() -> Verdict {
    panic!("hostile guest panics on purpose")
}

mod raw {
    use gatehouse_guest::prelude::*;

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "gatehouse:agent/host@0.2.0")]
    unsafe extern "C" {
        #[link_name = "log"]
        fn host_log(level: i32, ptr: i32, len: i32);
    }

    #[cfg(target_arch = "wasm32")]
    fn call(level: i32, ptr: i32, len: i32) -> Verdict {
        // SAFETY: none intended: the host must survive whatever arrives.
        unsafe { host_log(level, ptr, len) };
        Verdict::Allow
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn call(_level: i32, _ptr: i32, _len: i32) -> Verdict {
        Verdict::Allow
    }

    pub fn log_with_bad_level() -> Verdict {
        let msg = "hello";
        call(99, msg.as_ptr() as usize as i32, msg.len() as i32)
    }

    pub fn log_with_bad_pointer() -> Verdict {
        call(1, 0x7fff_fff0, 4096)
    }

    pub fn log_with_bad_utf8() -> Verdict {
        let bytes: &[u8] = &[0xff, 0xfe, 0xfd, 0x80];
        call(1, bytes.as_ptr() as usize as i32, bytes.len() as i32)
    }
}

gatehouse_guest::export_policy!(Hostile);
