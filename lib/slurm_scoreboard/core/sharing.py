"""Who may write and read a scoreboard root (README, "Sharing a root").

==============  ================================  ==========================================
mode            writers                           what tools create (whatever the umask)
==============  ================================  ==========================================
owner           the account that owns the root    files 0644, folders 0755, locks 0600
(default)
group           the members of one group          files 0664, folders 2775 (setgid: new files
(sb-probe       (sb-probe --root R --group G)     take the group), locks 0660, all in group G
--group G)
==============  ================================  ==========================================

Readers are everyone (the default), or only the owner's or the writers' group
(``--readers group``: the "other" bits are cleared). Nothing is ever world-writable, and lock
files are never readable by anyone but the writers, so no reader can hold a lock. The mode is
recorded in ``<root>/config/sharing.json``; the other writers are trusted for the numbers they
add, never for paths (see files.py).
"""
from __future__ import annotations

import grp
import os
import pwd
import stat
from typing import List, NamedTuple, Optional

from ..errors import SharingError
from . import layout
from .files import Modes, read_bytes
from .ndjson import flat_object

CONFIG_LIMIT = 1 << 16          # sb-probe writes a few dozen bytes


class Sharing(NamedTuple):
    mode: str = "owner"            # "owner" or "group"
    group: Optional[str] = None     # the writers' group (group mode)
    gid: Optional[int] = None
    readers: str = "all"           # "all" or "group"

    def modes(self) -> Modes:
        other = 0o004 if self.readers == "all" else 0
        if self.mode == "group":
            return Modes(file=0o660 | other, folder=0o2770 | other | (other and 0o001),
                         lock=0o660, group=self.gid)
        return Modes(file=0o640 | other, folder=0o750 | other | (other and 0o001), lock=0o600)

    def describe(self) -> str:
        if self.mode == "group":
            return f"group mode: the members of {self.group} write; {self.readers_text()} read"
        return f"single-owner mode: its owner writes; {self.readers_text()} read"

    def readers_text(self) -> str:
        return "everyone may" if self.readers == "all" else "only the group may"


def config_path(root: str) -> str:
    return layout.path(root, "sharing_config")


def load(root: str) -> Sharing:
    """The root's sharing mode (single-owner when it was never set). The config is read as the
    pipelines read it (common.sh's sb_require_writer): a flat JSON object of at most 64 KiB."""
    path = config_path(root)
    try:
        data = flat_object(read_bytes(path, CONFIG_LIMIT))
    except FileNotFoundError:
        return Sharing()
    except ValueError:
        raise SharingError(f"{path}: not valid JSON (a flat object, as sb-probe writes it); run "
                           f"sb-probe --root {root} again as the root's owner to rewrite it") \
            from None
    if data.get("mode") not in ("owner", "group") \
            or data.get("readers", "all") not in ("all", "group"):
        raise SharingError(f"{path}: expected {{\"mode\": \"owner\"|\"group\", ...}}; run "
                           f"sb-probe --root {root} again as the root's owner")
    if data["mode"] == "owner":
        return Sharing(readers=data.get("readers", "all"))
    group = data.get("group")
    try:
        gid = grp.getgrnam(group).gr_gid if type(group) is str else None
    except KeyError:
        gid = None
    if gid is None:
        raise SharingError(f"{path}: group {group!r} is not a group on this machine")
    return Sharing("group", group, gid, data.get("readers", "all"))


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def group_of(path: str) -> str:
    """The name of the group that owns `path`."""
    gid = os.stat(path).st_gid
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"


def _listed_in(group: str, uid: int) -> bool:
    """Whether the group database lists the user in `group` (a session may not know it yet)."""
    try:
        entry, user = grp.getgrnam(group), pwd.getpwuid(uid)
    except KeyError:
        return False
    return user.pw_name in entry.gr_mem or user.pw_gid == entry.gr_gid


def check_writer(root: str, sharing: Sharing) -> None:
    """SharingError, in one line naming who may write and how to share, unless this account
    may write the root."""
    owner = os.stat(root).st_uid
    me = os.geteuid()
    if sharing.mode == "group":
        if sharing.gid in os.getgroups() or sharing.gid == os.getegid() or me == 0:
            return
        if sharing.group is not None and _listed_in(sharing.group, me):
            raise SharingError(f"{root} is written by the members of group {sharing.group}: "
                               f"{_user_name(me)} is one, but this session started before "
                               f"joining; log in again, or run: newgrp {sharing.group}")
        raise SharingError(f"{root} is written by the members of group {sharing.group}, and "
                           f"{_user_name(me)} is not one (ask to be added: the writers trust "
                           "each other's numbers)")
    if me in (owner, 0):
        return
    raise SharingError(f"{root} is written only by its owner {_user_name(owner)} "
                       f"(single-owner mode); to share it, {_user_name(owner)} runs: "
                       f"sb-probe --root {root} --group GROUP")


def is_writer(root: str, sharing: Sharing) -> bool:
    try:
        check_writer(root, sharing)
        return True
    except (SharingError, OSError):
        return False


def apply(root: str, sharing: Sharing) -> List[str]:
    """Give every folder and file of the tree the sharing's modes and group (run by the root's
    owner); returns what could not be changed. The walk holds a descriptor of each folder and
    changes each entry through a descriptor opened without following symlinks, so a member who
    swaps a folder for a symlink half-way changes nothing outside the root."""
    modes = sharing.modes()
    problems: List[str] = []
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _adopt(top, modes.folder, modes, root, problems)
    finally:
        os.close(top)
    for folder, names, files, dirfd in os.fwalk(root, follow_symlinks=False):
        for name in names + files:
            mode = modes.folder if name in names else _file_mode(name, modes)
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dirfd)
            except OSError:
                continue                      # a symlink or a vanished entry: left alone
            try:
                _adopt(fd, mode, modes, os.path.join(folder, name), problems)
            finally:
                os.close(fd)
    return problems


def _adopt(fd: int, mode: int, modes: Modes, path: str, problems: List[str]) -> None:
    info = os.fstat(fd)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        return
    try:
        if modes.group is not None and info.st_gid != modes.group:
            os.fchown(fd, -1, modes.group)
        os.fchmod(fd, mode)
    except OSError as err:
        problems.append(f"{path}: {err.strerror}")


def _file_mode(name: str, modes: Modes) -> int:
    return modes.lock if name.endswith(".lock") else modes.file
