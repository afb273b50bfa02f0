#!/usr/bin/env bash
# The main job on the bundled example: build gatehouse and the guests, run
# the email-outreach skill and judge its proposals with the brand pack, then
# check the audit log and replay the run as an auditor would.
# Needs only the Rust toolchain (rustup). Extra arguments go to `gatehouse run`
# (e.g. --json, --fail-on deny). Records go to --data-dir / $GATEHOUSE_DATA
# (default ~/.local/share/gatehouse).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-unknown-unknown >/dev/null
cargo build --release --quiet -p gatehouse-cli
gatehouse=target/release/gatehouse
"$gatehouse" build policies/brand examples/email-outreach
echo
status=0
"$gatehouse" run \
  --skill target/gatehouse/email-outreach-skill.wasm \
  --pack target/gatehouse/brand.pack.toml \
  --context examples/data/context.json \
  --data examples/data/crm.json --senders examples/data/senders.toml \
  "$@" || status=$?
echo
"$gatehouse" audit verify
"$gatehouse" replay run-0001
exit "$status"
