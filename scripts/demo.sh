#!/usr/bin/env bash
# The main job: the whole loop on a fresh embedded store. Builds gatehouse,
# then `gatehouse demo` builds, signs and publishes the skills and packs,
# pilots a candidate against the control through the gates to promotion,
# rolls back a candidate that hurts a guardrail, trips the kill-switch on a
# misbehaving agent, replays a run, verifies the audit log and prints the
# scorecard (and writes it as HTML). Needs only the Rust toolchain (rustup).
# Extra arguments go to `gatehouse demo` (e.g. --seed 11, --dir /tmp/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null
cargo build --release --quiet -p gatehouse-cli
exec target/release/gatehouse demo "$@"
