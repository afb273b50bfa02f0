#!/usr/bin/env bash
# The brand-safety benchmark: native Rust, gatehouse (reused instance, fresh
# instance, full validate path), regorus (interpreter, RVM), Cedar and
# Extism on the same 1,000 actions in one process. Prints a table and writes
# target/bench/brand-safety.json.
#
#   scripts/bench.sh           # full run (a few minutes on 2 cores)
#   scripts/bench.sh --smoke   # a few actions per engine, verdicts only
#   BENCH_CARGO_ARGS=--no-default-features scripts/bench.sh --smoke
#                              # without the Extism rows (skips building wasmtime 43)
#
# The peers live in their own workspace (bench/peers), outside gatehouse's
# build; they share this repository's target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
export CARGO_TARGET_DIR="$PWD/target"
exec cargo run --quiet --release --locked --manifest-path bench/peers/Cargo.toml -p gatehouse-bench ${BENCH_CARGO_ARGS:-} -- "$@"
