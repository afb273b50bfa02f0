use crate::support::*;
use std::path::Path;
use std::process::{Command, Output};

fn gatehouse(data: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .current_dir(cwd)
        .env("GATEHOUSE_DATA", data)
        .env("GATEHOUSE_CACHE", root().join("target/test-cache"))
        .output()
        .unwrap()
}

/// Run gatehouse in `cwd` on `data` with the token file `token` (none: the
/// implicit local admin).
fn as_principal(data: &Path, cwd: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.args(args)
        .current_dir(cwd)
        .env("GATEHOUSE_DATA", data)
        .env("GATEHOUSE_CACHE", root().join("target/test-cache"));
    if let Some(t) = token {
        cmd.env("GATEHOUSE_TOKEN_FILE", cwd.join(t));
    }
    cmd.output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    e
}

#[test]
fn publish_sign_promote_run_roll_back_and_lock() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cwd = dir.path();
    let g = guests();
    let gh = |args: &[&str]| gatehouse(&data, cwd, args);
    let sample = |f: &str| root().join("examples/data").join(f).display().to_string();

    ok(&gh(&["publish", g.brand.to_str().unwrap()]));
    ok(&gh(&["publish", g.skill.to_str().unwrap()]));
    assert!(ok(&gh(&["publish", g.brand.to_str().unwrap()])).starts_with("already published"));
    let brand_hash = blake3::hash(&std::fs::read(&g.brand).unwrap())
        .to_hex()
        .to_string();
    // Same name@version, other bytes: refused, naming both hashes.
    let e = err(&gh(&[
        "publish",
        g.hostile.to_str().unwrap(),
        "--name",
        "brand",
        "--version",
        "0.2.0",
    ]));
    assert!(e.contains(&brand_hash), "{e}");

    ok(&gh(&[
        "key", "gen", "--team", "legal", "--owner", "lena", "--out", "legal",
    ]));
    ok(&gh(&[
        "key", "gen", "--team", "brand", "--owner", "bo", "--out", "brand",
    ]));
    ok(&gh(&["key", "add", "legal.pub"]));
    ok(&gh(&["key", "add", "brand.pub"]));
    std::fs::write(
        cwd.join("trust.toml"),
        "schema = 1\n[channel.production.policy-pack]\nlegal = 1\nbrand = 1\n",
    )
    .unwrap();
    ok(&gh(&[
        "trust",
        "set",
        "trust.toml",
        "--reason",
        "legal and brand sign production packs",
    ]));

    // Unsigned, then half-signed: refused, saying which requirement failed.
    let e = err(&gh(&[
        "promote",
        "brand@0.2.0",
        "--channel",
        "production",
        "--reason",
        "r",
    ]));
    assert!(
        e.contains("team `legal`") && e.contains("team `brand`"),
        "{e}"
    );
    ok(&gh(&["sign", "brand@0.2.0", "--key", "legal.key"]));
    let e = err(&gh(&[
        "promote",
        "brand@0.2.0",
        "--channel",
        "production",
        "--reason",
        "r",
    ]));
    assert!(
        e.contains("team `brand`") && !e.contains("team `legal`"),
        "{e}"
    );
    ok(&gh(&["sign", "brand@0.2.0", "--key", "brand.key"]));
    ok(&gh(&[
        "promote",
        "brand@0.2.0",
        "--channel",
        "production",
        "--reason",
        "first release",
    ]));
    ok(&gh(&[
        "promote",
        "email-outreach@0.1.0",
        "--channel",
        "production",
        "--reason",
        "first release",
    ]));

    // Run by channel, then from a lock.
    let ctx = sample("context.json");
    let crm = sample("crm.json");
    let senders = sample("senders.toml");
    let out = ok(&gh(&[
        "run",
        "--skill",
        "email-outreach@production",
        "--pack",
        "brand@production",
        "--context",
        &ctx,
        "--data",
        &crm,
        "--senders",
        &senders,
    ]));
    assert!(out.contains("=> DENY"), "{out}");
    ok(&gh(&[
        "lock",
        "email-outreach@production",
        "brand@production",
        "-o",
        "run.lock",
    ]));
    let out = ok(&gh(&[
        "run",
        "--lock",
        "run.lock",
        "--skill",
        "email-outreach",
        "--pack",
        "brand",
        "--context",
        &ctx,
        "--data",
        &crm,
        "--senders",
        &senders,
    ]));
    assert!(out.contains(&brand_hash[..12]), "{out}");
    let out = ok(&gh(&[
        "validate",
        "--pack",
        &brand_hash,
        "--actions",
        &sample("actions.jsonl"),
    ]));
    assert!(out.contains("decision(s)"), "{out}");

    // A newer version, then a downgrade attempt, then rollback.
    ok(&gh(&[
        "publish",
        g.brand.to_str().unwrap(),
        "--name",
        "brand",
        "--version",
        "0.3.0",
    ]));
    ok(&gh(&["sign", "brand@0.3.0", "--key", "legal.key"]));
    ok(&gh(&["sign", "brand@0.3.0", "--key", "brand.key"]));
    ok(&gh(&[
        "promote",
        "brand@0.3.0",
        "--channel",
        "production",
        "--reason",
        "v2",
    ]));
    let e = err(&gh(&[
        "promote",
        "brand@0.2.0",
        "--channel",
        "production",
        "--reason",
        "back",
    ]));
    assert!(e.contains("use rollback"), "{e}");
    let out = ok(&gh(&[
        "rollback",
        "brand",
        "--channel",
        "production",
        "--reason",
        "v2 regressed",
    ]));
    assert!(out.contains("0.3.0 -> 0.2.0"), "{out}");
    let history = ok(&gh(&[
        "history",
        "--channel",
        "production",
        "--name",
        "brand",
    ]));
    assert_eq!(history.lines().count(), 3, "{history}");
    assert!(
        history.contains("local-admin") && history.contains("v2 regressed"),
        "{history}"
    );

    // A revoked key stops counting.
    let key_id = String::from_utf8_lossy(&std::fs::read(cwd.join("legal.pub")).unwrap())
        .split('"')
        .skip_while(|s| *s != "key_id")
        .nth(2)
        .unwrap()
        .to_string();
    ok(&gh(&["key", "revoke", &key_id, "--reason", "laptop lost"]));
    let e = err(&gh(&["verify", "brand@0.3.0", "--channel", "production"]));
    assert!(e.contains("revoked"), "{e}");

    // Every move is in the audit log, which verifies.
    let moves = ok(&gh(&["audit", "export"]));
    assert_eq!(
        moves
            .lines()
            .filter(|l| l.contains("\"kind\":\"channel-move\""))
            .count(),
        4,
        "{moves}"
    );
    assert!(ok(&gh(&["audit", "verify"])).starts_with("ok:"));
}

