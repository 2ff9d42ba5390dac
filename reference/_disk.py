"""``OnDiskCache``: one file per key, published atomically, read without locks.

Layout under ``base_dir`` (documented in the README)::

    v<version>/<d[:2]>/<d[2:]>   one entry; d = hex SHA-256 of the canonical key encoding
    locks/<d[:4]>.lock           filelock lock files (only ever taken to repair a corrupt entry)

An entry file is ``b"CSP\\x02"``, the payload length and the XXH3-64 of the payload (8 bytes each,
big-endian), then the payload (the restricted pickle of the value). A writer builds the complete file where no reader can see it
(an ``O_TMPFILE`` inode, or a named temporary on file systems without one) and publishes it with
``link(2)``, which fails if the name exists: so the first insert wins, a reader sees nothing or a
whole entry, and a writer killed at any instant leaves nothing behind (an unnamed inode is freed
by the kernel). Each version has its own directory, so entries of another version are invisible
and never destroyed: processes running different versions share a directory without fighting
over file names, which replacing stale files in place cannot offer. The only lock guards the
replacement of an entry found corrupt, so two inserters cannot both replace it.
"""

from __future__ import annotations

import errno
import getpass
import io
import os
import re
import secrets
import struct
from hashlib import sha256
from pathlib import Path
from tempfile import gettempdir
from typing import Any, Callable

from filelock import FileLock, Timeout
from xxhash import xxh3_64_intdigest

from cachespec.reference._base import AsyncCache
from cachespec.reference._errors import CacheError
from cachespec.reference._keys import encode_key
from cachespec.reference._values import decode_value, dump_value

MAGIC = b"CSP\x02"
# magic, payload length, XXH3-64 of the payload. The checksum is what turns bytes overwritten in
# the middle of a payload into a CacheError instead of a silently wrong value; XXH3 costs a few
# microseconds per 100 KB, where CRC-32 would cost more than the read itself.
_HEADER = struct.Struct(">4sQQ")
_BLANK_HEADER = bytes(_HEADER.size)
LOCK_TIMEOUT = 30.0  #: seconds to wait for a repair lock before giving up with CacheError
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_TEMP_MARK = ".tmp-"


def pack_entry(payload: bytes) -> bytes:
    """The bytes of an entry file holding ``payload``."""
    return _HEADER.pack(MAGIC, len(payload), xxh3_64_intdigest(payload)) + payload


def encode_entry(value: Any) -> bytes:
    """``pack_entry(encode_value(value))``, pickling straight after the header (no extra copy)."""
    buffer = io.BytesIO()
    buffer.write(_BLANK_HEADER)
    dump_value(buffer, value)
    length = buffer.tell() - _HEADER.size
    with buffer.getbuffer() as view:
        checksum = xxh3_64_intdigest(view[_HEADER.size:])
    buffer.seek(0)
    buffer.write(_HEADER.pack(MAGIC, length, checksum))
    return buffer.getvalue()


