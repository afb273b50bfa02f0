//! Principals, roles and API tokens: tokens hashed at rest, revocation,
//! role checks with clear messages, and the local-admin bootstrap.

use crate::support::{T0, by, raw, store};
use gatehouse_store::{AuthError, LOCAL_ADMIN, Role, Store};

fn setup(store: &Store) {
    let local = store.local_admin().unwrap();
    let admin = by(local.name(), T0);
    store
        .add_principal("alice", &[Role::Admin, Role::Operator], &admin)
        .unwrap();
    store
        .add_principal("bob", &[Role::Approver], &admin)
        .unwrap();
}

#[test]
fn the_local_admin_holds_every_role_until_an_admin_has_a_token() {
    let (_dir, store) = store();
    let local = store.local_admin().unwrap();
    assert_eq!(local.name(), LOCAL_ADMIN);
    assert!(local.is_local_admin());
    for role in Role::ALL {
        local.require(role, "do anything").unwrap();
    }
    setup(&store);
    // Principals without an admin token leave the bootstrap open: nobody
    // could log in as admin yet.
    let bob = store.issue_token("bob", &by("local-admin", T0)).unwrap();
    store.local_admin().unwrap();
    let alice = store.issue_token("alice", &by("local-admin", T0)).unwrap();
    assert!(matches!(
        store.local_admin(),
        Err(AuthError::BootstrapClosed)
    ));
    assert_eq!(store.authenticate(&alice.token).unwrap().name(), "alice");
    assert!(!store.authenticate(&bob.token).unwrap().is_local_admin());
}

#[test]
fn a_token_authenticates_its_principal_with_its_roles_now() {
    let (_dir, store) = store();
    setup(&store);
    let issued = store.issue_token("bob", &by("alice", T0)).unwrap();
    assert!(issued.token.starts_with("ght_") && issued.token.len() == 68);
    assert_eq!(issued.record.principal, "bob");
    // A token file's final newline is fine.
    let bob = store.authenticate(&format!("{}\n", issued.token)).unwrap();
    assert_eq!(bob.name(), "bob");
    assert_eq!(bob.roles().collect::<Vec<_>>(), [Role::Approver]);
    bob.require(Role::Approver, "approve").unwrap();
    let refused = bob.require(Role::Operator, "kill an agent").unwrap_err();
    assert_eq!(
        refused.to_string(),
        "principal `bob` lacks role `operator` needed to kill an agent"
    );
    // Role changes apply at the next authentication.
    store
        .set_roles(
            "bob",
            &[Role::Approver, Role::Auditor],
            &by("alice", T0 + 1),
        )
        .unwrap();
    assert!(
        store
            .authenticate(&issued.token)
            .unwrap()
            .has(Role::Auditor)
    );
    let approver_only = store.authenticate(&issued.token).unwrap();
    assert!(
        approver_only
            .require(Role::Admin, "add principals")
            .unwrap_err()
            .to_string()
            .contains("lacks role `admin`")
    );
}

#[test]
fn revoked_unknown_and_malformed_tokens_are_refused() {
    let (_dir, store) = store();
    setup(&store);
    let issued = store.issue_token("bob", &by("alice", T0)).unwrap();
    let revoked = store
        .revoke_token(&issued.record.id, &by("alice", T0 + 1))
        .unwrap();
    assert_eq!(revoked.revoked.unwrap().actor, "alice");
    assert!(matches!(
        store.authenticate(&issued.token),
        Err(AuthError::RevokedToken { id }) if id == issued.record.id
    ));
    assert!(matches!(
        store.revoke_token(&issued.record.id, &by("alice", T0 + 2)),
        Err(AuthError::AlreadyRevoked { .. })
    ));
    let unknown = format!("ght_{}", "ab".repeat(32));
    assert!(matches!(
        store.authenticate(&unknown),
        Err(AuthError::UnknownToken)
    ));
    for bad in [
        "",
        "ght_",
        "ght_xyz",
        &format!("ght_{}", "AB".repeat(32)),
        &unknown[1..],
    ] {
        let err = store.authenticate(bad).unwrap_err();
        assert!(matches!(err, AuthError::Malformed), "{bad}: {err}");
    }
    // Error messages never quote a token.
    let wrong = format!("ght_{}z", "ab".repeat(31));
    assert!(
        !store
            .authenticate(&wrong)
            .unwrap_err()
            .to_string()
            .contains(&wrong)
    );
}

