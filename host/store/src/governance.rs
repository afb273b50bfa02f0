//! Governance state: the checks no guest can bypass keep their state here.
//!
//! - **Kill-switches** per agent and global ([`Store::kill`],
//!   [`Store::is_killed`]): one indexed read, made before every action.
//! - **Counters** for budgets and frequency caps ([`Store::reserve`]):
//!   several limits checked and charged together, all or none, in one
//!   `IMMEDIATE` transaction; a reservation is held until the caller
//!   commits or releases it, so an action blocked later in the pipeline
//!   never consumes budget.
//! - **Exposure** of candidate versions ([`Store::expose`]): sticky
//!   per-unit assignment that never admits more than the cap.
//! - **Approvals** ([`Store::request_approval`]): no self-approval,
//!   expiry, an optional second approver, release exactly once.
//! - **Principals, roles and API tokens** ([`Store::add_principal`],
//!   [`Store::authenticate`], [`Principal::require`]), tokens stored only
//!   as hashes, and a local-admin bootstrap while no principal exists
//!   ([`Store::local_admin`]).
//!
//! Every state change returns a serialisable record for the caller to
//! append to the audit log. Like the rest of the store, nothing here reads
//! a clock: every time is the caller's, in milliseconds since the Unix
//! epoch.

mod approvals;
mod counters;
mod exposure;
mod kill;
mod principals;

pub use approvals::{
    Approval, ApprovalError, ApprovalId, ApprovalRequest, ApprovalStatus, Risk, Vote, VoteDecision,
};
pub use counters::{
    CapExceeded, Charge, Charged, CounterError, Reservation, ReservationId, ReservationState,
    Settlement, Window,
};
pub use exposure::{Exposure, ExposureCounts, ExposureError};
pub use kill::{KillError, KillOp, KillRecord};
pub use principals::{
    AuthError, Forbidden, IssuedToken, LOCAL_ADMIN, Principal, PrincipalChange, PrincipalRecord,
    Role, TokenRecord,
};

use crate::db::Schema;
use crate::input::InputError;

pub(crate) static SCHEMA: Schema = Schema {
    module: "governance",
    migrations: &[r#"
        -- Kill-switches: every kill and revive, append-only, and the kills
        -- in force (one row per killed agent, or `*` for every agent).
        CREATE TABLE kill_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('kill', 'revive')),
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        );
        CREATE TABLE kill_switches (
            agent TEXT PRIMARY KEY NOT NULL,
            event_seq INTEGER NOT NULL REFERENCES kill_events (seq)
        );

        -- Counters: reservations, their charges, and each key's running
        -- total of live (held or committed) charges.
        CREATE TABLE reservations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            action TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('held', 'committed', 'released')),
            reserved_ms INTEGER NOT NULL,
            settled_ms INTEGER,
            settled_by TEXT,
            settle_reason TEXT
        );
        CREATE INDEX reservations_held ON reservations (reserved_ms) WHERE state = 'held';
        CREATE TABLE reservation_charges (
            reservation INTEGER NOT NULL REFERENCES reservations (id),
            pos INTEGER NOT NULL,
            key TEXT NOT NULL,
            amount INTEGER NOT NULL CHECK (amount >= 0),
            limit_value INTEGER NOT NULL CHECK (limit_value >= 0),
            -- NULL: the key's total; else a sliding window's length.
            window_ms INTEGER CHECK (window_ms > 0),
            used_before INTEGER NOT NULL,
            at_ms INTEGER NOT NULL,
            -- 0 once its reservation is released: it no longer counts.
            live INTEGER NOT NULL DEFAULT 1 CHECK (live IN (0, 1)),
            PRIMARY KEY (reservation, pos)
        );
        CREATE INDEX reservation_charges_live
            ON reservation_charges (key, at_ms, amount) WHERE live = 1;
        CREATE TABLE counters (
            key TEXT PRIMARY KEY NOT NULL,
            used INTEGER NOT NULL CHECK (used >= 0)
        );

        -- Exposure: each unit's sticky assignment, and per-key totals.
        CREATE TABLE exposures (
            key TEXT NOT NULL,
            unit TEXT NOT NULL,
            admitted INTEGER NOT NULL CHECK (admitted IN (0, 1)),
            assigned_ms INTEGER NOT NULL,
            PRIMARY KEY (key, unit)
        ) WITHOUT ROWID;
        CREATE TABLE exposure_totals (
            key TEXT PRIMARY KEY NOT NULL,
            units INTEGER NOT NULL,
            admitted INTEGER NOT NULL
        );

        -- Approvals and their votes (one per person per request).
        CREATE TABLE approvals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subject TEXT NOT NULL,
            subject_hash TEXT NOT NULL,
            risk TEXT NOT NULL CHECK (risk IN ('low', 'medium', 'high', 'critical')),
            requested_by TEXT NOT NULL,
            requested_ms INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL,
            needed INTEGER NOT NULL CHECK (needed IN (1, 2)),
            status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'released')),
            released_ms INTEGER,
            released_by TEXT
        );
        CREATE INDEX approvals_by_status ON approvals (status, id);
        CREATE TABLE approval_votes (
            approval INTEGER NOT NULL REFERENCES approvals (id),
            -- The voter's name folded for comparison (trimmed, lowercase).
            voter_key TEXT NOT NULL,
            voter TEXT NOT NULL,
            decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
            reason TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            PRIMARY KEY (approval, voter_key)
        );

        -- Principals, their roles, and API tokens (only a hash of each).
        CREATE TABLE principals (
            name TEXT PRIMARY KEY NOT NULL,
            created_ms INTEGER NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE principal_roles (
            principal TEXT NOT NULL REFERENCES principals (name),
            role TEXT NOT NULL
                CHECK (role IN ('author', 'approver', 'operator', 'auditor', 'admin')),
            PRIMARY KEY (principal, role)
        );
        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            principal TEXT NOT NULL REFERENCES principals (name),
            issued_ms INTEGER NOT NULL,
            issued_by TEXT NOT NULL,
            revoked_ms INTEGER,
            revoked_by TEXT,
            revoke_reason TEXT
        );
        CREATE INDEX api_tokens_by_principal ON api_tokens (principal);
    "#],
    backfill: None,
};

/// The longest counter key, experiment key or unit id accepted, in bytes.
const MAX_KEY_LEN: usize = 256;

/// A counter key, exposure key or unit id: free text such as
/// `spend/day/2026-01-05/agent/outreach-eu`, 1–256 bytes, one line,
/// without leading or trailing spaces (two spellings of one key must not
/// count separately).
pub(crate) fn check_key(what: &'static str, value: &str) -> Result<(), InputError> {
    if value.is_empty() || value.len() > MAX_KEY_LEN {
        return Err(InputError::new(what, value, "use 1–256 bytes"));
    }
    if value.chars().any(char::is_control) || value.trim() != value {
        return Err(InputError::new(
            what,
            value,
            "use one line without control characters or leading/trailing spaces",
        ));
    }
    Ok(())
}

/// A count or amount as SQLite stores it (a signed 64-bit integer).
pub(crate) fn to_sql_int(what: &'static str, value: u64) -> Result<i64, InputError> {
    i64::try_from(value).map_err(|_| {
        InputError::new(
            what,
            &value.to_string(),
            format!("must be at most {}", i64::MAX),
        )
    })
}

/// An integer column known to be non-negative (CHECK constraints or sums
/// of such), as `u64`.
pub(crate) fn from_sql_int(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
