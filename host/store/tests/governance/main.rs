//! Governance state: kill-switches, budget and frequency counters, exposure
//! caps, the approvals queue, and principals with API tokens. One binary;
//! `processes::child_worker` is the child process the multi-process test
//! spawns (ignored on its own).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod approvals; // no self-approval, expiry, two approvers, release exactly once
mod atomic; // a state change and its audit entry: both or neither
mod counters; // all-or-none reservations, release, sliding windows, threads
mod exposure; // sticky assignment, the cap rule, concurrency
mod kill; // per-agent and global kill-switches
mod principals; // roles, tokens hashed at rest, the local-admin bootstrap
mod processes; // several processes hammering one budget
mod support;
