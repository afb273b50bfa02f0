//! Who is calling, and may they: principals, roles and API tokens.
//!
//! The caller is the principal of the token in `$GATEHOUSE_TOKEN` (or the
//! file named by `$GATEHOUSE_TOKEN_FILE`). Without a token the caller is
//! the implicit local admin — only while no admin token has been issued,
//! so the embedded default works out of the box for a single local user
//! and a shared deployment closes that door by issuing the first admin
//! token.

use anyhow::{Context, Result};
use clap::Subcommand;
use gatehouse_store::{AuditLog, Change, NewEntry, Role, Store};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Principal and token subcommands (role `admin`).
#[derive(Subcommand)]
pub enum PrincipalCommand {
    /// Add a principal with roles (author, approver, operator, auditor, admin).
    Add {
        /// The principal's name.
        name: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// List principals and their roles.
    Ls,
    /// Issue an API token for a principal (shown once; stored only as a hash).
    Token {
        /// The principal.
        name: String,
        /// Write the token to this file (mode 0600) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

fn token() -> Result<Option<String>> {
    if let Ok(t) = std::env::var("GATEHOUSE_TOKEN") {
        return Ok(Some(t.trim().to_string()));
    }
    match std::env::var_os("GATEHOUSE_TOKEN_FILE") {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("cannot read token file `{}`", Path::new(&path).display())
            })?;
            Ok(Some(text.trim().to_string()))
        }
        None => Ok(None),
    }
}

/// The caller's name, once it holds `role` (needed `to` do something).
pub fn authorize(store: &Store, role: Role, to: &str) -> Result<String> {
    let principal = match token()? {
        Some(t) => store.authenticate(&t)?,
        None => store
            .local_admin()
            .context("no token: set GATEHOUSE_TOKEN or GATEHOUSE_TOKEN_FILE")?,
    };
    // Reading what operators act on (the registry, channel history, the
    // approvals queue) is the auditor's, and operators may read it too.
    if role == Role::Auditor && principal.has(Role::Operator) {
        return Ok(principal.name().to_string());
    }
    principal.require(role, to)?;
    Ok(principal.name().to_string())
}

fn audit(store: &Arc<Store>, kind: &str, body: serde_json::Value) -> Result<()> {
    AuditLog::open(store.clone())?.append(&[NewEntry {
        at_ms: super::now_ms()?,
        kind: kind.to_string(),
        run_id: None,
        body,
    }])?;
    Ok(())
}

/// Run a principal command.
pub fn execute(data_dir: &Path, command: PrincipalCommand) -> Result<ExitCode> {
    let store = Arc::new(Store::open(data_dir)?);
    let now = super::now_ms()?;
    match command {
        PrincipalCommand::Add { name, roles } => {
            let who = authorize(&store, Role::Admin, "add principals")?;
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>().map_err(|e| anyhow::anyhow!("{e}")))
                .collect::<Result<Vec<_>>>()?;
            let change =
                store.add_principal(&name, &roles, &Change::new(&who, "add principal", now))?;
            audit(&store, "principal", serde_json::to_value(&change)?)?;
            println!("added principal `{name}`");
        }
        PrincipalCommand::Ls => {
            authorize(&store, Role::Auditor, "list principals")?;
            super::print_json(&store.principals()?)?;
        }
        PrincipalCommand::Token { name, out } => {
            let who = authorize(&store, Role::Admin, "issue tokens")?;
            let issued = store.issue_token(&name, &Change::new(&who, "issue token", now))?;
            audit(
                &store,
                "token-issued",
                serde_json::to_value(&issued.record)?,
            )?;
            match out {
                Some(path) => {
                    write_private(&path, issued.token.as_bytes())
                        .with_context(|| format!("cannot write `{}`", path.display()))?;
                    println!("token for `{name}` written to {}", path.display());
                }
                None => println!("{}", issued.token),
            }
        }
        PrincipalCommand::Revoke { id, reason } => {
            let who = authorize(&store, Role::Admin, "revoke tokens")?;
            let record = store.revoke_token(&id, &Change::new(&who, &reason, now))?;
            audit(&store, "token-revoked", serde_json::to_value(&record)?)?;
            println!("revoked token {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
