#!/usr/bin/env python3
"""Print the easyconfig's wheel table for orjson and mmh3: for each CPython tag and architecture,
the wheel's PyPI address and sha256, read from PyPI's simple index (PEP 691 JSON).

Usage: packaging/easybuild/wheel_table.py orjson==3.10.18 mmh3==5.1.0 > table.txt

orjson is Rust (a source build needs a Rust toolchain and maturin), so the easyconfig installs
the manylinux wheels PyPI publishes for the system Python; run this when bumping a version and
paste its output over local_wheels in SlurmScoreboard-<version>.eb.
"""
import json
import sys
import urllib.request

PYTHONS = ("cp39", "cp310", "cp311", "cp312", "cp313")
ARCHES = ("x86_64", "aarch64")
INDEX = "https://pypi.org/simple/{}/"


def files_of(name):
    request = urllib.request.Request(INDEX.format(name),
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)["files"]


def pick(files, name, version, python, arch):
    """The plain manylinux (glibc) wheel of that version for that CPython and architecture."""
    prefix = f"{name}-{version}-{python}-{python}-"
    found = [f for f in files if f["filename"].startswith(prefix) and "manylinux" in
             f["filename"] and f["filename"].endswith(f"{arch}.whl")]
    if len(found) != 1:
        raise SystemExit(f"wheel_table.py: {len(found)} wheels for {prefix}*{arch}.whl")
    return found[0]["url"], found[0]["hashes"]["sha256"]


def main(specs):
    if not specs:
        raise SystemExit(__doc__)
    print("local_wheels = {")
    for spec in specs:
        name, _, version = spec.partition("==")
        files = files_of(name)
        print(f"    '{name}': {{")
        for python in PYTHONS:
            for arch in ARCHES:
                url, sha256 = pick(files, name, version, python, arch)
                print(f"        ('{python}', '{arch}'): ('{url}',\n"
                      f"                               '{sha256}'),")
        print("    },")
    print("}")


if __name__ == "__main__":
    main(sys.argv[1:])
