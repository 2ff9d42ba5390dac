"""Canonical, type-tagged key encoding.

Two keys name the same entry if and only if they are equal *with the same types*, recursively:
``1``, ``True`` and ``1.0`` are three keys, ``("ab", "ab")`` is one key however its strings are
shared. The encoding is built from the key's structure alone -- never from ``pickle`` (whose bytes
depend on object sharing) or ``hash`` (salted per process) -- so a key names the same file in every
process, under every ``PYTHONHASHSEED`` and Python version.

Key domain: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes`` and ``tuple``/``frozenset``
of keys, exact types only (subclasses such as ``IntEnum`` are refused: their equality is not
their type's). Floats follow ``==``: ``-0.0`` and ``0.0`` are one key; every NaN is one key.
"""

from __future__ import annotations

import math
import struct
from hashlib import sha256
from typing import Any

from cachespec.reference._errors import CacheError

_FLOAT = struct.Struct(">d")
_CANONICAL_NAN = _FLOAT.pack(math.nan)


def _frame(tag: bytes, payload: bytes) -> bytes:
    # Length-prefixing every node makes the encoding prefix-free, hence injective on trees.
    return tag + len(payload).to_bytes(8, "big") + payload


def _encode(key: Any, depth: int) -> bytes:
    if depth > 500:
        raise CacheError("key is nested more than 500 levels deep")
    kind = type(key)
    if kind is str:
        return _frame(b"s", key.encode("utf-8", "surrogatepass"))
    if kind is int:
        return _frame(b"i", key.to_bytes((key.bit_length() + 8) // 8, "big", signed=True))
    if kind is bytes:
        return _frame(b"b", key)
    if kind is tuple:
        return _frame(b"t", b"".join([_encode(item, depth + 1) for item in key]))
    if key is None:
        return b"N"
    if kind is bool:
        return b"T" if key else b"F"
    if kind is float:
        if key != key:
            return _frame(b"d", _CANONICAL_NAN)
        return _frame(b"d", _FLOAT.pack(key + 0.0))  # + 0.0 turns -0.0 into 0.0
    if kind is frozenset:
        # Sorting the members' encodings makes the result independent of iteration order.
        return _frame(b"f", b"".join(sorted(_encode(item, depth + 1) for item in key)))
    raise CacheError(
        f"unsupported key type {kind.__qualname__!r}: keys are None, bool, int, float, str, bytes, "
        "or tuples/frozensets of keys"
    )


def encode_key(key: Any) -> bytes:
    """The canonical encoding of ``key``; equal-with-same-types keys encode identically."""
    try:
        return _encode(key, 0)
    except CacheError:
        raise
    except (RecursionError, MemoryError, OverflowError) as err:
        raise CacheError(f"cannot encode key of type {type(key).__qualname__!r}") from err


def _decode(data: bytes, pos: int) -> tuple[Any, int]:
    tag = data[pos:pos + 1]
    if tag in (b"N", b"T", b"F"):
        return {b"N": None, b"T": True, b"F": False}[tag], pos + 1
    size = int.from_bytes(data[pos + 1:pos + 9], "big")
    start, end = pos + 9, pos + 9 + size
    if not tag or end > len(data):
        raise CacheError("truncated key encoding")
    body = data[start:end]
    if tag == b"s":
        return body.decode("utf-8", "surrogatepass"), end
    if tag == b"i":
        return int.from_bytes(body, "big", signed=True), end
    if tag == b"b":
        return body, end
    if tag == b"d":
        return _FLOAT.unpack(body)[0], end
    if tag in (b"t", b"f"):
        items, inner = [], start
        while inner < end:
            item, inner = _decode(data[:end], inner)
            items.append(item)
        return (tuple(items) if tag == b"t" else frozenset(items)), end
    raise CacheError(f"unknown tag {tag!r} in key encoding")


def decode_key(data: bytes) -> Any:
    """The key whose canonical encoding is ``data`` (the inverse of :func:`encode_key`, up to
    ``==``: ``-0.0`` comes back as ``0.0`` and every NaN as one NaN). CacheError if malformed."""
    try:
        key, end = _decode(data, 0)
    except (struct.error, UnicodeDecodeError, RecursionError) as err:
        raise CacheError("malformed key encoding") from err
    if end != len(data):
        raise CacheError("trailing bytes after a key encoding")
    return key


def key_digest(key: Any) -> str:
    """Hex SHA-256 of the canonical encoding: the stable, file-system-safe name of ``key``."""
    return sha256(encode_key(key)).hexdigest()
