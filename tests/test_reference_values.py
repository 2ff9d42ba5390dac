"""The value domain, the single error type, code-free loading and isolation of the reference caches."""

from __future__ import annotations

import os
import pickle
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cachespec.reference import CacheError, InMemoryCache, OnDiskCache, decode_value, encode_value
from cachespec.reference._disk import MAGIC, pack_entry


def _disk(tmp_path: Path) -> OnDiskCache:
    cache = OnDiskCache()
    cache.base_dir = tmp_path
    return cache


@pytest.fixture(params=["memory", "disk"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return InMemoryCache() if request.param == "memory" else _disk(tmp_path)


def canon(value: Any) -> Any:
    """A type-exact, order-insensitive-for-sets picture of a value (1, True and 1.0 differ)."""
    kind = type(value).__name__
    if isinstance(value, (tuple, list)):
        return (kind, [canon(v) for v in value])
    if isinstance(value, dict):
        return (kind, [(canon(k), canon(v)) for k, v in value.items()])
    if isinstance(value, (set, frozenset)):
        return (kind, sorted(repr(canon(v)) for v in value))
    return (kind, repr(value))


_HASHABLE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4), st.binary(max_size=4)),
    lambda inner: st.one_of(st.tuples(inner, inner), st.frozensets(inner, max_size=3)), max_leaves=4)
VALUES = st.recursive(
    _HASHABLE,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(_HASHABLE, inner, max_size=3), st.sets(_HASHABLE, max_size=3),
                            st.frozensets(_HASHABLE, max_size=3)),
    max_leaves=12)


@settings(max_examples=80, deadline=None)
@given(VALUES)
def test_every_domain_value_round_trips_type_exactly(value: Any) -> None:
    assert canon(decode_value(encode_value(value))) == canon(value)
    memory = InMemoryCache()
    assert memory.insert("k", value) is True
    assert canon(memory.get("k")) == canon(value)


def test_domain_values_round_trip_on_disk(tmp_path: Path) -> None:
    cache = _disk(tmp_path)
    values = [None, True, 0, -(2**100), 1.5, float("inf"), -0.0, "é\ud800", b"\x00\xff", (1, True, 1.0),
              [1, [2, [3]]], {1: "a", True: "b"}, {1, 2.5}, frozenset({"x"}), {(): []}, [set(), {}, ()]]
    for index, value in enumerate(values):
        assert cache.insert(index, value) is True
        assert canon(cache.get(index)) == canon(value)
    assert cache.insert("none", None) is True
    assert cache.insert("none", 1) is False, "a stored None is present, not absent"


class Reduces:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (open, (self.marker, "w"))


class BadReduce:
    def __reduce__(self) -> Any:
        raise AttributeError("no reduce for you")


class MyList(list):  # type: ignore[type-arg]
    pass


def _nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


OUTSIDE = {
    "object": object(),
    "bytearray": bytearray(b"ab"),
    "nested bytearray": [1, {"k": (bytearray(),)}],
    "complex": 1j,
    "lambda": lambda: 1,
    "function": print,
    "module": os,
    "bad __reduce__": BadReduce(),
    "list subclass": MyList([1]),
    "object in dict key": {(1, object()): 1},
    "object in set": {1, (object(),)},
    "memoryview": memoryview(b"x"),
    "picklebuffer": pickle.PickleBuffer(b"x"),
    "range": range(3),
    "type": int,
}


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_values_outside_the_domain_raise_cache_error_and_store_nothing(cache: Any, name: str) -> None:
    with pytest.raises(CacheError):
        cache.insert("k", OUTSIDE[name])
    assert cache.get("k") is None
    assert cache.insert("k", 1) is True


def test_too_deep_value_chains_the_recursion_error(cache: Any) -> None:
    with pytest.raises(CacheError) as info:
        cache.insert("k", _nested_list(100_000))
    assert isinstance(info.value.__cause__, RecursionError)
    assert cache.get("k") is None


