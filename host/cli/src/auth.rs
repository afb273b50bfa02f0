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
use gatehouse::{Credentials, Gatehouse};
use gatehouse_store::Role;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

/// The witness directory of this invocation (`--witness`, else
/// `$GATEHOUSE_WITNESS`), set once by `main`.
static WITNESS: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

/// Set the witness directory for every facade this invocation opens.
pub fn set_witness(dir: Option<PathBuf>) {
    let dir = dir.or_else(|| std::env::var_os("GATEHOUSE_WITNESS").map(PathBuf::from));
    let _ = WITNESS.set(dir);
}

/// The witness directory, if any.
pub fn witness() -> Option<&'static Path> {
    WITNESS.get().and_then(|d| d.as_deref())
}

/// The facade over `data_dir` for the caller the environment names.
pub fn open(data_dir: &Path) -> Result<Gatehouse> {
    let credentials = match token()? {
        Some(t) => Credentials::Token(t),
        None => Credentials::None,
    };
    Ok(Gatehouse::open(data_dir, &credentials)?.with_witness(witness()))
}

/// Run a principal command.
pub fn execute(data_dir: &Path, command: PrincipalCommand) -> Result<ExitCode> {
    let gh = open(data_dir)?;
    match command {
        PrincipalCommand::Add { name, roles } => {
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>().map_err(|e| anyhow::anyhow!("{e}")))
                .collect::<Result<Vec<_>>>()?;
            gh.add_principal(&name, &roles)?;
            println!("added principal `{name}`");
        }
        PrincipalCommand::Ls => crate::print::print_json(&gh.principals()?)?,
        PrincipalCommand::Token { name, out } => {
            let issued = gh.issue_token(&name)?;
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
            gh.revoke_token(&id, &reason)?;
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
