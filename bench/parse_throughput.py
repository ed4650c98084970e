"""sb-parse throughput on real sacct output (the XDMoD reference logs in ../shared/sacct-samples,
repeated to a large input), against two baselines measured in the same run:

* copy:  a Python loop that reads stdin line by line and writes every line out (the I/O floor);
* split: the same loop that also splits each line on the delimiter and writes it with orjson
  (the least any parser of this format must do).

Prints lines/s of each and sb-parse's time as a ratio of each baseline. Usage:
    python bench/parse_throughput.py [--repeat N] [--runs R]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.environ.get("SB_SACCT_SAMPLES", os.path.join(TOP, "..", "shared", "sacct-samples"))
SOURCES = ["xdmod__referencedata_pozidriv.txt", "xdmod__referencedata_phillips.txt"]

COPY = "import sys\nw=sys.stdout.buffer.write\nfor line in sys.stdin.buffer:\n    w(line)\n"
SPLIT = ("import sys, orjson\nw=sys.stdout.buffer.write\n"
         "for line in sys.stdin.buffer:\n    w(orjson.dumps(line.decode().rstrip('\\n').split('|'),"
         " option=orjson.OPT_APPEND_NEWLINE))\n")


def build_input(repeat):
    handle = tempfile.NamedTemporaryFile(prefix="sb-bench-", suffix=".txt", delete=False)
    chunks = []
    for name in SOURCES:
        with open(os.path.join(SAMPLES, name), "rb") as source:
            chunks.append(source.read())
    data = b"".join(chunks)
    for _ in range(repeat):
        handle.write(data)
    handle.close()
    return handle.name, data.count(b"\n") * repeat


def best_time(command, path, runs):
    best = None
    for _ in range(runs):
        with open(path, "rb") as stdin:
            start = time.perf_counter()
            subprocess.run(command, stdin=stdin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=40, help="copies of the logs (default 40)")
    parser.add_argument("--runs", type=int, default=3, help="runs per command; best is kept")
    args = parser.parse_args()
    if not all(os.path.exists(os.path.join(SAMPLES, n)) for n in SOURCES):
        sys.exit(f"bench: sacct samples not found in {SAMPLES}")
    path, lines = build_input(args.repeat)
    bindir = os.path.dirname(sys.executable)
    try:
        timings = {
            "copy": best_time([sys.executable, "-c", COPY], path, args.runs),
            "split": best_time([sys.executable, "-c", SPLIT], path, args.runs),
            "sb-parse": best_time([os.path.join(bindir, "sb-parse"), "--format", "xdmod",
                                   "--quiet"], path, args.runs),
        }
    finally:
        os.unlink(path)
    print(f"input: {lines} lines of real XDMoD sacct logs ({args.repeat} copies), best of {args.runs}")
    for name, seconds in timings.items():
        print(f"{name:>9}: {seconds:7.2f} s  {lines / seconds:>11,.0f} lines/s")
    print(f"sb-parse / copy  = {timings['sb-parse'] / timings['copy']:.1f}x")
    print(f"sb-parse / split = {timings['sb-parse'] / timings['split']:.1f}x")


if __name__ == "__main__":
    main()
