"""Key identity of the reference caches: same entry iff equal with the same types, recursively,
named by a canonical encoding that is stable across processes and PYTHONHASHSEED values."""

from __future__ import annotations

import enum
import json
import math
import os
import pickle
import subprocess
import sys
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cachespec.reference import CacheError, InMemoryCache, OnDiskCache, encode_key, key_digest


def _disk(tmp_path: Path) -> OnDiskCache:
    cache = OnDiskCache()
    cache.base_dir = tmp_path
    return cache


@pytest.fixture(params=["memory", "disk"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return InMemoryCache() if request.param == "memory" else _disk(tmp_path)


DISTINCT_KEYS = [
    1, True, 1.0, "1", b"1", (1,), (True,), (1.0,), frozenset({1}), frozenset({True}),
    0, False, 0.0, None, "", b"", (), frozenset(), ((),), (None,), "a", b"a", ("a", "b"), ("ab",),
    ("a", ("b",)), (("a",), "b"), 2**64, -(2**64), -1, 255, -128, 128,
]


def test_distinct_keys_name_distinct_entries(cache: Any) -> None:
    for index, key in enumerate(DISTINCT_KEYS):
        assert cache.insert(key, index) is True, f"{key!r} collided with an earlier key"
    for index, key in enumerate(DISTINCT_KEYS):
        got = cache.get(key)
        assert got == index and type(got) is int, key
    assert len({encode_key(k) for k in DISTINCT_KEYS}) == len(DISTINCT_KEYS)


def test_one_true_one_point_zero_are_three_keys(cache: Any) -> None:
    assert cache.insert(1, "int") is True
    assert cache.get(True) is None and cache.get(1.0) is None
    assert cache.insert(True, "bool") is True
    assert cache.insert(1.0, "float") is True
    assert (cache.get(1), cache.get(True), cache.get(1.0)) == ("int", "bool", "float")


def test_shared_and_distinct_string_objects_are_one_key(cache: Any) -> None:
    shared = "ab"
    one_object = (shared, shared)
    two_objects = ("".join(["a", "b"]), "".join(["a", "b"]))
    assert two_objects[0] is not two_objects[1]
    # pickle's bytes depend on sharing (memo), so a pickle-named file would split this key in two.
    assert pickle.dumps(one_object) != pickle.dumps(two_objects)
    assert encode_key(one_object) == encode_key(two_objects)
    assert cache.insert(one_object, 1) is True
    assert cache.insert(two_objects, 2) is False
    assert cache.get(two_objects) == 1


def test_entry_file_is_named_by_canonical_encoding_not_pickle(tmp_path: Path) -> None:
    cache = _disk(tmp_path)
    key = ("ab", frozenset({1, 2}), b"x")
    digest = key_digest(key)
    assert digest == sha256(encode_key(key)).hexdigest()
    assert digest != sha256(pickle.dumps(key)).hexdigest()
    path = cache.entry_path(key)
    assert path == tmp_path / "v0" / digest[:2] / digest[2:]
    cache.insert(key, 1)
    assert path.is_file()


def test_float_zero_signs_and_nans(cache: Any) -> None:
    assert cache.insert(0.0, "zero") is True
    assert cache.insert(-0.0, "negative zero") is False  # -0.0 == 0.0: one key
    assert cache.insert(math.nan, "nan") is True
    assert cache.get(float("nan")) == "nan"  # every NaN is one key, though NaN != NaN
    assert cache.get(-math.nan) == "nan"
    assert cache.get((math.nan,)) is None


class Color(enum.IntEnum):
    RED = 1


class MyStr(str):
    pass


@pytest.mark.parametrize("key", [
    [1], {1: 2}, {1}, object(), bytearray(b"a"), Color.RED, MyStr("a"), 1j, (1, [2]),
    frozenset({(1, object())}), print,
])
def test_keys_outside_the_domain_raise_cache_error(cache: Any, key: Any) -> None:
    with pytest.raises(CacheError):
        cache.get(key)
    with pytest.raises(CacheError):
        cache.insert(key, 1)
    with pytest.raises(CacheError):
        encode_key(key)


def test_deeply_nested_key_raises_cache_error(cache: Any) -> None:
    key: Any = ()
    for _ in range(10_000):
        key = (key,)
    with pytest.raises(CacheError):
        cache.insert(key, 1)
    with pytest.raises(CacheError):
        key_digest(key)


def _same_key(a: Any, b: Any) -> bool:
    """The spec's key identity, written independently of the encoder."""
    if type(a) is not type(b):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(_same_key(x, y) for x, y in zip(a, b))
    if type(a) is frozenset:
        return len(a) == len(b) and all(any(_same_key(x, y) for y in b) for x in a)
    if type(a) is float:
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


_ATOMS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                   st.text(max_size=5), st.binary(max_size=5), st.sampled_from([0, 1, 0.0, -0.0, 1.0, True]))
KEYS = st.recursive(_ATOMS, lambda inner: st.one_of(st.tuples(inner, inner), st.lists(inner, max_size=3).map(tuple),
                                                    st.frozensets(inner, max_size=3)), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(KEYS, KEYS)
def test_encoding_equal_iff_same_key(a: Any, b: Any) -> None:
    assert (encode_key(a) == encode_key(b)) == _same_key(a, b)


@settings(max_examples=100, deadline=None)
@given(KEYS)
def test_encoding_is_deterministic_under_copying(key: Any) -> None:
    assert encode_key(pickle.loads(pickle.dumps(key))) == encode_key(key)


_SEED_SCRIPT = """
import json, pickle, sys
from cachespec.reference import OnDiskCache, key_digest
key = (frozenset("k%d" % i for i in range(40)), frozenset({b"x", b"y", ("t", 1.5)}), "s")
cache = OnDiskCache()
cache.base_dir = sys.argv[1]
out = {"path": str(cache.entry_path(key)), "digest": key_digest(key), "pickle": pickle.dumps(key).hex()}
if sys.argv[2] == "insert":
    out["inserted"] = cache.insert(key, {"seed": sys.argv[3]})
else:
    out["got"] = cache.get(key)
print(json.dumps(out))
"""


def _run_seeded(seed: str, base: Path, action: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", _SEED_SCRIPT, str(base), action, seed], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_frozenset_key_names_the_same_file_under_every_hash_seed(tmp_path: Path) -> None:
    runs = [_run_seeded("1", tmp_path, "insert")]
    runs += [_run_seeded(seed, tmp_path, "get") for seed in ("2", "3", "12345")]
    assert runs[0]["inserted"] is True
    assert len({r["path"] for r in runs}) == 1
    assert len({r["digest"] for r in runs}) == 1
    # The seeds really do reorder the frozensets: a pickle-derived name would differ.
    assert len({r["pickle"] for r in runs}) > 1
    assert all(r["got"] == {"seed": "1"} for r in runs[1:])


def _typed(key: Any) -> Any:
    """``key`` with every node tagged by its exact type (NaN made comparable), for strict ==."""
    if type(key) in (tuple, frozenset):
        items = [_typed(k) for k in key]
        return (type(key).__name__, sorted(items, key=repr) if type(key) is frozenset else items)
    if type(key) is float and math.isnan(key):
        return ("float", "nan")
    return (type(key).__name__, key + 0.0 if type(key) is float else key)


@settings(max_examples=200, deadline=None)
@given(KEYS)
def test_decode_key_inverts_encode_key(key: Any) -> None:
    from cachespec.reference import decode_key

    assert _typed(decode_key(encode_key(key))) == _typed(key)


@pytest.mark.parametrize("data", [b"", b"X", b"s\x00\x00\x00\x00\x00\x00\x00\x05ab", b"NN",
                                  b"d\x00\x00\x00\x00\x00\x00\x00\x02ab"])
def test_decode_key_refuses_malformed_encodings(data: bytes) -> None:
    from cachespec.reference import decode_key

    with pytest.raises(CacheError):
        decode_key(data)
