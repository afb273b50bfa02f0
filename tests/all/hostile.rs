use crate::support::*;
use gatehouse::{GuestError, Kind, LimitError, Limits, Sandbox, Verdict};
use std::time::{Duration, Instant};

/// Run `mode` on the hostile guest, then prove the same host still serves a
/// well-behaved call. Returns the error and how long the bad call took.
fn attack(sandbox: &Sandbox, mode: &str, limits: &Limits) -> (GuestError, Duration) {
    let hostile = load(sandbox, &guests().hostile, Kind::Policy);
    let started = Instant::now();
    let m = sandbox.validate(&hostile, &generic(mode), &ctx(), empty_world(), limits);
    let took = started.elapsed();
    let err = m.result.expect_err("the hostile call must fail");
    let next = sandbox.validate(
        &hostile,
        &generic("behave"),
        &ctx(),
        empty_world(),
        &Limits::default(),
    );
    assert_eq!(
        next.result,
        Ok(Verdict::Allow),
        "the next call on the same host must succeed after `{mode}`"
    );
    (err, took)
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let limits = Limits {
        fuel: Some(10_000_000),
        ..Limits::default()
    };
    let (err, took) = attack(&sandbox(), "loop", &limits);
    assert_eq!(
        err,
        GuestError::Limit(LimitError::Fuel { limit: 10_000_000 })
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn infinite_loop_without_fuel_hits_the_deadline() {
    let limits = Limits {
        fuel: None,
        timeout_ms: 100,
        ..Limits::default()
    };
    let (err, took) = attack(&sandbox(), "loop", &limits);
    match err {
        GuestError::Limit(LimitError::Deadline {
            limit_ms: 100,
            elapsed_ms,
        }) => assert!(elapsed_ms >= 100, "{elapsed_ms}"),
        other => panic!("expected a deadline error, got {other:?}"),
    }
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let limits = Limits::default();
    let (err, took) = attack(&sandbox(), "memory", &limits);
    match err {
        GuestError::Limit(LimitError::Memory { limit, requested }) => {
            assert_eq!(limit, limits.memory_bytes);
            assert!(requested > limit);
        }
        other => panic!("expected a memory error, got {other:?}"),
    }
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn unbounded_recursion_exhausts_the_stack() {
    let sandbox = sandbox();
    let (err, took) = attack(&sandbox, "recursion", &Limits::default());
    assert_eq!(
        err,
        GuestError::Limit(LimitError::Stack {
            limit_bytes: sandbox.options().max_wasm_stack as u64
        })
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn hundred_megabyte_return_is_refused() {
    let sandbox = sandbox();
    // Under the default 64 MiB memory the guest cannot even build it...
    let (err, _) = attack(&sandbox, "big-return", &Limits::default());
    assert!(
        matches!(err, GuestError::Limit(LimitError::Memory { .. })),
        "{err:?}"
    );
    // ...and with room to build it, the output cap refuses it.
    let limits = Limits {
        memory_bytes: 512 << 20,
        fuel: None,
        timeout_ms: 10_000,
        ..Limits::default()
    };
    let (err, took) = attack(&sandbox, "big-return", &limits);
    match err {
        GuestError::Limit(LimitError::Output { limit, size }) => {
            assert_eq!(limit, limits.output_bytes);
            assert!(size > 100 << 20, "{size}");
        }
        other => panic!("expected an output error, got {other:?}"),
    }
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn panic_is_a_trap() {
    let (err, took) = attack(&sandbox(), "panic", &Limits::default());
    match err {
        GuestError::Trap { message } => assert!(message.contains("unreachable"), "{message}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn garbage_arguments_to_a_host_import_trap() {
    let sandbox = sandbox();
    for (mode, expect) in [
        ("bad-host-enum", "discriminant"),
        ("bad-host-pointer", "out of bounds"),
        ("bad-host-utf8", "utf-8"),
    ] {
        let (err, took) = attack(&sandbox, mode, &Limits::default());
        match err {
            GuestError::Trap { message } => assert!(message.contains(expect), "{mode}: {message}"),
            other => panic!("{mode}: expected a trap, got {other:?}"),
        }
        assert!(took < Duration::from_secs(1), "{mode} took {took:?}");
    }
}

#[test]
fn host_call_flood_hits_the_host_call_limit() {
    let limits = Limits {
        host_calls: 50,
        ..Limits::default()
    };
    let (err, took) = attack(&sandbox(), "host-spam", &limits);
    assert_eq!(err, GuestError::Limit(LimitError::HostCalls { limit: 50 }));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn ten_thousand_fresh_instances_keep_memory_bounded() {
    let sandbox = sandbox();
    let pack = load(&sandbox, &guests().hostile, Kind::Policy);
    let action = generic("behave");
    let ctx = ctx();
    let world = empty_world();
    let limits = Limits::default();
    for _ in 0..200 {
        assert_eq!(
            sandbox
                .validate(&pack, &action, &ctx, world.clone(), &limits)
                .result,
            Ok(Verdict::Allow)
        );
    }
    let before = rss_bytes();
    for i in 0..10_000 {
        let m = sandbox.validate(&pack, &action, &ctx, world.clone(), &limits);
        assert_eq!(m.result, Ok(Verdict::Allow), "call {i}");
    }
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        grown < 32 << 20,
        "RSS grew by {} MiB over 10,000 instantiations",
        grown >> 20
    );
}

#[test]
fn a_reused_session_recovers_after_a_trap() {
    let sandbox = sandbox();
    let pack = load(&sandbox, &guests().hostile, Kind::Policy);
    let mut session = sandbox.session(&pack, empty_world(), &Limits::default());
    assert_eq!(
        session.validate(&generic("behave"), &ctx()).result,
        Ok(Verdict::Allow)
    );
    assert!(matches!(
        session.validate(&generic("panic"), &ctx()).result,
        Err(GuestError::Trap { .. })
    ));
    assert_eq!(
        session.validate(&generic("behave"), &ctx()).result,
        Ok(Verdict::Allow)
    );
}
