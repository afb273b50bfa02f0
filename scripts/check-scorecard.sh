#!/usr/bin/env bash
# Opens an HTML scorecard (`gatehouse scorecard --html FILE`) in Debian's
# headless Chromium and fails unless the page the browser built has what the
# renderer promised: one chart per metric with a line per version, the
# versions table, one table per pilot gate, the decisions table, and nothing
# external (no script, no http reference). Also takes a screenshot, written
# next to FILE as FILE.png, for a human look.
#
#   scripts/check-scorecard.sh target/scorecard.html
#
# Needs /usr/bin/chromium (Debian: apt-get install -y chromium); set CHROMIUM
# to use another binary. This script installs nothing.
set -euo pipefail

file=${1:?usage: scripts/check-scorecard.sh FILE.html}
[ -f "$file" ] || { echo "check-scorecard: no such file: $file" >&2; exit 2; }
chromium=${CHROMIUM:-/usr/bin/chromium}
command -v "$chromium" >/dev/null || { echo "check-scorecard: $chromium not found (apt-get install -y chromium)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
url="file://$(realpath "$file")"
png="${file%.html}.png"

browse() {
    local profile
    profile=$(mktemp -d "$work/profile.XXXXXX")
    timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" "$@" "$url" 2>>"$work/chromium.log"
}

fail() {
    echo "check-scorecard: $file: $*" >&2
    exit 1
}

browse --dump-dom >"$work/dom.html" || { cat "$work/chromium.log" >&2; fail "chromium could not load the page"; }
dom="$work/dom.html"

count() { grep -o -- "$1" "$dom" | wc -l | tr -d ' '; }
attr() { grep -o "$1=\"[0-9]*\"" "$dom" | head -n1 | grep -o '[0-9]\+' || true; }

grep -q '<main id="scorecard"' "$dom" || fail "no scorecard in the rendered page"
charts=$(attr data-charts)
gates=$(attr data-gates)
[ -n "$charts" ] && [ -n "$gates" ] || fail "the page does not say how many charts and gates it has"

svgs=$(count '<svg class="chart"')
figures=$(count '<figure class="chart"')
[ "$charts" -ge 1 ] || fail "no charts"
[ "$svgs" = "$charts" ] && [ "$figures" = "$charts" ] || fail "expected $charts charts, the browser built $svgs"
lines=$(count '<polyline')
[ "$lines" -ge 1 ] || fail "the charts have no lines"
bands=$(count '<polygon class="band"')
[ "$bands" = "$lines" ] || fail "$lines lines but $bands interval bands"

grep -q '<table id="versions-table"' "$dom" || fail "no versions table"
grep -q '<table id="decisions-table"' "$dom" || fail "no decisions table"
gate_tables=$(count '<table id="gate-[0-9]*"')
[ "$gate_tables" = "$gates" ] || fail "expected $gates gate tables, found $gate_tables"

grep -qi '<script' "$dom" && fail "the page carries a script"
grep -qiE '(https?|ftp)://' "$dom" && fail "the page refers to something external"

browse --window-size=1280,3000 --hide-scrollbars --screenshot="$work/shot.png" >/dev/null ||
    { cat "$work/chromium.log" >&2; fail "chromium could not take a screenshot"; }
[ "$(head -c 8 "$work/shot.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "the screenshot is not a PNG"
size=$(wc -c <"$work/shot.png")
[ "$size" -gt 20000 ] || fail "the screenshot is nearly empty ($size bytes)"
cp "$work/shot.png" "$png"

echo "check-scorecard: $file: $charts charts ($lines series with interval bands), $gates gate tables, versions and decisions tables; screenshot $png"
