//! Seeded, deterministic simulations of pilots checked after every batch:
//! the gate's false-pass rate under A/A, its power against a true lift, and
//! how fast it rolls back a guardrail regression. Run them with
//! `cargo test --release -p gatehouse-gates --test simulation -- --nocapture`
//! to see the measured numbers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod pilot;
mod rng;

mod aa;
mod power;
mod rollback;
