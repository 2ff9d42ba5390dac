"""The adapter protocol: how a cache that is *not* shaped like torch's becomes a Target.

Subclass :class:`Adapter`, say which capabilities the cache has, and translate the four core
operations. Everything else (reopen, async, version, loaders, locks, entry files) has a default
that either follows from the core operations or raises ``NotImplementedError`` for a capability
the adapter does not claim (clauses needing it are then ``n/a``)::

    from cachespec.conformance import Adapter, CORE, PERSISTENT, PROCESSES

    class KVStoreAdapter(Adapter):
        capabilities = frozenset({CORE, PERSISTENT, PROCESSES})
        error_type = kvstore.StoreError

        def create(self, storage):           # one native instance on that directory
            return kvstore.Store(storage)

        def get(self, native, key):          # value or None
            hit = native.lookup(key)
            return None if hit is None else hit.payload

        def insert(self, native, key, value):  # True iff this call stored the value
            return native.put_if_absent(key, value)

Name it on the command line as ``mypkg.adapters:KVStoreAdapter`` (``resolve_target`` instantiates
a class that subclasses :class:`Adapter`), or register an instance under the ``cachespec.targets``
entry-point group. The adapter's ``name`` must resolve back to it in a fresh process, since child
processes rebuild targets by name.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import tempfile
from abc import ABCMeta
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from cachespec.spec._limits import NO_LIMITS, Limits
from cachespec.spec._subject import (
    ASYNC, CORE, ENV_LOADER, FILE_LOADER, FILES, LOCK, VERSION, Target, TargetError,
)

#: file names that hold locks or in-flight temporaries, never entries
_LOCK_SUFFIXES = (".lock",)


#: capability -> the hooks an adapter claiming it must write (the defaults only refuse)
_HOOKS: dict[str, tuple[str, ...]] = {
    LOCK: ("lock_for",),
    VERSION: ("get_version", "set_version"),
    ENV_LOADER: ("load_env_var",),
    FILE_LOADER: ("load_file_path",),
}
#: the operations every adapter writes, with the signature to write
_CORE_HOOKS = {"create": "create(self, storage) -> native instance",
               "get": "get(self, native, key) -> value or None",
               "insert": "insert(self, native, key, value) -> bool"}


class _AdapterMeta(ABCMeta):
    """Checks an adapter once it is built: what ``__init__`` sets (``error_type``,
    ``capabilities``) is only known then, and a bad one is a usage error (TargetError)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        reason = cls.unavailable()  # type: ignore[attr-defined]
        if reason:
            raise TargetError(f"{cls.__module__}.{cls.__qualname__} is unavailable: {reason}")
        adapter = super().__call__(*args, **kwargs)
        adapter._validate()
        if FILES in adapter.capabilities and not _declares(type(adapter), "entry_files") \
                and not _one_file_per_entry(adapter):
            adapter.capabilities = frozenset(adapter.capabilities) - {FILES}
        return adapter


