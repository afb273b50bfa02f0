#!/usr/bin/env bash
# Every test: the host's integration tests (which build the guests, Python
# and JavaScript ones included), the guest SDK's, the packs' and the skills'
# own unit tests, the gates' simulations. Installs what is missing first: the
# wasm target and the pinned Python/JavaScript component toolchains (into
# this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null
./scripts/lang-toolchains.sh >/dev/null
cargo test --release --workspace "$@"