def test_inserting_an_object_with_reduce_runs_no_code(cache: Any, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    with pytest.raises(CacheError):
        cache.insert("k", [1, Reduces(str(marker))])
    assert not marker.exists()
    assert cache.get("k") is None


def _entry(tmp_path: Path, key: Any, data: bytes) -> OnDiskCache:
    cache = _disk(tmp_path)
    path = cache.entry_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return cache


GOOD = pack_entry(encode_value({"a": [1, 2, 3], "b": b"x" * 50}))
CORRUPT = {
    "empty": b"",
    "header only": GOOD[:12],
    "truncated header": GOOD[:7],
    "truncated payload": GOOD[:-1],
    "extra bytes": GOOD + b"\x00",
    "bad magic": b"XXX\x01" + GOOD[4:],
    "garbage": os.urandom(64),
    "garbage payload": struct.pack(">4sQ", MAGIC, 10) + b"\x80\x05garbage",
    "truncated pickle": pack_entry(encode_value([1, 2, 3])[:-2]),
    "not a pickle": pack_entry(b"hello world"),
}


@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corrupt_entries_raise_cache_error_and_are_replaceable(tmp_path: Path, name: str) -> None:
    cache = _entry(tmp_path, "k", CORRUPT[name])
    with pytest.raises(CacheError):
        cache.get("k")
    assert cache.insert("k", "fresh") is True, "a corrupt key must be re-insertable"
    assert cache.get("k") == "fresh"
    assert cache.insert("k", "other") is False


def test_corrupt_payload_chains_the_unpickling_error(tmp_path: Path) -> None:
    cache = _entry(tmp_path, "k", CORRUPT["truncated pickle"])
    with pytest.raises(CacheError) as info:
        cache.get("k")
    assert info.value.__cause__ is not None


def test_entry_path_that_is_a_directory_raises_cache_error(tmp_path: Path) -> None:
    cache = _disk(tmp_path)
    cache.entry_path("k").mkdir(parents=True)
    with pytest.raises(CacheError) as info:
        cache.get("k")
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(CacheError):
        cache.insert("k", 1)


@pytest.mark.parametrize("payload", [
    pickle.dumps(os.system),
    pickle.dumps(Reduces("MARKER")),
    pickle.dumps([1, {"x": os.getcwd}]),
    b"cos\nsystem\n(S'touch MARKER'\ntR.",  # protocol 0 GLOBAL + REDUCE
])
def test_entries_holding_globals_are_refused_and_run_nothing(tmp_path: Path, payload: bytes,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    payload = payload.replace(b"MARKER", str(tmp_path / "marker").encode())
    cache = _entry(tmp_path / "cache", "k", pack_entry(payload))
    with pytest.raises(CacheError) as info:
        cache.get("k")
    assert isinstance(info.value.__cause__, pickle.UnpicklingError)
    assert not (tmp_path / "marker").exists()
    with pytest.raises(CacheError):
        decode_value(payload)
    assert not (tmp_path / "marker").exists()


# -- isolation ---------------------------------------------------------------------------------


def test_mutating_an_inserted_value_changes_nothing(cache: Any) -> None:
    value = {"list": [1, 2], "set": {1}, "dict": {"a": 1}}
    cache.insert("k", value)
    value["list"].append(3)
    value["set"].add(2)
    value["dict"]["b"] = 2
    value["new"] = 1
    assert cache.get("k") == {"list": [1, 2], "set": {1}, "dict": {"a": 1}}


def test_mutating_a_returned_value_changes_nothing(cache: Any) -> None:
    cache.insert("k", [[1], {"a": []}])
    got = cache.get("k")
    got[0].append(2)
    got[1]["a"].append(1)
    got.clear()
    again = cache.get("k")
    assert again == [[1], {"a": []}]
    assert again is not cache.get("k")


def test_mutating_right_after_insert_async_changes_nothing(tmp_path: Path) -> None:
    cache = _disk(tmp_path)
    value = [1, 2]
    with ThreadPoolExecutor(1) as pool:
        blocker = pool.submit(lambda: __import__("time").sleep(0.2))  # the insert job runs after we mutate
        future = cache.insert_async("k", value, pool)
        value.append(3)
        assert future.result(timeout=10) is True
        assert blocker.done()
        got = cache.get_async("k", pool).result(timeout=10)
    assert got == [1, 2]
