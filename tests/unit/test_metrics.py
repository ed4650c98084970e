from slurm_scoreboard.store import metrics


def record(**fields):
    base = {"elapsed_s": 3600, "cpus": 4, "gpus": 0, "cpu_seconds": 14400, "gpu_seconds": 0,
            "state": "COMPLETED", "start": "2025-08-01T00:00:00Z"}
    base.update(fields)
    return base


def test_the_issue_definitions():
    assert metrics.of_record(record()) == [14400, 3600, 0, 0, 0, 1]
    gpu = record(gpus=2, gpu_seconds=7200)
    assert metrics.of_record(gpu) == [14400, 3600, 7200, 3600, 0, 1]
    # the user's failures count; the site's (a node or its boot failing, preemption) and a
    # deadline or cancel do not
    for state in ("FAILED", "TIMEOUT", "OUT_OF_MEMORY"):
        assert metrics.of_record(record(state=state))[4] == 1
    for state in ("COMPLETED", "CANCELLED", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"):
        assert metrics.of_record(record(state=state))[4] == 0


def test_jobs_that_never_started_are_not_jobs():
    never = record(start=None, elapsed_s=0, cpu_seconds=0, state="CANCELLED")
    assert metrics.of_record(never) == [0, 0, 0, 0, 0, 0]
    boot_fail = record(start=None, elapsed_s=0, cpu_seconds=0, state="BOOT_FAIL")
    assert metrics.of_record(boot_fail) == [0, 0, 0, 0, 0, 0]
    failed = record(start=None, elapsed_s=0, cpu_seconds=0, state="FAILED")
    assert metrics.of_record(failed) == [0, 0, 0, 0, 1, 0]


def test_hour_fields_are_unrounded_hours():
    fields = metrics.hour_fields([5400, 1800, 0, 0, 3, 2])
    assert fields == {"total_clock_hours": 1.5, "total_elapsed_hours": 0.5,
                      "total_gpu_clock_hours": 0.0, "gpu_elapsed_hours": 0.0,
                      "count_failed_jobs": 3}
    assert metrics.hour_fields([1, 0, 0, 0, 0, 0])["total_clock_hours"] == 1 / 3600
