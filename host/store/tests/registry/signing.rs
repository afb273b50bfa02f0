//! Keys, key files, signatures, trust policies, quorum, revocation and
//! rotation.

use crate::support::{T0, by, publish, raw, sign, store, team_key};
use gatehouse_store::{
    ArtifactKind, Change, ChannelError, KeyError, KeyPair, PublicKey, Scope, SignatureError,
    SignatureStatus, Store, TrustError, TrustPolicy,
};

const POLICY: &str = r#"schema = 1

# production policy packs: legal AND brand
[channel.production.policy-pack]
legal = 1
brand = 1

[channel.production.skill]
engineering = 2

["channel"."*".skill]
engineering = 1
"#;

fn untrusted(err: TrustError) -> String {
    match err {
        TrustError::Untrusted(report) => {
            assert!(!report.is_trusted());
            report.to_string()
        }
        other => panic!("expected Untrusted, got {other:?}"),
    }
}

#[test]
fn key_files_round_trip_and_keep_the_secret_out_of_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate("legal", "Dana <dana@acme.example>").unwrap();
    let secret_path = dir.path().join("legal.key.json");
    let public_path = dir.path().join("legal.pub.json");
    key.write_secret(&secret_path).unwrap();
    key.public().write(&public_path).unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    let loaded = KeyPair::load_secret(&secret_path).unwrap();
    assert_eq!(loaded.key_id(), key.key_id());
    let public = PublicKey::load(&public_path).unwrap();
    assert_eq!(&public, key.public());
    assert_eq!(public.team(), "legal");
    assert_eq!(public.owner(), "Dana <dana@acme.example>");
    assert_eq!(public.key_id().as_str().len(), 16);

    let secret_text = std::fs::read_to_string(&secret_path).unwrap();
    let secret_hex = serde_json::from_str::<serde_json::Value>(&secret_text).unwrap()["secret_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(secret_hex.len(), 64);
    assert!(!format!("{key:?}").contains(&secret_hex));
    assert!(format!("{key:?}").contains("<redacted>"));
    let public_text = std::fs::read_to_string(&public_path).unwrap();
    assert!(!public_text.contains(&secret_hex));
    assert!(public_text.contains("\"format\": \"gatehouse-public-key-v1\""));

    // Never overwrite a key.
    let err = key.write_secret(&secret_path).unwrap_err();
    assert!(matches!(err, KeyError::Exists { .. }), "{err}");
    // The wrong kind of file, an edited id, an unknown field.
    let err = KeyPair::load_secret(&public_path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("this is a public key file; a secret key file is needed"),
        "{err}"
    );
    let err = PublicKey::from_json(&secret_text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid key file: this is a secret key file; expected a public key file"
    );
    let edited = public_text.replace(public.key_id().as_str(), "0000000000000000");
    let err = PublicKey::from_json(&edited).unwrap_err();
    assert!(
        err.to_string().contains("does not match the public key"),
        "{err}"
    );
    let extra = public_text.replacen('{', "{\n  \"trusted\": true,", 1);
    let err = PublicKey::from_json(&extra).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid key file: line 2, column"),
        "{err}"
    );
    assert!(err.to_string().contains("unknown field `trusted`"), "{err}");
    // A secret file whose public key was swapped for another's.
    let other = KeyPair::generate("legal", "eve").unwrap();
    let swapped = secret_text.replace(&key.public().to_hex(), &other.public().to_hex());
    let err = KeyPair::from_secret_json(&swapped).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid key file: `public_key` does not match `secret_key`"
    );
    assert!(!err.to_string().contains(&secret_hex));
}

#[test]
fn a_signature_covers_kind_name_version_and_hash() {
    let (_dir, store) = store();
    let key = KeyPair::generate("brand", "bo").unwrap();
    let a = publish(&store, ArtifactKind::PolicyPack, "brand", "1.0.0", b"pack");
    assert_eq!(
        String::from_utf8(a.id.signing_message()).unwrap(),
        format!(
            "gatehouse artifact signature v1\npolicy-pack\nbrand\n1.0.0\n{}",
            a.id.hash
        )
    );
    let sig = key.sign(&a.id);
    key.public().verify(&a.id, &sig).unwrap();
    let mut other = a.id.clone();
    other.version = "1.0.1".parse().unwrap();
    assert!(key.public().verify(&other, &sig).is_err());
    let mut other = a.id.clone();
    other.kind = ArtifactKind::Config;
    assert!(key.public().verify(&other, &sig).is_err());
    let mut other = a.id.clone();
    other.name = "brand2".into();
    assert!(key.public().verify(&other, &sig).is_err());
    let mut other = a.id.clone();
    other.hash = gatehouse_store::Hash::of(b"other");
    assert!(key.public().verify(&other, &sig).is_err());
    // A detached signature is plain JSON.
    let text = serde_json::to_string(&sig).unwrap();
    assert_eq!(
        serde_json::from_str::<gatehouse_store::Signature>(&text).unwrap(),
        sig
    );
}

