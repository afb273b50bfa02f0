//! Governance commands: kill switch and approvals.

use anyhow::Result;
use clap::Subcommand;
use gatehouse_store::{ApprovalId, AuditLog, Change, NewEntry, Role, Store};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

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

fn audit(store: &Arc<Store>, kind: &str, body: serde_json::Value) -> Result<()> {
    AuditLog::open(store.clone())?.append(&[NewEntry {
        at_ms: super::now_ms()?,
        kind: kind.to_string(),
        run_id: None,
        body,
    }])?;
    Ok(())
}

/// `gatehouse kill` / `revive`.
pub fn kill(data_dir: &Path, agent: &str, reason: &str, revive: bool) -> Result<ExitCode> {
    let store = Arc::new(Store::open(data_dir)?);
    let who = super::auth::authorize(
        &store,
        Role::Operator,
        if revive {
            "revive agents"
        } else {
            "kill agents"
        },
    )?;
    let change = Change::new(&who, reason, super::now_ms()?);
    let record = if revive {
        store.revive(agent, &change)?
    } else {
        store.kill(agent, &change)?
    };
    audit(
        &store,
        if revive { "revive" } else { "kill" },
        serde_json::to_value(&record)?,
    )?;
    println!(
        "{} `{agent}` by {who}: {reason}",
        if revive { "revived" } else { "killed" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse approvals …`.
pub fn approvals(data_dir: &Path, command: ApprovalsCommand) -> Result<ExitCode> {
    let store = Arc::new(Store::open(data_dir)?);
    let (role, what) = match &command {
        ApprovalsCommand::List { .. } => (Role::Auditor, "list approvals"),
        ApprovalsCommand::Approve { .. } | ApprovalsCommand::Reject { .. } => {
            (Role::Approver, "decide approvals")
        }
        ApprovalsCommand::Release { .. } => (Role::Operator, "release approved actions"),
    };
    let who = super::auth::authorize(&store, role, what)?;
    let now = super::now_ms()?;
    match command {
        ApprovalsCommand::List { all } => {
            let list = store.approvals(!all, now)?;
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
            let a = store.approve(ApprovalId(id), &Change::new(&who, &reason, now))?;
            audit(&store, "approval-vote", serde_json::to_value(&a)?)?;
            println!("#{id}: {:?}", a.status);
        }
        ApprovalsCommand::Reject { id, reason } => {
            let a = store.reject(ApprovalId(id), &Change::new(&who, &reason, now))?;
            audit(&store, "approval-vote", serde_json::to_value(&a)?)?;
            println!("#{id}: {:?}", a.status);
        }
        ApprovalsCommand::Release { id } => {
            let a = store.release_approval(ApprovalId(id), &who, now)?;
            audit(&store, "approval-release", serde_json::to_value(&a)?)?;
            match a.subject.get("promotion") {
                // An approved promotion happens now, exactly once.
                Some(p) => {
                    let text = |k: &str| p[k].as_str().unwrap_or("").to_string();
                    let reference = text("reference");
                    let (name, version) = reference.split_once('@').unwrap_or((&reference, ""));
                    let scope = gatehouse_store::Scope::new(&text("agent"), &text("partition"))?;
                    let reason = format!("{} (approval #{id})", text("reason"));
                    let moved = store.promote(
                        name,
                        version,
                        &text("channel"),
                        &scope,
                        &Change::new(&who, &reason, now),
                    )?;
                    audit(&store, "channel-move", serde_json::to_value(&moved)?)?;
                    println!(
                        "promoted {reference} to `{}` (approval #{id})",
                        text("channel")
                    );
                }
                None => super::print_json(&a.subject)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
