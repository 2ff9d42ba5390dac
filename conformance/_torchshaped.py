"""``module:Class`` targets: any class shaped like ``torch/_inductor/cache.py``, with no adapter.

The shape: a no-argument constructor, ``get(key)`` and ``insert(key, value)``; optionally
``get_async``/``insert_async(key[, value], executor)``, ``from_env_var``/``from_file_path``
classmethods, a settable ``base_dir`` and an integer class attribute ``version`` (on disk).
Capabilities are read off that shape (see :func:`infer_capabilities`; FILES only if a probe shows
one file per key); a class can override the inference with a ``cachespec_capabilities`` class
attribute (an iterable of capability strings).
The error type is the ``CacheError`` of the class's module (or of a base's), or the class's
``cachespec_error_type``; a class with neither is refused (TargetError).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import Any

from cachespec.spec._subject import (
    ALL_CAPABILITIES, ASYNC, CORE, ENV_LOADER, FILE_LOADER, FILES, LOCK, PERSISTENT, PROCESSES,
    RICH_VALUES, THREADS, TYPED_KEYS, VERSION, TargetError,
)
from .adapters._base import Adapter

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()), threading.Condition,
               threading.Semaphore)


def load_object(spec: str) -> Any:
    """Import ``module:attr.path``; a TargetError with a one-line hint on any failure."""
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise TargetError(f"{spec!r} is not a built-in target name nor 'module:Class'; "
                          "run `cachespec targets` to list the names")
    if "" not in sys.path and "." not in sys.path:
        # like `python -m`, let a module in the current directory be named
        sys.path.insert(0, "")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise TargetError(f"cannot import module {module_name!r} of {spec!r} ({err}); "
                          "check the spelling, install the package or run from its directory") from err
    except Exception as err:  # the target module itself is broken
        raise TargetError(f"importing {module_name!r} of {spec!r} failed: "
                          f"{type(err).__name__}: {err}") from err
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as err:
            raise TargetError(f"module {module_name!r} has no attribute {attr_path!r}; "
                              "name the cache class as 'module:Class'") from err
    return obj


def _static(cls: type, name: str) -> Any:
    try:
        return inspect.getattr_static(cls, name)
    except AttributeError:
        return None


def _has_method(cls: type, name: str) -> bool:
    return callable(getattr(cls, name, None))


def _is_classmethod(cls: type, name: str) -> bool:
    return isinstance(_static(cls, name), classmethod)


def base_dir_settable(cls: type) -> bool:
    """Whether ``instance.base_dir = path`` works: a cached_property, a property with a setter,
    or a plain attribute."""
    attr = _static(cls, "base_dir")
    if attr is None:
        return False
    if isinstance(attr, cached_property):
        return True
    if isinstance(attr, property):
        return attr.fset is not None
    if hasattr(attr, "__get__") and not hasattr(attr, "__set__") and callable(attr):
        return False  # a method called base_dir
    return True


def int_version(cls: type) -> bool:
    v = getattr(cls, "version", None)
    return isinstance(v, int) and not isinstance(v, bool)


def has_lock_hooks(cls: type) -> bool:
    return _has_method(cls, "lock_path") or (
        _has_method(cls, "_flock_from_fpath") and _has_method(cls, "_fpath_from_key"))


def check_shape(cls: Any, spec: str) -> None:
    """TargetError (one line, what to do) unless ``cls`` is a torch-shaped cache class."""
    if not isinstance(cls, type):
        raise TargetError(f"{spec!r} is a {type(cls).__name__}, not a class; name a cache class "
                          "(torch-shaped) or an Adapter subclass")
    missing = [m for m in ("get", "insert") if not _has_method(cls, m)]
    if missing:
        raise TargetError(f"{spec!r} is not cache-shaped: no {' or '.join(missing)} method; "
                          "write an Adapter for it (see cachespec.conformance.Adapter)")
    if inspect.isabstract(cls):
        raise TargetError(f"{spec!r} is abstract ({', '.join(sorted(cls.__abstractmethods__))}); "
                          "name a concrete subclass")
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return
    required = [p.name for p in sig.parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                       p.KEYWORD_ONLY)]
    if required:
        raise TargetError(f"{spec!r} needs constructor arguments ({', '.join(required)}); torch-shaped "
                          "classes take none, so write an Adapter for it")


def infer_capabilities(cls: type, sample: Any | None = None) -> frozenset[str]:
    """Capabilities from the class's shape; ``sample`` (an instance) refines THREADS."""
    declared = getattr(cls, "cachespec_capabilities", None)
    if declared is not None:
        caps = frozenset(declared)
        unknown = caps - ALL_CAPABILITIES
        if unknown:
            raise TargetError(f"{cls.__qualname__}.cachespec_capabilities names unknown "
                              f"capabilities {sorted(unknown)}; known: {sorted(ALL_CAPABILITIES)}")
        return caps | {CORE}
    caps = {CORE, TYPED_KEYS, RICH_VALUES}
    if _has_method(cls, "get_async") and _has_method(cls, "insert_async"):
        caps.add(ASYNC)
    if _is_classmethod(cls, "from_env_var"):
        caps.add(ENV_LOADER)
    if _is_classmethod(cls, "from_file_path"):
        caps.add(FILE_LOADER)
    on_disk = base_dir_settable(cls)
    if on_disk:
        # FILES is only a candidate here: the built target keeps it if a probe insert shows one
        # new file per key (see adapters._base), since a settable base_dir says nothing of layout
        caps |= {PERSISTENT, PROCESSES, FILES}
        if int_version(cls):
            caps.add(VERSION)
        if has_lock_hooks(cls):
            caps.add(LOCK)
    # torch documents both of its caches as thread-safe: InMemoryCache guards its dict with a
    # threading lock, OnDiskCache relies on file locks and exclusive creation. We claim THREADS
    # for on-disk classes and for in-memory ones that visibly hold a lock; a plain dict cache
    # without one makes no such claim and its thread clauses are n/a.
    if on_disk or (sample is not None and any(
            isinstance(v, _LOCK_TYPES) for v in getattr(sample, "__dict__", {}).values())):
        caps.add(THREADS)
    return frozenset(caps)


