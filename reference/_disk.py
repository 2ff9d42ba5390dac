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
import os
import re
from hashlib import sha256
from pathlib import Path
from tempfile import gettempdir
from typing import Any, Callable

from filelock import FileLock, Timeout

from cachespec.reference._base import AsyncCache, Key, Value
from cachespec.reference._entry import _HEADER, MAGIC, encode_entry, pack_entry, unpack_entry  # noqa: F401  (re-exported)
from cachespec.reference._errors import CacheError
from cachespec.reference._keys import encode_key
from cachespec.reference._publish import (  # noqa: F401  (_Staged, _pid_scope: used by tests)
    _HEX, _TEMP_MARK, _DirectoryGone, _pid_scope, _Staged,
)
from cachespec.reference._trust import ENTRY_MODE, check_dir, check_entry, checked_trust, make_dirs
from cachespec.reference._versions import pid_alive as _pid_alive
from cachespec.reference._versions import remove_versions_except

LOCK_TIMEOUT = 30.0  #: seconds to wait for a repair lock before giving up with CacheError
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW  # never read through a planted symlink


class OnDiskCache(AsyncCache[Key, Value]):
    """A cache shared by every instance, thread and process using the same ``base_dir``.

    ``version`` (an int class attribute) namespaces entries: those written under another version
    are invisible to ``get`` and do not stop ``insert``.
    """

    version: int = 0
    #: Whose files this cache reads: "user" (default; only the current user's, in directories
    #: no one else can write) or "group" (also a setgid group directory shared on purpose).
    trust: str = "user"

    def __init__(self, name: str | None = None, *, trust: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name or "/" in name or "\0" in name
                                 or name in (".", "..")):
            raise CacheError(f"name must be a non-empty file name without '/', got {name!r}")
        self.name = name or "on_disk_cache"
        self._root: str | None = None
        self._vdir: tuple[str, int, str] | None = None  # (root, version, version dir) of the last call
        self._made_dirs: set[str] = set()
        self._swept: set[str] = set()
        self._trust = checked_trust(type(self).trust if trust is None else trust)
        self._entry_mode = ENTRY_MODE[self._trust]
        self._euid = os.geteuid()
        self._group: int | None = None  # gid of a trusted group directory (trust="group")
        self._vdir_ok = "\0"  # "<version dir>/" once checked for reading ("\0" prefixes no path)

    # -- where things live ----------------------------------------------------------------------
    def _default_base_dir(self) -> Path:
        return Path(gettempdir()) / f"cache_{os.geteuid()}" / self.name

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
        self._vdir_ok = "\0"

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

    def _check_for_reading(self, vdir: str) -> None:
        """Check base_dir and the version directory once per instance, before the first read
        through them; while they do not exist there is nothing to read, and they are checked
        again next time."""
        try:
            self._note_group(check_dir(os.path.dirname(vdir), self._trust))
            check_dir(vdir, self._trust)
        except FileNotFoundError:
            return
        except OSError as err:
            raise CacheError(f"cannot check cache directory {vdir}: {err.strerror or err}") from err
        self._vdir_ok = vdir + "/"

    def _note_group(self, st: os.stat_result) -> None:
        if self._trust == "group":
            self._group = st.st_gid

    def entry_path(self, key: Any) -> Path:
        """The file that holds (or would hold) ``key``'s entry under the current version."""
        return Path(self._entry_path_of(self._digest(key)))

    def lock_path(self, key: Any) -> Path:
        """The lock file guarding repairs of ``key``'s entry (a :class:`filelock.FileLock` path)."""
        return self.base_dir / "locks" / f"{self._digest(key)[:4]}.lock"

    # -- torch's names for the same places ----------------------------------------------------
    def _fpath_from_key(self, key: Key) -> Path:
        """torch's name for :meth:`entry_path`: the entry file of ``key`` under the current
        version. CacheError for a key outside the key domain (an unpicklable one included)."""
        return self.entry_path(key)

    def _flock_from_fpath(self, fpath: Path) -> FileLock:
        """The :class:`filelock.FileLock` that guards the entry file ``fpath`` (as
        :meth:`_fpath_from_key` gives it): ``<base_dir>/locks/<d[:4]>.lock``, the lock a repair
        of that entry takes. Reads and first inserts never take it. CacheError if ``fpath`` is
        not an entry path."""
        if not isinstance(fpath, (str, os.PathLike)):
            raise CacheError(f"fpath must be a str or os.PathLike, got {type(fpath).__qualname__!r}")
        path = Path(fpath)
        digest = path.parent.name + path.name
        if len(path.parts) < 4 or len(digest) != 64 or not _HEX.issuperset(digest):
            raise CacheError(f"{str(fpath)!r} is not an entry path <base_dir>/v<version>/<d[:2]>/<d[2:]>")
        return FileLock(os.fspath(path.parents[2] / "locks" / f"{digest[:4]}.lock"))

    @property
    def version_prefix(self) -> bytes:
        """What sets this version's entries apart from other versions': torch writes it in front
        of every entry; here it is the name of the version directory, ``b"v<version>"``."""
        return f"v{self._version()}".encode()

    # -- reclaiming other versions --------------------------------------------------------------
    def remove_other_versions(self) -> list[int]:
        """Delete the entry directories of every version but the current one; return those
        versions, sorted.

        Each ``v<N>`` directory is first renamed to a ``.trash-`` name in ``base_dir`` (atomic),
        then deleted. A concurrent reader of version N therefore opens either the complete entry
        or nothing (None); a concurrent writer of version N makes the directory again, and its
        entry may be lost with the rest (a reader then sees None, never a wrong value). Trash left
        by a remover that died is deleted too. Call it when no process still uses version N.
        """
        root = os.fspath(self.base_dir)
        try:
            check_dir(root, self._trust)
        except FileNotFoundError:
            return []
        return remove_versions_except(root, self._version())

    # -- reads: no lock -----------------------------------------------------------------------------
    def get(self, key: Key) -> Value | None:
        return self._read(self._entry_path_of(self._digest(key)))

    def _read(self, path: str) -> Any | None:
        # os.open/fstat/read/close: four system calls, none of the buffered file object's extras.
        if not path.startswith(self._vdir_ok):  # once per version dir and instance
            self._check_for_reading(os.path.dirname(os.path.dirname(path)))
        try:
            fd = os.open(path, _READ_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise CacheError(f"refusing entry {path}: it is a symbolic link") from err
            raise CacheError(f"cannot read entry {path}: {err.strerror or err}") from err
        try:
            st = os.fstat(fd)
            if st.st_uid != self._euid:
                check_entry(st, path, self._trust, self._group)
            size = st.st_size
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
    def insert(self, key: Key, value: Value) -> bool:
        return self._publish(self._digest(key), encode_entry(value))

    def _prepare_insert(self, key: Any, value: Any) -> Callable[[], bool]:
        # Encode now: the value is captured when insert_async is called, not when the job runs.
        digest, blob = self._digest(key), encode_entry(value)
        return lambda: self._publish(digest, blob)

    def _prepare_get(self, key: Any) -> Callable[[], Any | None]:
        digest = self._digest(key)
        return lambda: self._read(self._entry_path_of(digest))

    def _ensure_dir(self, directory: str) -> None:
        """Create (privately) or check ``directory`` and every directory between base_dir and
        it, base_dir included; once per instance."""
        if directory in self._made_dirs:
            return
        root = os.fspath(self.base_dir)
        try:
            if directory != root:
                self._ensure_dir(os.path.dirname(directory) if directory.startswith(root + os.sep) else root)
            st = make_dirs(directory, self._trust)
            if directory == root and st is not None:
                self._note_group(st)
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
            self._remake_dir(directory)
            staged = _Staged(directory, blob, self)
        with staged:
            try:
                published = staged.publish(path)
            except _DirectoryGone:  # reclaimed between staging and linking: make it again, once
                self._remake_dir(directory)
                try:
                    published = staged.publish(path)
                except _DirectoryGone as err:
                    raise CacheError(f"cannot publish entry {path}: its directory keeps vanishing") from err
            if published:
                return True
            try:
                self._read(path)
                return False
            except CacheError:
                return self._repair(digest, path, staged)

    def _remake_dir(self, directory: str) -> None:
        self._made_dirs.discard(directory)
        self._ensure_dir(directory)

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


def _torch_default_cache_dir() -> str:
    """torch's ``default_cache_dir()``, without importing torch."""
    try:
        user = getpass.getuser()
    except (KeyError, ModuleNotFoundError, OSError):
        user = f"uid_{os.getuid()}" if hasattr(os, "getuid") else "unknown_user"
    return os.path.join(gettempdir(), "torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user))


class InductorOnDiskCache(OnDiskCache[Key, Value]):
    """The on-disk cache Inductor uses: ``$TORCHINDUCTOR_CACHE_DIR`` (else torch's default
    ``<tempdir>/torchinductor_<user>``) plus ``cache/inductor_on_disk_cache``."""

    def __init__(self) -> None:
        super().__init__("inductor_on_disk_cache")

    def _default_base_dir(self) -> Path:
        root = os.environ.get("TORCHINDUCTOR_CACHE_DIR") or _torch_default_cache_dir()
        return Path(root) / "cache" / self.name
