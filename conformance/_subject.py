"""The Subject and Target protocols: the one shape every check, stress run and report drives.

A *Target* is a named, importable cache implementation (``reference-disk``, ``pkg.mod:Class``);
its ``name`` resolves to an equal target in any process, which is how child processes rebuild it.
A *Subject* is one open instance of a target on one storage directory. Capabilities are plain
strings; a clause needs a set of them and is ``n/a`` for a target that lacks any.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

# -- capabilities ---------------------------------------------------------------------------
CORE = "core"  #: get(key) -> value | None and insert(key, value) -> bool
ASYNC = "async"  #: get_async / insert_async returning concurrent.futures.Future
PERSISTENT = "persistent"  #: reopen(): a second instance on the same storage sees the entries
PROCESSES = "processes"  #: instances in other processes (rebuilt from the target name) share storage
VERSION = "version"  #: a process-wide integer version; entries of other versions are invisible
ENV_LOADER = "env-loader"  #: from_env_var(name) builds an in-memory cache
FILE_LOADER = "file-loader"  #: from_file_path(path) builds an in-memory cache
LOCK = "lock"  #: lock_for(key) exposes the inter-process lock guarding key's writes
FILES = "files"  #: entries are regular files under the storage dir (corruption can be injected)
THREADS = "threads"  #: one instance may be used from many threads at once
TYPED_KEYS = "typed-keys"  #: keys are str, int, float, bool, bytes, None, tuple, frozenset (not only str)
RICH_VALUES = "rich-values"  #: values are builtin data (not only bytes)

ALL_CAPABILITIES: frozenset[str] = frozenset(
    {CORE, ASYNC, PERSISTENT, PROCESSES, VERSION, ENV_LOADER, FILE_LOADER, LOCK, FILES, THREADS,
     TYPED_KEYS, RICH_VALUES}
)


class TargetError(Exception):
    """A target string cannot be turned into a usable target; the message says what to do."""


@runtime_checkable
class Subject(Protocol):
    """One open cache instance. Methods a capability does not cover may raise NotImplementedError."""

    target: Target
    storage: Path | None  #: the directory it stores in, None for in-memory caches

    def get(self, key: Any) -> Any | None: ...

    def insert(self, key: Any, value: Any) -> bool: ...

    def get_async(self, key: Any, executor: Executor) -> Future[Any]: ...

    def insert_async(self, key: Any, value: Any, executor: Executor) -> Future[bool]: ...

    def reopen(self) -> Subject:
        """A new, independent instance on the same storage (PERSISTENT)."""
        ...

    def lock_for(self, key: Any) -> AbstractContextManager[Any]:
        """The lock the implementation takes to write ``key`` (LOCK)."""
        ...

    def entry_files(self) -> Iterator[Path]:
        """The files that hold entries, lock files excluded (FILES)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Target(Protocol):
    """A cache implementation under test, independent of any storage directory."""

    name: str  #: resolves back to an equal target with resolve_target(name), in any process
    capabilities: frozenset[str]
    error_type: type[BaseException]  #: the CacheError of the implementation

    def open(self, storage: Path) -> Subject:
        """An instance storing under ``storage`` (ignored by in-memory targets)."""
        ...

    def get_version(self) -> int: ...

    def set_version(self, version: int) -> None:
        """Set the process-wide version (VERSION); affects every open subject of this target."""
        ...

    def from_env_var(self, name: str) -> Subject: ...

    def from_file_path(self, path: Path) -> Subject: ...
