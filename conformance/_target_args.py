"""Constructor arguments in a target name: ``module:Class(key=literal, ...)``.

Checks run in child processes that rebuild the target from its name alone, so arguments travel
inside the name: keyword arguments whose values are Python literals (str, bytes, numbers, bool,
None, and tuples, lists, dicts and sets of those), written canonically by :func:`with_args` and
read back by :func:`split_args`. ``cachespec check 'mypkg:MyCache(size=64)'`` and
``CacheConformanceTests.target_kwargs = {"size": 64}`` produce the same name.

A torch-shaped class is then constructed as ``Class(**kwargs)`` wherever the harness would call
``Class()``; an Adapter subclass is instantiated as ``Adapter(**kwargs)``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from cachespec.spec._subject import Target, TargetError


def with_args(base: str, kwargs: Mapping[str, Any] | None) -> str:
    """``base`` with ``kwargs`` appended as ``(k=v, ...)``; ``base`` alone when there are none.
    TypeError for a key that is not an identifier or a value that is not a literal."""
    if not kwargs:
        return base
    parts = []
    for key in sorted(kwargs):
        value = kwargs[key]
        if not isinstance(key, str) or not key.isidentifier():
            raise TypeError(f"constructor argument name {key!r} is not an identifier")
        text = repr(value)
        try:
            same = ast.literal_eval(text) == value
        except (ValueError, SyntaxError):
            same = False
        if not same:
            raise TypeError(f"constructor argument {key}={text} is not a Python literal; child "
                            "processes rebuild the target from its name, so pass literals (str, "
                            "bytes, numbers, bool, None, tuple/list/dict/set of those) or write "
                            "an Adapter")
        parts.append(f"{key}={text}")
    return f"{base}({', '.join(parts)})"


def has_args(name: str) -> bool:
    return ":" in name and name.rstrip().endswith(")") and "(" in name.partition(":")[2]


def split_args(name: str) -> tuple[str, dict[str, Any]]:
    """(``module:Class``, keyword arguments) of ``module:Class(k=v, ...)``; TargetError (one
    line) when the arguments are not keyword literals."""
    base, _, rest = name.strip().partition("(")
    try:
        call = ast.parse(f"f({rest}", mode="eval").body
    except SyntaxError as err:
        raise TargetError(f"{name!r}: cannot read the constructor arguments ({err.msg}); write "
                          "them as module:Class(key=literal, ...)") from None
    if not isinstance(call, ast.Call) or call.args or any(k.arg is None for k in call.keywords):
        raise TargetError(f"{name!r}: constructor arguments must be keyword arguments, "
                          "module:Class(key=literal, ...)")
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        try:
            kwargs[str(kw.arg)] = ast.literal_eval(kw.value)
        except ValueError:
            raise TargetError(f"{name!r}: the value of {kw.arg!r} is not a Python literal") from None
    return base.strip(), kwargs


def _bind(cls: type, kwargs: dict[str, Any]) -> type:
    """A subclass of ``cls`` whose no-argument constructor calls ``cls(**kwargs)``, so the
    torch-shaped machinery (which constructs with no arguments) builds it as configured."""

    def __init__(self: Any) -> None:
        cls.__init__(self, **kwargs)  # type: ignore[misc]

    return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__,
                                       "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})


def resolve_with_args(name: str) -> Target:
    """The target ``module:Class(k=v, ...)``: the class bound to its constructor arguments."""
    from ._torchshaped import TorchShapedTarget, load_object
    from .adapters._base import Adapter

    base, kwargs = split_args(name)
    obj = load_object(base)
    if isinstance(obj, type) and issubclass(obj, Adapter):
        try:
            adapter = obj(**kwargs)
        except TypeError as err:
            raise TargetError(f"{name!r}: {obj.__qualname__}(**{kwargs!r}) failed: {err}") from None
        adapter.name = name
        return adapter
    if not isinstance(obj, type):
        raise TargetError(f"{base!r} is a {type(obj).__name__}, not a class; constructor "
                          "arguments need a cache class or an Adapter subclass")
    return TorchShapedTarget(name, _bind(obj, kwargs))


__all__ = ["has_args", "resolve_with_args", "split_args", "with_args"]
