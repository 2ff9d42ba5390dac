"""Who may have written what the on-disk cache reads: the checks behind its trust model.

A cache directory that someone else can write lets them deny inserts or plant entries that
pass the checksum (it guards against damage, not forgery), and such caches hold compiled code
in practice. So, by default (``trust="user"``), every directory the cache uses must be a real
directory (``lstat``: not a symlink) owned by the current user and writable by no one else,
and every entry must be a regular file owned by the current user, opened without following
symlinks. With ``trust="group"`` a team shares a directory on purpose: a setgid directory of
one of the user's groups may be group-writable and owned by another member, and entries owned
by that group are accepted. World-writable is never accepted.

Checks are by ``lstat`` of paths whose parents were already checked: once a directory is known
to be writable only by the user (or the group), nobody else can swap what lies inside it, so
the check cannot be raced. Directories the cache creates get their mode set explicitly with
``chmod`` (``mkdir``'s mode is cut by the umask): 0o700, or 0o2770 with ``trust="group"``.
"""

from __future__ import annotations

import os
import stat

from cachespec.reference._errors import CacheError

TRUST_LEVELS = ("user", "group")
_DIR_MODE = {"user": 0o700, "group": 0o2770}
#: Mode of new entry files. Group readers of a shared cache need the group read bit.
ENTRY_MODE = {"user": 0o600, "group": 0o640}


def checked_trust(trust: object) -> str:
    """``trust`` if it is a known level, else CacheError."""
    if trust not in TRUST_LEVELS:
        raise CacheError(f"trust must be one of {', '.join(map(repr, TRUST_LEVELS))}, got {trust!r}")
    return str(trust)


def _groups() -> set[int]:
    return {os.getegid(), *os.getgroups()}


def check_dir(path: str, trust: str, st: os.stat_result | None = None) -> os.stat_result:
    """CacheError naming ``path``, the problem and the fix, unless ``path`` (whose ``lstat`` is
    ``st`` if given) is a directory this process may trust under ``trust``.
    FileNotFoundError if it does not exist."""
    if st is None:
        st = os.lstat(path)
    problem = fix = ""
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        problem, fix = "is a symbolic link", "point base_dir at the real directory"
    elif not stat.S_ISDIR(st.st_mode):
        problem, fix = "is not a directory", "remove it or choose another base_dir"
    elif mode & stat.S_IWOTH:
        problem, fix = f"is writable by every user (mode {mode:o})", f"chmod o-w {path}"
    elif trust == "group" and st.st_uid != os.geteuid():
        if st.st_gid not in _groups():
            problem, fix = (f"belongs to uid {st.st_uid} and a group this user is not in "
                            f"(gid {st.st_gid})", "use a directory of your own or of your group")
        elif mode & stat.S_IWGRP and not mode & stat.S_ISGID:
            problem, fix = (f"is group-writable but not setgid (mode {mode:o})",
                            f"chmod g+s {path}, so entries keep the directory's group")
    elif trust == "group":
        if mode & stat.S_IWGRP and not (mode & stat.S_ISGID and st.st_gid in _groups()):
            problem, fix = (f"is group-writable but not setgid (mode {mode:o})", f"chmod g+s {path}")
    elif st.st_uid != os.geteuid():
        problem, fix = (f"belongs to uid {st.st_uid}, not to this user (uid {os.geteuid()})",
                        "use a directory of your own, or trust='group' for a shared setgid one")
    elif mode & stat.S_IWGRP:
        problem, fix = (f"is writable by its group (mode {mode:o})",
                        f"chmod g-w {path}, or trust='group' for a cache shared on purpose")
    if problem:
        raise CacheError(f"refusing cache directory {path}: it {problem}; fix: {fix}")
    return st


def make_dirs(path: str, trust: str, check_existing: bool = True) -> os.stat_result | None:
    """Create ``path`` and its missing parents with the trust level's mode, and check what was
    created, and ``path`` itself if it existed (unless ``check_existing`` is False: an existing
    ancestor such as ``/tmp`` is not the cache's to judge). Returns ``path``'s stat if checked."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return check_dir(path, trust) if check_existing else None
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if parent == path:
            raise
        make_dirs(parent, trust, check_existing=False)
        return make_dirs(path, trust, check_existing)
    st = os.lstat(path)
    if stat.S_IMODE(st.st_mode) == _DIR_MODE[trust] or not stat.S_ISDIR(st.st_mode):
        return check_dir(path, trust, st)  # the umask left the mode alone: one lstat, no chmod
    # chmod through a descriptor of what we just made, never through a path someone could have
    # swapped for a symlink in the meantime (possible only in an untrusted parent).
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, _DIR_MODE[trust])
    finally:
        os.close(fd)
    return check_dir(path, trust)


def check_entry(st: os.stat_result, path: str, trust: str, group: int | None) -> None:
    """CacheError unless the opened entry ``st`` was written by someone trusted."""
    if st.st_uid == os.geteuid() or (trust == "group" and st.st_gid == group):
        return
    raise CacheError(f"refusing entry {path}: it belongs to uid {st.st_uid}, not to this user "
                     f"(uid {os.geteuid()}); someone else wrote into the cache directory")
