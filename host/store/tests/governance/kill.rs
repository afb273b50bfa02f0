//! Kill-switches: one agent, every agent (`*`), and a kill seen at once by
//! another handle on the same store (as by another process).

use crate::support::{T0, by, store};
use gatehouse_store::{Change, KillError, KillOp, Store};

#[test]
fn a_kill_stops_only_its_agent_until_revived() {
    let (_dir, store) = store();
    assert_eq!(store.is_killed("outreach-eu").unwrap(), None);
    let kill = store
        .kill("outreach-eu", &Change::new("ops", "bounce storm", T0))
        .unwrap();
    assert_eq!(kill.op, KillOp::Kill);
    assert!(!kill.is_global());
    assert_eq!(store.is_killed("outreach-eu").unwrap(), Some(kill.clone()));
    assert_eq!(store.is_killed("outreach-us").unwrap(), None);
    // Names are case-insensitive, like scopes.
    assert_eq!(store.is_killed("Outreach-EU").unwrap(), Some(kill));

    let revive = store.revive("outreach-eu", &by("ops", T0 + 1)).unwrap();
    assert_eq!(revive.op, KillOp::Revive);
    assert_eq!(store.is_killed("outreach-eu").unwrap(), None);
    assert!(matches!(
        store.revive("outreach-eu", &by("ops", T0 + 2)),
        Err(KillError::NotKilled { agent }) if agent == "outreach-eu"
    ));
}

#[test]
fn the_global_kill_stops_every_agent_and_wins_over_an_agent_kill() {
    let (_dir, store) = store();
    let own = store.kill("outreach-eu", &by("ops", T0)).unwrap();
    let global = store
        .kill("*", &Change::new("ciso", "incident 12", T0 + 1))
        .unwrap();
    assert!(global.is_global());
    for agent in ["outreach-eu", "outreach-us", "never-seen"] {
        assert_eq!(
            store.is_killed(agent).unwrap(),
            Some(global.clone()),
            "{agent}"
        );
    }
    // Reviving an agent without a kill of its own does not lift `*`.
    let err = store.revive("outreach-us", &by("ops", T0 + 2)).unwrap_err();
    assert!(matches!(err, KillError::KilledGlobally { .. }), "{err}");
    assert!(err.to_string().contains("revive `*`"), "{err}");

    store.revive("*", &by("ciso", T0 + 3)).unwrap();
    assert_eq!(store.is_killed("outreach-us").unwrap(), None);
    // The agent's own kill outlives the global one.
    assert_eq!(store.is_killed("outreach-eu").unwrap(), Some(own));
    assert!(matches!(
        store.revive("*", &by("ciso", T0 + 4)),
        Err(KillError::NotKilled { .. })
    ));

    let ops: Vec<(String, KillOp)> = store
        .kill_history(None)
        .unwrap()
        .into_iter()
        .map(|k| (k.agent, k.op))
        .collect();
    assert_eq!(
        ops,
        [
            ("outreach-eu".to_string(), KillOp::Kill),
            ("*".to_string(), KillOp::Kill),
            ("*".to_string(), KillOp::Revive),
        ]
    );
    assert_eq!(store.kills().unwrap().len(), 1);
}

#[test]
fn killing_twice_keeps_the_kill_and_records_the_new_reason() {
    let (_dir, store) = store();
    store
        .kill("outreach-eu", &Change::new("ops", "first", T0))
        .unwrap();
    let again = store
        .kill("outreach-eu", &Change::new("ops", "second", T0 + 1))
        .unwrap();
    assert_eq!(store.is_killed("outreach-eu").unwrap(), Some(again));
    assert_eq!(store.kill_history(Some("outreach-eu")).unwrap().len(), 2);
}

#[test]
fn a_kill_is_seen_at_once_through_another_handle() {
    // Another `Store` has its own connection, as another process would.
    let (dir, store) = store();
    let other = Store::open(dir.path()).unwrap();
    assert_eq!(other.is_killed("outreach-eu").unwrap(), None);
    let kill = store.kill("outreach-eu", &by("ops", T0)).unwrap();
    assert_eq!(other.is_killed("outreach-eu").unwrap(), Some(kill));
    store.revive("outreach-eu", &by("ops", T0 + 1)).unwrap();
    assert_eq!(other.is_killed("outreach-eu").unwrap(), None);
}

#[test]
fn bad_input_is_refused() {
    let (_dir, store) = store();
    assert!(matches!(
        store.kill("-rf", &by("ops", T0)),
        Err(KillError::Input(e)) if e.what == "agent"
    ));
    assert!(matches!(
        store.kill("outreach", &Change::new("ops", "  ", T0)),
        Err(KillError::Input(e)) if e.what == "reason"
    ));
    assert!(matches!(store.is_killed("a b"), Err(KillError::Input(_))));
}