#[test]
fn roles_gate_every_command_once_an_admin_token_exists() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cwd = dir.path();
    let g = guests();
    let as_ = |token: Option<&str>, args: &[&str]| as_principal(&data, cwd, token, args);
    // Out of the box the local admin may do everything.
    ok(&as_(
        None,
        &["principal", "add", "alice", "--role", "admin"],
    ));
    ok(&as_(
        None,
        &[
            "principal",
            "add",
            "olga",
            "--role",
            "operator",
            "--role",
            "auditor",
        ],
    ));
    ok(&as_(
        None,
        &["principal", "add", "paul", "--role", "author"],
    ));
    ok(&as_(
        None,
        &["principal", "token", "alice", "--out", "alice.token"],
    ));
    // The first admin token closes the local-admin door.
    let e = err(&as_(None, &["publish", g.brand.to_str().unwrap()]));
    assert!(e.contains("token"), "{e}");
    ok(&as_(
        Some("alice.token"),
        &["principal", "token", "olga", "--out", "olga.token"],
    ));
    ok(&as_(
        Some("alice.token"),
        &["principal", "token", "paul", "--out", "paul.token"],
    ));
    let token = std::fs::read_to_string(cwd.join("paul.token")).unwrap();
    let raw = std::fs::read(data.join("gatehouse.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains(token.trim()),
        "tokens are stored hashed"
    );
    // Each role does its own job only.
    ok(&as_(
        Some("paul.token"),
        &["publish", g.brand.to_str().unwrap()],
    ));
    let e = err(&as_(
        Some("paul.token"),
        &[
            "promote",
            "brand@0.2.0",
            "--channel",
            "staging",
            "--reason",
            "r",
        ],
    ));
    assert!(e.contains("`paul` lacks role `operator`"), "{e}");
    ok(&as_(
        Some("olga.token"),
        &[
            "promote",
            "brand@0.2.0",
            "--channel",
            "staging",
            "--reason",
            "r",
        ],
    ));
    let e = err(&as_(
        Some("olga.token"),
        &["publish", g.skill.to_str().unwrap()],
    ));
    assert!(e.contains("lacks role `author`"), "{e}");
    let e = err(&as_(Some("olga.token"), &["key", "ls"]));
    assert!(e.contains("lacks role `admin`"), "{e}");
    let history = ok(&as_(
        Some("olga.token"),
        &["history", "--channel", "staging"],
    ));
    assert!(history.contains("by olga"), "{history}");
    let e = err(&as_(Some("paul.token"), &["audit", "verify"]));
    assert!(e.contains("lacks role `auditor`"), "{e}");
    ok(&as_(Some("olga.token"), &["audit", "verify"]));
}

#[test]
fn a_high_risk_promotion_waits_for_another_approver_and_happens_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cwd = dir.path();
    let g = guests();
    let as_ = |token: Option<&str>, args: &[&str]| as_principal(&data, cwd, token, args);
    ok(&as_(None, &["publish", g.brand.to_str().unwrap()]));
    ok(&as_(
        None,
        &[
            "principal",
            "add",
            "olga",
            "--role",
            "operator",
            "--role",
            "approver",
        ],
    ));
    ok(&as_(
        None,
        &["principal", "add", "vera", "--role", "approver"],
    ));
    ok(&as_(
        None,
        &["principal", "token", "olga", "--out", "olga.token"],
    ));
    ok(&as_(
        None,
        &["principal", "token", "vera", "--out", "vera.token"],
    ));
    let out = ok(&as_(
        Some("olga.token"),
        &[
            "promote",
            "brand@0.2.0",
            "--channel",
            "production",
            "--reason",
            "go",
            "--risk",
            "high",
        ],
    ));
    assert!(out.contains("waits for approval #1"), "{out}");
    assert!(
        ok(&as_(
            Some("olga.token"),
            &["history", "--channel", "production"]
        ))
        .trim()
        .is_empty(),
        "nothing moved yet"
    );
    // No self-approval; another approver approves; the operator releases once.
    err(&as_(
        Some("olga.token"),
        &["approvals", "approve", "1", "--reason", "mine"],
    ));
    ok(&as_(
        Some("vera.token"),
        &["approvals", "approve", "1", "--reason", "reviewed"],
    ));
    let out = ok(&as_(Some("olga.token"), &["approvals", "release", "1"]));
    assert!(out.contains("promoted brand@0.2.0"), "{out}");
    err(&as_(Some("olga.token"), &["approvals", "release", "1"]));
    let history = ok(&as_(
        Some("olga.token"),
        &["history", "--channel", "production"],
    ));
    assert_eq!(history.lines().count(), 1, "{history}");
    assert!(history.contains("approval #1"), "{history}");
}
