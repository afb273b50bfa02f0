use crate::support::*;
use gatehouse::{Kind, Limits, LoadError, Verdict};

/// After a refused load, the same host still loads and runs a good pack.
fn host_still_works(sandbox: &gatehouse::Sandbox) {
    let pack = load(sandbox, &guests().hostile, Kind::Policy);
    let m = sandbox.validate(
        &pack,
        &generic("behave"),
        &ctx(),
        empty_world(),
        &Limits::default(),
    );
    assert_eq!(m.result, Ok(Verdict::Allow));
}

fn one_line(e: &LoadError) -> String {
    let s = e.to_string();
    assert!(!s.contains('\n'), "error must be one line: {s}");
    s
}

#[test]
fn a_skill_is_not_a_policy() {
    let sandbox = sandbox();
    let err = sandbox
        .load_file(&guests().skill, Some(Kind::Policy))
        .unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{err:?}");
    assert!(one_line(&err).contains("is a skill"), "{err}");
    let err = sandbox
        .load_file(&guests().hostile, Some(Kind::Skill))
        .unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{err:?}");
    host_still_works(&sandbox);
}

#[test]
fn truncated_components_are_refused() {
    let sandbox = sandbox();
    let bytes = std::fs::read(&guests().hostile).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 1, 100] {
        let err = sandbox.load(&bytes[..cut], "cut.wasm", None).unwrap_err();
        assert!(
            matches!(err, LoadError::Invalid { .. }),
            "cut at {cut}: {err:?}"
        );
        assert!(
            one_line(&err).starts_with("`cut.wasm` is not a valid component"),
            "{err}"
        );
    }
    let err = sandbox.load(&bytes[..6], "six.wasm", None).unwrap_err();
    assert!(matches!(err, LoadError::NotWasm { .. }), "{err:?}");
    let err = sandbox.load(&[], "empty.wasm", None).unwrap_err();
    assert!(one_line(&err).contains("empty"), "{err}");
    host_still_works(&sandbox);
}

#[test]
fn random_bytes_are_refused() {
    let sandbox = sandbox();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let err = sandbox.load(&noise, "noise.bin", None).unwrap_err();
    assert!(matches!(err, LoadError::NotWasm { .. }), "{err:?}");
    // Random bytes behind a valid component header.
    let mut framed = b"\0asm\x0d\x00\x01\x00".to_vec();
    framed.extend_from_slice(&noise);
    let err = sandbox.load(&framed, "framed.wasm", None).unwrap_err();
    assert!(matches!(err, LoadError::Invalid { .. }), "{err:?}");
    one_line(&err);
    host_still_works(&sandbox);
}

#[test]
fn a_core_module_is_not_a_component() {
    let sandbox = sandbox();
    let module = wat::parse_str("(module (func (export \"f\")))").unwrap();
    let err = sandbox.load(&module, "core.wasm", None).unwrap_err();
    assert!(matches!(err, LoadError::CoreModule { .. }), "{err:?}");
    assert!(one_line(&err).contains("gatehouse build"), "{err}");
}

#[test]
fn an_import_gatehouse_does_not_provide_is_refused() {
    let sandbox = sandbox();
    let component = wat::parse_str(
        r#"(component
            (import "evil:net/socket@1.0.0" (instance (export "connect" (func (param "addr" string) (result u32)))))
        )"#,
    )
    .unwrap();
    let err = sandbox.load(&component, "net.wasm", None).unwrap_err();
    match &err {
        LoadError::UnsupportedImport { import, .. } => assert_eq!(import, "evil:net/socket@1.0.0"),
        other => panic!("expected an unsupported import, got {other:?}"),
    }
    one_line(&err);
    host_still_works(&sandbox);
}

