"""sb-probe: is this machine and account ready to run the scoreboard?"""
from __future__ import annotations

import sys
from typing import Optional, Sequence

import orjson

from slurm_scoreboard import cli, errors
from slurm_scoreboard.core import files, times
from slurm_scoreboard.core.names import check_name
from slurm_scoreboard.ingest import sacct
from slurm_scoreboard.poll import installinfo, pollstatus, probe

PROG = "sb-probe"

EPILOG = """\
sharing (see "Sharing a root" in the README): by default only the root's owner writes it
(single-owner mode). --group G lets the members of group G write: the tree becomes group G,
folders 2775, files 0664, locks 0660, and every tool keeps it so whatever its umask. --readers
group hides the root from everyone outside the owner's or the writers' group. Only the root's
owner may change the sharing; sb-probe is also the only tool that creates a root.

--cluster C (and --check-cluster C, which checks that alone: no root, nothing created) first
asks sacctmgr which clusters slurmdbd knows: a name it does not know exits 5 and creates
nothing. When sacctmgr is missing, fails or names none, nothing is refused. sb-poll asks it
before a cluster's first poll.

--polls only reads the root (no SLURM command runs, nothing is created): for every polled
cluster (or --cluster C), where its data stands, the last poll, the last success and error,
the next step and the daemon's heartbeat; sb-poll --status shows the same.

--install-info says where this installation keeps what is not on $PATH by itself: the
pipelines, their library, the man pages, bash completion, the systemd units' installer and the
OnDemand widget (after pip or pipx, EasyBuild, Spack, make install, or in a checkout); --json
gives them as one JSON object. Nothing else is looked at.

exit status: 0 all required checks passed, 2 sacct missing, 3 root not writable (by this
account, or the sharing could not be set), 4 other failure (squeue missing, sacct -a unusable
or hiding other users' jobs, opt-out files the readers cannot read, a root others could replace
or add to), 5 slurmdbd knows no cluster of the --cluster or --check-cluster
given. With --polls: 0 every last poll succeeded, 1 a last poll failed or a state file is
damaged, 2 usage error, 5 --cluster was never polled under this root.

example:
  sb-probe --root /depot/scoreboard
  sb-probe --root /depot/scoreboard --group hpcsb     # several poller accounts of group hpcsb
  sb-probe --root /depot/scoreboard --polls           # how every cluster's polling stands
  sb-probe --check-cluster hammer                     # is hammer a cluster slurmdbd knows?
  sb-probe --install-info                             # where the pipelines and man pages are
"""


def build_parser():
    parser = cli.make_parser(PROG, "Check the environment: root folder (created if missing), "
                             "how it is shared, SLURM commands, job visibility, GPU accounting.",
                             EPILOG, root=True, cluster=True)
    parser.add_argument("--max-calls-per-minute", type=int, default=None, metavar="N",
                        help="the sacct rate limit to report (default $SLURM_SB_SACCT_PER_MIN "
                             "or 2, as sb-sacct)")
    sharing_mode = parser.add_mutually_exclusive_group()
    sharing_mode.add_argument("--group", metavar="GROUP",
                              help="group mode: the members of GROUP write the root")
    sharing_mode.add_argument("--single-owner", action="store_true",
                              help="back to single-owner mode: only the root's owner writes")
    parser.add_argument("--readers", choices=("all", "group"),
                        help="who may read: everyone (default) or only the group")
    parser.add_argument("--polls", action="store_true",
                        help="report how each cluster's polling stands, and nothing else")
    parser.add_argument("--json", action="store_true",
                        help="with --polls: one JSON object per cluster")
    parser.add_argument("--check-cluster", metavar="C",
                        help="only check that slurmdbd knows cluster C (exit 5 if not); no "
                             "root needed, nothing created")
    parser.add_argument("--install-info", action="store_true",
                        help="say where this installation keeps the pipelines, man pages, "
                             "completion, systemd units and OnDemand widget (--json: as JSON)")
    return parser


def report_polls(args) -> int:
    """--polls: each cluster's polling, from its state files (read only)."""
    root = cli.open_root(args)
    now = times.now()
    names = pollstatus.clusters_polled(root)
    if args.cluster:
        if args.cluster not in names:
            raise errors.ToolError(f"cluster {args.cluster} has not been polled under {root}", errors.EXIT_UNKNOWN_NAME)
        names = [args.cluster]
    statuses = [pollstatus.cluster_status(root, name, now) for name in names]
    if args.json:
        out = sys.stdout.buffer
        for status in statuses:
            out.write(orjson.dumps(pollstatus.as_json(status), option=orjson.OPT_APPEND_NEWLINE))
    elif not statuses:
        sys.stdout.write(f"no cluster has been polled under {root} yet: "
                         "sb-poll --cluster C starts one\n")
    else:
        sys.stdout.write("\n".join(pollstatus.render(statuses, now)) + "\n")
    return errors.EXIT_OK if all(map(pollstatus.healthy, statuses)) else errors.EXIT_ERROR


def require_known_cluster(cluster: str) -> None:
    """Exit 5 (one line) when slurmdbd knows no cluster of this name."""
    try:
        sacct.check_cluster_known(cluster)
    except errors.UnknownCluster as err:
        raise errors.ToolError(str(err), errors.EXIT_UNKNOWN_NAME) from None


def check_cluster_only(args) -> int:
    """--check-cluster C: the name alone, against slurmdbd's list; nothing else is looked at."""
    others = [flag for flag, given in (("--polls", args.polls), ("--json", args.json),
                                       ("--group", args.group),
                                       ("--single-owner", args.single_owner),
                                       ("--readers", args.readers)) if given]
    if others:
        raise errors.UsageError(f"--check-cluster goes alone (not with {others[0]})")
    try:
        check_name("cluster", args.check_cluster)
    except ValueError as err:
        raise errors.UsageError(str(err)) from None
    require_known_cluster(args.check_cluster)
    return errors.EXIT_OK


def report_install(args) -> int:
    """--install-info: where the pipelines, man pages and the rest are; nothing else."""
    others = [flag for flag, given in (("--polls", args.polls), ("--group", args.group),
                                       ("--cluster", args.cluster),
                                       ("--check-cluster", args.check_cluster is not None))
              if given]
    if others:
        raise errors.UsageError(f"--install-info goes alone or with --json (not with {others[0]})")
    places = installinfo.locate()
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(places, option=orjson.OPT_APPEND_NEWLINE))
    else:
        sys.stdout.write("\n".join(installinfo.render(places)) + "\n")
    return errors.EXIT_OK


def body(args) -> int:
    cli.check_plain_names(args, "cluster")
    if args.install_info:
        return report_install(args)
    if args.check_cluster is not None:
        return check_cluster_only(args)
    if args.polls:
        return report_polls(args)
    if args.json:
        raise errors.UsageError("--json goes with --polls")
    root = cli.require_root(args)
    if args.cluster:
        require_known_cluster(args.cluster)
    try:
        mode, notes = probe.configure_sharing(root, args.group, args.single_owner, args.readers)
    except (errors.SharingError, OSError) as err:
        cli.warn(PROG, str(err))
        return errors.PROBE_ROOT
    files.use_root(root, mode.modes())
    per_minute = cli.option_or_env(args.max_calls_per_minute, "SLURM_SB_SACCT_PER_MIN", 2, int)
    lines, code = probe.report(root, per_minute, args.cluster, mode, notes)
    sys.stdout.write("\n".join(lines) + "\n")
    if any(note.startswith("  Could not change") for note in notes) and code == errors.EXIT_OK:
        return errors.PROBE_ROOT
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
