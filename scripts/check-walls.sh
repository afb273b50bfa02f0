#!/usr/bin/env bash
# The walls between gatehouse's crates, checked on the resolved dependency
# graph (`cargo tree`, normal dependencies): a crossing fails CI.
#
#   gatehouse-cli ──> gatehouse (engine) ──> gatehouse-sandbox ──> gatehouse-zone
#                          │         └─────> gatehouse-store
#                          └───────────────> gatehouse-gates
#
# - the sandbox (the guest boundary) knows nothing of storage or statistics;
# - the store and the gates know nothing of guests, nor of each other;
# - no library uses clap or anyhow: only the CLI does.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
# Every crate in the graph (transitively), or with --direct only the
# crate's own dependencies (third-party crates may use anyhow themselves).
deps() { cargo tree --quiet -e normal --prefix none "$@" | awk '{print $1}' | sort -u; }
forbid() {
    local crate=$1; shift
    local graph
    graph=$(deps -p "$crate")
    check "$crate" "$graph" "$@"
}
forbid_direct() {
    local crate=$1; shift
    local graph
    graph=$(deps -p "$crate" --depth 1)
    check "$crate" "$graph" "$@"
}
check() {
    local crate=$1 graph=$2; shift 2
    for bad in "$@"; do
        if grep -qx "$bad" <<<"$graph"; then
            echo "wall crossed: $crate depends on $bad"
            fail=1
        fi
    done
}

forbid gatehouse-sandbox gatehouse-store gatehouse-gates gatehouse rusqlite clap
forbid gatehouse-store gatehouse-sandbox gatehouse-gates gatehouse wasmtime clap
forbid gatehouse-gates gatehouse-sandbox gatehouse-store gatehouse wasmtime rusqlite clap anyhow
forbid gatehouse-zone gatehouse-sandbox gatehouse-store gatehouse-gates gatehouse clap anyhow
for lib in gatehouse gatehouse-sandbox gatehouse-store; do
    forbid_direct "$lib" clap anyhow
done
forbid_direct gatehouse rusqlite

# The CLI reaches the store only through the engine's operations layer.
if grep -rn "rusqlite" host/cli/src >/dev/null; then
    echo "wall crossed: the CLI names rusqlite"
    fail=1
fi

# No backend type in the store's public API: its errors wrap BackendError.
if grep -rnE '^\s*pub [^;{]*rusqlite' host/store/src; then
    echo "wall crossed: a public item of gatehouse-store names rusqlite"
    fail=1
fi

[ "$fail" = 0 ] && echo "walls: ok"
exit "$fail"
