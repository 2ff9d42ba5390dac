"""Typed identity of keys and values: what "equal" means for the spec's model.

``token(x)`` maps builtin data to a hashable token that keeps every type (1, True and 1.0 differ;
tuple and list differ; -0.0 and 0.0 differ, NaN equals NaN) and ignores object identity and
set/dict order. Two values are *strictly equal* when their tokens are equal.

``key_token(key)`` is the same for keys, under the reference's key rules
(``reference/_keys.py``): a float key follows ``==``, so -0.0 and 0.0 are one key, and every NaN
(whatever its sign or payload) is one key. Two keys name one entry when their key tokens are
equal.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

_SCALARS = (type(None), bool, int, str, bytes)


def token(x: Any) -> Any:
    """A hashable, type-preserving, order-insensitive (for sets/dicts) token of builtin data."""
    t = type(x)
    if t in _SCALARS:
        return (t.__name__, x)
    if t is float:
        return ("float", repr(x))
    if t is tuple:
        return ("tuple", tuple(token(e) for e in x))
    if t is list:
        return ("list", tuple(token(e) for e in x))
    if t in (set, frozenset):
        return (t.__name__, frozenset(token(e) for e in x))
    if t is dict:
        return ("dict", frozenset((token(k), token(v)) for k, v in x.items()))
    # Foreign objects compare by identity: they are never expected back from a cache.
    return ("object", t.__qualname__, id(x))


def key_token(key: Any) -> Any:
    """``token`` under the key rules: -0.0 and 0.0 are one float key, and so is every NaN."""
    t = type(key)
    if t is float:
        return ("float", "nan" if math.isnan(key) else repr(key + 0.0))
    if t is tuple:
        return ("tuple", tuple(key_token(e) for e in key))
    if t is frozenset:
        return ("frozenset", frozenset(key_token(e) for e in key))
    return token(key)


def strict_equal(a: Any, b: Any) -> bool:
    """Equal with types kept, recursively (see module doc)."""
    try:
        return token(a) == token(b)
    except RecursionError:
        return False


_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlong = 60
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = _short.maxfrozenset = 8


def show(x: Any) -> str:
    """A short repr for messages (values can be megabytes)."""
    if isinstance(x, (bytes, str)) and len(x) > 64:
        return f"{type(x).__name__}[len={len(x)}]:{x[:24]!r}..."
    return _short.repr(x)
