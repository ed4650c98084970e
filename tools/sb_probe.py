"""sb-probe: is this machine and account ready to run the scoreboard?"""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from slurm_scoreboard import cli, files, probe, sharing

PROG = "sb-probe"

EPILOG = """\
sharing (see "Sharing a root" in the README): by default only the root's owner writes it
(single-owner mode). --group G lets the members of group G write: the tree becomes group G,
folders 2775, files 0664, locks 0660, and every tool keeps it so whatever its umask. --readers
group hides the root from everyone outside the owner's or the writers' group. Only the root's
owner may change the sharing; sb-probe is also the only tool that creates a root.

exit status: 0 all required checks passed, 2 sacct missing, 3 root not writable (by this
account, or the sharing could not be set), 4 other failure (squeue missing, sacct -a unusable
or hiding other users' jobs).

example:
  sb-probe --root /depot/scoreboard
  sb-probe --root /depot/scoreboard --group hpcsb     # several poller accounts of group hpcsb
"""


def build_parser():
    parser = cli.make_parser(PROG, "Check the environment: root folder (created if missing), "
                             "how it is shared, SLURM commands, job visibility, GPU accounting.",
                             EPILOG, root=True, cluster=True)
    parser.add_argument("--max-calls-per-minute", type=int, default=2, metavar="N",
                        help="the sacct rate limit to report (default 2)")
    sharing_mode = parser.add_mutually_exclusive_group()
    sharing_mode.add_argument("--group", metavar="GROUP",
                              help="group mode: the members of GROUP write the root")
    sharing_mode.add_argument("--single-owner", action="store_true",
                              help="back to single-owner mode: only the root's owner writes")
    parser.add_argument("--readers", choices=("all", "group"),
                        help="who may read: everyone (default) or only the group")
    return parser


def body(args) -> int:
    root = cli.require_root(args)
    cli.check_plain_names(args, "cluster")
    try:
        mode, notes = probe.configure_sharing(root, args.group, args.single_owner, args.readers)
    except (sharing.SharingError, OSError) as err:
        cli.warn(PROG, str(err))
        return probe.EXIT_ROOT
    files.use_root(root, mode.modes())
    lines, code = probe.report(root, args.max_calls_per_minute, args.cluster, mode, notes)
    sys.stdout.write("\n".join(lines) + "\n")
    if any(note.startswith("  Could not change") for note in notes) and code == probe.EXIT_OK:
        return probe.EXIT_ROOT
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    return cli.run(PROG, build_parser(), body, argv)


if __name__ == "__main__":
    sys.exit(main())
