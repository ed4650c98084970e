"""make bench / make bench-smoke: run the benchmarks and write one Markdown table of every
figure beside its baseline from the same run (bench/RESULTS.md), with the machine it ran on.
Timed figures are for reading, never asserted: machines here are shared and noisy.
Usage: tests/slurm/with-cluster.sh sbtest python bench/run.py [--smoke] [--out bench/RESULTS.md]
       python bench/run.py --skip-cluster [--smoke] [--out FILE]   (no root, no SLURM)
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

FULL = {"ingest": ["--jobs", "100000", "--repeat", "3", "--memory-jobs", "250000"],
        "rank": ["--clusters", "20", "--months", "36", "--users", "20000"],
        "history": ["--clusters", "3", "--months", "36", "--users", "2000", "--history"],
        "poll_rebuild": ["--clusters", "10", "--months", "24", "--users", "4000", "--poll", "200",
                         "--usage-days", "30"],
        "poll": [],
        "pipe": ["--jobs", "100000"]}
SMOKE = {"ingest": ["--jobs", "2000", "--repeat", "1", "--memory-jobs", "1000"],
         "rank": ["--clusters", "2", "--months", "3", "--users", "200"],
         "history": ["--clusters", "2", "--months", "3", "--users", "200", "--history"],
         "poll_rebuild": ["--clusters", "3", "--months", "3", "--users", "200", "--poll", "20",
                          "--usage-days", "5"],
         "poll": ["--smoke"],
         "pipe": ["--smoke"]}


def run(script: str, args, work: str) -> dict:
    """One benchmark's JSON figures (its human lines go to our stdout as they come)."""
    out = os.path.join(work, script + ".json")
    command = [sys.executable, os.path.join(HERE, script + ".py")] + args
    if script == "poll_cost":
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        sys.stdout.write(done.stdout)
        return json.loads(done.stdout.strip().splitlines()[-1])
    subprocess.run(command + ["--json", out], check=True)
    with open(out) as handle:
        return json.load(handle)


def ratio(value: float, baseline: float) -> str:
    return f"{baseline / value:.2f}x" if value and baseline == baseline else "-"


def times_of(value: float, baseline: float) -> str:
    """`value` as a multiple of `baseline`'s time (lower is better)."""
    return f"{value / baseline:.2f}x its time" if baseline else "-"


def peer_failure(error: str) -> str:
    """Why the peer did not run, as one short table cell (the error's last line)."""
    last = [line for line in error.splitlines() if line.strip()][-1:] or ["unknown"]
    return last[0].replace("|", "/")[:160]


def pipe_rows(pipe: dict) -> list:
    """The real pipe against sacct alone and against slurm2sql, one month on the test cluster."""
    seconds, jobs = pipe["seconds"], pipe["jobs"]
    sacct = f"sacct alone > /dev/null {seconds['sacct']:.2f} s"
    rows = [(f"real pipe sb-sacct to sb-reduce, one {jobs:,}-job month on the test cluster, "
             f"{pipe['rows']:,} sacct rows (target <= +5% over sacct alone)",
             f"{seconds['pipe']:.2f} s", sacct, f"{pipe['overhead_pct']:+.1f}%"),
            ("sb-sacct alone, same month", f"{seconds['sb_sacct']:.2f} s", sacct,
             f"{pipe['sb_sacct_overhead_pct']:+.1f}%")]
    peer = pipe["peer"].replace("==", " ")
    if seconds["slurm2sql"]:
        rows.append((f"the peer: {peer} importing the same month into SQLite "
                     f"(speed of the real pipe vs it)", f"{seconds['pipe']:.2f} s",
                     f"{peer} {seconds['slurm2sql']:.2f} s",
                     ratio(seconds["pipe"], seconds["slurm2sql"])))
    else:
        rows.append((f"the peer: {peer} importing the same month into SQLite",
                     f"{seconds['pipe']:.2f} s",
                     f"did not run: {peer_failure(pipe['peer_error'])}", "-"))
    return rows


