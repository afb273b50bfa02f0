//! The approvals queue: escalated actions and risky promotions wait for a
//! human decision; an approved subject is released exactly once.

use crate::db::Store;
use crate::input::{Change, InputError, check_who};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The largest subject accepted, as JSON text.
const MAX_SUBJECT_BYTES: usize = 1 << 20;

/// How risky the subject of an approval is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical: typically needs two approvers.
    Critical,
}

impl Risk {
    /// Every level, lowest first.
    pub const ALL: [Risk; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The level's name: `low`, `medium`, `high` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Risk {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| InputError::new("risk", s, "use `low`, `medium`, `high` or `critical`"))
    }
}

/// An approval request's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApprovalId(pub i64);

impl fmt::Display for ApprovalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for ApprovalId {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse()
            .map(Self)
            .map_err(|_| InputError::new("approval id", s, "use a whole number"))
    }
}

/// Where an approval request stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalStatus {
    /// Waiting for approvers.
    Pending,
    /// Approved by enough people; waiting to be released.
    Approved,
    /// Rejected: it will never be released.
    Rejected,
    /// Released to the caller: done.
    Released,
    /// Pending or approved, but past its expiry: it can no longer be
    /// approved, rejected or released.
    Expired,
}

impl ApprovalStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Released => "released",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A vote's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VoteDecision {
    /// Approve.
    Approve,
    /// Reject.
    Reject,
}

impl VoteDecision {
    fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// One approver's decision on a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// Who.
    pub approver: String,
    /// Approve or reject.
    pub decision: VoteDecision,
    /// Why.
    pub reason: String,
    /// When.
    pub at_ms: i64,
}

/// A request for approval, for [`Store::request_approval`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ApprovalRequest<'a> {
    /// What is to be approved (an action with its decision record, a
    /// promotion): any JSON up to 1 MiB. [`Store::release_approval`] hands
    /// it back exactly as given.
    pub subject: &'a serde_json::Value,
    /// Its risk level.
    pub risk: Risk,
    /// Who (or which run) asks; this person can never approve it.
    pub requested_by: &'a str,
    /// When it expires: from this time on it can no longer be approved,
    /// rejected or released.
    pub expires_at_ms: i64,
    /// Distinct approvers needed: 1, or 2 (e.g. for critical risk).
    pub approvals_needed: u8,
    /// When it is requested.
    pub at_ms: i64,
}

/// An approval request with its votes. Every approval operation returns
/// one, for the audit log.
///
/// # Lifecycle
///
/// `pending` → (`approvals_needed` distinct approvals) → `approved` →
/// [`Store::release_approval`] → `released`, exactly once; or `pending` →
/// one rejection → `rejected`. A pending or approved request whose expiry
/// has passed reads as `expired` and can do nothing more: an approval not
/// acted on in time is not acted on (fail closed); request it again.
/// Nobody approves their own request; nobody votes twice on one request.
/// Names are compared trimmed and case-insensitively (`Bob` is `bob`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Its id.
    pub id: ApprovalId,
    /// The subject, as requested.
    pub subject: serde_json::Value,
    /// blake3 of the subject's JSON text as stored (hex), to cite it in
    /// audit entries without copying it.
    pub subject_blake3: String,
    /// The risk level.
    pub risk: Risk,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_ms: i64,
    /// When it expires (valid strictly before).
    pub expires_ms: i64,
    /// Distinct approvers needed.
    pub approvals_needed: u8,
    /// Its status at the time of the call that returned it.
    pub status: ApprovalStatus,
    /// The votes, oldest first.
    pub votes: Vec<Vote>,
    /// Who released it, once released.
    pub released_by: Option<String>,
    /// When it was released.
    pub released_ms: Option<i64>,
}

/// An approval operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// A name, reason, time or subject was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// No request has this id.
    #[error("no approval `{id}`")]
    NoApproval {
        /// The id asked for.
        id: ApprovalId,
    },
    /// The requester tried to approve their own request.
    #[error("`{approver}` requested approval `{id}` and cannot approve it; another approver must")]
    SelfApproval {
        /// The request.
        id: ApprovalId,
        /// The would-be approver.
        approver: String,
    },
    /// The same person voted twice.
    #[error(
        "`{approver}` already voted on approval `{id}`; a second approval must come from someone else"
    )]
    AlreadyVoted {
        /// The request.
        id: ApprovalId,
        /// The voter.
        approver: String,
    },
    /// The request expired.
    #[error("approval `{id}` expired at {expires_ms} ms; request it again")]
    Expired {
        /// The request.
        id: ApprovalId,
        /// Its expiry.
        expires_ms: i64,
    },
    /// Approve or reject of a request that is no longer pending.
    #[error("approval `{id}` is {status}, not pending")]
    NotPending {
        /// The request.
        id: ApprovalId,
        /// Its status.
        status: ApprovalStatus,
    },
    /// Release of a request that is not approved.
    #[error("approval `{id}` is {status}; only an approved request can be released")]
    NotApproved {
        /// The request.
        id: ApprovalId,
        /// Its status.
        status: ApprovalStatus,
    },
    /// A second release.
    #[error(
        "approval `{id}` was already released by `{by}` at {at_ms} ms; an approved subject is released once"
    )]
    AlreadyReleased {
        /// The request.
        id: ApprovalId,
        /// Who released it.
        by: String,
        /// When.
        at_ms: i64,
    },
    /// The storage backend failed.
    #[error("database: {0}")]
    Backend(crate::db::BackendError),
}

