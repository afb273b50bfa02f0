#!/usr/bin/env bash
# Byte-reproducibility per language: build the conformance suite's `claims`
# pack twice from two fresh copies and print both blake3 digests.
# Rust guests are covered by the test `build::` in tests/all (same hash from
# two target directories).
set -euo pipefail
cd "$(dirname "$0")/.."
gatehouse=${GATEHOUSE:-target/release/gatehouse}
[ -x "$gatehouse" ] || cargo build --release --quiet -p gatehouse-cli
for lang in python js; do
    digests=()
    for i in 1 2; do
        dir=$(mktemp -d)/claims
        cp -rL "tests/conformance/$lang" "$dir"
        rm -rf "$dir/target"
        digests+=("$("$gatehouse" pack build "$dir" | awk '{print $1}')")
        rm -rf "$(dirname "$dir")"
    done
    if [ "${digests[0]}" = "${digests[1]}" ]; then same=reproducible; else same="NOT reproducible"; fi
    echo "$lang: ${digests[0]} ${digests[1]} $same"
done
