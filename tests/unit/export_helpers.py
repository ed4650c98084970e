"""Helpers for the sb-export tests: a ranked root of two clusters with a hostile account name,
running sb-export, and reading board files straight from disk (not through the code tested)."""
import os

import orjson
from reduce_helpers import job, reduce, tool

NOW = "2025-08-31T12:00:00Z"
# An account name is any text sb-parse read from sacct (usernames are plain names): quotes, a
# backslash, a newline and markup must come out escaped everywhere.
# markup in an account sacct printed (one with a control or bidi character is left out by every
# reader: test_planted_text.py)
HOSTILE = 'evil"\\<img src=x onerror=alert(1)><script>alert(2)</script>'
CLUSTERS = ("anvil", "hammer")


def hours(h, cpus=1):
    return {"elapsed": 3600 * h, "cpus": cpus}


def ranked_root(root):
    """hammer: alice (top), bob, carol, dave charging HOSTILE; anvil: alice and erin."""
    hammer = [job(1, "alice", "2025-08-30T00:00:00Z", **hours(40, 4)),
              job(2, "alice", "2025-06-01T00:00:00Z", **hours(10)),
              job(3, "bob", "2025-08-20T00:00:00Z", gpus=2, **hours(6)),
              job(4, "carol", "2025-08-29T00:00:00Z", state="FAILED", account="chem", **hours(3)),
              job(5, "dave", "2025-08-01T00:00:00Z", account=HOSTILE, **hours(5, 2))]
    anvil = [job(10 + i, user, "2025-08-15T00:00:00Z", cluster="anvil", **hours(1 + i))
             for i, user in enumerate(("alice", "erin", "erin"))]
    for records in (hammer, anvil):
        done, _ = reduce(root, records)
        assert done.returncode == 0, done.stderr
    done = tool("sb_rank", ["--root", str(root), "--now", NOW])
    assert done.returncode == 0, done.stderr
    return root


def export(root, *args, env=None):
    return tool("sb_export", ["--root", str(root)] + [str(a) for a in args], env=env)


def board_file(root, window, metric, cluster=None, kind="users"):
    parts = [str(root), "leaderboards"] + (["clusters", cluster] if cluster else []) + \
        (["groups"] if kind == "groups" else []) + [f"{window}_{metric}.json"]
    return os.path.join(*parts)


def read_board(root, window, metric, cluster=None, kind="users"):
    with open(board_file(root, window, metric, cluster, kind), "rb") as handle:
        return orjson.loads(handle.read())


def write_board(root, document, window, metric, cluster=None, kind="users"):
    with open(board_file(root, window, metric, cluster, kind), "wb") as handle:
        handle.write(orjson.dumps(document))


def every_board(root):
    """(scope, kind, window, metric, document) of every board file sb-rank wrote."""
    with open(os.path.join(str(root), "leaderboards", "index.json"), "rb") as handle:
        index = orjson.loads(handle.read())
    for scope in ["all"] + index["clusters"]:
        for kind in index["kinds"]:
            for window in index["windows"]:
                for metric in index["metrics"]:
                    cluster = None if scope == "all" else scope
                    yield scope, kind, window, metric, read_board(root, window, metric, cluster,
                                                                  kind)


def opt_out(root, *users):
    """Write config/optout.txt of `root` with `users`, one a line."""
    os.makedirs(os.path.join(str(root), "config"), exist_ok=True)
    with open(os.path.join(str(root), "config", "optout.txt"), "w") as handle:
        handle.write("".join(user + "\n" for user in users))
