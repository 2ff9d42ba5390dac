"""Staging an entry where no reader can see it, and publishing it with one link.

An entry is written into an unnamed ``O_TMPFILE`` inode (freed by the kernel if the writer
dies) or, where the file system has none (NFS), into a named ``.tmp-<scope>-<pid>-<random>``
file; ``link(2)`` then gives it its name or fails because the name exists, so the first writer
wins and nothing is ever overwritten. Named temporaries carry their pid's scope (boot and pid
namespace) so that a sweeper only judges writers whose pid it can see.
"""

from __future__ import annotations

import errno
import os
import secrets
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from cachespec.reference._errors import CacheError

if TYPE_CHECKING:
    from cachespec.reference._disk import OnDiskCache

_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_TEMP_MARK = ".tmp-"
_HEX = frozenset("0123456789abcdef")


class _DirectoryGone(Exception):
    """The entry's directory vanished between staging and linking (its version was reclaimed)."""


def _pid_scope() -> str:
    """Where this process's pid means something: the kernel boot and the pid namespace, as a
    short tag ("h" + hex, never all digits). ``kill(pid, 0)`` only tells whether a pid of the
    SAME scope is alive; on a shared file system (NFS) other hosts' writers have other scopes."""
    if _SCOPE[0] != os.getpid():
        try:
            with open("/proc/sys/kernel/random/boot_id", "rb") as f:
                where = f.read().strip() + b":" + str(os.stat("/proc/self/ns/pid").st_ino).encode()
        except OSError:
            import socket

            where = socket.gethostname().encode()
        _SCOPE[:] = [os.getpid(), "h" + sha256(where).hexdigest()[:12]]
    return str(_SCOPE[1])


_SCOPE: list[Any] = [-1, ""]  # [pid that computed it, scope]: recomputed in a forked child



def _nlink(path: str) -> int:
    try:
        return os.stat(path).st_nlink
    except OSError:
        return 1


_ROOT_FD = -1


def _root_fd() -> int:
    global _ROOT_FD
    if _ROOT_FD < 0:
        _ROOT_FD = os.open("/", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    return _ROOT_FD


class _Staged:
    """A complete entry written where no reader can see it, ready to be linked into place."""

    # Once a file system refuses O_TMPFILE we stop asking (per process; the answer is per FS,
    # but one cache directory lives on one file system).
    tmpfile_works = bool(_O_TMPFILE)

    def __init__(self, directory: str, blob: bytes, cache: OnDiskCache) -> None:
        self.fd = -1
        self.temp_name: str | None = None
        if _Staged.tmpfile_works:
            try:
                self.fd = os.open(directory, _O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, cache._entry_mode)
            except FileNotFoundError:
                raise  # the directory is gone: the caller makes it again
            except OSError as err:
                if err.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise CacheError(f"cannot write in {directory}: {err.strerror}") from err
                _Staged.tmpfile_works = False  # this file system has no O_TMPFILE
        if self.fd < 0:
            cache._sweep_temps(directory)
            self.temp_name = os.path.join(
                directory, f"{_TEMP_MARK}{_pid_scope()}-{os.getpid()}-{secrets.token_hex(8)}")
            try:
                self.fd = os.open(self.temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                                  cache._entry_mode)
            except FileNotFoundError:
                raise  # the directory is gone: the caller makes it again
            except OSError as err:
                raise CacheError(f"cannot write in {directory}: {err.strerror}") from err
        try:
            os.fchmod(self.fd, cache._entry_mode)  # exactly 0o600/0o640, whatever the umask
            view = memoryview(blob)
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as err:
            self.__exit__()
            raise CacheError(f"cannot write entry in {directory}: {err.strerror}") from err

    def publish(self, path: str) -> bool:
        """Link the staged file to ``path``; False if ``path`` exists."""
        try:
            if self.temp_name is not None:
                # Named temporaries are the path of file systems without O_TMPFILE, such as NFS:
                # there another host may open the entry as soon as it is linked, and sees only
                # data the server has, so the data must reach it first (close-to-open is too late).
                os.fdatasync(self.fd)
                os.link(self.temp_name, path)
            else:
                # CPython calls plain link(2), which does not follow the /proc magic link, unless a
                # dir fd is given; with one it calls linkat(..., AT_SYMLINK_FOLLOW). The fd is only
                # a formality: the source path is absolute.
                os.link(f"/proc/self/fd/{self.fd}", path, src_dir_fd=_root_fd(), follow_symlinks=True)
            return True
        except FileExistsError:
            # On NFS a retransmitted LINK whose first try succeeded answers EEXIST: our temporary
            # then has a second name (the entry), which no other writer can give it.
            return self.temp_name is not None and _nlink(self.temp_name) > 1
        except FileNotFoundError as err:
            if self.temp_name is None and not os.path.isdir(os.path.dirname(path)):
                raise _DirectoryGone(path) from err  # the unnamed inode can still be linked elsewhere
            if self.temp_name is None and not os.path.exists("/proc/self/fd"):
                _Staged.tmpfile_works = False  # no /proc: named temporaries from now on
                raise CacheError("/proc is not mounted; retry the insert") from err
            raise CacheError(f"cannot publish entry {path}: {err.strerror}") from err
        except OSError as err:
            raise CacheError(f"cannot publish entry {path}: {err.strerror}") from err

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.temp_name is not None:
            try:
                os.unlink(self.temp_name)
            except FileNotFoundError:
                pass
            self.temp_name = None