#[test]
fn add_signature_refuses_unknown_keys_other_content_and_revoked_keys() {
    let (_dir, store) = store();
    let a = publish(
        &store,
        ArtifactKind::PolicyPack,
        "brand",
        "1.0.0",
        b"pack v1",
    );
    let b = publish(
        &store,
        ArtifactKind::PolicyPack,
        "brand",
        "1.1.0",
        b"pack v2",
    );
    let stranger = KeyPair::generate("legal", "stranger").unwrap();
    let err = store
        .add_signature("brand", "1.0.0", &stranger.sign(&a.id), T0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "key `{}` is not registered; register it with its team first",
            stranger.key_id()
        )
    );

    let legal = team_key(&store, "legal");
    // A signature over other content (another version) is refused.
    let err = store
        .add_signature("brand", "1.0.0", &legal.sign(&b.id), T0)
        .unwrap_err();
    assert!(matches!(err, SignatureError::Mismatch { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "signature by key `{}` does not verify for policy-pack `brand@1.0.0` (blake3 `{}`)",
            legal.key_id(),
            a.id.hash
        )
    );
    // Garbage bytes.
    let mut bad = legal.sign(&a.id);
    bad.signature = "zz".into();
    assert!(matches!(
        store.add_signature("brand", "1.0.0", &bad, T0),
        Err(SignatureError::Malformed { .. })
    ));

    // The right one, twice: idempotent.
    let good = legal.sign(&a.id);
    store.add_signature("brand", "1.0.0", &good, T0).unwrap();
    let again = store
        .add_signature("brand", "1.0.0", &good, T0 + 9)
        .unwrap();
    assert_eq!(again.signatures, vec![good]);

    store
        .revoke_key(legal.key_id(), &by("laptop stolen"))
        .unwrap();
    let err = store
        .add_signature("brand", "1.1.0", &legal.sign(&b.id), T0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "key `{}` was revoked at {} ms; its signatures no longer count",
            legal.key_id(),
            T0 + 1
        )
    );
}

fn policy_store() -> (tempfile::TempDir, Store) {
    let (dir, store) = store();
    store
        .set_trust_policy(POLICY, &by("legal and brand sign production packs"))
        .unwrap();
    publish(&store, ArtifactKind::PolicyPack, "brand", "1.0.0", b"pack");
    (dir, store)
}

#[test]
fn unsigned_and_half_signed_artifacts_are_refused_naming_the_requirement() {
    let (_dir, store) = policy_store();
    let legal = team_key(&store, "legal");
    let brand = team_key(&store, "brand");

    let msg = untrusted(store.verify("brand", "1.0.0", "production").unwrap_err());
    assert_eq!(
        msg,
        "`brand@1.0.0` is not trusted for channel `production`: \
         production policy-pack needs 1 signature from team `legal`, found 0 valid (the artifact is unsigned); \
         production policy-pack needs 1 signature from team `brand`, found 0 valid (the artifact is unsigned)"
    );
    let err = store
        .promote("brand", "1.0.0", "production", &Scope::any(), &by("ship"))
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::Trust(TrustError::Untrusted(_))),
        "{err}"
    );

    sign(&store, &legal, "brand", "1.0.0");
    let msg = untrusted(store.verify("brand", "1.0.0", "production").unwrap_err());
    assert_eq!(
        msg,
        "`brand@1.0.0` is not trusted for channel `production`: production policy-pack needs 1 signature from team `brand`, found 0 valid"
    );

    sign(&store, &brand, "brand", "1.0.0");
    let report = store.verify("brand", "1.0.0", "production").unwrap();
    assert!(report.is_trusted());
    assert_eq!(report.quorums.len(), 2);
    store
        .promote("brand", "1.0.0", "production", &Scope::any(), &by("ship"))
        .unwrap();

    // A channel without a rule for the kind needs nothing.
    let report = store.verify("brand", "1.0.0", "staging").unwrap();
    assert!(report.quorums.is_empty());
}

