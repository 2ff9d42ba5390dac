"""Broken loaders: ``InMemoryCache`` subclasses whose ``from_env_var``/``from_file_path`` have
one fault each. The parsing is the reference's (a scanner of bytes literals) with knobs, so only the named
fault differs from a correct loader.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Callable

from cachespec.reference import CacheError, InMemoryCache
from cachespec.reference._loaders import (
    _scan_literal, _skip_space, pairs_from_env_var, pairs_from_file,
)
from cachespec.reference._values import decode_value

try:
    from typing import Self
except ImportError:  # pragma: no cover
    from typing_extensions import Self

__all__ = [
    "EnvAcceptsConflictsMemory", "EnvBadPickleSkippedMemory", "EnvNoCommaSkippedMemory",
    "EnvSplitsOnSeparatorsMemory", "FileNotDictEmptyMemory", "EnvNoCommaValueErrorMemory", "EnvRawUnpicklingErrorMemory",
    "EnvRejectsTrailingMemory", "EnvSkipsBadLiteralMemory", "EnvUnsetRaisesMemory",
    "EnvUnsafeMemory", "FileEmptyOnCorruptMemory", "FileLoadedOverwritableMemory",
    "FileMissingRaisesMemory", "FileNotDictTypeErrorMemory", "FileUnsafeMemory",
]


def _pairs(env_var: str, *, lenient: bool = True, skip_bad_literal: bool = False,
           no_comma: type[Exception] = CacheError, skip_no_comma: bool = False,
           skip_bad_pickle: bool = False,
           loads: Callable[[bytes], Any] | None = None) -> list[tuple[Any, Any]]:
    """The reference's env-var scanner, with knobs for the faults below: ``lenient=False``
    neither skips whitespace nor empty segments; the others name themselves."""
    text = os.environ.get(env_var)
    if text is None:
        return []
    decode = loads or (lambda b: decode_value(b))
    space = _skip_space if lenient else (lambda t, p: p)
    where = f"environment variable {env_var!r}"
    pairs = []
    pos = space(text, 0)
    while pos < len(text):
        if text[pos] == ";" and lenient:
            pos = space(text, pos + 1)
            continue
        try:
            key_bytes, pos = _scan_literal(text, pos, where)
            pos = space(text, pos)
            if (pos >= len(text) or text[pos] != ",") and skip_no_comma:
                raise CacheError("skip")
            if pos >= len(text) or text[pos] != ",":
                raise no_comma(f"{where}: expected ',' between key and value at offset {pos}")
            value_bytes, pos = _scan_literal(text, space(text, pos + 1), where)
        except CacheError as err:
            if not (skip_bad_literal or (skip_no_comma and str(err) == "skip")):
                raise
            nxt = text.find(";", pos + 1)
            pos = len(text) if nxt < 0 else nxt
            continue
        pos = space(text, pos)
        if pos < len(text):
            if text[pos] != ";":
                raise CacheError(f"{where}: expected ';' after a pair at offset {pos}")
            pos = space(text, pos + 1)
            if not lenient and pos >= len(text):
                raise CacheError(f"{where}: trailing ';'")
        try:
            pairs.append((decode(key_bytes), decode(value_bytes)))
        except CacheError:
            if not skip_bad_pickle:
                raise
    return pairs


def _loaded(cls: type, pairs: Any, source: str) -> Any:
    cache = cls()
    for key, value in pairs:
        cache._load(key, value, source)
    return cache


class EnvAcceptsConflictsMemory(InMemoryCache):
    """from_env_var keeps the first value when a key appears with two different values."""

    intended_clause = "LOAD-ENV-DUPLICATES"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        cache = cls()
        for key, value in pairs_from_env_var(env_var):
            cache.insert(key, value)
        return cache


class EnvNoCommaValueErrorMemory(InMemoryCache):
    """from_env_var raises a plain ValueError (not CacheError) for a pair without a comma."""

    intended_clause = "ERROR-ONLY-CACHEERROR"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        return _loaded(cls, _pairs(env_var, no_comma=ValueError), env_var)


class EnvSkipsBadLiteralMemory(InMemoryCache):
    """from_env_var silently skips pairs that are not bytes literals."""

    intended_clause = "LOAD-ENV-BAD-LITERAL"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        return _loaded(cls, _pairs(env_var, skip_bad_literal=True), env_var)


class EnvRawUnpicklingErrorMemory(InMemoryCache):
    """from_env_var lets the unpickler's own exception (UnpicklingError, EOFError...) escape."""

    intended_clause = "ERROR-ONLY-CACHEERROR"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        from cachespec.reference._values import _NoGlobalsUnpickler
        import io

        return _loaded(cls, _pairs(
            env_var, loads=lambda b: _NoGlobalsUnpickler(io.BytesIO(b)).load()), env_var)


class EnvRejectsTrailingMemory(InMemoryCache):
    """from_env_var does not strip whitespace nor skip empty segments (a trailing ';' fails)."""

    intended_clause = "LOAD-ENV-ROUNDTRIP"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        return _loaded(cls, _pairs(env_var, lenient=False), env_var)


class EnvUnsetRaisesMemory(InMemoryCache):
    """from_env_var raises CacheError when the variable is unset or empty."""

    intended_clause = "LOAD-ENV-MISSING"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        if not os.environ.get(env_var, "").strip(" ;"):
            raise CacheError(f"environment variable {env_var!r} is unset or empty")
        return super().from_env_var(env_var)


