"""sb-parse on real sacct output from public projects (../shared/sacct-samples, see its INDEX.md).

The expected counts were checked by hand against the files (awk over the allocation lines: job
states, GPU sums); files from formats without a User column must be read without a traceback and
every job reported as skipped for that reason.
"""
import collections
import os
import subprocess
import sys

import pytest

from slurm_scoreboard.ingest import fields
from slurm_scoreboard.ingest.parser import SacctParser

HB = ("JobID,JobName,User,Partition,NodeList,NNodes,NCPUs,NTasks,State,Submit,Start,End,Timelimit,"
      "Elapsed,TotalCPU,CPUTime,UserCPU,SystemCPU,ReqMem,MaxRSS,MaxVMSize,ReqTRES,AllocTRES,"
      "TRESUsageInMax,TRESUsageInTot,TRESUsageOutTot,MaxDiskRead,MaxDiskWrite,MaxRSSNode,"
      "MaxRSSTask,MaxVMSizeNode,MaxVMSizeTask,MaxDiskReadNode,MaxDiskReadTask,MaxDiskWriteNode,"
      "MaxDiskWriteTask,Comment")
SJ = ("JobID,JobName,User,Partition,NodeList,NNodes,ncpus,NTasks,State,Submit,start,end,timelimit,"
      "elapsed,TotalCPU,UserCPU,SystemCPU,ReqMem,MaxRSS,TRESUsageInTot,TRESUsageOutTot,"
      "MaxDiskWrite,MaxDiskRead,MaxRSSNode,MaxDiskWriteNode,MaxDiskReadNode,Comment")
HPC25 = ("State,JobID,ReqCPUS,ReqMem,ReqNodes,Constraints,Submit,Eligible,Start,Elapsed,Suspended,"
         "End,ExitCode,DerivedExitCode,AllocNodes,NCPUS,MaxDiskRead,MaxDiskWrite,MaxPages,MaxRSS,"
         "MaxVMSize,CPUTime,UserCPU,SystemCPU,TotalCPU")
HPC26 = HPC25 + ",Partition"
SLYME = ("User,JobID,JobName,State,Partition,NCPUS,NNodes,CPUTime,TotalCPU,UserCPU,SystemCPU,"
         "ReqMem,MaxRSS,Submit,Start,End,NodeList")
RS10 = "AdminComment,AllocCPUS,Elapsed,JobID,JobIDRaw,MaxRSS,NNodes,REQMEM,State,TotalCPU"
RS11T = "AdminComment,AllocCPUS,Elapsed,JobID,JobIDRaw,MaxRSS,NNodes,REQMEM,State,Timelimit,TotalCPU"
RS12E = ("AdminComment,AllocCPUS,Elapsed,JobID,JobIDRaw,MaxRSS,NNodes,REQMEM,State,"
         "TRESUsageOutTot,Timelimit,TotalCPU")
RSC11 = "AdminComment,AllocCPUS,Elapsed,JobID,JobIDRaw,MaxRSS,NNodes,NTasks,REQMEM,State,TotalCPU"
RSC12 = ("AdminComment,AllocCPUS,Elapsed,JobID,JobIDRaw,MaxRSS,NNodes,NTasks,REQMEM,State,"
         "Timelimit,TotalCPU")
RSC13 = ("AdminComment,AllocCPUS,Elapsed,JobID,JobIDRaw,MaxRSS,NNodes,NTasks,REQMEM,State,"
         "TRESUsageOutTot,Timelimit,TotalCPU")
RSC9 = "AdminComment,AllocCPUS,JobID,JobIDRaw,MaxRSS,NNodes,NTasks,REQMEM,State"
GC3 = "jobid,exitcode,state,ncpus,elapsed,totalcpu,submit,start,end,maxrss,maxvmsize"
GC13 = "jobid,ncpus,cputimeraw,elapsed,submit,eligible,reserved,start,end,exitcode,maxrss,maxvmsize,totalcpu"
GC11 = "jobid,ncpus,cputimeraw,elapsed,submit,start,end,exitcode,maxrss,maxvmsize,totalcpu"