def find_error_type(cls: type, spec: str = "") -> type[BaseException]:
    """The class's ``cachespec_error_type``, else the ``CacheError`` of the module defining
    ``cls`` or one of its bases, or of the package of one of those modules (``pkg._impl``
    re-exported from ``pkg``). None found is a usage error: without the error type no clause
    about errors could ever fail, so there is no fallback."""
    declared = getattr(cls, "cachespec_error_type", None)
    if declared is not None:
        if isinstance(declared, type) and issubclass(declared, BaseException) \
                and declared not in (BaseException, Exception):
            return declared
        raise TargetError(f"{spec or cls.__qualname__}: cachespec_error_type is {declared!r}; "
                          "set it to the cache's own exception class")
    modules = list(dict.fromkeys(klass.__module__ for klass in cls.__mro__))
    parents = [m.rsplit(".", i)[0] for m in modules for i in range(1, m.count(".") + 1)]
    for module_name in [*modules, *parents]:
        err = getattr(sys.modules.get(module_name), "CacheError", None)
        if isinstance(err, type) and issubclass(err, BaseException):
            return err
    raise TargetError(f"{spec or cls.__qualname__}: cannot find its error type (no CacheError in "
                      f"{', '.join(m for m in modules if m != 'builtins')}); set the class "
                      "attribute cachespec_error_type = <the exception class it raises>")


class TorchShapedTarget(Adapter):
    """A target for a torch-shaped class: the class's own methods, storage set via ``base_dir``."""

    def __init__(self, name: str, cls: type, description: str = "") -> None:
        super().__init__(name)
        check_shape(cls, name)
        self.cls = cls
        self.description = description or f"{cls.__module__}.{cls.__qualname__} (torch-shaped)"
        self.error_type = find_error_type(cls, name)
        try:
            sample = cls()
        except Exception as err:
            # check_shape has already refused required arguments: this is the class's own error
            raise TargetError(f"{name!r}: {cls.__qualname__}() raised {type(err).__name__}: "
                              f"{err}; fix what its constructor raises") from err
        self.capabilities = infer_capabilities(cls, sample)

    def create(self, storage: Path | None) -> Any:
        native = self.cls()
        if storage is not None and PERSISTENT in self.capabilities:
            # torch's base_dir is a cached_property: assigning on the instance shadows it
            native.base_dir = Path(storage)
        return native

    def get(self, native: Any, key: Any) -> Any | None:
        return native.get(key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        return native.insert(key, value)

    def get_async(self, native: Any, key: Any, executor: Executor) -> Future[Any]:
        return native.get_async(key, executor)

    def insert_async(self, native: Any, key: Any, value: Any, executor: Executor) -> Future[bool]:
        return native.insert_async(key, value, executor)

    def lock_for(self, native: Any, key: Any) -> AbstractContextManager[Any]:
        if _has_method(self.cls, "lock_path"):
            from filelock import FileLock

            return FileLock(str(native.lock_path(key)))
        if has_lock_hooks(self.cls):
            return native._flock_from_fpath(native._fpath_from_key(key))
        return super().lock_for(native, key)

    def get_version(self) -> int:
        if VERSION not in self.capabilities:
            return super().get_version()
        return int(self.cls.version)  # type: ignore[attr-defined]

    def set_version(self, version: int) -> None:
        """Patch ``version`` on every class of the MRO that defines it: torch reads
        ``OnDiskCache.version`` by name, so patching only the leaf class would not take."""
        if VERSION not in self.capabilities:
            super().set_version(version)
        for klass in self.cls.__mro__:
            if "version" in vars(klass):
                setattr(klass, "version", int(version))

    def load_env_var(self, name: str) -> Any:
        if ENV_LOADER not in self.capabilities:
            return super().load_env_var(name)
        return self.cls.from_env_var(name)  # type: ignore[attr-defined]

    def load_file_path(self, path: Path) -> Any:
        if FILE_LOADER not in self.capabilities:
            return super().load_file_path(path)
        return self.cls.from_file_path(Path(path))  # type: ignore[attr-defined]


def torch_shaped(spec: str) -> TorchShapedTarget | Adapter:
    """Resolve ``module:Class``: an Adapter subclass is instantiated, an Adapter instance is used
    as is, anything else must be a torch-shaped class."""
    obj = load_object(spec)
    if isinstance(obj, type) and issubclass(obj, Adapter) and obj is not Adapter:
        adapter = obj()
        adapter.name = spec
        return adapter
    if isinstance(obj, Adapter):
        return obj
    return TorchShapedTarget(spec, obj)
