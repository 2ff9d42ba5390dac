"""Parsing the two serialized forms an ``InMemoryCache`` loads from.

Environment variable: ``;``-separated pairs ``repr(pickle.dumps(key)),repr(pickle.dumps(value))``.
Splitting on ``;`` and ``,`` (as torch does) breaks as soon as pickled bytes contain either
character, so this scanner tokenizes bytes literals instead: a separator only counts outside one.
File: a pickled ``dict``. Both are decoded with the global-refusing unpickler, so loading never
runs code, and every key and value is checked against the domain before it is stored.
"""

from __future__ import annotations

import os
from ast import literal_eval
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cachespec.reference._errors import CacheError
from cachespec.reference._keys import encode_key
from cachespec.reference._values import decode_value, encode_value

_PREFIXES = ("b", "B", "rb", "rB", "Rb", "RB", "br", "bR", "Br", "BR")


def _scan_literal(text: str, pos: int, where: str) -> tuple[bytes, int]:
    """Read the bytes literal starting at ``pos``; return its value and the index after it."""
    start = pos
    while pos < len(text) and text[pos] in "bBrR" and pos - start < 2:
        pos += 1
    if text[start:pos] not in _PREFIXES or pos >= len(text) or text[pos] not in "'\"":
        raise CacheError(f"{where}: expected a bytes literal such as b'...' at offset {start}, "
                         f"found {text[start:start + 20]!r}")
    quote = text[pos]
    pos += 1
    while pos < len(text) and text[pos] != quote:
        pos += 2 if text[pos] == "\\" else 1
    if pos >= len(text):
        raise CacheError(f"{where}: unterminated bytes literal starting at offset {start}")
    literal = text[start:pos + 1]
    try:
        value = literal_eval(literal)
    except (ValueError, SyntaxError) as err:
        raise CacheError(f"{where}: invalid bytes literal {literal[:40]!r}") from err
    if type(value) is not bytes:  # pragma: no cover - the prefix check makes this unreachable
        raise CacheError(f"{where}: {literal[:40]!r} is not a bytes literal")
    return value, pos + 1


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _checked(key: Any, value: Any, where: str) -> tuple[Any, Any]:
    try:
        encode_key(key)
        encode_value(value)
    except CacheError as err:
        raise CacheError(f"{where}: {err}") from err
    return key, value


def parse_env_pairs(text: str, where: str = "environment variable") -> Iterator[tuple[Any, Any]]:
    """Yield the (key, value) pairs of an env-var payload, in order."""
    pos = _skip_space(text, 0)
    while pos < len(text):
        if text[pos] == ";":  # an empty segment
            pos = _skip_space(text, pos + 1)
            continue
        key_bytes, pos = _scan_literal(text, pos, where)
        pos = _skip_space(text, pos)
        if pos >= len(text) or text[pos] != ",":
            raise CacheError(f"{where}: expected ',' between key and value at offset {pos}")
        value_bytes, pos = _scan_literal(text, _skip_space(text, pos + 1), where)
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] != ";":
            raise CacheError(f"{where}: expected ';' after a key,value pair at offset {pos}")
        if not key_bytes or not value_bytes:
            raise CacheError(f"{where}: empty pickle in a key,value pair")
        key = decode_value(key_bytes, f"{where}: key")
        value = decode_value(value_bytes, f"{where}: value")
        yield _checked(key, value, where)


def pairs_from_env_var(env_var: str) -> Iterator[tuple[Any, Any]]:
    if not isinstance(env_var, str) or not env_var or "=" in env_var or "\0" in env_var:
        raise CacheError(f"not an environment variable name: {env_var!r}")
    text = os.environ.get(env_var)
    if text is None:
        return iter(())
    return parse_env_pairs(text, f"environment variable {env_var!r}")


def pairs_from_file(fpath: str | os.PathLike[str]) -> Iterator[tuple[Any, Any]]:
    if not isinstance(fpath, (str, os.PathLike)):
        raise CacheError(f"fpath must be a str or os.PathLike, got {type(fpath).__qualname__!r}")
    path = Path(fpath)
    where = f"file {str(path)!r}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return iter(())
    except OSError as err:  # a directory, no permission, an I/O error
        raise CacheError(f"{where}: cannot read it: {err.strerror or err}") from err
    if not data:
        raise CacheError(f"{where}: empty file, expected a pickled dict")
    mapping = decode_value(data, where)
    if type(mapping) is not dict:
        raise CacheError(f"{where}: holds a pickled {type(mapping).__qualname__}, expected a dict")
    return (_checked(key, value, where) for key, value in mapping.items())
