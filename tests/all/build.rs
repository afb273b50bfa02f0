use crate::support::*;

#[test]
fn guest_builds_are_reproducible() {
    // The same crates built into a fresh target directory give the same bytes.
    let g = guests();
    let target = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let dirs = [
        root().join("policies/brand"),
        root().join("examples/email-outreach"),
    ];
    let again =
        gatehouse::build::build_crates(&dirs, Some(target.path()), Some(out.path())).unwrap();
    let hash = |p: &std::path::Path| blake3::hash(&std::fs::read(p).unwrap());
    assert_eq!(
        again[0].hash,
        hash(&g.brand),
        "brand pack differs between builds"
    );
    assert_eq!(
        again[1].hash,
        hash(&g.skill),
        "skill differs between builds"
    );
}

#[test]
fn componentize_refuses_a_module_without_gatehouse_exports() {
    let module = wat::parse_str("(module (func (export \"f\")))").unwrap();
    let err = gatehouse::build::componentize(&module, "plain.wasm").unwrap_err();
    assert!(
        err.to_string()
            .contains("exports neither a policy nor a skill"),
        "{err}"
    );
}
