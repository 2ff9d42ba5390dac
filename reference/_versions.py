"""Reclaiming the directories of other versions (``OnDiskCache.remove_other_versions``).

A version directory is renamed out of the way in one atomic step before it is deleted, so a
concurrent reader resolves an entry path either to the complete old file or to nothing, and a
concurrent writer of that version finds its directory missing and makes a fresh one. Deleting
in place instead would let a reader walk into a half-deleted tree.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil

from cachespec.reference._errors import CacheError

_TRASH_MARK = ".trash-"  # a version directory being reclaimed: <mark><pid>-<random>
_VERSION_DIR = re.compile(r"v(-?[0-9]+)")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (in this PID namespace)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_versions_except(root: str, current: int) -> list[int]:
    """Delete every ``v<N>`` directory of ``root`` with ``N != current``, and the trash of
    removers that died; return the removed versions, sorted."""
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    except OSError as err:
        raise CacheError(f"cannot list cache directory {root}: {err.strerror or err}") from err
    removed: list[int] = []
    for name in names:
        match = _VERSION_DIR.fullmatch(name)
        if match is None or f"v{int(match[1])}" != name or int(match[1]) == current:
            continue
        trash = os.path.join(root, f"{_TRASH_MARK}{os.getpid()}-{secrets.token_hex(8)}")
        try:
            os.rename(os.path.join(root, name), trash)
        except FileNotFoundError:
            continue  # another remover got there first
        except OSError as err:
            raise CacheError(f"cannot remove {os.path.join(root, name)}: {err.strerror or err}") from err
        removed.append(int(match[1]))
        _delete_tree(trash)
    for name in names:
        if name.startswith(_TRASH_MARK):
            pid = name[len(_TRASH_MARK):].split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                _delete_tree(os.path.join(root, name))
    return sorted(removed)


def _delete_tree(path: str) -> None:
    """Delete ``path`` (a directory tree, or a symlink put in its place); errors are ignored,
    since a later :meth:`OnDiskCache.remove_other_versions` retries what is left."""
    if os.path.islink(path):
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    shutil.rmtree(path, ignore_errors=True)