def unpack_entry(data: bytes, where: str) -> Any:
    """The value in an entry file's bytes; CacheError if they are not one complete entry."""
    if len(data) < _HEADER.size:
        raise CacheError(f"{where}: entry truncated to {len(data)} bytes")
    magic, length, checksum = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CacheError(f"{where}: not a cachespec entry (bad magic {magic!r})")
    if length != len(data) - _HEADER.size:
        raise CacheError(f"{where}: entry holds {len(data) - _HEADER.size} payload bytes, header says {length}")
    with memoryview(data) as view:
        if xxh3_64_intdigest(view[_HEADER.size:]) != checksum:
            raise CacheError(f"{where}: payload checksum mismatch (the entry was overwritten or damaged)")
    return decode_value(data, where, _HEADER.size)


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OnDiskCache(AsyncCache):
    """A cache shared by every instance, thread and process using the same ``base_dir``.

    ``version`` (an int class attribute) namespaces entries: those written under another version
    are invisible to ``get`` and do not stop ``insert``.
    """

    version: int = 0

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name or "/" in name or "\0" in name
                                 or name in (".", "..")):
            raise CacheError(f"name must be a non-empty file name without '/', got {name!r}")
        self.name = name or "on_disk_cache"
        self._root: str | None = None
        self._vdir: tuple[str, int, str] | None = None  # (root, version, version dir) of the last call
        self._made_dirs: set[str] = set()
        self._swept: set[str] = set()

    # -- where things live ----------------------------------------------------------------------
    def _default_base_dir(self) -> Path:
        return Path(gettempdir()) / "cache" / self.name

    @property
    def base_dir(self) -> Path:
        """The directory holding this cache's entries and lock files (settable)."""
        if self._root is None:
            self._root = os.fspath(self._default_base_dir())
        return Path(self._root)

    @base_dir.setter
    def base_dir(self, value: str | os.PathLike[str]) -> None:
        if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
            raise CacheError(f"base_dir must be a non-empty str or os.PathLike, got {value!r}")
        self._root = os.path.abspath(os.fspath(value))
        self._made_dirs = set()

    def _version(self) -> int:
        version = type(self).version
        if type(version) is not int:
            raise CacheError(f"{type(self).__qualname__}.version must be an int, got {version!r}")
        return version

    def _digest(self, key: Any) -> str:
        return sha256(encode_key(key)).hexdigest()

    def _entry_path_of(self, digest: str) -> str:
        # The hot path of every get and insert: plain strings, the version directory reused.
        version, root = self._version(), self._root
        cached = self._vdir
        if root is None or cached is None or cached[0] is not root or cached[1] != version:
            root = os.fspath(self.base_dir)
            cached = self._vdir = (self._root or root, version, os.path.join(root, f"v{version}"))
        return f"{cached[2]}/{digest[:2]}/{digest[2:]}"

    def entry_path(self, key: Any) -> Path:
        """The file that holds (or would hold) ``key``'s entry under the current version."""
        return Path(self._entry_path_of(self._digest(key)))

    def lock_path(self, key: Any) -> Path:
        """The lock file guarding repairs of ``key``'s entry (a :class:`filelock.FileLock` path)."""
        return self.base_dir / "locks" / f"{self._digest(key)[:4]}.lock"

    # -- reads: no lock -----------------------------------------------------------------------------
    def get(self, key: Any) -> Any | None:
        return self._read(self._entry_path_of(self._digest(key)))

    def _read(self, path: str) -> Any | None:
        # os.open/fstat/read/close: four system calls, none of the buffered file object's extras.
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise CacheError(f"cannot read entry {path}: {err.strerror or err}") from err
        try:
            size = os.fstat(fd).st_size
            data = os.read(fd, size + 1)
            while len(data) < size:  # a short read; a published entry never changes, so read on
                more = os.read(fd, size - len(data))
                if not more:
                    break
                data += more
        except OSError as err:  # e.g. EISDIR: a directory where an entry should be
            raise CacheError(f"cannot read entry {path}: {err.strerror or err}") from err
        finally:
            os.close(fd)
        return unpack_entry(data, f"entry {path}")

    # -- writes -------------------------------------------------------------------------------------
    def insert(self, key: Any, value: Any) -> bool:
        return self._publish(self._digest(key), encode_entry(value))

    def _prepare_insert(self, key: Any, value: Any) -> Callable[[], bool]:
        # Encode now: the value is captured when insert_async is called, not when the job runs.
        digest, blob = self._digest(key), encode_entry(value)
        return lambda: self._publish(digest, blob)

    def _prepare_get(self, key: Any) -> Callable[[], Any | None]:
        digest = self._digest(key)
        return lambda: self._read(self._entry_path_of(digest))

    def _ensure_dir(self, directory: str) -> None:
        if directory in self._made_dirs:
            return
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as err:
            raise CacheError(f"cannot create cache directory {directory}: {err.strerror or err}") from err
        self._made_dirs.add(directory)

    def _publish(self, digest: str, blob: bytes) -> bool:
        path = self._entry_path_of(digest)
        directory = os.path.dirname(path)
        self._ensure_dir(directory)
        try:
            staged = _Staged(directory, blob, self)
        except FileNotFoundError:  # the directory was removed under us: make it again, once
            self._made_dirs.discard(directory)
            self._ensure_dir(directory)
            staged = _Staged(directory, blob, self)
        with staged:
            if staged.publish(path):
                return True
            try:
                self._read(path)
                return False
            except CacheError:
                return self._repair(digest, path, staged)

    def _repair(self, digest: str, path: str, staged: _Staged) -> bool:
        """Replace the corrupt entry at ``path`` with ``staged``, unless someone else already did."""
        lock_dir = os.path.join(os.fspath(self.base_dir), "locks")
        self._ensure_dir(lock_dir)
        try:
            with FileLock(os.path.join(lock_dir, f"{digest[:4]}.lock"), timeout=LOCK_TIMEOUT):
                try:
                    if self._read(path) is not None or os.path.exists(path):
                        return False  # repaired meanwhile (a present entry may hold None itself)
                except CacheError:
                    os.unlink(path)  # only lock holders ever unlink, so this is still the corrupt file
                # A lock-free inserter may link between our unlink and link: then it wins, we lose.
                return staged.publish(path)
        except Timeout as err:
            raise CacheError(f"timed out after {LOCK_TIMEOUT} s waiting for the repair lock of {path}") from err
        except OSError as err:
            raise CacheError(f"cannot repair corrupt entry {path}: {err.strerror or err}") from err

    def _sweep_temps(self, directory: str) -> None:
        """Remove named temporaries left by dead writers (only used without O_TMPFILE)."""
        if directory in self._swept:
            return
        self._swept.add(directory)
        try:
            names = os.listdir(directory)
        except OSError:
            return
        scope = _pid_scope()
        for name in names:
            if name.startswith(_TEMP_MARK):
                # ".tmp-<scope>-<pid>-<token>": only temporaries of this host's pid namespace are
                # judged (another host's pid says nothing here); ".tmp-<pid>-<token>" is legacy.
                parts = name[len(_TEMP_MARK):].split("-")
                if len(parts) == 3 and parts[0] != scope:
                    continue
                pid = parts[1] if len(parts) == 3 else parts[0]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    try:
                        os.unlink(os.path.join(directory, name))
                    except OSError:
                        pass


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
                self.fd = os.open(directory, _O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644)
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
                self.fd = os.open(self.temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                raise  # the directory is gone: the caller makes it again
            except OSError as err:
                raise CacheError(f"cannot write in {directory}: {err.strerror}") from err
        try:
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


def _torch_default_cache_dir() -> str:
    """torch's ``default_cache_dir()``, without importing torch."""
    try:
        user = getpass.getuser()
    except (KeyError, ModuleNotFoundError, OSError):
        user = f"uid_{os.getuid()}" if hasattr(os, "getuid") else "unknown_user"
    return os.path.join(gettempdir(), "torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user))


class InductorOnDiskCache(OnDiskCache):
    """The on-disk cache Inductor uses: ``$TORCHINDUCTOR_CACHE_DIR`` (else torch's default
    ``<tempdir>/torchinductor_<user>``) plus ``cache/inductor_on_disk_cache``."""

    def __init__(self) -> None:
        super().__init__("inductor_on_disk_cache")

    def _default_base_dir(self) -> Path:
        root = os.environ.get("TORCHINDUCTOR_CACHE_DIR") or _torch_default_cache_dir()
        return Path(root) / "cache" / self.name
