#!/usr/bin/env bash
# Every test: the host's integration tests (which build the guests), the
# guest SDK's, the packs' and the skills' own unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null
cargo test --release --workspace "$@"
