"""cachespec.reference has torch._inductor.cache's surface: every class, function and TypeVar
torch's module defines, and every method, property and class attribute of those classes, with
the same name, the same kind and a compatible signature. Intended differences are listed once,
in ``cachespec.reference._differences``; anything else fails here.
"""

from __future__ import annotations

import inspect
import types
import typing
from functools import cached_property
from typing import Any

import pytest

import cachespec.reference as reference
from cachespec.reference._differences import TORCH_DIFFERENCES

# Class-level names that are bookkeeping of Python itself, not API.
_IGNORED = frozenset({
    "__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__annotations__",
    "_abc_impl", "__static_attributes__", "__firstlineno__", "__slots__", "__parameters__",
    "__orig_bases__", "__abstractmethods__", "__type_params__",
})


def _kind(obj: Any) -> str:
    """What kind of class member ``obj`` (from ``inspect.getattr_static``) is."""
    for kind in (classmethod, staticmethod, cached_property, property):
        if isinstance(obj, kind):
            return kind.__name__
    if isinstance(obj, types.FunctionType):
        return "method"
    return f"attribute of type {type(obj).__name__}"


def _function(obj: Any) -> Any:
    if isinstance(obj, (classmethod, staticmethod)):
        return obj.__func__
    if isinstance(obj, property):
        return obj.fget
    if isinstance(obj, cached_property):
        return obj.func
    return obj


def _signature_gap(theirs: Any, ours: Any) -> str | None:
    """Why ``ours`` cannot be called the way ``theirs`` is (names, kinds, defaults), or None.
    Annotations are not compared: the reference accepts supersets of torch's types."""
    try:
        t_sig, o_sig = inspect.signature(theirs), inspect.signature(ours)
    except (TypeError, ValueError):
        return None
    t_params, o_params = list(t_sig.parameters.values()), list(o_sig.parameters.values())
    for i, tp in enumerate(t_params):
        if i >= len(o_params):
            return f"lacks parameter {tp.name!r}"
        op = o_params[i]
        if (op.name, op.kind) != (tp.name, tp.kind):
            return f"parameter {i} is {op.name!r} ({op.kind.description}), torch has {tp.name!r} ({tp.kind.description})"
        if tp.default is not inspect.Parameter.empty and op.default != tp.default:
            return f"parameter {tp.name!r} defaults to {op.default!r}, torch's to {tp.default!r}"
    for op in o_params[len(t_params):]:
        if op.default is inspect.Parameter.empty and op.kind not in (op.VAR_POSITIONAL, op.VAR_KEYWORD):
            return f"has an extra required parameter {op.name!r}"
    return None


def _generic_shape(cls: type) -> list[tuple[str, tuple[str, ...]]]:
    """``__orig_bases__`` as (base name, type-argument names): what torch's test reads."""
    shape = []
    for base in cls.__dict__.get("__orig_bases__", ()):
        origin = typing.get_origin(base) or base
        args = tuple(getattr(a, "__name__", repr(a)) for a in typing.get_args(base))
        shape.append((getattr(origin, "__name__", repr(origin)), args))
    return shape


def _class_gaps(name: str, theirs: type, ours: Any) -> list[str]:
    if not isinstance(ours, type):
        return [f"{name}: not a class"]
    gaps = []
    if [c.__name__ for c in theirs.__mro__] != [c.__name__ for c in ours.__mro__]:
        gaps.append(f"{name}: MRO {[c.__name__ for c in ours.__mro__]}, torch has "
                    f"{[c.__name__ for c in theirs.__mro__]}")
    if _generic_shape(theirs) != _generic_shape(ours):
        gaps.append(f"{name}: generic bases {_generic_shape(ours)}, torch has {_generic_shape(theirs)}")
    if inspect.isabstract(theirs) != inspect.isabstract(ours):
        gaps.append(f"{name}: abstract is {inspect.isabstract(ours)}, torch has {inspect.isabstract(theirs)}")
    elif getattr(theirs, "__abstractmethods__", None) != getattr(ours, "__abstractmethods__", None):
        gaps.append(f"{name}: abstract methods differ")
    members = {m for klass in theirs.__mro__ if klass.__module__ == theirs.__module__
               for m in vars(klass)} - _IGNORED
    for member in sorted(members):
        t_obj = inspect.getattr_static(theirs, member)
        try:
            o_obj = inspect.getattr_static(ours, member)
        except AttributeError:
            gaps.append(f"{name}.{member}: missing")
            continue
        t_kind, o_kind = _kind(t_obj), _kind(o_obj)
        if t_kind != o_kind:
            gaps.append(f"{name}.{member}: {o_kind}, torch has {t_kind}")
            continue
        if t_kind.startswith("attribute"):
            if t_obj != o_obj:
                gaps.append(f"{name}.{member}: is {o_obj!r}, torch's is {t_obj!r}")
            continue
        gap = _signature_gap(_function(t_obj), _function(o_obj))
        if gap:
            gaps.append(f"{name}.{member}: {gap}")
    return gaps