#[test]
fn a_revoked_keys_signatures_stop_counting() {
    let (_dir, store) = policy_store();
    let legal = team_key(&store, "legal");
    let brand = team_key(&store, "brand");
    sign(&store, &legal, "brand", "1.0.0");
    sign(&store, &brand, "brand", "1.0.0");
    store.verify("brand", "1.0.0", "production").unwrap();

    let record = store.revoke_key(legal.key_id(), &by("key leaked")).unwrap();
    let revocation = record.revoked.clone().unwrap();
    assert_eq!(
        (revocation.at_ms, revocation.reason.as_str()),
        (T0 + 1, "key leaked")
    );
    // Idempotent: the first revocation stays.
    let again = store
        .revoke_key(
            legal.key_id(),
            &Change::new("someone-else", "again", T0 + 500),
        )
        .unwrap();
    assert_eq!(again.revoked, record.revoked);

    let err = store.verify("brand", "1.0.0", "production").unwrap_err();
    let TrustError::Untrusted(report) = &err else {
        panic!("{err}")
    };
    assert!(
        report
            .signatures
            .iter()
            .any(|s| matches!(s.status, SignatureStatus::Revoked { .. }))
    );
    assert_eq!(
        err.to_string(),
        format!(
            "`brand@1.0.0` is not trusted for channel `production`: production policy-pack needs 1 signature from team `legal`, found 0 valid (1 by revoked key `{}`)",
            legal.key_id()
        )
    );
}

#[test]
fn rotation_gives_the_team_a_new_key_and_revocation_retires_the_old() {
    let (_dir, store) = policy_store();
    let old = team_key(&store, "legal");
    let brand = team_key(&store, "brand");
    sign(&store, &old, "brand", "1.0.0");
    sign(&store, &brand, "brand", "1.0.0");

    let new = KeyPair::generate("legal", "dana").unwrap();
    let record = store
        .rotate_key(old.key_id(), new.public(), T0 + 10)
        .unwrap();
    assert_eq!(record.replaces.as_ref(), Some(old.key_id()));
    assert_eq!(record.team, "legal");
    // Another team's key cannot take over legal's.
    let intruder = KeyPair::generate("brand", "mallory").unwrap();
    let err = store
        .rotate_key(old.key_id(), intruder.public(), T0)
        .unwrap_err();
    assert!(matches!(err, KeyError::TeamMismatch { .. }), "{err}");
    let other_legal = team_key(&store, "legal");
    let err = store
        .rotate_key(old.key_id(), other_legal.public(), T0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "key `{}` is already registered as a key of its own; a rotation needs a new key",
            other_legal.key_id()
        )
    );
    let again = store
        .rotate_key(old.key_id(), new.public(), T0 + 99)
        .unwrap();
    assert_eq!(again, record, "idempotent");

    // Grace period: the old key still counts until it is revoked.
    store.verify("brand", "1.0.0", "production").unwrap();
    store.revoke_key(old.key_id(), &by("rotated")).unwrap();
    assert!(store.verify("brand", "1.0.0", "production").is_err());
    sign(&store, &new, "brand", "1.0.0");
    let report = store.verify("brand", "1.0.0", "production").unwrap();
    assert_eq!(report.quorums[0].valid, vec![new.key_id().clone()]);
    assert_eq!(store.keys().unwrap().len(), 4);
}

#[test]
fn k_of_n_needs_distinct_keys_of_the_team() {
    let (_dir, store) = policy_store();
    publish(&store, ArtifactKind::Skill, "outreach", "1.0.0", b"skill");
    let e1 = team_key(&store, "engineering");
    let e2 = team_key(&store, "engineering");
    let legal = team_key(&store, "legal");
    sign(&store, &e1, "outreach", "1.0.0");
    sign(&store, &e1, "outreach", "1.0.0");
    sign(&store, &legal, "outreach", "1.0.0");
    let msg = untrusted(store.verify("outreach", "1.0.0", "production").unwrap_err());
    assert_eq!(
        msg,
        "`outreach@1.0.0` is not trusted for channel `production`: production skill needs 2 signatures from team `engineering`, found 1 valid"
    );
    // The "*" rule: any other channel needs one engineering key.
    store.verify("outreach", "1.0.0", "staging").unwrap();
    sign(&store, &e2, "outreach", "1.0.0");
    store.verify("outreach", "1.0.0", "production").unwrap();
}