def history_rows(both: dict) -> list:
    """The history pass after a poll (from its checkpoint) against the full pass."""
    return [(f"history pass after a poll (a job for 200 users today; from its checkpoint at "
             f"{both['resumed_from']}) vs the full pass in the same run (target <= 0.2)",
             f"{both['history_after_poll_seconds']:.2f} s",
             f"full pass {both['history_full_seconds']:.1f} s",
             f"{both['history_ratio']:.3f}"),
            ("sb-rank rebuild after a poll, the history pass from its checkpoint (every "
             "rebuild runs it now), same site",
             f"{both['rebuild_after_poll_seconds']:.1f} s, peak RSS "
             f"{both['rebuild_after_poll_peak_mib']:.0f} MiB",
             f"the rebuild with the full pass: {both['seconds']:.1f} s",
             f"{both['rebuild_after_poll_seconds'] / both['seconds']:.2f}x")]


def poll_rebuild_row(figures: dict) -> tuple:
    """The rebuild after a poll of one cluster against a full rebuild of the same root."""
    return (f"sb-rank rebuild after a poll of one cluster of {figures['clusters']} "
            f"({figures['clusters']} x {figures['users']:,} users x {figures['months']} months, "
            f"{figures['poll_jobs']} jobs added; the boards alone, the history pass has its rows; "
            f"target <= 0.2 of a full rebuild)",
            f"{figures['seconds']:.1f} s ({figures['cpu_seconds']:.1f} s CPU), "
            f"{figures['files_written']} files, {figures['bytes_written'] / 1e6:.1f} MB written "
            f"({figures['summary_bytes'] / 1e6:.1f} MB of them summaries)",
            f"full rebuild: {figures['full_seconds']:.1f} s ({figures['full_cpu_seconds']:.1f} s "
            f"CPU), {figures['full_files']} files, {figures['full_bytes'] / 1e6:.1f} MB written "
            f"({figures['full_summary_bytes'] / 1e6:.1f} MB of them summaries)",
            f"{figures['seconds'] / figures['full_seconds']:.3f} of the time "
            f"({figures['cpu_seconds'] / figures['full_cpu_seconds']:.3f} of the CPU), "
            f"{figures['bytes_written'] / figures['full_bytes']:.3f} of the bytes")