class Adapter(metaclass=_AdapterMeta):
    """Base class for targets that wrap a native cache object; override the hooks you need.

    A concrete subclass must write ``create``, ``get`` and ``insert``, one hook per claimed
    capability that needs one (``lock_for`` for LOCK, ``get_version``/``set_version`` for
    VERSION, ``load_env_var`` for ENV_LOADER, ``load_file_path`` for FILE_LOADER), and set
    ``error_type`` to the exception class the cache reports failures with. A missing method is
    a TypeError when the class is defined; pass ``abstract=True`` in the class statement for a
    partial base class. A missing ``error_type`` is a TargetError when the adapter is built.
    FILES is kept only if the adapter writes ``entry_files`` or a probe (a few inserts into a
    scratch directory, when it is built) shows one new file per key.
    """

    name: str = ""
    description: str = ""
    capabilities: frozenset[str] = frozenset({CORE})
    error_type: type[BaseException]  #: the cache's CacheError; no default (see _validate)
    #: the largest key and value the store accepts (LMDB: keys <= 511 bytes); the generators
    #: keep inside them, so a store's documented refusal is never reported as a bug
    limits: Limits = NO_LIMITS

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract or inspect.isabstract(cls):
            return
        missing = _missing_hooks(cls, cls.capabilities)
        if missing:
            raise TypeError(f"{cls.__module__}.{cls.__qualname__}: {missing}")

    def _validate(self) -> None:
        """TargetError (one line, naming the fix) for what only the built adapter shows."""
        cls = type(self)
        where = f"{cls.__module__}.{cls.__qualname__}"
        err = getattr(self, "error_type", None)
        if err is None:
            raise TargetError(f"{where} sets no error_type; set error_type = <the exception "
                              "class the cache raises for its failures> on the adapter")
        if not (isinstance(err, type) and issubclass(err, BaseException)):
            raise TargetError(f"{where}.error_type is {err!r}, not an exception class; set it "
                              "to the exception class the cache raises for its failures")
        if not isinstance(getattr(self, "limits", NO_LIMITS), Limits):
            raise TargetError(f"{where}.limits is {self.limits!r}; set it to "
                              "cachespec.conformance.Limits(max_key_bytes=..., max_value_bytes=...)")
        if err in (BaseException, Exception):
            raise TargetError(f"{where}.error_type is {err.__name__}, which every error is; "
                              "set it to the cache's own error class")
        missing = _missing_hooks(cls, frozenset(self.capabilities))
        if missing:
            raise TargetError(f"{where}: {missing}")

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        if not self.name:
            cls = type(self)
            self.name = f"{cls.__module__}:{cls.__qualname__}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} caps={sorted(self.capabilities)}>"

    @classmethod
    def unavailable(cls) -> str | None:
        """Why the cache cannot run on this machine (a server binary is missing, say), with
        what to do about it; None when it can. Cheap: ``cachespec targets`` calls it."""
        return None

    # -- hooks: core ---------------------------------------------------------------------
    def create(self, storage: Path | None) -> Any:
        """A new native instance storing under ``storage`` (None: a loader-built or in-memory one)."""
        raise NotImplementedError

    def get(self, native: Any, key: Any) -> Any | None:
        raise NotImplementedError

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        raise NotImplementedError

    # -- hooks: optional -----------------------------------------------------------------
    def get_async(self, native: Any, key: Any, executor: Executor) -> Future[Any]:
        return executor.submit(self.get, native, key)

    def insert_async(self, native: Any, key: Any, value: Any, executor: Executor) -> Future[bool]:
        return executor.submit(self.insert, native, key, value)

    def lock_for(self, native: Any, key: Any) -> AbstractContextManager[Any]:
        raise NotImplementedError(f"{self.name} does not claim the {LOCK!r} capability")

    def entry_files(self, native: Any, storage: Path | None) -> Iterator[Path]:
        """Regular files under ``storage`` except lock files and anything in a ``locks`` dir."""
        if storage is None or not storage.exists():
            return iter(())
        return (
            p for p in sorted(storage.rglob("*"))
            if p.is_file() and not p.name.endswith(_LOCK_SUFFIXES)
            and "locks" not in p.relative_to(storage).parts[:-1]
        )

    def close(self, native: Any) -> None:
        closer = getattr(native, "close", None)
        if callable(closer):
            closer()

    def get_version(self) -> int:
        raise NotImplementedError(f"{self.name} does not claim the {VERSION!r} capability")

    def set_version(self, version: int) -> None:
        raise NotImplementedError(f"{self.name} does not claim the {VERSION!r} capability")

    def load_env_var(self, name: str) -> Any:
        raise NotImplementedError(f"{self.name} does not claim the {ENV_LOADER!r} capability")

    def load_file_path(self, path: Path) -> Any:
        raise NotImplementedError(f"{self.name} does not claim the {FILE_LOADER!r} capability")

    # -- the Target protocol, built from the hooks ----------------------------------------
    def open(self, storage: Path) -> AdapterSubject:
        storage = Path(storage)
        storage.mkdir(parents=True, exist_ok=True)
        return AdapterSubject(self, self.create(storage), storage)

    def from_env_var(self, name: str) -> AdapterSubject:
        return AdapterSubject(self, self.load_env_var(name), None)

    def from_file_path(self, path: Path) -> AdapterSubject:
        return AdapterSubject(self, self.load_file_path(Path(path)), None)


def _declares(cls: type, hook: str) -> bool:
    """Whether ``cls`` writes ``hook`` itself instead of inheriting Adapter's default."""
    return getattr(cls, hook, None) is not getattr(Adapter, hook, None)


