"""Generate the demo's sample history: the year of jobs on three clusters for a few dozen users
that ends at the end of yesterday (UTC), in sb-sacct's `sacct -a -n -P -X` format (16 fields, no
header, times UTC), one file per cluster.

With --steps FOLDER it also writes what the daily step poll reads of the same jobs
(`sb-sacct --steps`: 18 fields, each job line then its batch step's line, with the CPU time
used, peak memory and GPU utilisation), one file per cluster, for `sb-reduce --usage` and the
efficiency boards: each user has their own habits (how much of the CPUs, memory and GPUs
they use), so the boards differ. The history files are the same with or without it.

`make demo` runs it (demo/run.sh), so whatever day it runs the rolling boards are full. The
same day gives the same files (fixed seed; every time is an offset from the end):
    python3 demo/generate.py [--end YYYY-MM-DD] [--out FOLDER] [--steps FOLDER]
"""
import argparse
import calendar
import os
import random
import time

HERE = os.path.dirname(os.path.abspath(__file__))
YEAR = 365 * 86400
GROUPS = ["astro", "bioinfo", "chem", "climate", "ml", "physics"]
NAMES = ["ada", "bram", "cleo", "dara", "emil", "fenna", "gus", "hilde", "ivo", "jana", "kees",
         "lotte", "mats", "nina", "otto", "pim", "quinn", "roos", "sem", "tess", "ugo", "vera",
         "wout", "xena", "yara", "zeno", "anouk", "bas", "coen", "daan", "elin", "floor", "gijs",
         "hugo", "isa", "joep"]
CLUSTERS = {
    # name: (jobs a year, CPU choices, GPU chance, GPU choices, first job id)
    "hammer": (5200, (1, 2, 4, 8, 16, 32, 64, 128), 0.0, (0,), 4100000),
    "anvil": (3900, (1, 4, 8, 16, 48, 96), 0.05, (1, 2), 780000),
    "gpuhub": (2600, (4, 8, 16, 32), 0.9, (1, 2, 4, 8), 52000),
}
STATES = (["COMPLETED"] * 14 + ["FAILED"] * 3 + ["TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"]
          + ["CANCELLED by {uid}"] * 2)


def stamp(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def users(rng):
    """Each user: a group and a weight (a few heavy users, a long tail)."""
    return [(name, GROUPS[index % len(GROUPS)], rng.paretovariate(1.2))
            for index, name in enumerate(NAMES)]


def lines(cluster, rng, people, year_start):
    count, cpu_choices, gpu_chance, gpu_choices, first_id = CLUSTERS[cluster]
    names = [p[0] for p in people]
    weights = [p[2] for p in people]
    group_of = {p[0]: p[1] for p in people}
    ends = sorted(year_start + rng.randrange(YEAR) for _ in range(count))
    job_id = first_id
    for end in ends:
        user = rng.choices(names, weights)[0]
        cpus = rng.choice(cpu_choices)
        gpus = rng.choice(gpu_choices) if rng.random() < gpu_chance else 0
        state = rng.choice(STATES).format(uid=1000 + names.index(user))
        started = not (state.startswith("CANCELLED") and rng.random() < 0.4)
        elapsed = int(rng.lognormvariate(8, 1.4)) if started else 0
        elapsed = min(elapsed, 7 * 86400)
        start = end - elapsed
        submit = start - rng.randrange(5, 7200)
        tres = f"billing={cpus},cpu={cpus},mem={cpus * 4}G,node=1"
        if gpus:
            tres += f",gres/gpu:a100={gpus},gres/gpu={gpus}"
        array = rng.random() < 0.1
        shown = f"{job_id}_{rng.randrange(1, 50)}" if array else str(job_id)
        yield "|".join([shown, str(job_id), cluster, user, group_of[user], state, str(elapsed),
                        str(cpus), "1", f"{cpus * 4}G", tres, stamp(submit),
                        stamp(start) if started else "None", stamp(end), "", ""])
        job_id += 1


def duration(seconds):
    """Seconds as sacct prints TotalCPU: [D-]HH:MM:SS."""
    days, rest = divmod(int(seconds), 86400)
    text = time.strftime("%H:%M:%S", time.gmtime(rest))
    return f"{days}-{text}" if days else text


def habits(user):
    """A user's share of the CPUs, of the memory asked for and of the GPUs their jobs use."""
    rng = random.Random("habits-" + user)
    return rng.uniform(0.25, 0.98), rng.uniform(0.1, 0.9), rng.uniform(0.15, 0.95)


def step_lines(line):
    """A history line as the step poll reads it: the job line with TotalCPU, and its batch
    step's line (none for a job that never started: it used nothing)."""
    fields = line.split("|")
    job_id, user, elapsed, cpus, tres = fields[1], fields[3], int(fields[6]), int(fields[7]), \
        fields[10]
    if fields[12] == "None" or elapsed == 0:
        return [line + "||"]
    rng = random.Random(f"{fields[2]}-{job_id}")
    cpu_share, mem_share, gpu_share = habits(user)
    used = elapsed * cpus * min(1.0, cpu_share * rng.uniform(0.8, 1.1))
    memory = int(cpus * 4 * 1024 * mem_share * rng.uniform(0.7, 1.2))       # MiB of 4G a CPU
    gpus = int(tres.rsplit("gres/gpu=", 1)[1]) if "gres/gpu=" in tres else 0
    usage = f"cpu={duration(used)},mem={memory}M"
    if gpus:
        usage += f",gres/gpuutil={round(100 * gpus * min(1.0, gpu_share * rng.uniform(0.8, 1.2)))}"
    step = fields[:]
    step[0], step[1], step[3] = fields[0] + ".batch", job_id + ".batch", ""
    step[14] = step[15] = f"{memory}M"
    return [line + f"|{duration(used)}|", "|".join(step + [duration(used), usage])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    parser.add_argument("--end", default=yesterday, help="the last day of the history (UTC; "
                        "default yesterday)")
    parser.add_argument("--out", default=os.path.join(HERE, "..", ".demo", "history"))
    parser.add_argument("--steps", metavar="FOLDER", help="also write the step poll's files "
                        "(for sb-reduce --usage) there")
    args = parser.parse_args()
    end = calendar.timegm(time.strptime(args.end, "%Y-%m-%d")) + 86400
    rng = random.Random(2025)
    people = users(rng)
    os.makedirs(args.out, exist_ok=True)
    if args.steps:
        os.makedirs(args.steps, exist_ok=True)
    for cluster in CLUSTERS:
        path = os.path.join(args.out, cluster + ".txt")
        history = list(lines(cluster, rng, people, end - YEAR))
        with open(path, "w") as out:
            out.writelines(line + "\n" for line in history)
        print(f"{path}: {CLUSTERS[cluster][0]} jobs, the year to {args.end}")
        if args.steps:
            with open(os.path.join(args.steps, cluster + ".txt"), "w") as out:
                out.writelines(step + "\n" for line in history for step in step_lines(line))


if __name__ == "__main__":
    main()
