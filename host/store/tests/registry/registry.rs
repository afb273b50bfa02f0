//! Publishing: idempotence, conflicts, names, versions, kinds, listing.

use crate::support::{T0, publish, store};
use gatehouse_store::{ArtifactKind, Hash, Publish, RegistryError, Store};

fn try_publish(
    store: &Store,
    kind: ArtifactKind,
    name: &str,
    version: &str,
    bytes: &[u8],
) -> Result<gatehouse_store::Published, RegistryError> {
    store.publish(&Publish {
        kind,
        name,
        version,
        bytes,
        publisher: "bob",
        at_ms: T0 + 5,
    })
}

#[test]
fn publish_then_show() {
    let (_dir, store) = store();
    let a = publish(
        &store,
        ArtifactKind::PolicyPack,
        "brand",
        "1.2.0",
        b"pack bytes",
    );
    assert_eq!(a.id.name, "brand");
    assert_eq!(a.id.kind, ArtifactKind::PolicyPack);
    assert_eq!(a.id.version.to_string(), "1.2.0");
    assert_eq!(a.id.hash, Hash::of(b"pack bytes"));
    assert_eq!(a.publisher, "alice@acme.example");
    assert_eq!(a.published_ms, T0);
    assert!(a.signatures.is_empty());
    assert_eq!(store.show("brand", "1.2.0").unwrap(), a);
    assert_eq!(store.get(&a.id.hash).unwrap(), b"pack bytes");
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["kind"], "policy-pack");
    assert_eq!(json["blake3"], a.id.hash.to_string());
}

#[test]
fn publishing_identical_bytes_again_is_idempotent() {
    let (_dir, store) = store();
    let first = try_publish(&store, ArtifactKind::Skill, "outreach", "1.0.0", b"v1").unwrap();
    assert!(first.created);
    let again = store
        .publish(&Publish {
            kind: ArtifactKind::Skill,
            name: "outreach",
            version: "1.0.0",
            bytes: b"v1",
            publisher: "carol",
            at_ms: T0 + 99,
        })
        .unwrap();
    assert!(!again.created);
    assert_eq!(
        again.artifact, first.artifact,
        "the original record (publisher, time) is kept"
    );
    assert_eq!(store.list(None, None).unwrap().len(), 1);
}

#[test]
fn the_same_version_with_other_bytes_is_refused_naming_both_hashes() {
    let (_dir, store) = store();
    publish(&store, ArtifactKind::Skill, "outreach", "1.0.0", b"v1");
    let err = try_publish(
        &store,
        ArtifactKind::Skill,
        "outreach",
        "1.0.0",
        b"v1 but different",
    )
    .unwrap_err();
    let (old, new) = (Hash::of(b"v1"), Hash::of(b"v1 but different"));
    assert!(
        matches!(&err, RegistryError::Conflict { existing, attempted, .. } if *existing == old && *attempted == new)
    );
    assert_eq!(
        err.to_string(),
        format!(
            "`outreach@1.0.0` is already published with blake3 `{old}`; refusing different bytes with blake3 `{new}` (publish a new version)"
        )
    );
    assert_eq!(store.show("outreach", "1.0.0").unwrap().id.hash, old);
}

#[test]
fn the_same_bytes_may_carry_several_versions() {
    let (_dir, store) = store();
    let a = publish(&store, ArtifactKind::Prompt, "greeting", "1.0.0", b"hello");
    let b = publish(&store, ArtifactKind::Prompt, "greeting", "1.0.1", b"hello");
    assert_eq!(a.id.hash, b.id.hash);
}

#[test]
fn invalid_names_and_versions_are_refused_with_one_line_messages() {
    let (_dir, store) = store();
    let cases: &[(&str, &str, &str)] = &[
        (
            "Brand",
            "1.0.0",
            "invalid artifact name `Brand`: use 1–64 lowercase letters, digits, `-` and `.`, starting with a letter or digit",
        ),
        ("", "1.0.0", "invalid artifact name ``: use 1–64"),
        ("a b", "1.0.0", "invalid artifact name `a b`"),
        ("-rf", "1.0.0", "invalid artifact name `-rf`"),
        ("..", "1.0.0", "invalid artifact name `..`"),
        ("x\ny", "1.0.0", "invalid artifact name `x\\ny`"),
        (&"a".repeat(65), "1.0.0", "invalid artifact name `aaaa"),
        (
            "brand",
            "1.0",
            "invalid version `1.0`: unexpected end of input while parsing minor version number",
        ),
        ("brand", "v1.0.0", "invalid version `v1.0.0`"),
        ("brand", "01.0.0", "invalid version `01.0.0`"),
        (
            "brand",
            "1.0.0+build.5",
            "invalid version `1.0.0+build.5`: build metadata (`+…`) is not allowed: the blake3 already identifies the build",
        ),
    ];
    for (name, version, message) in cases {
        let err = try_publish(&store, ArtifactKind::Skill, name, version, b"x").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(message), "{name:?}@{version:?}: {text}");
        assert!(!text.contains('\n'), "{text}");
    }
    // The longest name is fine; so are digits, dots and dashes.
    for ok in [&"a".repeat(64), "9lives", "acme.brand-pack"] {
        try_publish(&store, ArtifactKind::Skill, ok, "1.0.0", ok.as_bytes()).unwrap();
    }
    let err = store
        .publish(&Publish {
            kind: ArtifactKind::Skill,
            name: "x",
            version: "1.0.0",
            bytes: b"",
            publisher: " ",
            at_ms: T0,
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid publisher ` `: must not be empty");
    assert_eq!(
        "policy_pack"
            .parse::<ArtifactKind>()
            .unwrap_err()
            .to_string(),
        "invalid artifact kind `policy_pack`: expected `skill`, `policy-pack`, `config` or `prompt`"
    );
}

#[test]
fn a_name_keeps_one_kind() {
    let (_dir, store) = store();
    publish(&store, ArtifactKind::PolicyPack, "brand", "1.0.0", b"pack");
    let err = try_publish(&store, ArtifactKind::Skill, "brand", "2.0.0", b"skill").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`brand` is published as a policy-pack; it cannot also be published as a skill"
    );
    let err = try_publish(&store, ArtifactKind::Skill, "brand", "1.0.0", b"pack").unwrap_err();
    assert!(matches!(err, RegistryError::KindConflict { .. }), "{err}");
}

#[test]
fn list_filters_by_kind_and_name_in_semver_order() {
    let (_dir, store) = store();
    for v in ["1.10.0", "1.9.0", "2.0.0", "2.0.0-rc.1"] {
        publish(&store, ArtifactKind::Skill, "outreach", v, v.as_bytes());
    }
    publish(&store, ArtifactKind::PolicyPack, "brand", "0.1.0", b"p");
    let versions: Vec<String> = store
        .list(None, Some("outreach"))
        .unwrap()
        .iter()
        .map(|a| a.id.version.to_string())
        .collect();
    assert_eq!(versions, ["1.9.0", "1.10.0", "2.0.0-rc.1", "2.0.0"]);
    assert_eq!(
        store
            .list(Some(ArtifactKind::PolicyPack), None)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.list(Some(ArtifactKind::Prompt), None).unwrap().len(),
        0
    );
    let all: Vec<String> = store
        .list(None, None)
        .unwrap()
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    assert_eq!(all[0], "brand@0.1.0");
    assert_eq!(all.len(), 5);
}

#[test]
fn show_of_a_missing_version_says_so() {
    let (_dir, store) = store();
    assert_eq!(
        store.show("brand", "9.9.9").unwrap_err().to_string(),
        "`brand@9.9.9` is not published"
    );
}
