"""Generate the demo's sample history: a year of jobs on three clusters for a few dozen users,
in sb-sacct's `sacct -a -n -P -X` format (16 fields, no header), one file per cluster.

The files are checked in (demo/history/*.txt) so `make demo` needs no SLURM; rerun this to
regenerate them identically (fixed seed): python3 demo/generate.py
"""
import os
import random
import time

HERE = os.path.dirname(os.path.abspath(__file__))
YEAR_START = 1735689600          # 2025-01-01T00:00:00Z
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


def lines(cluster, rng, people):
    count, cpu_choices, gpu_chance, gpu_choices, first_id = CLUSTERS[cluster]
    names = [p[0] for p in people]
    weights = [p[2] for p in people]
    group_of = {p[0]: p[1] for p in people}
    ends = sorted(YEAR_START + rng.randrange(YEAR) for _ in range(count))
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


def main():
    rng = random.Random(2025)
    people = users(rng)
    for cluster in CLUSTERS:
        path = os.path.join(HERE, "history", cluster + ".txt")
        with open(path, "w") as out:
            for line in lines(cluster, rng, people):
                out.write(line + "\n")
        print(f"{path}: {CLUSTERS[cluster][0]} jobs")


if __name__ == "__main__":
    main()
