"""``spec._limits``: the key and value limits a target declares, how sizes are measured, and
that a state machine run never hands a target a key beyond its declared limit."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import cachespec.spec as spec
from cachespec.conformance import Adapter
from cachespec.reference import encode_key
from cachespec.spec import NO_LIMITS, Limits, limits_of, size_of
from cachespec.spec._subject import CORE, TYPED_KEYS


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_limits_refuse_what_is_not_a_positive_int(bad: Any) -> None:
    with pytest.raises(ValueError, match="positive int or None"):
        Limits(max_key_bytes=bad)
    with pytest.raises(ValueError, match="max_value_bytes"):
        Limits(max_value_bytes=bad)


def test_size_of_measures_str_bytes_and_the_rest() -> None:
    assert size_of("é") == 2  # UTF-8 bytes, not characters
    assert size_of("\ud800") == 3  # a lone surrogate counts as surrogatepass encodes it
    assert size_of(b"abc") == size_of(bytearray(b"abc")) == size_of(memoryview(b"abc")) == 3
    assert size_of((1, "a")) == len(pickle.dumps((1, "a"), protocol=pickle.HIGHEST_PROTOCOL))
    assert size_of(lambda: None) == 0  # unpicklable: the error clauses feed those on purpose


def test_fits_and_describe() -> None:
    lim = Limits(max_key_bytes=4, max_value_bytes=1 << 20)
    assert lim.key_fits("abcd") and not lim.key_fits("abcde") and not lim.key_fits("ééé")
    assert lim.value_fits(b"x" * (1 << 20)) and not lim.value_fits(b"x" * ((1 << 20) + 1))
    assert lim.describe() == "keys <= 4 B, values <= 1 MiB"
    assert Limits(max_key_bytes=511).describe() == "keys <= 511 B"
    assert NO_LIMITS.describe() == "" and NO_LIMITS.key_fits("x" * 10**6)
    assert Limits(max_value_bytes=100).cap_value_size(1000) == 36
    assert NO_LIMITS.cap_value_size(1000) == 1000


def test_limits_of_reads_only_a_limits_instance() -> None:
    class Declares:
        limits = Limits(max_key_bytes=9)

    class Garbage:
        limits = {"max_key_bytes": 9}

    assert limits_of(Declares()) == Limits(max_key_bytes=9)
    assert limits_of(Garbage()) is NO_LIMITS and limits_of(object()) is NO_LIMITS


MAX_KEY = 32  # above the fixed names of the tour (tour-edge-value-11), which no limit filters


class _TooLong(Exception):
    """What the short-key store raises for a key beyond its limit."""


class ShortKeyStore(Adapter, abstract=True):
    """A store that refuses (raises) any key longer than MAX_KEY size_of bytes, and records
    every key it was handed; in memory, keyed by the reference's canonical key encoding."""

    limits = Limits(max_key_bytes=MAX_KEY)
    error_type = _TooLong
    seen: list[Any] = []

    def create(self, storage: Path | None) -> Any:
        return {}

    def _k(self, key: Any) -> bytes:
        type(self).seen.append(key)
        if size_of(key) > MAX_KEY:
            raise _TooLong(f"key {key!r} is {size_of(key)} bytes")
        return encode_key(key)

    def get(self, native: Any, key: Any) -> Any | None:
        return native.get(self._k(key))

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        k = self._k(key)
        if k in native:
            return False
        native[k] = value
        return True


class StrKeys(ShortKeyStore):
    capabilities = frozenset({CORE})


class TypedKeys(ShortKeyStore):
    capabilities = frozenset({CORE, TYPED_KEYS})


@pytest.mark.parametrize("cls", [StrKeys, TypedKeys])
def test_a_machine_run_never_passes_a_key_beyond_the_declared_limit(
        cls: type[ShortKeyStore], tmp_path: Path) -> None:
    cls.seen = []
    check = next(c for c in spec.CHECKS if c.name == "machine-cache")
    clauses = frozenset({"CORE-GET-MISSING", "CORE-INSERT-NEW", "CORE-GET-INSERTED",
                         "CORE-INSERT-NO-OVERWRITE", "KEY-DISTINCT"})
    result = check.run(cls("limits-test"), tmp_path, "quick", clauses)
    too_long = [k for k in cls.seen if size_of(k) > MAX_KEY]
    assert cls.seen, "the machine never reached the store"
    assert too_long == [], f"keys beyond the {MAX_KEY}-byte limit reached insert/get"
    assert result.violations == []
