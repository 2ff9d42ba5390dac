"""The value domain and its code-free encoding.

Values are builtin data: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, and ``tuple``,
``list``, ``dict``, ``set``, ``frozenset`` of values, exact types only. Encoding is pickle protocol
5 restricted both ways: the pickler refuses any object outside the domain (``reducer_override``
is consulted for exactly those), and the unpickler refuses every global, so decoding cannot
import or call anything. Storing the encoded bytes, and decoding a fresh copy on every read, is
also what isolates the cache from later mutation of inserted or returned values.
"""

from __future__ import annotations

import io
import math
import pickle
from typing import Any

from cachespec.reference._errors import CacheError

PROTOCOL = 5
_DOMAIN = "None, bool, int, float, str, bytes, and tuple/list/dict/set/frozenset of those"


class _DomainPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # pickle calls this for every object except None/True/False and exact instances of int,
        # float, bytes, str, dict, set, frozenset, list and tuple: precisely what is outside the domain.
        raise CacheError(f"unsupported value type {type(obj).__qualname__!r}: values are {_DOMAIN}")


_BYTEARRAY8 = pickle.BYTEARRAY8


def _refuse_buffer(buffer: pickle.PickleBuffer) -> None:
    # With a buffer_callback, pickle hands every PickleBuffer here (and only those).
    raise CacheError(f"unsupported value type 'PickleBuffer': values are {_DOMAIN}")


class _CheckingPickler(_DomainPickler):
    """Also refuses ``bytearray``, which protocol 5 writes with an opcode of its own without
    consulting ``reducer_override``. Calling ``persistent_id`` for every object is slow, so this
    pickler only runs when the fast pickle holds a BYTEARRAY8 byte somewhere."""

    def persistent_id(self, obj: Any) -> None:
        if type(obj) is bytearray:
            raise CacheError(f"unsupported value type 'bytearray': values are {_DOMAIN}")
        return None


class _NoGlobalsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing global {module}.{name}: cache data holds no code")


def encode_value(value: Any) -> bytes:
    """Pickle ``value`` if it is in the value domain, else raise CacheError (cause chained)."""
    buffer = io.BytesIO()
    dump_value(buffer, value)
    return buffer.getvalue()


class _Discard:
    """A sink for the checking pass: pickle hands large payloads to ``write`` without copying."""

    write = staticmethod(len)


def dump_value(buffer: io.BytesIO, value: Any) -> None:
    """Append the encoding of ``value`` to ``buffer`` (lets a caller put a header before it)."""
    start = buffer.tell()
    _dump(_DomainPickler, buffer, value)
    # getvalue() shares the buffer without copying while ``data`` lives; it dies at once, so
    # later writes to ``buffer`` (a header patched in) do not copy it either.
    data = buffer.getvalue()
    suspect = data.find(_BYTEARRAY8, start) >= 0
    del data
    if suspect:  # maybe a bytearray, maybe just a data byte: check exactly
        _dump(_CheckingPickler, _Discard(), value)


def _dump(pickler: type[pickle.Pickler], sink: Any, value: Any) -> None:
    try:
        pickler(sink, PROTOCOL, buffer_callback=_refuse_buffer).dump(value)
    except CacheError:
        raise
    except (RecursionError, MemoryError, pickle.PicklingError, TypeError, ValueError, OverflowError) as err:
        raise CacheError(f"cannot encode value of type {type(value).__qualname__!r}: {err}") from err


def decode_value(data: bytes | memoryview, what: str = "value", start: int = 0) -> Any:
    """Decode bytes written by :func:`encode_value` (or any global-free pickle), from offset
    ``start``; CacheError if they are not one."""
    try:
        # BytesIO shares (does not copy) an exact bytes object, so skip a header by seeking.
        stream = io.BytesIO(data)
        stream.seek(start)
        return _NoGlobalsUnpickler(stream).load()
    except Exception as err:  # any decoding failure of untrusted bytes is corruption
        raise CacheError(f"{what} is corrupt or not cache data: {type(err).__name__}: {err}") from err


def same_value(a: Any, b: Any) -> bool:
    """Equality with identical types, recursively (so ``1`` and ``True`` differ); NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        b_keys = {key: key for key in b}  # maps each key to b's own key object, to compare types
        for key, item in a.items():
            if key not in b_keys or type(b_keys[key]) is not type(key) or not same_value(item, b[key]):
                return False
        return True
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)
