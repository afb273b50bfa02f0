//! Faults: two processes publishing and promoting at once, and kill -9 in
//! the middle of publish/promote. The children are this test binary,
//! re-run on `faults::child_worker` with an environment variable saying
//! what to do.

use crate::support::T0;
use gatehouse_store::{
    ArtifactKind, Change, ChannelError, Hash, KeyPair, Lock, Pin, Publish, RegistryError,
    RollbackTo, Scope, Store,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MODE: &str = "GATEHOUSE_STORE_TEST_CHILD";
const DIR: &str = "GATEHOUSE_STORE_TEST_DIR";
const WORKER: &str = "GATEHOUSE_STORE_TEST_WORKER";
const READY: &str = "GATEHOUSE-CHILD-READY";
const ROUNDS: u64 = 30;

fn spawn(mode: &str, dir: &Path, worker: u32) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "faults::child_worker",
            "--nocapture",
            "--ignored",
        ])
        .env(MODE, mode)
        .env(DIR, dir)
        .env(WORKER, worker.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The child process. Does nothing unless spawned by a fault test.
#[test]
#[ignore = "a child process of the fault tests"]
fn child_worker() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var(DIR).unwrap());
    let worker: u32 = std::env::var(WORKER).unwrap().parse().unwrap();
    let store = Store::open(&dir).unwrap();
    match mode.as_str() {
        "race" => race(&store, &dir, worker),
        "crash" => crash(&store, &dir),
        other => panic!("unknown child mode {other}"),
    }
}

fn change(worker: u32, i: u64) -> (String, i64) {
    (format!("worker-{worker}"), T0 + i as i64)
}

