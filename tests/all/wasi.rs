//! Virtual WASI: the WASI imports language runtimes need are served without
//! ambient authority, every nondeterministic answer is a recorded host
//! call that replay serves back, and anything else WASI is refused at load.

use crate::conformance::cached_sandbox;
use crate::support::*;
use gatehouse::lang::Lang;
use gatehouse::{Answers, Dataset, GuestError, HostCall, Level, Limits, LoadError, Verdict, World};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The JavaScript probe (`tests/guests/wasi-js`), built once.
fn probe() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        gatehouse::lang::build_guest(&root().join("tests/guests/wasi-js"), Lang::Js)
            .expect("the wasi probe builds")
            .manifest
            .expect("a manifest")
    })
}

fn world(run_id: &str) -> Answers {
    Answers::Live(World::new(
        Arc::new(Dataset::empty()),
        "EU",
        1_767_607_200_000,
        run_id,
    ))
}

fn message(v: &Verdict) -> String {
    v.findings()[0].message.clone()
}

#[test]
fn clocks_and_random_come_from_the_run_and_stdio_goes_to_the_log() {
    let sandbox = cached_sandbox();
    let pack = gatehouse::load_pack(&sandbox, probe()).unwrap();
    assert!(
        pack.imports
            .iter()
            .any(|i| i.starts_with("wasi:clocks/wall-clock@0.2."))
    );
    let action = generic("behave");
    let m = sandbox.validate(&pack, &action, &ctx(), world("run-a"), &Limits::default());
    let verdict = m.result.unwrap();
    let text = message(&verdict);
    // Date.now() is the run's clock (ms), not the machine's.
    assert!(text.starts_with("now=1767607200000 "), "{text}");
    let calls = &m.metering.host_calls;
    // The bytes the guest saw are the recorded answer.
    let first_random = calls
        .iter()
        .find_map(|c| match c {
            HostCall::RandomBytes { len: 8, answer } => Some(answer.clone()),
            _ => None,
        })
        .expect("a recorded random draw");
    let shown: Vec<String> = (0..8)
        .map(|i| {
            u8::from_str_radix(&first_random[2 * i..2 * i + 2], 16)
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        text.contains(&format!("bytes={} ", shown.join(","))),
        "{text} vs {first_random}"
    );
    assert!(calls.iter().any(
        |c| matches!(c, HostCall::WallClock { answer } if *answer / 1_000_000 == 1_767_607_200_000)
    ));
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, HostCall::MonotonicClock { .. }))
    );
    assert!(calls.contains(&HostCall::Log {
        level: Level::Info,
        message: "probe a-behave: now 1767607200000".into()
    }));
    // stderr is logged at warn; a line without a newline when the call ends too.
    assert!(calls.contains(&HostCall::Log {
        level: Level::Warn,
        message: "probe: to stderr, unfinished line".into()
    }));

    // The same run gives the same answers; another run id other random numbers.
    let again = sandbox.validate(&pack, &action, &ctx(), world("run-a"), &Limits::default());
    assert_eq!(again.result.as_ref().map(message), Ok(text.clone()));
    assert_eq!(again.metering.host_calls, m.metering.host_calls);
    let other = sandbox.validate(&pack, &action, &ctx(), world("run-b"), &Limits::default());
    assert_ne!(other.result.map(|v| message(&v)), Ok(text));
}

#[test]
fn replay_serves_recorded_wasi_answers_bit_for_bit_and_names_a_divergence() {
    let sandbox = cached_sandbox();
    let pack = gatehouse::load_pack(&sandbox, probe()).unwrap();
    let action = generic("behave");
    let live = sandbox.validate(&pack, &action, &ctx(), world("run-r"), &Limits::default());
    let recorded = live.metering.host_calls.clone();
    let replayed = sandbox.validate(
        &pack,
        &action,
        &ctx(),
        Answers::Recorded(recorded.clone()),
        &Limits::default(),
    );
    assert_eq!(replayed.result, live.result);
    assert_eq!(replayed.metering.host_calls, recorded);

    // The guest gets the recorded bytes, not fresh ones.
    let mut forged = recorded.clone();
    for c in &mut forged {
        if let HostCall::RandomBytes { len: 8, answer } = c {
            *answer = "0102030405060708".into();
            break;
        }
    }
    let served = sandbox.validate(
        &pack,
        &action,
        &ctx(),
        Answers::Recorded(forged),
        &Limits::default(),
    );
    let text = message(&served.result.unwrap());
    assert!(text.contains("bytes=1,2,3,4,5,6,7,8 "), "{text}");

    // A recording without the wall-clock read diverges at that call.
    let mut short = recorded.clone();
    let at = short
        .iter()
        .position(|c| matches!(c, HostCall::WallClock { .. }))
        .unwrap();
    short.remove(at);
    let diverged = sandbox.validate(
        &pack,
        &action,
        &ctx(),
        Answers::Recorded(short),
        &Limits::default(),
    );
    match diverged.result {
        Err(GuestError::Divergence(d)) => assert_eq!(d.index, at, "{d:?}"),
        other => panic!("expected a divergence, got {other:?}"),
    }
}

fn refused(wat: &str) -> String {
    let sandbox = sandbox();
    let component = wat::parse_str(wat).unwrap();
    match sandbox.load(&component, "guest.wasm", None).unwrap_err() {
        LoadError::UnsupportedImport { import, .. } => import,
        other => panic!("expected an unsupported import, got {other:?}"),
    }
}

#[test]
fn wasi_sockets_http_and_unserved_functions_are_refused_at_load() {
    assert_eq!(
        refused(
            r#"(component (import "wasi:sockets/tcp-create-socket@0.2.9" (instance (export "create-tcp-socket" (func (param "family" u8) (result u32))))))"#
        ),
        "wasi:sockets/tcp-create-socket@0.2.9"
    );
    assert_eq!(
        refused(
            r#"(component (import "wasi:http/outgoing-handler@0.2.9" (instance (export "handle" (func (param "r" u32) (result u32))))))"#
        ),
        "wasi:http/outgoing-handler@0.2.9"
    );
    // A served interface, a function it does not serve.
    assert_eq!(
        refused(
            r#"(component (import "wasi:cli/environment@0.2.3" (instance (export "get-secret" (func (result string))))))"#
        ),
        "wasi:cli/environment@0.2.3#get-secret"
    );
    // WASI 0.3 is not served.
    assert_eq!(
        refused(
            r#"(component (import "wasi:cli/environment@0.3.0" (instance (export "get-arguments" (func (result (list string)))))))"#
        ),
        "wasi:cli/environment@0.3.0"
    );
    let sandbox = sandbox();
    let component = wat::parse_str(
        r#"(component (import "wasi:sockets/tcp@0.2.9" (instance (export "x" (func)))))"#,
    )
    .unwrap();
    let err = sandbox
        .load(&component, "net.wasm", None)
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "one line: {err}");
}
