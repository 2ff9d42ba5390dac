"""The Subject and Target protocols: the one shape every check, stress run and report drives.

A *Target* is a named, importable cache implementation (``reference-disk``, ``pkg.mod:Class``);
its ``name`` resolves to an equal target in any process, which is how child processes rebuild it.
A *Subject* is one open instance of a target on one storage directory. Capabilities are plain
strings; a clause needs a set of them and is ``n/a`` for a target that lacks any.
"""

from __future__ import annotations

import os

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
#: one regular file per entry under the storage dir (entry_files() lists them): proved by a probe
#: insert or declared by an adapter's entry_files hook, never inferred from a settable base_dir
FILES = "files"
THREADS = "threads"  #: one instance may be used from many threads at once
TYPED_KEYS = "typed-keys"  #: keys are str, int, float, bool, bytes, None, tuple, frozenset (not only str)
RICH_VALUES = "rich-values"  #: values are builtin data (not only bytes)

ALL_CAPABILITIES: frozenset[str] = frozenset(
    {CORE, ASYNC, PERSISTENT, PROCESSES, VERSION, ENV_LOADER, FILE_LOADER, LOCK, FILES, THREADS,
     TYPED_KEYS, RICH_VALUES}
)

# -- what the harness itself can do (not a property of the target) ------------------------
PRIVILEGED = "privileged"  #: checks run as root, so they can give storage to another user
HARNESS_CAPABILITIES: frozenset[str] = frozenset({PRIVILEGED})


def harness_capabilities() -> frozenset[str]:
    """The capabilities of this process as a harness; clauses needing one it lacks are n/a."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return frozenset({PRIVILEGED}) if root else frozenset()


def effective_capabilities(target: Target) -> frozenset[str]:
    """What a check may rely on: the target's capabilities plus the harness's."""
    return frozenset(target.capabilities) | harness_capabilities()


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
    # Optional: ``limits``, a spec._limits.Limits of the largest key and value it accepts (read
    # with limits_of(target); absent means none). Generated keys and values stay inside them.

    def open(self, storage: Path) -> Subject:
        """An instance storing under ``storage`` (ignored by in-memory targets)."""
        ...

    def get_version(self) -> int: ...

    def set_version(self, version: int) -> None:
        """Set the process-wide version (VERSION); affects every open subject of this target."""
        ...

    def from_env_var(self, name: str) -> Subject: ...

    def from_file_path(self, path: Path) -> Subject: ...


# -- rebuilding a target from its name ------------------------------------------------------
# The spec sits below the code that turns names into targets (cachespec.conformance), so it
# cannot import that code; the resolver registers itself here when it is imported. A child
# process gets the resolver's import path along with the target name and imports it itself.
_resolver: Any = None


def register_resolver(resolve: Any) -> None:
    """Make ``resolve(name) -> Target`` the way checks rebuild a target in a child process."""
    global _resolver
    _resolver = resolve


def resolver_path() -> str | None:
    """``module:function`` of the registered resolver, for a child process to import."""
    if _resolver is None:
        return None
    return f"{_resolver.__module__}:{_resolver.__qualname__}"


def rebuild_target(target: Target) -> Target:
    """``target`` rebuilt from its name by the registered resolver, or ``target`` itself when no
    resolver is registered or the name does not resolve (an inline target of a test)."""
    if _resolver is None:
        return target
    try:
        return _resolver(target.name)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - fall back to the object we were given
        return target


def resolve_in_child(resolver: str | None, name: str) -> Target:
    """In a fresh interpreter: import ``resolver`` (``module:function``) and resolve ``name``."""
    import importlib

    if resolver is None:
        raise TargetError(f"cannot rebuild target {name!r} in a child process: no resolver "
                          "registered (import the module that resolves target names first)")
    module, _, func = resolver.partition(":")
    fn = getattr(importlib.import_module(module), func)
    register_resolver(fn)
    return fn(name)  # type: ignore[no-any-return]
