#!/usr/bin/env bash
# Summary: the demo: the real pipeline over a generated year of history, then the hiscores.
# Usage:   demo/run.sh   (make demo runs it with the project's venv first on PATH)
#
# Three clusters, 36 users, the year of jobs that ended yesterday (made by demo/generate.py,
# the same files for the same day) go through sb-parse | sb-dedupe | sb-reduce into the demo's
# own root, and what the daily step poll would have measured of the same jobs through
# sb-parse | sb-reduce --usage (the efficiency boards); sb-rank builds the boards as of this
# time yesterday and then as of now (so the boards show who moved since yesterday),
# sb-view prints the ANSI snapshot and sb-export writes the web site (.demo/site). Every
# command it prints afterwards, and the README's, shows full boards on that root.
set -euo pipefail
[[ -n "${SB_DEBUG:-}" ]] && set -x

here="$(cd "$(dirname "$0")" && pwd)"
demo="${DEMO_ROOT:-$here/../.demo}"
root="$demo/root"

rm -rf "$root" "$demo/history" "$demo/steps"
mkdir -p "$root"
python3 "$here/generate.py" --out "$demo/history" --steps "$demo/steps" > /dev/null
for history in "$demo"/history/*.txt; do
  sb-parse --quiet --tz UTC "$history" \
    | sb-dedupe --root "$root" --quiet \
    | sb-reduce --root "$root" --quiet \
    > /dev/null
done
for steps in "$demo"/steps/*.txt; do
  sb-parse --quiet --brief --tz UTC "$steps" | sb-reduce --root "$root" --quiet --usage > /dev/null
done
mkdir -p "$root/config"
printf '{"presets": ["skill-of-the-week"]}\n' > "$root/config/competitions.json"
sb-rank --root "$root" --now "$(date -u -d yesterday +%FT%TZ)" > /dev/null   # the day before:
sb-rank --root "$root" > /dev/null                                            # movement markers
sb-view --backend ansi --root "$root" --window rolling-7d --metric overall --top 15
sb-export --root "$root" --format html --output "$demo/site"
root="$(cd "$root" && pwd)"
site="$(cd "$demo" && pwd)/site"
echo
echo "The same data, interactively, and a few boards (export SLURM_SB_ROOT=$root first):"
echo "  $(command -v sb-view) --root $root"
echo "  $(command -v sb-rank) --root $root --user isa --window rolling-30d"
echo "  $(command -v sb-rank) --root $root -w rolling-7d -m gpu_clock_hours -f csv -o rank,user,value"
echo "  $(command -v sb-view) --root $root --snapshot --user isa     # her page: 12 months of sparklines"
echo "  $(command -v sb-view) --root $root --snapshot --compare isa lotte"
echo "  $(command -v sb-view) --root $root --snapshot --gained rolling-7d     # all time, and the week's gains"
echo "  $(command -v sb-view) --root $root --snapshot --competition     # this week's skill of the week"
echo "  $(command -v sb-view) --root $root --snapshot --records"
echo "  $(command -v sb-news) --root $root --since \"$(date -u -d '7 days ago' +%F)\" --format text"
echo
echo "The web site (players, groups, boards, search) was written to $site:"
echo "  open file://$site/index.html in a browser, or serve it and open http://localhost:8080/"
echo "  python3 -m http.server 8080 --directory $site"