class EnvUnsafeMemory(InMemoryCache):
    """from_env_var decodes with plain pickle.loads: a crafted variable runs code."""

    intended_clause = "SAFE-LOAD-ENV-NO-CODE"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        def loads(b: bytes) -> Any:
            try:
                return pickle.loads(b)
            except Exception as err:
                raise CacheError(f"{env_var!r} holds a bad pickle") from err

        return _loaded(cls, _pairs(env_var, loads=loads), env_var)


def _read(fpath: Any) -> bytes | None:
    try:
        return Path(fpath).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise CacheError(f"cannot read {fpath}") from err


class FileEmptyOnCorruptMemory(InMemoryCache):
    """from_file_path returns an empty cache when the file does not unpickle."""

    intended_clause = "LOAD-FILE-BAD-PICKLE"

    @classmethod
    def from_file_path(cls, fpath: Any) -> Self:
        try:
            return super().from_file_path(fpath)
        except CacheError:
            data = _read(fpath)
            if data is not None:
                try:
                    decode_value(data)
                except CacheError:
                    return cls()  # "corrupt file: start empty"
            raise


class FileNotDictTypeErrorMemory(InMemoryCache):
    """from_file_path raises TypeError when the pickle holds something other than a dict."""

    intended_clause = "ERROR-ONLY-CACHEERROR"

    @classmethod
    def from_file_path(cls, fpath: Any) -> Self:
        data = _read(fpath)
        if data is not None and data:
            try:
                mapping = decode_value(data)
            except CacheError:
                mapping = {}
            if not isinstance(mapping, dict):
                raise TypeError(f"{fpath} holds a {type(mapping).__name__}, not a dict")
        return super().from_file_path(fpath)


class FileMissingRaisesMemory(InMemoryCache):
    """from_file_path raises CacheError for a path that is not a file."""

    intended_clause = "LOAD-FILE-MISSING"

    @classmethod
    def from_file_path(cls, fpath: Any) -> Self:
        if not Path(fpath).is_file():
            raise CacheError(f"{fpath} is not a file")
        return super().from_file_path(fpath)


class FileUnsafeMemory(InMemoryCache):
    """from_file_path reads the file with plain pickle.load: a crafted file runs code."""

    intended_clause = "SAFE-LOAD-FILE-NO-CODE"

    @classmethod
    def from_file_path(cls, fpath: Any) -> Self:
        data = _read(fpath)
        if data is None:
            return cls()
        try:
            mapping = pickle.loads(data)
        except Exception as err:
            raise CacheError(f"{fpath} does not unpickle") from err
        if not isinstance(mapping, dict):
            raise CacheError(f"{fpath} does not hold a dict")
        return _loaded(cls, mapping.items(), str(fpath))


class FileLoadedOverwritableMemory(InMemoryCache):
    """from_file_path puts loaded entries where get sees them but insert does not look."""

    intended_clause = "LOAD-FILE-ROUNDTRIP"

    def __init__(self) -> None:
        super().__init__()
        self._loaded: dict[Any, Any] = {}

    def get(self, key: Any) -> Any | None:
        value = super().get(key)
        if value is None and key in self._loaded:
            return self._loaded[key]
        return value

    @classmethod
    def from_file_path(cls, fpath: Any) -> Self:
        cache = cls()
        cache._loaded = dict(pairs_from_file(fpath))
        return cache


class EnvNoCommaSkippedMemory(InMemoryCache):
    """from_env_var silently skips a pair that has no comma between key and value."""

    intended_clause = "LOAD-ENV-NO-COMMA"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        return _loaded(cls, _pairs(env_var, skip_no_comma=True), env_var)


class EnvBadPickleSkippedMemory(InMemoryCache):
    """from_env_var silently skips a pair whose key or value does not unpickle."""

    intended_clause = "LOAD-ENV-BAD-PICKLE"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        return _loaded(cls, _pairs(env_var, skip_bad_pickle=True), env_var)


class FileNotDictEmptyMemory(InMemoryCache):
    """from_file_path gives an empty cache when the pickle holds something other than a dict."""

    intended_clause = "LOAD-FILE-NOT-DICT"

    @classmethod
    def from_file_path(cls, fpath: Any) -> Self:
        data = _read(fpath)
        if data:
            try:
                mapping = decode_value(data)
            except CacheError:
                mapping = {}
            if not isinstance(mapping, dict):
                return cls()
        return super().from_file_path(fpath)


class EnvSplitsOnSeparatorsMemory(InMemoryCache):
    """from_env_var splits on ';' then ',' (torch's parser): a pair whose bytes repr contains
    either character is cut apart."""

    intended_clause = "LOAD-ENV-SCAN"

    @classmethod
    def from_env_var(cls, env_var: str) -> Self:
        from ast import literal_eval

        text = os.environ.get(env_var)
        cache = cls()
        for pair in (text or "").split(";"):
            pair = pair.strip()
            if not pair:
                continue
            try:
                k_repr, v_repr = pair.split(",", 1)
                k_bytes, v_bytes = literal_eval(k_repr.strip()), literal_eval(v_repr.strip())
            except (ValueError, SyntaxError) as err:
                raise CacheError(f"malformed pair {pair!r} in {env_var!r}") from err
            if type(k_bytes) is not bytes or type(v_bytes) is not bytes:
                raise CacheError(f"pair {pair!r} in {env_var!r} is not two bytes literals")
            cache._load(decode_value(k_bytes), decode_value(v_bytes), env_var)
        return cache