/// Both workers publish the same versions of `shared` (identical bytes)
/// and of `contested` (different bytes per worker), and promote and roll
/// back `shared` on production and `contested` on staging, all at once.
fn race(store: &Store, dir: &Path, worker: u32) {
    // Start together: announce, then wait for the parent's go.
    std::fs::write(dir.join(format!("ready-{worker}")), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("go").exists() {
        assert!(Instant::now() < deadline, "no go from the parent");
        std::thread::sleep(Duration::from_millis(1));
    }
    for i in 0..ROUNDS {
        let version = format!("1.0.{i}");
        let (actor, at_ms) = change(worker, i);
        let shared = format!("shared {i}");
        store
            .publish(&Publish {
                kind: ArtifactKind::Skill,
                name: "shared",
                version: &version,
                bytes: shared.as_bytes(),
                publisher: &actor,
                at_ms,
            })
            .unwrap();
        let contested = format!("contested {i} from worker {worker}");
        match store.publish(&Publish {
            kind: ArtifactKind::Prompt,
            name: "contested",
            version: &version,
            bytes: contested.as_bytes(),
            publisher: &actor,
            at_ms,
        }) {
            Ok(_) | Err(RegistryError::Conflict { .. }) => {}
            Err(e) => panic!("publish contested@{version}: {e}"),
        }
        let by = Change::new(&actor, "race", at_ms);
        for (name, channel) in [("shared", "production"), ("contested", "staging")] {
            match store.promote(name, &version, channel, &Scope::any(), &by) {
                Ok(_)
                | Err(ChannelError::AlreadyOn { .. })
                | Err(ChannelError::Downgrade { .. }) => {}
                Err(e) => panic!("promote {name}@{version}: {e}"),
            }
        }
        if i % 7 == 6 {
            match store.rollback(
                "production",
                "shared",
                &Scope::any(),
                &RollbackTo::Previous,
                &by,
            ) {
                Ok(_) | Err(ChannelError::NothingToRollBack { .. }) => {}
                Err(e) => panic!("rollback: {e}"),
            }
        }
    }
}

/// Loop publishing, signing, promoting (three scopes), rolling back,
/// registering locks and collecting garbage until killed.
fn crash(store: &Store, dir: &Path) {
    let key = KeyPair::load_secret(&dir.join("engineering.key.json")).unwrap();
    let start = store.list(None, Some("app")).unwrap().len() as u64;
    let eu = Scope::new("*", "eu").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in start.. {
        assert!(Instant::now() < deadline, "never killed");
        let version = format!("{i}.0.0");
        let at_ms = T0 + i as i64;
        let by = Change::new("crash-child", "loop", at_ms);
        // 256 KiB of deterministic bytes per version.
        let mut bytes = vec![0u8; 256 * 1024];
        blake3::Hasher::new()
            .update(&i.to_le_bytes())
            .finalize_xof()
            .fill(&mut bytes);
        let artifact = store
            .publish(&Publish {
                kind: ArtifactKind::Skill,
                name: "app",
                version: &version,
                bytes: &bytes,
                publisher: "child",
                at_ms,
            })
            .unwrap()
            .artifact;
        store
            .add_signature("app", &version, &key.sign(&artifact.id), at_ms)
            .unwrap();
        store
            .promote("app", &version, "staging", &Scope::any(), &by)
            .unwrap();
        store
            .promote("app", &version, "production", &Scope::any(), &by)
            .unwrap();
        store
            .promote("app", &version, "production", &eu, &by)
            .unwrap();
        if i % 3 == 2 {
            store
                .rollback(
                    "production",
                    "app",
                    &Scope::any(),
                    &RollbackTo::Previous,
                    &by,
                )
                .unwrap();
        }
        if i % 4 == 0 {
            let lock = Lock::new([artifact.id.clone()]).unwrap();
            store
                .register_lock(&lock, &format!("run-{i}"), at_ms)
                .unwrap();
            store.put(format!("loose {i}").as_bytes()).unwrap();
            store.gc(false).unwrap();
        }
        if i == start {
            println!("{READY}");
            std::io::stdout().flush().unwrap();
        }
    }
}

/// The registry is consistent: SQLite and foreign keys intact, every blob
/// re-hashes, every pointer's blob is readable and matches its artifact,
/// and each scope's history is an unbroken chain ending at its pointer,
/// with promotes only ever moving forward.
fn assert_consistent(store: &Store) {
    assert_eq!(store.check_integrity().unwrap(), vec![]);
    for a in store.list(None, None).unwrap() {
        assert_eq!(Hash::of(&store.get(&a.id.hash).unwrap()), a.id.hash);
    }
    let pointers = store.pointers(None).unwrap();
    let mut channels: Vec<String> = pointers.iter().map(|p| p.channel.clone()).collect();
    channels.sort();
    channels.dedup();
    for p in &pointers {
        assert_eq!(
            Hash::of(&store.get(&p.to.hash).unwrap()),
            p.to.hash,
            "{p:?}"
        );
        let a = store.show(&p.name, &p.to.version.to_string()).unwrap();
        assert_eq!(a.id.hash, p.to.hash);
    }
    for channel in channels {
        let mut chains: BTreeMap<(String, Scope), Option<Pin>> = BTreeMap::new();
        for m in store.history(&channel, None).unwrap() {
            let last = chains.entry((m.name.clone(), m.scope.clone())).or_default();
            assert_eq!(
                &m.from, last,
                "move {} does not start where the previous ended",
                m.seq
            );
            if m.op == gatehouse_store::MoveOp::Promote
                && let Some(from) = &m.from
            {
                assert!(
                    from.version < m.to.version,
                    "promote {} went backwards",
                    m.seq
                );
            }
            *last = Some(m.to.clone());
        }
        for ((name, scope), last) in chains {
            let pointer = pointers
                .iter()
                .find(|p| p.channel == channel && p.name == name && p.scope == scope)
                .unwrap();
            assert_eq!(Some(&pointer.to), last.as_ref(), "{channel} {name} {scope}");
        }
    }
}

#[test]
fn two_processes_publishing_and_promoting_leave_a_consistent_registry() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let mut children: Vec<Child> = (0..2).map(|w| spawn("race", dir.path(), w)).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(dir.path().join("ready-0").exists() && dir.path().join("ready-1").exists()) {
        assert!(Instant::now() < deadline, "children did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();
    for child in &mut children {
        let status = child.wait().unwrap();
        assert!(status.success(), "a worker failed: {status}");
    }

    let store = Store::open(dir.path()).unwrap();
    assert_consistent(&store);
    let shared = store.list(None, Some("shared")).unwrap();
    assert_eq!(shared.len(), ROUNDS as usize);
    for (i, a) in shared.iter().enumerate() {
        assert_eq!(a.id.hash, Hash::of(format!("shared {i}").as_bytes()));
    }
    let contested = store.list(None, Some("contested")).unwrap();
    assert_eq!(contested.len(), ROUNDS as usize);
    for (i, a) in contested.iter().enumerate() {
        let winner = a.publisher.strip_prefix("worker-").unwrap();
        assert_eq!(
            a.id.hash,
            Hash::of(format!("contested {i} from worker {winner}").as_bytes())
        );
    }
    let movers: std::collections::BTreeSet<String> = store
        .history("production", None)
        .unwrap()
        .into_iter()
        .map(|m| m.actor)
        .collect();
    let winners: std::collections::BTreeSet<String> =
        contested.iter().map(|a| a.publisher.clone()).collect();
    eprintln!("moves by {movers:?}; contested versions won by {winners:?}");
    // Both channels end on the newest version: promotes only move forward,
    // and the last round's promote comes after the last rollback.
    let last = format!("1.0.{}", ROUNDS - 1);
    assert_eq!(
        store
            .resolve("contested@staging", &Scope::any())
            .unwrap()
            .id
            .version
            .to_string(),
        last
    );
    assert_eq!(
        store
            .resolve("shared@production", &Scope::any())
            .unwrap()
            .id
            .version
            .to_string(),
        last
    );
}

#[cfg(unix)]
#[test]
fn kill_9_mid_publish_or_promote_leaves_channels_on_readable_blobs() {
    use std::os::unix::process::ExitStatusExt;

    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let key = KeyPair::generate("engineering", "ci").unwrap();
        key.write_secret(&dir.path().join("engineering.key.json"))
            .unwrap();
        store.register_key(key.public(), T0).unwrap();
        let policy = "schema = 1\n[channel.production.skill]\nengineering = 1\n";
        store
            .set_trust_policy(policy, &Change::new("test", "skills need engineering", T0))
            .unwrap();
    }
    // Kill at varied moments after the child's first full round.
    let delays_ms = [5u64, 13, 29, 47, 71, 113, 2, 37];
    for delay in delays_ms {
        let mut child = spawn("crash", dir.path(), 0);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let n = out.read_line(&mut line).unwrap();
            assert!(n > 0, "the child exited before it was ready");
            if line.trim() == READY {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "the child must die by kill -9, not on its own: {status}"
        );

        let store = Store::open(dir.path()).unwrap();
        assert_consistent(&store);
        for scope in [Scope::any(), Scope::new("*", "eu").unwrap()] {
            let a = store.resolve("app@production", &scope).unwrap();
            store.get(&a.id.hash).unwrap();
            store
                .verify("app", &a.id.version.to_string(), "production")
                .unwrap();
        }
    }
    let store = Store::open(dir.path()).unwrap();
    let published = store.list(None, Some("app")).unwrap().len();
    assert!(
        published > delays_ms.len(),
        "the children made progress ({published} versions)"
    );
}
