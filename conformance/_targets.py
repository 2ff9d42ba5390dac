"""Target names: the built-ins, the ``cachespec.targets`` entry points, and ``module:Class``.

``resolve_target(name)`` returns a Target whose ``name`` is ``name``, so that any process (a check
worker, a stress worker, a pytest-xdist worker) rebuilds the same target from the string alone.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from . import _progress
from cachespec.spec._subject import Target, TargetError, register_resolver
from ._target_args import has_args, resolve_with_args
from ._torchshaped import TorchShapedTarget, load_object, torch_shaped
from cachespec.spec._limits import NO_LIMITS, Limits, limits_of
from .adapters._base import Adapter

ENTRY_POINT_GROUP = "cachespec.targets"

#: the targets `cachespec check` runs when given none
REFERENCE_TARGETS: tuple[str, ...] = ("reference-memory", "reference-disk", "reference-inductor-disk")


def _class_target(path: str, description: str) -> Callable[[str], Target]:
    def make(name: str) -> Target:
        return TorchShapedTarget(name, _import_builtin(path, name), description)

    return make


def _adapter_target(path: str) -> Callable[[str], Target]:
    def make(name: str) -> Target:
        cls = _import_builtin(path, name)
        try:
            return cls(name)  # type: ignore[no-any-return]
        except ImportError as err:  # the adapter imports what it wraps
            raise TargetError(f"target {name!r} is unavailable: cannot import "
                              f"{getattr(err, 'name', None) or 'a dependency'!r} ({err}); "
                              f"{_install_hint(cls.description)}") from err

    return make


def _import_builtin(path: str, name: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as err:
        missing = getattr(err, "name", None) or module_name
        raise TargetError(f"target {name!r} is unavailable: cannot import {missing!r} "
                          f"({err}); {_install_hint(path)}") from err


#: module or adapter path prefix -> the pip extra that installs what it wraps
_EXTRAS = (("torch", "torch"), ("cachespec.conformance.adapters.torch", "torch"),
           ("diskcache", "diskcache"), ("cachespec.conformance.adapters.diskcache", "diskcache"),
           ("cachespec.conformance.adapters.cachelib", "cachelib"),
           ("cachespec.conformance.adapters.sqlitedict", "sqlitedict"),
           ("cachespec.conformance.adapters.lmdb", "lmdb"),
           ("cachespec.conformance.adapters.redis", "redis"))


def _install_hint(path: str) -> str:
    for prefix, extra in _EXTRAS:
        if path.startswith(prefix):
            return f"install it with pip install 'cachespec[{extra}]'"
    return "reinstall cachespec (pip install -e .)"


_FILE_DB = frozenset({"core", "persistent", "processes", "rich-values", "threads", "typed-keys"})
_MEMORY = frozenset({"core", "env-loader", "file-loader", "rich-values", "threads", "typed-keys"})
_DISK = frozenset({"async", "core", "files", "lock", "persistent", "processes", "rich-values",
                   "threads", "typed-keys", "version"})


@dataclass(frozen=True)
class _Builtin:
    """A built-in target. ``needs`` (top-level modules) and ``capabilities`` are declared so
    that listing targets imports nothing heavy (torch takes seconds); tests/test_targets.py
    checks the declarations against what resolving reports."""

    description: str
    make: Callable[[str], Target]
    needs: tuple[str, ...]
    capabilities: frozenset[str]
    limits: Limits = NO_LIMITS
    path: str = ""  #: module:attr of an adapter (its unavailable() says why it cannot run here)


def _adapter(description: str, path: str, needs: tuple[str, ...], capabilities: frozenset[str],
             limits: Limits = NO_LIMITS) -> _Builtin:
    """A built-in adapter target; ``path`` also lets the listing ask it ``unavailable()``."""
    return _Builtin(description, _adapter_target(path), needs, capabilities, limits, path)


_BUILTINS: dict[str, _Builtin] = {
    "reference-memory": _Builtin(
        "cachespec.reference.InMemoryCache",
        _class_target("cachespec.reference:InMemoryCache", "cachespec.reference.InMemoryCache"),
        (), _MEMORY),
    "reference-disk": _Builtin(
        "cachespec.reference.OnDiskCache",
        _class_target("cachespec.reference:OnDiskCache", "cachespec.reference.OnDiskCache"),
        (), _DISK),
    "reference-inductor-disk": _Builtin(
        "cachespec.reference.InductorOnDiskCache",
        _class_target("cachespec.reference:InductorOnDiskCache",
                      "cachespec.reference.InductorOnDiskCache"),
        (), _DISK),
    "torch-memory": _Builtin(
        "torch._inductor.cache.InMemoryCache",
        _class_target("torch._inductor.cache:InMemoryCache", "torch._inductor.cache.InMemoryCache"),
        ("torch",), _MEMORY),
    "torch-disk": _Builtin(
        "torch._inductor.cache.OnDiskCache",
        _class_target("torch._inductor.cache:OnDiskCache", "torch._inductor.cache.OnDiskCache"),
        ("torch",), _DISK),
    "torch-caching-memory": _adapter(
        "torch._inductor.runtime.caching.implementations._InMemoryCacheImpl (adapter)",
        "cachespec.conformance.adapters.torch_caching:TorchCachingMemory",
        ("torch",), frozenset({"core", "rich-values", "threads"})),
    "torch-caching-disk": _adapter(
        "torch._inductor.runtime.caching.implementations._OnDiskCacheImpl (adapter)",
        "cachespec.conformance.adapters.torch_caching:TorchCachingDisk",
        ("torch",), frozenset({"core", "files", "lock", "persistent", "processes", "threads",
                               "version"})),
    "diskcache": _adapter(
        "diskcache.Cache(directory), add() as insert (adapter)",
        "cachespec.conformance.adapters.diskcache:DiskCacheAdapter",
        ("diskcache",), _FILE_DB),
    "cachelib-fs": _adapter(
        "cachelib.FileSystemCache(dir, threshold=0, default_timeout=0): add() as insert "
        "(adapter)", "cachespec.conformance.adapters.cachelib:CachelibWriteOnce",
        ("cachelib",), (_FILE_DB - {"typed-keys"}) | {"files"}),
    "cachelib-fs-defaults": _adapter(
        "cachelib.FileSystemCache(dir) with its defaults (prunes above 500 entries, entries "
        "expire after 300 s): add() as insert (adapter)",
        "cachespec.conformance.adapters.cachelib:CachelibDefaults",
        ("cachelib",), (_FILE_DB - {"typed-keys"}) | {"files"}),
    "sqlite3": _adapter(
        "Python's sqlite3: one table in one file, INSERT OR IGNORE as insert (adapter)",
        "cachespec.conformance.adapters.sqlite:SQLiteAdapter", (), _FILE_DB),
    "sqlitedict": _adapter(
        "sqlitedict.SqliteDict(file, autocommit=True): `if key not in d: d[key] = value` "
        "as insert (adapter)", "cachespec.conformance.adapters.sqlitedict:SqliteDictAdapter",
        ("sqlitedict",), _FILE_DB - {"typed-keys"}),
    "lmdb": _adapter(
        "lmdb.Environment(dir): put(overwrite=False) as insert (adapter)",
        "cachespec.conformance.adapters.lmdb:LMDBAdapter", ("lmdb",),
        _FILE_DB - {"typed-keys", "rich-values"}, Limits(max_key_bytes=510)),
    "redis": _adapter(
        "Redis SET NX on a redis-server (CACHESPEC_REDIS_URL, or one started on a unix "
        "socket): SET NX as insert (adapter)", "cachespec.conformance.adapters.redis:RedisAdapter",
        ("redis",), frozenset({"core", "persistent", "processes", "threads"}),
        Limits(max_value_bytes=512 << 20)),
    "torch-local-backend": _adapter(
        "torch._inductor.remote_cache.LocalCacheBackend: put as insert, get as get "
        "(adapter; a put-overwrite cache)",
        "cachespec.conformance.adapters.torch_remote:LocalBackendAdapter", ("torch",),
        frozenset({"core", "files", "persistent", "processes", "threads"})),
}

BUILTIN_TARGETS: tuple[str, ...] = tuple(_BUILTINS)


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _from_entry_point(name: str, ep: Any) -> Target:
    try:
        obj = ep.load()
    except Exception as err:
        raise TargetError(f"target {name!r} (entry point {ep.value!r} of package "
                          f"{getattr(ep.dist, 'name', '?')!r}) failed to load: "
                          f"{type(err).__name__}: {err}") from err
    if isinstance(obj, type) and issubclass(obj, Adapter):
        return obj(name)
    if isinstance(obj, Adapter):
        obj.name = name  # the entry-point name is how other processes find it again
        return obj
    if isinstance(obj, type):
        return TorchShapedTarget(name, obj)
    if callable(obj) and not isinstance(obj, Target):
        # a factory returning a Target
        obj = obj()
    if isinstance(obj, Target):
        return obj
    raise TargetError(f"entry point {name!r} ({ep.value}) is neither a Target, an Adapter nor a "
                      "cache class; see the cachespec.targets documentation")


def check_target_name(name: str) -> None:
    """Cheaply (no import of the target) reject a name that can never resolve."""
    name = name.strip()
    if name in _BUILTINS or (":" in name and all(name.partition(":")[::2])):
        return
    if name not in _entry_points():
        resolve_target(name)  # raises the standard one-line message


def resolve_target(name: str) -> Target:
    """The target called ``name``: a built-in, an entry point, or ``module:Class``.

    Raises TargetError with a one-line message saying what to do.
    """
    _progress.tick()  # a child process of a check starting up is progress, not a hang
    return _progress.maybe_instrument(_resolve(name.strip()))


register_resolver(resolve_target)  # how the spec's checks rebuild a target in a child process


def _resolve(name: str) -> Target:
    if name in _BUILTINS:
        return _BUILTINS[name].make(name)
    if has_args(name):  # module:Class(key=literal, ...): see _target_args
        return resolve_with_args(name)
    if ":" in name:
        return torch_shaped(name)
    eps = _entry_points()
    if name in eps:
        return _from_entry_point(name, eps[name])
    known = ", ".join([*_BUILTINS, *sorted(eps)])
    raise TargetError(f"unknown target {name!r}; use one of {known}, or 'module:Class' "
                      "(run `cachespec targets` for details)")


@dataclass(frozen=True)
class TargetListing:
    """One row of ``cachespec targets``: a name and either its capabilities or why it is unavailable."""

    name: str
    description: str
    source: str  #: "built-in" or the distribution that registered the entry point
    capabilities: frozenset[str] = field(default_factory=frozenset)
    error: str | None = None
    limits: Limits = NO_LIMITS

    @property
    def available(self) -> bool:
        return self.error is None


def _listing(name: str, description: str, source: str, make: Callable[[], Target]) -> TargetListing:
    try:
        target = make()
    except TargetError as err:
        return TargetListing(name, description, source, error=str(err))
    except Exception as err:  # a broken third-party target must not break the listing
        return TargetListing(name, description, source, error=f"{type(err).__name__}: {err}")
    return TargetListing(name, description or getattr(target, "description", ""), source,
                         frozenset(target.capabilities), limits=limits_of(target))


def _missing_module(names: tuple[str, ...]) -> str | None:
    """The first of ``names`` (top-level modules) that is not installed, found without
    importing it."""
    for name in names:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def _builtin_listing(name: str, b: _Builtin) -> TargetListing:
    missing = _missing_module(b.needs)
    if missing is not None:
        return TargetListing(name, b.description, "built-in",
                             error=f"cannot import {missing!r}; "
                                   f"{_install_hint(b.path or b.description)}")
    if b.path:  # an adapter module is light (it imports its library only when built)
        try:
            reason = _import_builtin(b.path, name).unavailable()
        except TargetError as err:
            reason = str(err)
        if reason:
            return TargetListing(name, b.description, "built-in", error=reason)
    return TargetListing(name, b.description, "built-in", b.capabilities, limits=b.limits)


def list_targets() -> list[TargetListing]:
    """Every named target (built-ins, then entry points). Built-ins are listed from their
    declarations (nothing is imported: listing takes no time even with torch installed);
    entry points are loaded to read their capabilities."""
    rows = [_builtin_listing(name, b) for name, b in _BUILTINS.items()]
    for name, ep in sorted(_entry_points().items()):
        if name in _BUILTINS:
            continue
        source = getattr(ep.dist, "name", None) or ep.value
        rows.append(_listing(name, ep.value, source,
                             lambda n=name, e=ep: _from_entry_point(n, e)))  # type: ignore[misc]
    return rows


__all__ = ["BUILTIN_TARGETS", "check_target_name", "ENTRY_POINT_GROUP", "REFERENCE_TARGETS", "TargetListing",
           "list_targets", "load_object", "resolve_target"]
