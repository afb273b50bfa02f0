//! Registry commands: publish, sign, promote, roll back, lock, keys, trust.

use anyhow::{Context, Result};
use clap::Subcommand;
use gatehouse::ops::{Promotion, PublishRequest};
use gatehouse_store::{KeyPair, PublicKey, Risk, RollbackTo, Scope};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

/// Run a registry command.
pub fn execute(data_dir: &Path, command: RegistryCommand) -> Result<ExitCode> {
    let gh = super::auth::open(data_dir)?;
    match command {
        RegistryCommand::Publish {
            file,
            name,
            version,
            kind,
        } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let published = gh.publish(&PublishRequest {
                bytes: &bytes,
                label: &file.display().to_string(),
                kind: kind.as_deref(),
                name: name.as_deref(),
                version: version.as_deref(),
            })?;
            let a = &published.artifact;
            println!(
                "{}{}@{} ({}) {}",
                if published.created {
                    "published "
                } else {
                    "already published: "
                },
                a.id.name,
                a.id.version,
                a.id.kind.as_str(),
                a.id.hash
            );
        }
        RegistryCommand::Ls { kind, name, json } => {
            let list = gh.artifacts(kind.as_deref(), name.as_deref())?;
            if json {
                crate::print::print_json(&list)?;
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
            let (a, pointers) = gh.artifact(&reference)?;
            if json {
                crate::print::print_json(
                    &serde_json::json!({"artifact": a, "channels": pointers}),
                )?;
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
        RegistryCommand::Gc { dry_run: _, delete } => crate::print::print_json(&gh.gc(delete)?)?,
        RegistryCommand::Key { command } => match command {
            KeyCommand::Gen { team, owner, out } => {
                // Key generation touches no store: the secret stays with its owner.
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
                gh.add_key(&key, replaces.as_deref())?;
                println!(
                    "registered key {} (team {}, owner {})",
                    key.key_id().as_str(),
                    key.team(),
                    key.owner()
                );
            }
            KeyCommand::Revoke { key_id, reason } => {
                gh.revoke_key(&key_id, &reason)?;
                println!("revoked key {key_id}");
            }
            KeyCommand::Ls => crate::print::print_json(&gh.keys()?)?,
        },
        RegistryCommand::Sign { reference, key } => {
            let pair = KeyPair::load_secret(&key)?;
            gh.sign(&reference, &pair)?;
            println!(
                "signed {reference} with key {} (team {})",
                pair.key_id().as_str(),
                pair.public().team()
            );
        }
        RegistryCommand::Verify { reference, channel } => {
            let report = gh.verify_artifact(&reference, &channel)?;
            println!("{reference} meets the `{channel}` trust policy");
            crate::print::print_json(&report)?;
        }
        RegistryCommand::Trust { command } => match command {
            TrustCommand::Set { file, reason } => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read `{}`", file.display()))?;
                gh.set_trust_policy(&text, &reason)?;
                println!("trust policy set ({})", file.display());
            }
            TrustCommand::Show => match gh.trust_policy()? {
                Some((record, text)) => {
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
            let risk: Risk = serde_json::from_value(serde_json::Value::String(risk.clone()))
                .map_err(|_| {
                    anyhow::anyhow!("`--risk {risk}`: use low, medium, high or critical")
                })?;
            let started = std::time::Instant::now();
            match gh.promote(&reference, &channel, &scope.scope()?, &reason, risk)? {
                Promotion::Moved(moved) => print_move(&moved, started.elapsed()),
                Promotion::Waiting(approval) => println!(
                    "promotion of {reference} to `{channel}` waits for approval #{} ({} approver(s)); then `gatehouse approvals release {}`",
                    approval.id.0, approval.approvals_needed, approval.id.0
                ),
            }
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
            let moved = gh.rollback(&name, &channel, &scope.scope()?, &to, &reason)?;
            print_move(&moved, started.elapsed());
        }
        RegistryCommand::History {
            channel,
            name,
            json,
        } => {
            let moves = gh.channel_history(&channel, name.as_deref())?;
            if json {
                crate::print::print_json(&moves)?;
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
            let (lock, hash) = gh.write_lock(&refs, &scope.scope()?, &output)?;
            for e in lock.entries() {
                println!("{}@{} {} {}", e.name, e.version, e.kind.as_str(), e.hash);
            }
            println!("wrote {} (lock {hash})", output.display());
        }
    }
    Ok(ExitCode::SUCCESS)
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