# file: (parser arguments, records, states of the records, GPUs summed)
WITH_USERS = {
    "hb-jobinfo__test_data_sacct_snowman.txt": (
        dict(fields=HB, delimiter="\u2603"), 100,
        {"COMPLETED": 66, "FAILED": 8, "CANCELLED": 8, "TIMEOUT": 7, "NODE_FAIL": 1,
         "PENDING": 7, "RUNNING": 3}, 14),
    "slurm-jobinfo__test_data_sacct_snowman.txt": (
        dict(fields=SJ, delimiter="\u2603"), 37,
        {"COMPLETED": 18, "FAILED": 2, "RUNNING": 14, "PENDING": 3}, 0),
    "slyme__sacct_single_parallel_COMPLETED.txt": (dict(fields=SLYME), 1, {"COMPLETED": 1}, 0),
    "slyme__sacct_single_serial_COMPLETED.txt": (dict(fields=SLYME), 1, {"COMPLETED": 1}, 0),
    "jobstats-princeton__test_fixtures_P_X_epoch.txt": (
        {}, 4, {"RUNNING": 1, "TIMEOUT": 2, "COMPLETED": 1}, 2),
    "slurm2sql__test-data1_old_semicolon-pipe-delim.txt": ({}, 1, {"CANCELLED": 1}, 0),
    "xdmod__unit_shredder_accounting-logs.txt": (
        dict(preset="xdmod"), 4, {"TIMEOUT": 1, "CANCELLED": 1, "COMPLETED": 2}, 2),
    "xdmod__unit_shredder_non-ended-job-state.txt": (
        dict(preset="xdmod"), 2, {"RUNNING": 1, "PENDING": 1}, 0),
    "xdmod__unit_shredder_utf8-jobname.txt": (dict(preset="xdmod"), 1, {"TIMEOUT": 1}, 0),
    "xdmod__post_mortorq_utf8.txt": (dict(preset="xdmod"), 1, {"COMPLETED": 1}, 0),
    "xdmod__referencedata_robertson-filter.txt": (dict(preset="xdmod"), 1, {"COMPLETED": 1}, 0),
    "xdmod__referencedata_phillips.txt": (
        dict(preset="xdmod"), 4285,
        {"COMPLETED": 2324, "FAILED": 1717, "CANCELLED": 243, "TIMEOUT": 1}, 4),
    "xdmod__referencedata_pozidriv.txt": (
        dict(preset="xdmod"), 11704,
        {"COMPLETED": 10134, "FAILED": 1007, "CANCELLED": 468, "PREEMPTED": 86, "TIMEOUT": 9}, 0),
}

# LIVE formats that carry no User column: read cleanly, every job skipped for that reason.
WITHOUT_USERS = {
    "hpc-cost-simulator__sacct-output_main.txt": dict(fields=HPC25),
    "hpc-cost-simulator__array_OOM.txt": dict(fields=HPC25),
    "hpc-cost-simulator__multi-node.txt": dict(fields=HPC25),
    "hpc-cost-simulator__issue5_pending_unknown.txt": dict(fields=HPC25),
    "hpc-cost-simulator__issue17_reqmem_0n_start_None.txt": dict(fields=HPC25),
    "hpc-cost-simulator__issue59_node_fail.txt": dict(fields=HPC26),
    "reportseff__pre2023_P_n_sorted_10col.txt": dict(fields=RS10),
    "reportseff__pre2023_P_n_sorted_11col_timelimit.txt": dict(fields=RS11T),
    "reportseff__pre2023_P_n_sorted_12col_energy.txt": dict(fields=RS12E),
    "reportseff__current_parsable_caretdelim_11col.txt": dict(fields=RSC11, delimiter="^|^"),
    "reportseff__current_parsable_caretdelim_12col.txt": dict(fields=RSC12, delimiter="^|^"),
    "reportseff__current_parsable_caretdelim_13col.txt": dict(fields=RSC13, delimiter="^|^"),
    "reportseff__conftest_P_fixtures_11-12col.txt": dict(fields=RSC12.replace("NTasks,", "") + ",NTasks"),
    "gc3pie__test_slurm_fixtures_parsable_trailing.txt": dict(fields=GC3),
    "gc3pie__slurm_py_doc_j14_reserved.txt": dict(fields=GC13),
    "gc3pie__slurm_py_doc_j19.txt": dict(fields=GC11),
    "torchx__parsable2_hetjob_1853.txt": {},
    "torchx__parsable2_failed_1902.txt": {},
    "torchx__parsable2_running_54.txt": {},
    "torchx__parsable2_cancelled_by_89_slurm24.11.txt": {},
    "torchx__parsable_trailing_hetjob_176.txt": {},
    "snakemake-executor-plugin-slurm__test_parsing_P_noheader.txt": dict(
        fields="JobID,JobName,Comment,Elapsed,TotalCPU,NNodes,NCPUS,MaxRSS,ReqMem"),
    "cluster_utils__test_extract_job_status_from_sacct_output.txt": dict(
        fields="JobID,NodeList,State,ExitCode"),
}