#[test]
fn an_incompatible_wit_version_is_refused() {
    let sandbox = sandbox();
    // 0.1.0 is the contract before consent records, time zones and sender
    // profiles: a component built against it is refused, not adapted.
    for version in ["0.1.0", "0.3.0", "1.0.0"] {
        let component = wat::parse_str(format!(
            r#"(component (import "gatehouse:agent/host@{version}" (instance (export "now" (func (result s64))))))"#
        ))
        .unwrap();
        let err = sandbox.load(&component, "future.wasm", None).unwrap_err();
        assert!(
            matches!(err, LoadError::IncompatibleVersion { .. }),
            "{version}: {err:?}"
        );
        let line = one_line(&err);
        assert!(
            line.contains(&format!("gatehouse:agent/host@{version}")),
            "{err}"
        );
        assert!(line.contains("gatehouse:agent@0.2.0"), "names both: {err}");
    }
    host_still_works(&sandbox);
}

#[test]
fn a_component_exporting_nothing_of_gatehouse_is_refused() {
    let sandbox = sandbox();
    let component = wat::parse_str("(component)").unwrap();
    let err = sandbox.load(&component, "nothing.wasm", None).unwrap_err();
    assert!(
        matches!(err, LoadError::NoGatehouseExport { .. }),
        "{err:?}"
    );
}

#[test]
fn compiled_code_is_cached_and_keyed_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let options = gatehouse::EngineOptions {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let first = gatehouse::Sandbox::new(options.clone()).unwrap();
    let a = first
        .load_file(&guests().hostile, Some(Kind::Policy))
        .unwrap();
    assert!(!a.from_cache);
    let second = gatehouse::Sandbox::new(options).unwrap();
    let b = second
        .load_file(&guests().hostile, Some(Kind::Policy))
        .unwrap();
    assert!(
        b.from_cache,
        "the second engine must find the compiled code"
    );
    assert_eq!(a.hash, b.hash);
    // A corrupted entry is recompiled, never loaded.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let third = gatehouse::Sandbox::new(gatehouse::EngineOptions {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let c = third
        .load_file(&guests().hostile, Some(Kind::Policy))
        .unwrap();
    assert!(!c.from_cache, "a corrupted cache entry must not be used");
    let m = third.validate(
        &c,
        &generic("behave"),
        &ctx(),
        empty_world(),
        &Limits::default(),
    );
    assert_eq!(m.result, Ok(Verdict::Allow));
}

#[test]
fn preinitialised_guests_judge_as_before_and_keep_their_limits() {
    let plain = sandbox();
    let pre = gatehouse::Sandbox::new(gatehouse::EngineOptions {
        preinitialize: true,
        ..Default::default()
    })
    .unwrap();
    assert_ne!(plain.fingerprint(), pre.fingerprint());
    let bytes = std::fs::read(&guests().hostile).unwrap();
    let snapshot = pre.preinitialize(&bytes).unwrap();
    assert_ne!(snapshot, bytes, "a snapshot is a new component");
    let a = load(&plain, &guests().hostile, Kind::Policy);
    let b = load(&pre, &guests().hostile, Kind::Policy);
    // Same identity: the hash is of the component as given.
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.describe, b.describe);
    let limits = Limits {
        fuel: Some(50_000_000),
        timeout_ms: 200,
        ..Limits::default()
    };
    for kind in ["behave", "loop", "memory", "panic", "deny-silently"] {
        let x = plain.validate(&a, &generic(kind), &ctx(), empty_world(), &limits);
        let y = pre.validate(&b, &generic(kind), &ctx(), empty_world(), &limits);
        assert_eq!(
            std::mem::discriminant(&x.result),
            std::mem::discriminant(&y.result),
            "`{kind}`: {:?} vs {:?}",
            x.result,
            y.result
        );
        if let (Ok(vx), Ok(vy)) = (&x.result, &y.result) {
            assert_eq!(vx, vy, "`{kind}`");
        }
        if let (Err(ex), Err(ey)) = (&x.result, &y.result) {
            assert_eq!(
                std::mem::discriminant(ex),
                std::mem::discriminant(ey),
                "`{kind}`: {ex} vs {ey}"
            );
        }
    }
    // A brand pack with its manifest's configuration, too.
    let brand = gatehouse::load_pack(&pre, &guests().brand_manifest).unwrap();
    let plain_brand = gatehouse::load_pack(&plain, &guests().brand_manifest).unwrap();
    assert_eq!(brand.describe, plain_brand.describe);
}
