//! Registry commands: publish, sign, promote, roll back, lock; and how
//! `--skill`/`--pack` find a component (file, lock entry or reference).

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use gatehouse::{Guest, Kind, Sandbox};
use gatehouse_store::{
    ArtifactKind, AuditLog, Change, KeyId, KeyPair, Lock, NewEntry, PublicKey, Publish, Role,
    RollbackTo, Scope, Store,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Registry subcommands.
#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Publish a component or any file (config, prompt) as name@version.
    Publish {
        /// The file; a component's kind, name and version default to what it describes.
        file: PathBuf,
        /// Artifact name (default: the component's own name).
        #[arg(long)]
        name: Option<String>,
        /// Semver version (default: the component's own version).
        #[arg(long)]
        version: Option<String>,
        /// skill, policy-pack, config or prompt (default: from the component's world).
        #[arg(long)]
        kind: Option<String>,
    },
    /// List published artifacts.
    Ls {
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only this name.
        #[arg(long)]
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one artifact: hash, publisher, signatures, channels.
    Show {
        /// name@version
        reference: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List (and with --delete, remove) blobs nothing references.
    Gc {
        /// Only list (the default).
        #[arg(long, conflicts_with = "delete")]
        dry_run: bool,
        /// Delete what is unreferenced.
        #[arg(long)]
        delete: bool,
    },
    /// Manage signing keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Sign name@version with a secret key file.
    Sign {
        /// name@version
        reference: String,
        /// The secret key file (from `gatehouse key gen`).
        #[arg(long)]
        key: PathBuf,
    },
    /// Check name@version against a channel's trust policy.
    Verify {
        /// name@version
        reference: String,
        /// The channel whose policy applies.
        #[arg(long)]
        channel: String,
    },
    /// Set or show the trust policy (who must sign what, per channel and kind).
    Trust {
        #[command(subcommand)]
        command: TrustCommand,
    },
    /// Point a channel at name@version (checks the trust policy; refuses a downgrade).
    Promote {
        /// name@version
        reference: String,
        /// The channel, e.g. staging or production.
        #[arg(long)]
        channel: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The change's risk: `high` needs one approver, `critical` two; the promotion then
        /// waits in the approvals queue and happens on `gatehouse approvals release`.
        #[arg(long, default_value = "low")]
        risk: String,
    },
    /// Move a channel back: to the previous pointer, or --to a version or hash it held.
    Rollback {
        /// The artifact name.
        name: String,
        /// The channel.
        #[arg(long)]
        channel: String,
        /// A version or blake3 the channel held before (default: the previous one).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Every move of a channel: who, when, from, to, why.
    History {
        /// The channel.
        #[arg(long)]
        channel: String,
        /// Only this artifact.
        #[arg(long)]
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Resolve references to exact hashes and write a lock file.
    Lock {
        /// References: name@version, name@channel or a blake3.
        #[arg(required = true)]
        references: Vec<String>,
        #[command(flatten)]
        scope: ScopeArgs,
        /// The lock file to write.
        #[arg(short, long, default_value = "gatehouse.lock")]
        output: PathBuf,
    },
}

/// Key subcommands.
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a key pair: `<out>.key` (secret, mode 0600) and `<out>.pub`.
    Gen {
        /// The owning team, e.g. legal, brand, engineering.
        #[arg(long)]
        team: String,
        /// The person or service holding it.
        #[arg(long)]
        owner: String,
        /// Path prefix of the two files.
        #[arg(long)]
        out: PathBuf,
    },
    /// Register a public key so its signatures count.
    Add {
        /// The `.pub` file.
        public: PathBuf,
        /// Register it as the successor of this key id (same team).
        #[arg(long)]
        replaces: Option<String>,
    },
    /// Revoke a key: its signatures stop counting.
    Revoke {
        /// The key id.
        key_id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// List registered keys.
    Ls,
}

/// Trust-policy subcommands.
#[derive(Subcommand)]
pub enum TrustCommand {
    /// Replace the trust policy with a TOML file.
    Set {
        /// The policy file.
        file: PathBuf,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Print the trust policy in force.
    Show,
}

/// A channel scope.
#[derive(clap::Args, Clone)]
pub struct ScopeArgs {
    /// Only for this agent (default: any).
    #[arg(long, default_value = "*")]
    agent: String,
    /// Only for this partition (default: any).
    #[arg(long, default_value = "*")]
    partition: String,
}

impl ScopeArgs {
    fn scope(&self) -> Result<Scope> {
        Ok(Scope::new(&self.agent, &self.partition)?)
    }
}

fn split_version(reference: &str) -> Result<(&str, &str)> {
    reference
        .split_once('@')
        .with_context(|| format!("`{reference}`: expected name@version"))
}

fn audit(store: &Arc<Store>, kind: &str, body: serde_json::Value) -> Result<()> {
    let log = AuditLog::open(store.clone())?;
    log.append(&[NewEntry {
        at_ms: super::now_ms()?,
        kind: kind.to_string(),
        run_id: None,
        body,
    }])?;
    Ok(())
}

/// Run a registry command.
pub fn execute(data_dir: &Path, command: RegistryCommand) -> Result<ExitCode> {
    let store = Arc::new(Store::open(data_dir)?);
    let (role, what) = match &command {
        RegistryCommand::Publish { .. } => (Role::Author, "publish"),
        RegistryCommand::Sign { .. } => (Role::Author, "sign"),
        RegistryCommand::Ls { .. }
        | RegistryCommand::Show { .. }
        | RegistryCommand::Verify { .. }
        | RegistryCommand::History { .. } => (Role::Auditor, "read the registry"),
        RegistryCommand::Gc { delete: false, .. } => (Role::Auditor, "list unreferenced blobs"),
        RegistryCommand::Gc { delete: true, .. }
        | RegistryCommand::Key { .. }
        | RegistryCommand::Trust { .. } => (Role::Admin, "manage keys, trust and storage"),
        RegistryCommand::Promote { .. }
        | RegistryCommand::Rollback { .. }
        | RegistryCommand::Lock { .. } => (Role::Operator, "move channels and lock"),
    };
    let who = super::auth::authorize(&store, role, what)?;
    let now = super::now_ms()?;
    match command {
        RegistryCommand::Publish {
            file,
            name,
            version,
            kind,
        } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let described = if bytes.starts_with(b"\0asm") {
                let sandbox = Sandbox::new(gatehouse::EngineOptions::default())?;
                Some(sandbox.load(&bytes, &file.display().to_string(), None)?)
            } else {
                None
            };
            let kind = match (kind.as_deref(), &described) {
                (Some(k), _) => k
                    .parse::<ArtifactKind>()
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                (None, Some(g)) if g.kind == Kind::Skill => ArtifactKind::Skill,
                (None, Some(_)) => ArtifactKind::PolicyPack,
                (None, None) => bail!(
                    "`{}` is not a component: say --kind config or --kind prompt",
                    file.display()
                ),
            };
            let own = described
                .as_ref()
                .map(|g| (g.own_name().to_string(), own_version(g)));
            let name = name
                .or_else(|| own.as_ref().map(|o| o.0.clone()))
                .context("--name is required for a file that is not a component")?;
            let version = version
                .or_else(|| own.as_ref().map(|o| o.1.clone()))
                .context("--version is required for a file that is not a component")?;
            let published = store.publish(&Publish {
                kind,
                name: &name,
                version: &version,
                bytes: &bytes,
                publisher: &who,
                at_ms: now,
            })?;
            let a = &published.artifact;
            if published.created {
                audit(&store, "publish", serde_json::to_value(a)?)?;
                println!(
                    "published {}@{} ({}) {}",
                    a.id.name,
                    a.id.version,
                    a.id.kind.as_str(),
                    a.id.hash
                );
            } else {
                println!(
                    "already published: {}@{} ({}) {}",
                    a.id.name,
                    a.id.version,
                    a.id.kind.as_str(),
                    a.id.hash
                );
            }
        }
        RegistryCommand::Ls { kind, name, json } => {
            let kind = kind
                .map(|k| {
                    k.parse::<ArtifactKind>()
                        .map_err(|e| anyhow::anyhow!("{e}"))
                })
                .transpose()?;
            let list = store.list(kind, name.as_deref())?;
            if json {
                super::print_json(&list)?;
            } else {
                for a in &list {
                    println!(
                        "{:<28} {:<10} {:<12} {}  signatures {}",
                        a.id.name,
                        a.id.version.to_string(),
                        a.id.kind.as_str(),
                        a.id.hash,
                        a.signatures.len()
                    );
                }
            }
        }
        RegistryCommand::Show { reference, json } => {
            let (name, version) = split_version(&reference)?;
            let a = store.show(name, version)?;
            let pointers: Vec<_> = store
                .pointers(Some(name))?
                .into_iter()
                .filter(|p| p.to.hash == a.id.hash)
                .collect();
            if json {
                super::print_json(&serde_json::json!({"artifact": a, "channels": pointers}))?;
            } else {
                println!("{}@{} ({})", a.id.name, a.id.version, a.id.kind.as_str());
                println!("blake3:     {}", a.id.hash);
                println!("publisher:  {} at {} ms", a.publisher, a.published_ms);
                for s in &a.signatures {
                    println!("signature:  key {}", s.key_id.as_str());
                }
                for p in &pointers {
                    println!(
                        "channel:    {} (agent {}, partition {})",
                        p.channel, p.scope.agent, p.scope.partition
                    );
                }
            }
        }
        RegistryCommand::Gc { dry_run: _, delete } => {
            let report = store.gc(!delete)?;
            super::print_json(&report)?;
        }
        RegistryCommand::Key { command } => match command {
            KeyCommand::Gen { team, owner, out } => {
                let pair = KeyPair::generate(&team, &owner)?;
                let secret = out.with_extension("key");
                let public = out.with_extension("pub");
                pair.write_secret(&secret)?;
                pair.public().write(&public)?;
                println!(
                    "key {} (team {team}): secret {}, public {}",
                    pair.key_id().as_str(),
                    secret.display(),
                    public.display()
                );
            }
            KeyCommand::Add { public, replaces } => {
                let key = PublicKey::load(&public)?;
                let record = match replaces {
                    Some(old) => store.rotate_key(
                        &old.parse::<KeyId>().map_err(|e| anyhow::anyhow!("{e}"))?,
                        &key,
                        now,
                    )?,
                    None => store.register_key(&key, now)?,
                };
                audit(&store, "key-added", serde_json::to_value(&record)?)?;
                println!(
                    "registered key {} (team {}, owner {})",
                    key.key_id().as_str(),
                    key.team(),
                    key.owner()
                );
            }
            KeyCommand::Revoke { key_id, reason } => {
                let id: KeyId = key_id.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
                let record = store.revoke_key(&id, &Change::new(&who, &reason, now))?;
                audit(&store, "key-revoked", serde_json::to_value(&record)?)?;
                println!("revoked key {key_id}");
            }
            KeyCommand::Ls => super::print_json(&store.keys()?)?,
        },
        RegistryCommand::Sign { reference, key } => {
            let (name, version) = split_version(&reference)?;
            let pair = KeyPair::load_secret(&key)?;
            let artifact = store.show(name, version)?;
            let signature = pair.sign(&artifact.id);
            let signed = store.add_signature(name, version, &signature, now)?;
            audit(
                &store,
                "signature",
                serde_json::json!({"artifact": signed.id, "key-id": pair.key_id().as_str()}),
            )?;
            println!(
                "signed {}@{} with key {} (team {})",
                name,
                version,
                pair.key_id().as_str(),
                pair.public().team()
            );
        }
        RegistryCommand::Verify { reference, channel } => {
            let (name, version) = split_version(&reference)?;
            let report = store.verify(name, version, &channel)?;
            println!("{reference} meets the `{channel}` trust policy");
            super::print_json(&report)?;
        }
        RegistryCommand::Trust { command } => match command {
            TrustCommand::Set { file, reason } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read `{}`", file.display()))?;
                let record = store.set_trust_policy(&text, &Change::new(&who, &reason, now))?;
                audit(&store, "trust-policy", serde_json::to_value(&record)?)?;
                println!("trust policy set ({})", file.display());
            }
            TrustCommand::Show => match store.trust_policy()? {
                Some((record, _)) => {
                    let text = String::from_utf8_lossy(&store.get(&record.hash)?).into_owned();
                    println!(
                        "# trust policy #{} ({}) set by {} at {} ms: {}",
                        record.seq, record.hash, record.actor, record.at_ms, record.reason
                    );
                    print!("{text}");
                }
                None => println!("no trust policy: no channel requires signatures"),
            },
        },
        RegistryCommand::Promote {
            reference,
            channel,
            scope,
            reason,
            risk,
        } => {
            let (name, version) = split_version(&reference)?;
            let risk: gatehouse_store::Risk =
                serde_json::from_value(serde_json::Value::String(risk.clone())).map_err(|_| {
                    anyhow::anyhow!("`--risk {risk}`: use low, medium, high or critical")
                })?;
            if risk >= gatehouse_store::Risk::High {
                // Check now what can be checked (trust, downgrade) by verifying; the move waits.
                store.verify(name, version, &channel)?;
                let subject = serde_json::json!({"promotion": {"reference": reference, "channel": channel,
                    "agent": scope.agent, "partition": scope.partition, "reason": reason}});
                let request = gatehouse_store::ApprovalRequest {
                    subject: &subject,
                    risk,
                    requested_by: &who,
                    expires_at_ms: now + 3 * 86_400_000,
                    approvals_needed: if risk == gatehouse_store::Risk::Critical {
                        2
                    } else {
                        1
                    },
                    at_ms: now,
                };
                let approval = store.request_approval(&request)?;
                audit(&store, "approval-request", serde_json::to_value(&approval)?)?;
                println!(
                    "promotion of {reference} to `{channel}` waits for approval #{} ({} approver(s)); then `gatehouse approvals release {}`",
                    approval.id.0, request.approvals_needed, approval.id.0
                );
                return Ok(ExitCode::SUCCESS);
            }
            let started = std::time::Instant::now();
            let moved = store.promote(
                name,
                version,
                &channel,
                &scope.scope()?,
                &Change::new(&who, &reason, now),
            )?;
            let took = started.elapsed();
            audit(&store, "channel-move", serde_json::to_value(&moved)?)?;
            print_move(&moved, took);
        }
        RegistryCommand::Rollback {
            name,
            channel,
            to,
            scope,
            reason,
        } => {
            let to = match to {
                Some(t) => RollbackTo::parse(&t)?,
                None => RollbackTo::Previous,
            };
            let started = std::time::Instant::now();
            let moved = store.rollback(
                &channel,
                &name,
                &scope.scope()?,
                &to,
                &Change::new(&who, &reason, now),
            )?;
            let took = started.elapsed();
            audit(&store, "channel-move", serde_json::to_value(&moved)?)?;
            print_move(&moved, took);
        }
        RegistryCommand::History {
            channel,
            name,
            json,
        } => {
            let moves = store.history(&channel, name.as_deref())?;
            if json {
                super::print_json(&moves)?;
            } else {
                for m in &moves {
                    let from = m
                        .from
                        .as_ref()
                        .map(|p| format!("{} ({})", p.version, &p.hash.to_string()[..12]))
                        .unwrap_or_else(|| "-".into());
                    println!(
                        "#{} {} {} {:?} agent {} partition {}: {from} -> {} ({}) by {} at {} ms: {}",
                        m.seq,
                        m.channel,
                        m.name,
                        m.op,
                        m.scope.agent,
                        m.scope.partition,
                        m.to.version,
                        &m.to.hash.to_string()[..12],
                        m.actor,
                        m.at_ms,
                        m.reason
                    );
                }
            }
        }
        RegistryCommand::Lock {
            references,
            scope,
            output,
        } => {
            let refs: Vec<&str> = references.iter().map(String::as_str).collect();
            let lock = store.lock(&refs, &scope.scope()?)?;
            lock.write(&output)?;
            let hash = store.register_lock(&lock, &output.display().to_string(), now)?;
            for e in lock.entries() {
                println!("{}@{} {} {}", e.name, e.version, e.kind.as_str(), e.hash);
            }
            println!("wrote {} (lock {hash})", output.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn own_version(g: &Guest) -> String {
    match &g.describe {
        gatehouse::Describe::Policy(p) => p.version.clone(),
        gatehouse::Describe::Skill(s) => s.version.clone(),
    }
}

fn print_move(m: &gatehouse_store::ChannelMove, took: std::time::Duration) {
    let from = m
        .from
        .as_ref()
        .map(|p| p.version.to_string())
        .unwrap_or_else(|| "nothing".into());
    println!(
        "{:?}: {} {} (agent {}, partition {}) {from} -> {} {}  [{:.2} ms]",
        m.op,
        m.channel,
        m.name,
        m.scope.agent,
        m.scope.partition,
        m.to.version,
        m.to.hash,
        took.as_secs_f64() * 1000.0
    );
}

/// Where `--skill`/`--pack` look for components besides files.
pub struct Sources {
    store: Option<Arc<Store>>,
    lock: Option<Lock>,
    scope: Scope,
}

impl Sources {
    /// Components from files, a lock file, or the store under `data_dir`
    /// (references resolve within `scope`).
    pub fn new(data_dir: &Path, lock: Option<&Path>, scope: Scope) -> Result<Self> {
        let lock = lock.map(Lock::load).transpose()?;
        let store = if data_dir.join("gatehouse.db").exists() || lock.is_some() {
            Some(Arc::new(Store::open(data_dir)?))
        } else {
            None
        };
        if let (Some(lock), Some(store)) = (&lock, &store) {
            store.verify_lock(lock)?;
        }
        Ok(Self { store, lock, scope })
    }

    /// The bytes of a file, a lock entry or a published artifact.
    pub fn bytes(&self, spec: &str) -> Result<Vec<u8>> {
        let path = Path::new(spec);
        if path.exists() {
            return std::fs::read(path).with_context(|| format!("cannot read `{spec}`"));
        }
        let store = self.store.as_ref().with_context(|| {
            format!("`{spec}` is not a file, and there is no store to resolve it in")
        })?;
        let hash = match self.lock.as_ref().and_then(|l| l.get(spec)) {
            Some(entry) => entry.hash,
            None => store.resolve(spec, &self.scope)?.id.hash,
        };
        Ok(store.get(&hash)?)
    }

    /// Load a component named by a path, a lock entry's name, or a
    /// reference (`name@version`, `name@channel`, blake3).
    pub fn component(&self, sandbox: &Sandbox, spec: &str, kind: Kind) -> Result<Guest> {
        let path = Path::new(spec);
        if path.exists() {
            return Ok(match kind {
                Kind::Policy => gatehouse::load_pack(sandbox, path)?,
                Kind::Skill => sandbox.load_file(path, Some(kind))?,
            });
        }
        let store = self.store.as_ref().with_context(|| {
            format!("`{spec}` is not a file, and there is no store to resolve it in")
        })?;
        let hash = match self.lock.as_ref().and_then(|l| l.get(spec)) {
            Some(entry) => entry.hash,
            None if self.lock.is_some() => {
                bail!("`{spec}` is not a file and not an entry of the lock")
            }
            None => store.resolve(spec, &self.scope)?.id.hash,
        };
        let bytes = store.get(&hash)?;
        Ok(sandbox.load(&bytes, spec, Some(kind))?)
    }
}
