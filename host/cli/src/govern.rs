//! Governance commands: kill switch and approvals.

use anyhow::Result;
use clap::Subcommand;
use gatehouse::ops::Released;
use gatehouse_store::ApprovalId;
use std::path::Path;
use std::process::ExitCode;

/// Approval subcommands.
#[derive(Subcommand)]
pub enum ApprovalsCommand {
    /// List approval requests (pending only, unless --all).
    List {
        /// Include decided, expired and released requests.
        #[arg(long)]
        all: bool,
    },
    /// Approve a request (not your own).
    Approve {
        /// The request id.
        id: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Reject a request.
    Reject {
        /// The request id.
        id: i64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Release an approved action to the caller: exactly once.
    Release {
        /// The request id.
        id: i64,
    },
}

/// `gatehouse kill` / `revive`.
pub fn kill(data_dir: &Path, agent: &str, reason: &str, revive: bool) -> Result<ExitCode> {
    let gh = super::auth::open(data_dir)?;
    let record = if revive {
        gh.revive(agent, reason)?
    } else {
        gh.kill(agent, reason)?
    };
    println!(
        "{} `{agent}` by {}: {reason}",
        if revive { "revived" } else { "killed" },
        record.actor
    );
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse approvals …`.
pub fn approvals(data_dir: &Path, command: ApprovalsCommand) -> Result<ExitCode> {
    let gh = super::auth::open(data_dir)?;
    match command {
        ApprovalsCommand::List { all } => {
            let list = gh.approvals(!all)?;
            for a in &list {
                println!(
                    "#{} {:?} {} risk, needs {}, requested by {} (expires at {} ms): {}",
                    a.id.0,
                    a.status,
                    a.risk.as_str(),
                    a.approvals_needed,
                    a.requested_by,
                    a.expires_ms,
                    a.subject["action"]["id"].as_str().unwrap_or("")
                );
            }
            if list.is_empty() {
                println!("no {}approval requests", if all { "" } else { "pending " });
            }
        }
        ApprovalsCommand::Approve { id, reason } => {
            let a = gh.approve(ApprovalId(id), &reason)?;
            println!("#{id}: {:?}", a.status);
        }
        ApprovalsCommand::Reject { id, reason } => {
            let a = gh.reject(ApprovalId(id), &reason)?;
            println!("#{id}: {:?}", a.status);
        }
        ApprovalsCommand::Release { id } => match gh.release(ApprovalId(id))? {
            Released::Promotion(_, moved) => println!(
                "promoted {}@{} to `{}` (approval #{id})",
                moved.name, moved.to.version, moved.channel
            ),
            Released::Action(a) => crate::print::print_json(&a.subject)?,
        },
    }
    Ok(ExitCode::SUCCESS)
}