/// A name as compared: trimmed, lowercase.
fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

const COLUMNS: &str = "id, subject, subject_hash, risk, requested_by, requested_ms, expires_ms,
    needed, status, released_ms, released_by";

/// A request's row; `status` is as stored (never `expired`).
fn approval_row(r: &Row<'_>) -> rusqlite::Result<Approval> {
    let subject: String = r.get(1)?;
    let subject = serde_json::from_str(&subject).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let risk: String = r.get(3)?;
    let status: String = r.get(8)?;
    let needed: i64 = r.get(7)?;
    Ok(Approval {
        id: ApprovalId(r.get(0)?),
        subject,
        subject_blake3: r.get(2)?,
        risk: risk.parse().unwrap_or(Risk::Critical),
        requested_by: r.get(4)?,
        requested_ms: r.get(5)?,
        expires_ms: r.get(6)?,
        approvals_needed: u8::try_from(needed).unwrap_or(2),
        status: match status.as_str() {
            "approved" => ApprovalStatus::Approved,
            "rejected" => ApprovalStatus::Rejected,
            "released" => ApprovalStatus::Released,
            _ => ApprovalStatus::Pending,
        },
        votes: Vec::new(),
        released_ms: r.get(9)?,
        released_by: r.get(10)?,
    })
}

/// The request with its votes and its status as of `now_ms`.
fn approval_in(
    conn: &Connection,
    id: ApprovalId,
    now_ms: i64,
) -> rusqlite::Result<Option<Approval>> {
    let Some(mut approval) = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"))?
        .query_row([id.0], approval_row)
        .optional()?
    else {
        return Ok(None);
    };
    approval.votes = votes_in(conn, id)?;
    if matches!(
        approval.status,
        ApprovalStatus::Pending | ApprovalStatus::Approved
    ) && now_ms >= approval.expires_ms
    {
        approval.status = ApprovalStatus::Expired;
    }
    Ok(Some(approval))
}