#: the probe's answers, inherited by child processes (which rebuild the target by name): a
#: child killed on purpose (a crash check, the stress kill fault) must not die mid-probe and
#: leave its scratch directory behind, so children reuse what their parent proved
_PROBED_ENV = "CACHESPEC_FILES_PROBED"


def _one_file_per_entry(adapter: Adapter) -> bool:
    """The FILES probe: fresh inserts into a scratch directory each add one regular file.
    FILES is granted on this proof (or a declared entry_files hook), never on a claim alone."""
    from cachespec.spec._crashes import value_of
    from cachespec.spec._damage import probe_entry_files
    from cachespec.spec._harness import outcome

    try:
        known = json.loads(os.environ.get(_PROBED_ENV) or "{}")
    except ValueError:
        known = {}
    key = _probe_key(adapter)
    if key in known:
        return bool(known[key])
    with tempfile.TemporaryDirectory(prefix="cachespec-files-probe-") as tmp:
        subject = outcome(lambda: adapter.open(Path(tmp)))
        if isinstance(subject, BaseException):
            return False
        try:
            proved = probe_entry_files(
                subject, value_of(frozenset(adapter.capabilities), 9, 64)) is None
        finally:
            outcome(subject.close)
    known[key] = proved
    os.environ[_PROBED_ENV] = json.dumps(known)
    return proved


def _probe_key(adapter: Adapter) -> str:
    """The target's name and the file (and its mtime) that defines the cache: the same name
    in another test's directory, or after an edit, is probed again."""
    cls = getattr(adapter, "cls", type(adapter))
    path = getattr(sys.modules.get(getattr(cls, "__module__", "")), "__file__", None) or ""
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        stamp = 0
    return f"{adapter.name}@{path}:{stamp}"


def _missing_hooks(cls: type, capabilities: frozenset[str]) -> str:
    """What ``cls`` must still write ("" if nothing): the core operations, then the hooks of
    each claimed capability that still has Adapter's refusing default."""
    core = [sig for h, sig in _CORE_HOOKS.items() if not _declares(cls, h)]
    if core:
        return (f"an Adapter must define {'; '.join(core)} (or pass abstract=True in the "
                "class statement of a partial base class)")
    for cap in sorted(capabilities):
        hooks = [h for h in _HOOKS.get(cap, ()) if not _declares(cls, h)]
        if hooks:
            return (f"claims the {cap!r} capability but does not define "
                    f"{' and '.join(hooks)}; write {' and '.join(hooks)} or drop {cap!r} "
                    "from capabilities")
    return ""


class AdapterSubject:
    """One open native instance, seen through its adapter (implements ``Subject``)."""

    def __init__(self, adapter: Adapter, native: Any, storage: Path | None) -> None:
        self.adapter = adapter
        self.target: Target = adapter  # type: ignore[assignment]
        self.native = native
        self.storage = storage

    def __repr__(self) -> str:
        return f"<Subject of {self.adapter.name!r} at {self.storage}>"

    def get(self, key: Any) -> Any | None:
        return self.adapter.get(self.native, key)

    def insert(self, key: Any, value: Any) -> bool:
        return self.adapter.insert(self.native, key, value)

    def get_async(self, key: Any, executor: Executor) -> Future[Any]:
        if ASYNC not in self.adapter.capabilities:
            raise NotImplementedError(f"{self.adapter.name} has no {ASYNC!r} capability")
        return self.adapter.get_async(self.native, key, executor)

    def insert_async(self, key: Any, value: Any, executor: Executor) -> Future[bool]:
        if ASYNC not in self.adapter.capabilities:
            raise NotImplementedError(f"{self.adapter.name} has no {ASYNC!r} capability")
        return self.adapter.insert_async(self.native, key, value, executor)

    def reopen(self) -> AdapterSubject:
        if self.storage is None:
            raise NotImplementedError(f"a {self.adapter.name} instance without storage cannot reopen")
        return self.adapter.open(self.storage)

    def lock_for(self, key: Any) -> AbstractContextManager[Any]:
        return self.adapter.lock_for(self.native, key)

    def entry_files(self) -> Iterator[Path]:
        return self.adapter.entry_files(self.native, self.storage)

    def close(self) -> None:
        self.adapter.close(self.native)

    def __enter__(self) -> AdapterSubject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