def table(ingest: dict, rank: dict, poll: dict, pipe: dict) -> str:
    seconds = ingest["seconds"]
    small, large = ingest["rss_small"], ingest["rss_large"]
    n, big = ingest["memory_jobs"], 4 * ingest["memory_jobs"]
    rows = [
        ("ingest from a file, whole pipe (sb-parse, sb-dedupe, sb-reduce piped; its time over the "
         "one-process stdlib script's; target <= 2x, aim 1x)",
         f"{seconds['pipe']:.2f} s", f"baseline-ingest {seconds['baseline']:.2f} s",
         times_of(seconds["pipe"], seconds["baseline"])),
    ]
    cpu = ingest["cpu_seconds"]
    rows.append(("the same pipe's CPU time (user + system of its three tools, which other load "
                 "on the machine changes least)", f"{cpu['pipe']:.2f} s",
                 f"baseline-ingest {cpu['baseline']:.2f} s",
                 times_of(cpu["pipe"], cpu["baseline"])))
    for stage in ("parse", "dedupe", "reduce"):
        rows.append((f"sb-{stage} alone, same file", f"{seconds[stage]:.2f} s",
                     f"baseline-ingest {seconds['baseline']:.2f} s",
                     times_of(seconds[stage], seconds["baseline"])))
    for stage in ("parse", "dedupe", "reduce"):
        target = "120" if stage == "reduce" else "100"
        rows.append((f"sb-{stage} peak RSS at {big:,} jobs in a month (target <= {target} MiB; "
                     f"<= 1.2x for 4x the input)", f"{large[stage]:.0f} MiB",
                     f"{small[stage]:.0f} MiB at {n:,} jobs",
                     f"{large[stage] / small[stage]:.2f}x"))
    rows.append(("Bloom file per million jobs (target <= 6 MB at <= 1e-9)",
                 f"{large['bloom_mb_per_million']:.2f} MB", "one filter sized right: 5.4 MB",
                 f"{large['bloom_mb_per_million'] / 5.4:.2f}x"))
    if rank:
        rows.append((f"sb-rank full rebuild, {rank['clusters']} clusters x {rank['months']} "
                     f"months x {rank['users']:,} users (target <= 10 s)",
                     f"{rank['seconds']:.1f} s, {rank['bytes_written'] / 1e9:.2f} GB written",
                     f"orjson-parse what it reads: {rank['floor_seconds']:.1f} s",
                     f"{rank['seconds'] / rank['floor_seconds']:.1f}x the floor"))
        rows.append(poll_rebuild_row(rank["after_poll"]))
        both = rank["with_history"]
        rows.append((f"sb-rank rebuild with the history pass (achievements, records, "
                     f"competitions) from the first day, {both['clusters']} clusters x "
                     f"{both['months']} months x {both['users']:,} users",
                     f"{both['seconds']:.1f} s, peak RSS {both['peak_mib']:.0f} MiB",
                     f"orjson-parse what it reads: {both['floor_seconds']:.1f} s",
                     f"{both['seconds'] / both['floor_seconds']:.1f}x the floor"))
        rows += history_rows(both)
    if poll:
        rows.append(("rows sacct returns per job ended, 10-minute polls (target <= 2.5)",
                     f"{poll['rows_per_job_ended']}", "whole-month fetch each poll",
                     f"{poll['rows_ratio']}x fewer rows"))
        rows.append(("real sacct wall time per simulated day", f"{poll['sacct_s_per_day']:.1f} s",
                     "whole-month fetch each poll", f"{poll['seconds_ratio']}x less"))
        steps = poll["step_poll"]
        polled = poll["incremental"]["rows"] + poll["discovery"]["rows"]
        rows.append((f"the daily step poll (TotalCPU, MaxRSS of {steps['jobs_measured']:,} jobs "
                     f"ended the day before): rows, sacct wall time",
                     f"{steps['rows']:,} rows, {steps['sacct_s']:.1f} s",
                     f"the day's allocation polls: {polled:,} rows, "
                     f"{poll['sacct_s_per_day']:.1f} s",
                     f"{steps['rows_vs_allocation_polls']}x the rows, "
                     f"{steps['seconds_vs_allocation_polls']}x the time"))
    if pipe:
        rows += pipe_rows(pipe)
    lines = ["| figure | SlurmScoreboard | baseline (same run) | ratio |",
             "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def machine() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{usable} usable of {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.platform()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (CI keeps it working)")
    parser.add_argument("--skip-cluster", action="store_true",
                        help="leave out the benchmarks that need the real SLURM test cluster")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else FULL
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as work:
        ingest = run("ingest", sizes["ingest"], work)
        rank = run("rank_rebuild", sizes["rank"], work)
        rank["with_history"] = run("rank_rebuild", sizes["history"], work)
        rank["after_poll"] = run("rank_rebuild", sizes["poll_rebuild"], work)
        poll = {} if args.skip_cluster else run("poll_cost", sizes["poll"], work)
        pipe = {} if args.skip_cluster else run("sacct_pipe", sizes["pipe"], work)
    text = (f"# Benchmarks{' (smoke sizes)' if args.smoke else ''}\n\n"
            f"Machine: {machine()}. Each figure beside its baseline from the same run.\n\n"
            f"{table(ingest, rank, poll, pipe)}\n")
    with open(args.out, "w") as handle:
        handle.write(text)
    print("\n" + text)


if __name__ == "__main__":
    main()
