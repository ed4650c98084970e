# bash completion for SlurmScoreboard's sb-* tools and pipelines.
# Written by completions/generate.py from each command's --help: do not edit.

_sb_options() {
  case "$1" in
    sb-backfill) echo "--allow-fewer --backfill-start --chunk --cluster --help --redo-month --resplit --root --version" ;;
    sb-daemon) echo "--backfill-start --chunk --cluster --help --history-start --interval --jitter --max-users --no-steps --overlap --root --tick-timeout --version" ;;
    sb-dedupe) echo "-M -h -q -u --brief --cluster --help --quiet --root --stats --stdin --unbuffered --version" ;;
    sb-discover) echo "--cluster --help --history-start --max-users --root --version" ;;
    sb-export) echo "-f -h -o --format --help --output --root --top --version" ;;
    sb-incremental) echo "--chunk --cluster --help --overlap --root --version" ;;
    sb-news) echo "-f -h --all --all-scopes --cursor --format --help --mark-seen --outbox --root --since --version" ;;
    sb-news-post) echo "--all-scopes --cursor --help --max-events --root --timeout --url --version" ;;
    sb-parse) echo "-M -d -h -o -q -u --brief --cluster --delimiter --fields --format --help --quiet --stdin --strict --tz --unbuffered --version" ;;
    sb-poll) echo "--backfill-start --chunk --cluster --help --history-start --json --max-users --no-steps --once --overlap --root --status --until-caught-up --version" ;;
    sb-probe) echo "-M -h --check-cluster --cluster --group --help --install-info --json --max-calls-per-minute --polls --readers --root --single-owner --version" ;;
    sb-rank) echo "-A -M -f -h -m -n -o -u -w --account --cluster --columns --compare --format --from-files --groups --help --history-every --if-changed --metric --min-cpu-hours --noheader --now --root --user --version --wait --window" ;;
    sb-rebuild) echo "--help --if-changed --now --root --version" ;;
    sb-reduce) echo "-M -h -q --allow-fewer --cluster --help --keep-old-rule --old-rule-months --quiet --repair --replace-month --replace-users --root --since --stdin --summarize --until --usage --version" ;;
    sb-sacct) echo "-E -M -S -h -u --all-states --chunk --cluster --dry-run --help --max-calls-per-minute --month --no-wait --root --since --steps --timeout --until --user --version" ;;
    sb-view) echo "-M -h -m -u -w --backend --cluster --color --compare --competition --gained --groups --help --metric --records --root --snapshot --top --user --version --width --window" ;;
  esac
}

_sb_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
  local command="${COMP_WORDS[0]##*/}"
  case "$prev" in
    --root|--output) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --cluster|-M) COMPREPLY=($(compgen -W "$(ls "${SLURM_SB_ROOT:-.}/clusters" 2>/dev/null)" -- "$cur")); return ;;
    --backend) COMPREPLY=($(compgen -W "curses ansi textual" -- "$cur")); return ;;
    --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
    --metric|-m) COMPREPLY=($(compgen -W "clock_hours elapsed_hours gpu_clock_hours gpu_elapsed_hours jobs failed_jobs overall" -- "$cur")); return ;;
    --readers) COMPREPLY=($(compgen -W "all group" -- "$cur")); return ;;
    --window|-w) COMPREPLY=($(compgen -W "alltime rolling-7d rolling-30d rolling-365d month" -- "$cur")); return ;;
    --chunk) case "$command" in
      sb-sacct) COMPREPLY=($(compgen -W "none day week month" -- "$cur")); return ;;
      *) COMPREPLY=($(compgen -W "day week month" -- "$cur")); return ;;
    esac ;;
    --format|-f) case "$command" in
      sb-export) COMPREPLY=($(compgen -W "openmetrics html" -- "$cur")); return ;;
      sb-parse) COMPREPLY=($(compgen -W "sb-sacct sb-sacct-steps readme-account readme-oneliner xdmod" -- "$cur")); return ;;
      sb-rank) COMPREPLY=($(compgen -W "ndjson csv tsv" -- "$cur")); return ;;
    esac ;;
  esac
  COMPREPLY=($(compgen -W "$(_sb_options "$command")" -- "$cur"))
}
complete -F _sb_complete sb-backfill sb-daemon sb-dedupe sb-discover sb-export sb-incremental sb-news sb-news-post sb-parse sb-poll sb-probe sb-rank sb-rebuild sb-reduce sb-sacct sb-view