fn votes_in(conn: &Connection, id: ApprovalId) -> rusqlite::Result<Vec<Vote>> {
    let mut stmt = conn.prepare_cached(
        "SELECT voter, decision, reason, at_ms FROM approval_votes WHERE approval = ?1 ORDER BY at_ms, rowid",
    )?;
    let rows = stmt.query_map([id.0], |r| {
        let decision: String = r.get(1)?;
        Ok(Vote {
            approver: r.get(0)?,
            decision: if decision == "approve" {
                VoteDecision::Approve
            } else {
                VoteDecision::Reject
            },
            reason: r.get(2)?,
            at_ms: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// Load a request that must be pending and unexpired at `at_ms`.
fn pending_in(conn: &Connection, id: ApprovalId, at_ms: i64) -> Result<Approval, ApprovalError> {
    let approval = approval_in(conn, id, at_ms)?.ok_or(ApprovalError::NoApproval { id })?;
    match approval.status {
        ApprovalStatus::Pending => Ok(approval),
        ApprovalStatus::Expired => Err(ApprovalError::Expired {
            id,
            expires_ms: approval.expires_ms,
        }),
        status => Err(ApprovalError::NotPending { id, status }),
    }
}

impl Store {
    /// [`Governance::request_approval`](crate::Governance::request_approval) on this store.
    pub fn request_approval(
        &self,
        request: &ApprovalRequest<'_>,
    ) -> Result<Approval, ApprovalError> {
        check_who("requester", request.requested_by)?;
        if !(1..=2).contains(&request.approvals_needed) {
            return Err(InputError::new(
                "approvals needed",
                &request.approvals_needed.to_string(),
                "use 1, or 2 for a second approver",
            )
            .into());
        }
        if request.expires_at_ms <= request.at_ms {
            return Err(InputError::new(
                "expiry",
                &request.expires_at_ms.to_string(),
                format!("must be later than the request time {}", request.at_ms),
            )
            .into());
        }
        let subject = serde_json::to_string(request.subject)
            .map_err(|e| InputError::new("subject", "(json)", e.to_string()))?;
        if subject.len() > MAX_SUBJECT_BYTES {
            return Err(InputError::new(
                "subject",
                &subject,
                format!("is {} bytes; at most 1 MiB", subject.len()),
            )
            .into());
        }
        let subject_hash = blake3::hash(subject.as_bytes()).to_hex().to_string();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO approvals (subject, subject_hash, risk, requested_by, requested_ms,
                 expires_ms, needed, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending')",
            params![
                subject,
                subject_hash,
                request.risk.as_str(),
                request.requested_by,
                request.at_ms,
                request.expires_at_ms,
                request.approvals_needed
            ],
        )?;
        let id = ApprovalId(tx.last_insert_rowid());
        let approval =
            approval_in(&tx, id, request.at_ms)?.ok_or(ApprovalError::NoApproval { id })?;
        self.commit_recorded(tx, "approval-request", request.at_ms, &approval)?;
        Ok(approval)
    }

    /// [`Governance::approve`](crate::Governance::approve) on this store.
    pub fn approve(&self, id: ApprovalId, change: &Change<'_>) -> Result<Approval, ApprovalError> {
        self.vote(id, VoteDecision::Approve, change)
    }

    /// [`Governance::reject`](crate::Governance::reject) on this store.
    pub fn reject(&self, id: ApprovalId, change: &Change<'_>) -> Result<Approval, ApprovalError> {
        self.vote(id, VoteDecision::Reject, change)
    }

    fn vote(
        &self,
        id: ApprovalId,
        decision: VoteDecision,
        change: &Change<'_>,
    ) -> Result<Approval, ApprovalError> {
        change.check()?;
        let voter = fold(change.actor);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let approval = pending_in(&tx, id, change.at_ms)?;
        if decision == VoteDecision::Approve && fold(&approval.requested_by) == voter {
            return Err(ApprovalError::SelfApproval {
                id,
                approver: change.actor.to_string(),
            });
        }
        if approval.votes.iter().any(|v| fold(&v.approver) == voter) {
            return Err(ApprovalError::AlreadyVoted {
                id,
                approver: change.actor.to_string(),
            });
        }
        tx.execute(
            "INSERT INTO approval_votes (approval, voter_key, voter, decision, reason, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id.0,
                voter,
                change.actor,
                decision.as_str(),
                change.reason,
                change.at_ms
            ],
        )?;
        let approvals = approval
            .votes
            .iter()
            .filter(|v| v.decision == VoteDecision::Approve)
            .count()
            + usize::from(decision == VoteDecision::Approve);
        let status = match decision {
            VoteDecision::Reject => Some("rejected"),
            VoteDecision::Approve if approvals >= usize::from(approval.approvals_needed) => {
                Some("approved")
            }
            VoteDecision::Approve => None,
        };
        if let Some(status) = status {
            tx.execute(
                "UPDATE approvals SET status = ?2 WHERE id = ?1 AND status = 'pending'",
                params![id.0, status],
            )?;
        }
        let approval =
            approval_in(&tx, id, change.at_ms)?.ok_or(ApprovalError::NoApproval { id })?;
        self.commit_recorded(tx, "approval-vote", change.at_ms, &approval)?;
        Ok(approval)
    }

    /// [`Governance::release_approval`](crate::Governance::release_approval) on this store.
    pub fn release_approval(
        &self,
        id: ApprovalId,
        released_by: &str,
        at_ms: i64,
    ) -> Result<Approval, ApprovalError> {
        check_who("releaser", released_by)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let approval = approval_in(&tx, id, at_ms)?.ok_or(ApprovalError::NoApproval { id })?;
        match approval.status {
            ApprovalStatus::Approved => {}
            ApprovalStatus::Released => {
                return Err(ApprovalError::AlreadyReleased {
                    id,
                    by: approval.released_by.unwrap_or_default(),
                    at_ms: approval.released_ms.unwrap_or_default(),
                });
            }
            ApprovalStatus::Expired => {
                return Err(ApprovalError::Expired {
                    id,
                    expires_ms: approval.expires_ms,
                });
            }
            status => return Err(ApprovalError::NotApproved { id, status }),
        }
        // INVARIANT: the `status = 'approved'` guard makes this the one
        // transition to `released`; the write lock orders racing releases.
        let moved = tx.execute(
            "UPDATE approvals SET status = 'released', released_ms = ?2, released_by = ?3
             WHERE id = ?1 AND status = 'approved'",
            params![id.0, at_ms, released_by],
        )?;
        if moved != 1 {
            return Err(ApprovalError::NotApproved {
                id,
                status: approval.status,
            });
        }
        let approval = approval_in(&tx, id, at_ms)?.ok_or(ApprovalError::NoApproval { id })?;
        self.commit_recorded(tx, "approval-release", at_ms, &approval)?;
        Ok(approval)
    }

    /// [`Governance::approval`](crate::Governance::approval) on this store.
    pub fn approval(&self, id: ApprovalId, now_ms: i64) -> Result<Approval, ApprovalError> {
        let conn = self.conn();
        approval_in(&conn, id, now_ms)?.ok_or(ApprovalError::NoApproval { id })
    }

    /// [`Governance::approvals`](crate::Governance::approvals) on this store.
    pub fn approvals(
        &self,
        pending_only: bool,
        now_ms: i64,
    ) -> Result<Vec<Approval>, ApprovalError> {
        let conn = self.conn();
        let ids = {
            let mut stmt = conn.prepare(
                "SELECT id FROM approvals
                 WHERE ?1 = 0 OR (status = 'pending' AND expires_ms > ?2) ORDER BY id",
            )?;
            let rows =
                stmt.query_map(params![pending_only, now_ms], |r| r.get(0).map(ApprovalId))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(approval_in(&conn, id, now_ms)?);
        }
        Ok(out)
    }
}

crate::db::from_backend!(ApprovalError);