#[test]
fn tokens_are_stored_only_as_hashes() {
    let (dir, store) = store();
    setup(&store);
    let issued = store.issue_token("alice", &by("local-admin", T0)).unwrap();
    let secret_hex = issued.token.trim_start_matches("ght_").to_string();
    assert_eq!(secret_hex.len(), 64);
    assert!(!format!("{issued:?}").contains(&secret_hex));

    // Every column of every row of every table, as text.
    let conn = raw(dir.path());
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.iter().any(|t| t == "api_tokens"));
    let mut cells = 0;
    for table in &tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let text = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).to_lowercase()
                    }
                    other => format!("{other:?}"),
                };
                assert!(
                    !text.contains(&secret_hex),
                    "{table} column {i} holds the token"
                );
                cells += 1;
            }
        }
    }
    assert!(cells > 0);
    let hash: String = conn
        .query_row("SELECT hash FROM api_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hash.len(), 64);
    assert_ne!(hash, secret_hex);
    drop(conn);
    // Nor anywhere in the files, in hex or in raw bytes.
    let raw_secret = hex::decode(&secret_hex).unwrap();
    for file in ["gatehouse.db", "gatehouse.db-wal"] {
        let Ok(bytes) = std::fs::read(dir.path().join(file)) else {
            continue;
        };
        let found_hex = bytes
            .windows(secret_hex.len())
            .any(|w| w == secret_hex.as_bytes());
        let found_raw = bytes
            .windows(raw_secret.len())
            .any(|w| w == raw_secret.as_slice());
        assert!(!found_hex && !found_raw, "{file} holds the token");
    }
    // And the hash authenticates.
    assert_eq!(store.authenticate(&issued.token).unwrap().name(), "alice");
}

#[test]
fn the_last_admin_token_cannot_be_lost() {
    let (_dir, store) = store();
    setup(&store);
    let first = store.issue_token("alice", &by("local-admin", T0)).unwrap();
    let err = store
        .revoke_token(&first.record.id, &by("alice", T0 + 1))
        .unwrap_err();
    assert!(matches!(err, AuthError::LastAdmin { .. }), "{err}");
    let err = store
        .set_roles("alice", &[Role::Operator], &by("alice", T0 + 1))
        .unwrap_err();
    assert!(matches!(err, AuthError::LastAdmin { .. }), "{err}");
    // Rotation: the successor first, then the old token goes.
    let second = store.issue_token("alice", &by("alice", T0 + 2)).unwrap();
    store
        .revoke_token(&first.record.id, &by("alice", T0 + 3))
        .unwrap();
    assert_eq!(store.authenticate(&second.token).unwrap().name(), "alice");
    assert!(store.authenticate(&second.token).unwrap().has(Role::Admin));
    assert!(matches!(
        store.local_admin(),
        Err(AuthError::BootstrapClosed)
    ));
    assert_eq!(store.principal("alice").unwrap().live_tokens, 1);
    assert_eq!(store.tokens(Some("alice")).unwrap().len(), 2);
}

#[test]
fn principal_names_are_checked() {
    let (_dir, store) = store();
    setup(&store);
    let admin = by("alice", T0);
    assert!(matches!(
        store.add_principal("bob", &[Role::Author], &admin),
        Err(AuthError::PrincipalExists { .. })
    ));
    assert!(matches!(
        store.add_principal(LOCAL_ADMIN, &[Role::Author], &admin),
        Err(AuthError::ReservedName { .. })
    ));
    assert!(matches!(
        store.add_principal("Bob Smith", &[Role::Author], &admin),
        Err(AuthError::Input(e)) if e.what == "principal"
    ));
    assert!(matches!(
        store.issue_token("nobody", &admin),
        Err(AuthError::NoPrincipal { .. })
    ));
    let names: Vec<String> = store
        .principals()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!("auditor".parse::<Role>().unwrap(), Role::Auditor);
    assert!("root".parse::<Role>().is_err());
}
