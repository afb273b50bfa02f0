//! gatehouse's integration tests: one binary, one module per capability.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod support;

// Hostile guests: every limit is a typed error and the host keeps serving.
mod hostile;
// Loading: malformed, foreign and incompatible components are refused in one line.
mod loading;
// The act → validate pipeline on the bundled skill and brand pack.
mod pipeline;
// The `gatehouse` command line, as a user runs it.
mod cli;
// Guest builds are reproducible.
mod build;
// Run records, the audit log and replay, as an auditor uses them.
mod audit;
// Publish, sign, promote, roll back and lock, as operators do.
mod registry;
// The JSON formats' schemas stay in step with the types.
mod schema;
// The pack author's toolkit and the bundled packs' case files.
mod packs;
// The govern stage: kill switch, partition, evidence, caps, budgets, exposure, approvals.
mod govern;
// The learning loop: proposals, pilots, gates, scorecard, the demo.
mod learn;
// Python and JavaScript guests: the same rules in every language give the same answers.
mod conformance;
// Virtual WASI: served without authority, recorded, replayed; the rest refused.
mod wasi;
// The Python and JavaScript templates build and pass out of the box.
mod templates;