#[test]
fn a_stored_signature_over_other_content_is_caught_at_verification() {
    let (dir, store) = policy_store();
    let legal = team_key(&store, "legal");
    let brand = team_key(&store, "brand");
    sign(&store, &legal, "brand", "1.0.0");
    sign(&store, &brand, "brand", "1.0.0");
    let other = publish(
        &store,
        ArtifactKind::PolicyPack,
        "brand",
        "0.9.0",
        b"older pack",
    );
    // Swap in legal's (valid) signature of another version, behind the store's back.
    let forged = legal.sign(&other.id);
    raw(dir.path())
        .execute(
            "UPDATE signatures SET signature = ?1 WHERE version = '1.0.0' AND key_id = ?2",
            [forged.signature.as_str(), legal.key_id().as_str()],
        )
        .unwrap();
    let err = store.verify("brand", "1.0.0", "production").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`brand@1.0.0` is not trusted for channel `production`: production policy-pack needs 1 signature from team `legal`, found 0 valid (1 invalid by key `{}`)",
            legal.key_id()
        )
    );
    let err = store
        .promote("brand", "1.0.0", "production", &Scope::any(), &by("ship"))
        .unwrap_err();
    assert!(err.to_string().contains("1 invalid by key"), "{err}");
}

#[test]
fn trust_policy_errors_name_line_column_and_field() {
    let cases: &[(&str, &str)] = &[
        (
            "schema = 1\n[channel.production.policy_pack]\nlegal = 1\n",
            "trust policy, line 2, column 21: unknown field `policy_pack`, expected one of `skill`, `policy-pack`, `config`, `prompt`",
        ),
        (
            "schema = 1\n[channel.production.skill]\nengineering = 0\n",
            "trust policy, line 3, column 15: team `engineering` needs a count of at least 1 (found 0)",
        ),
        (
            "schema = 1\n[channel.production.skill]\nLegal = 1\n",
            "trust policy, line 3, column 1: invalid team `Legal`",
        ),
        (
            "schema = 1\n[channel.Prod.skill]\nlegal = 1\n",
            "trust policy, line 2, column 10: invalid channel `Prod`",
        ),
        (
            "schema = 2\n",
            "trust policy, line 1, column 10: schema 2 is not supported (this gatehouse reads schema 1)",
        ),
        (
            "schema = 1\nchannels = {}\n",
            "trust policy, line 2, column 1: unknown field `channels`",
        ),
        ("[channel.production.skill]\nlegal = 1\n", "trust policy"),
    ];
    for (text, message) in cases {
        let err = TrustPolicy::parse(text).unwrap_err().to_string();
        assert!(
            err.starts_with(message),
            "{text:?}\n  got: {err}\n want: {message}"
        );
        assert!(!err.contains('\n'));
    }
    let policy = TrustPolicy::parse(POLICY).unwrap();
    assert_eq!(
        policy
            .requirements("production", ArtifactKind::PolicyPack)
            .len(),
        2
    );
    assert_eq!(
        policy.requirements("canary", ArtifactKind::Skill)[0].team,
        "engineering"
    );
    assert!(
        policy
            .requirements("canary", ArtifactKind::Prompt)
            .is_empty()
    );
}

#[test]
fn trust_policies_are_stored_with_who_and_why() {
    let (_dir, store) = store();
    assert!(store.trust_policy().unwrap().is_none());
    let first = store.set_trust_policy(POLICY, &by("initial")).unwrap();
    assert_eq!(first.actor, "ops@acme.example");
    assert_eq!(first.reason, "initial");
    assert_eq!(
        store.set_trust_policy(POLICY, &by("same text")).unwrap(),
        first,
        "idempotent"
    );
    let second = store
        .set_trust_policy("schema = 1\n", &by("relax"))
        .unwrap();
    assert!(second.seq > first.seq);
    let (current, policy) = store.trust_policy().unwrap().unwrap();
    assert_eq!(current, second);
    assert!(
        policy
            .requirements("production", ArtifactKind::PolicyPack)
            .is_empty()
    );
    assert!(
        store
            .set_trust_policy("schema = 1\n[channel.x.bogus]\n", &by("bad"))
            .is_err()
    );
    assert_eq!(
        store.trust_policy().unwrap().unwrap().0,
        second,
        "a bad policy changes nothing"
    );
}

#[test]
fn a_key_belongs_to_one_team() {
    let (_dir, store) = store();
    let key = team_key(&store, "legal");
    assert_eq!(
        store
            .register_key(key.public(), T0 + 5)
            .unwrap()
            .registered_ms,
        T0,
        "idempotent"
    );
    let text = key.public().to_json();
    let relabelled = text.replace("\"team\": \"legal\"", "\"team\": \"brand\"");
    let public = PublicKey::from_json(&relabelled).unwrap();
    let err = store.register_key(&public, T0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "key `{}` is already registered for team `legal`; a key belongs to one team (generate a new key for `brand`)",
            key.key_id()
        )
    );
    assert!(KeyPair::generate("Legal Team", "x").is_err());
}