NEGATIVE = {
    "hpc-cost-simulator__issue20_NEGATIVE_corrupted.txt": dict(fields=HPC25),
    "xdmod__unit_shredder_NEGATIVE_unknown-job-state.txt": dict(preset="xdmod"),
}


def run_parser(path, fields_text=None, preset=None, delimiter=None):
    columns = (fields.parse_field_list(fields_text) if fields_text
               else fields.preset(preset) if preset else None)
    problems = []
    parser = SacctParser(columns, delimiter, "", lambda s, n, m: problems.append((n, m)))
    with open(path, "rb") as handle:
        records = list(parser.parse(handle, path))
    return records, problems, parser.stats


def kwargs_of(options):
    return dict(fields_text=options.get("fields"), preset=options.get("preset"),
                delimiter=options.get("delimiter"))


@pytest.mark.parametrize("name", sorted(WITH_USERS))
def test_live_samples_give_the_hand_checked_jobs(samples_dir, name):
    options, count, states, gpus = WITH_USERS[name]
    records, problems, stats = run_parser(os.path.join(samples_dir, name), **kwargs_of(options))
    assert len(records) == count
    assert dict(collections.Counter(r["state"] for r in records)) == states
    assert sum(r["gpus"] for r in records) == gpus
    for record in records:
        assert record["user"]
        if record["terminal"]:
            assert record["end"] is not None


@pytest.mark.parametrize("name", sorted(WITHOUT_USERS))
def test_live_samples_without_user_column_are_skipped_with_the_reason(samples_dir, name):
    records, problems, stats = run_parser(os.path.join(samples_dir, name),
                                          **kwargs_of(WITHOUT_USERS[name]))
    assert records == []
    assert stats.skipped["no User column"] >= 1


def test_xdmod_utf8_user_survives(samples_dir):
    records, _, _ = run_parser(os.path.join(samples_dir, "xdmod__post_mortorq_utf8.txt"),
                               preset="xdmod")
    assert records[0]["user"] == "fa\u00e7ade"


def test_slurm2sql_job_without_end_is_reported(samples_dir):
    _, problems, stats = run_parser(
        os.path.join(samples_dir, "slurm2sql__test-data1_pipe_with_header.txt"))
    assert stats.skipped == {"missing End": 1}
    assert "missing End" in problems[0][1]


def test_hb_jobinfo_peak_rss_comes_from_steps(samples_dir):
    records, _, _ = run_parser(os.path.join(samples_dir, "hb-jobinfo__test_data_sacct_snowman.txt"),
                               fields_text=HB, delimiter="\u2603")
    with_peak = [r for r in records if r["max_rss_bytes"]]
    assert len(with_peak) == 60


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_samples_are_reported_not_crashed_on(samples_dir, name):
    records, problems, stats = run_parser(os.path.join(samples_dir, name), **kwargs_of(NEGATIVE[name]))
    assert problems and sum(stats.skipped.values()) >= 1


def test_negative_unknown_states_name_the_state(samples_dir):
    _, problems, _ = run_parser(
        os.path.join(samples_dir, "xdmod__unit_shredder_NEGATIVE_unknown-job-state.txt"),
        preset="xdmod")
    assert ["FOO" in problems[0][1], "BAR" in problems[1][1]] == [True, True]


def test_every_sample_through_the_cli_exits_cleanly(samples_dir):
    """Whatever the columns, sb-parse never ends in a traceback on real input."""
    tool = [sys.executable, "-m", "slurm_scoreboard_tools.sb_parse", "--quiet"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for name in sorted(os.listdir(samples_dir)):
        if not name.endswith(".txt"):
            continue
        done = subprocess.run(tool + [os.path.join(samples_dir, name)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert b"Traceback" not in done.stderr
        if done.returncode == 1:      # columns that cannot be told: one line, naming --fields
            assert len(done.stderr.splitlines()) == 1 and b"--fields" in done.stderr, name
        else:
            assert done.returncode == 0, (name, done.stderr)


def test_strict_turns_a_negative_sample_into_exit_1(samples_dir):
    path = os.path.join(samples_dir, "xdmod__unit_shredder_NEGATIVE_unknown-job-state.txt")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-m", "slurm_scoreboard_tools.sb_parse", "--strict",
                           "--format", "xdmod", path], env=env, capture_output=True)
    assert done.returncode == 1
    assert b"FOO" in done.stderr and b"Traceback" not in done.stderr