def parity_gaps(theirs: types.ModuleType, ours: Any) -> list[str]:
    """Every difference between the surface ``theirs`` defines and what ``ours`` offers."""
    gaps = []
    for name, obj in sorted(vars(theirs).items()):
        if getattr(obj, "__module__", None) != theirs.__name__ or name.startswith("__"):
            continue  # imported from elsewhere
        mine = getattr(ours, name, None)
        if mine is None:
            gaps.append(f"{name}: missing")
        elif isinstance(obj, typing.TypeVar):
            if not isinstance(mine, typing.TypeVar) or (mine.__name__, mine.__constraints__, mine.__bound__) != (
                    obj.__name__, obj.__constraints__, obj.__bound__):
                gaps.append(f"{name}: TypeVar differs")
        elif isinstance(obj, type):
            gaps.extend(_class_gaps(name, obj, mine))
        elif callable(obj):
            gap = _signature_gap(obj, mine)
            if gap:
                gaps.append(f"{name}: {gap}")
    return gaps


@pytest.fixture(scope="module")
def torch_cache() -> types.ModuleType:
    return pytest.importorskip("torch._inductor.cache")


def test_every_difference_from_torch_is_listed_with_a_reason(torch_cache: types.ModuleType) -> None:
    gaps = parity_gaps(torch_cache, reference)
    assert sorted(set(gaps) - set(TORCH_DIFFERENCES)) == [], "unlisted differences from torch"
    assert sorted(set(TORCH_DIFFERENCES) - set(gaps)) == [], "listed differences that are gone"
    assert all(len(reason) > 40 for reason in TORCH_DIFFERENCES.values())


def test_instances_have_torch_s_instance_attributes(torch_cache: types.ModuleType) -> None:
    # torch sets _cache, _lock and name in __init__; code written against torch reads them.
    for name in ("InMemoryCache", "OnDiskCache", "InductorOnDiskCache"):
        theirs, ours = getattr(torch_cache, name)(), getattr(reference, name)()
        missing = [attr for attr in vars(theirs) if not hasattr(ours, attr)]
        assert missing == [], (name, missing)


def test_the_comparison_reports_each_kind_of_difference(torch_cache: types.ModuleType) -> None:
    """The checker itself: a module that drifts from torch in each way is caught."""
    drifted = types.SimpleNamespace(**{n: getattr(reference, n) for n in reference.__all__})

    class OnDiskCache(reference.AsyncCache):  # wrong generic base, no version, renamed arg
        def __init__(self, label: str | None = None) -> None: ...
        def get(self, key: Any) -> Any: ...
        def insert(self, key: Any, value: Any) -> bool: ...

    class InMemoryCache(reference.InMemoryCache):
        from_env_var = staticmethod(lambda env_var: None)  # type: ignore[assignment]

    drifted.OnDiskCache, drifted.InMemoryCache = OnDiskCache, InMemoryCache
    del drifted.Value
    gaps = "\n".join(parity_gaps(torch_cache, drifted))
    assert "Value: missing" in gaps
    assert "OnDiskCache: generic bases" in gaps
    assert "OnDiskCache.__init__: parameter 1 is 'label'" in gaps
    assert "OnDiskCache._fpath_from_key: missing" in gaps
    assert "InMemoryCache.from_env_var: staticmethod, torch has classmethod" in gaps


def test_torch_s_test_shapes_hold_for_the_reference() -> None:
    """What torch's test suite reads off the module, without torch installed."""
    assert reference.Key.__constraints__ == (str, int, tuple[Any, ...])
    assert reference.Value.__constraints__ == (str, int, tuple[Any, ...], bytes, dict[Any, Any], list[Any])
    for cls in (reference.InMemoryCache, reference.AsyncCache, reference.OnDiskCache,
                reference.InductorOnDiskCache):
        (base,) = cls.__orig_bases__  # type: ignore[attr-defined]
        assert base.__args__ == (reference.Key, reference.Value)
