#!/usr/bin/env bash
# Summary: the demo: the real pipeline over the bundled sample history, then the hiscores.
# Usage:   demo/run.sh   (make demo runs it with the project's venv first on PATH)
#
# Three clusters, 36 users, a year of jobs (demo/history/*.txt, made by demo/generate.py) go
# through sb-parse | sb-dedupe | sb-reduce into demo's own root, sb-rank builds the boards as of
# the end of that year, and sb-view prints the ANSI snapshot.
set -euo pipefail
[[ -n "${SB_DEBUG:-}" ]] && set -x

here="$(cd "$(dirname "$0")" && pwd)"
root="${DEMO_ROOT:-$here/../.demo/root}"
now="2025-12-31T18:00:00Z"

rm -rf "$root"
for history in "$here"/history/*.txt; do
  sb-parse --quiet "$history" \
    | sb-dedupe --root "$root" --quiet \
    | sb-reduce --root "$root" --quiet \
    > /dev/null
done
sb-rank --root "$root" --now "$now" > /dev/null
sb-view --backend ansi --root "$root" --window rolling-365d --metric overall --top 15
echo
echo "Open the interactive hiscores on the same data:"
echo "  $(command -v sb-view) --root $(cd "$root" && pwd)"
