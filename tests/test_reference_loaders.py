"""InMemoryCache.from_env_var and from_file_path: exact round trips, strict errors, no code run."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachespec.reference import CacheError, InMemoryCache

from test_reference_values import VALUES, Reduces, canon

ENV = "CACHESPEC_TEST_REFERENCE_LOADERS"

_KEY_ATOMS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                       st.text(max_size=6), st.binary(max_size=6), st.sampled_from([",", ";", b",;", "b',';"]))
KEYS = st.recursive(_KEY_ATOMS, lambda inner: st.one_of(st.lists(inner, max_size=3).map(tuple),
                                                        st.frozensets(inner, max_size=3)), max_leaves=5)


def _pair(key: Any, value: Any, protocol: int = pickle.DEFAULT_PROTOCOL) -> str:
    return f"{pickle.dumps(key, protocol)!r},{pickle.dumps(value, protocol)!r}"


def _load_env(monkeypatch: pytest.MonkeyPatch, text: str) -> InMemoryCache:
    monkeypatch.setenv(ENV, text)
    return InMemoryCache.from_env_var(ENV)


def _assert_holds(cache: InMemoryCache, mapping: dict[Any, Any]) -> None:
    assert len(cache) == len(mapping)
    for key, value in mapping.items():
        assert canon(cache.get(key)) == canon(value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(KEYS, VALUES, max_size=6), st.data())
def test_env_var_round_trips_every_mapping(monkeypatch: pytest.MonkeyPatch, mapping: dict[Any, Any],
                                           data: st.DataObject) -> None:
    # Protocols below 4 pickle sets (and, below 3, bytes) through globals, which loading refuses.
    protocol = data.draw(st.integers(4, pickle.HIGHEST_PROTOCOL))
    space = st.sampled_from(["", " ", "\n", "\t "])
    parts = [data.draw(space) + _pair(k, v, protocol) + data.draw(space) for k, v in mapping.items()]
    seps = [";" + data.draw(st.sampled_from(["", ";", " ; "])) for _ in parts]
    text = data.draw(space) + "".join(p + s for p, s in zip(parts, seps))
    if parts and data.draw(st.booleans()):
        text = text.rstrip().rstrip(";")  # no trailing separator
    _assert_holds(_load_env(monkeypatch, text), mapping)


def test_env_var_with_separators_inside_pickled_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = {",": ";", ";": ",", (",", ";"): [b";,", "',"], b"b',': b'": {";": ","}}
    text = ";".join(_pair(k, v) for k, v in mapping.items())
    assert all("," in repr(pickle.dumps(k)) or ";" in repr(pickle.dumps(k)) for k in mapping)
    _assert_holds(_load_env(monkeypatch, text), mapping)


def test_env_var_unset_or_blank_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert len(InMemoryCache.from_env_var(ENV)) == 0
    for blank in ("", "  ", ";;", " ; ;\n"):
        assert len(_load_env(monkeypatch, blank)) == 0


def test_env_var_identical_repeated_pair_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _load_env(monkeypatch, f"{_pair('k', [1])};{_pair('k', [1], 2)}")
    _assert_holds(cache, {"k": [1]})


@pytest.mark.parametrize("second", [[2], [True], [1.0], None])
def test_env_var_key_with_two_values_is_an_error(monkeypatch: pytest.MonkeyPatch, second: Any) -> None:
    with pytest.raises(CacheError):
        _load_env(monkeypatch, f"{_pair('k', [1])};{_pair('k', second)}")


def test_env_var_keys_of_different_types_are_different_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _load_env(monkeypatch, ";".join(_pair(k, repr(k)) for k in (1, True, 1.0)))
    assert (cache.get(1), cache.get(True), cache.get(1.0)) == ("1", "True", "1.0")


_OK = repr(pickle.dumps("v"))
MALFORMED_ENV = {
    "str literal": f"'abc',{_OK}",
    "missing comma": f"{_OK} {_OK}",
    "missing value": f"{_OK},",
    "key only": _OK,
    "unterminated": "b'abc",
    "unterminated value": f"{_OK},b'\\x80",
    "bad escape": f"b'\\x',{_OK}",
    "non-ascii in bytes": f"b'\u00e9',{_OK}",
    "trailing garbage": f"{_OK},{_OK} junk",
    "three items": f"{_OK},{_OK},{_OK}",
    "empty key pickle": f"b'',{_OK}",
    "empty value pickle": f"{_OK},b''",
    "garbage pickle": f"b'garbage',{_OK}",
    "unhashable key": f"{pickle.dumps([1])!r},{_OK}",
    "set key": f"{pickle.dumps({1})!r},{_OK}",
    "value outside domain": f"{_OK},{pickle.dumps(bytearray(b'x'), 5)!r}",
    "global value": f"{_OK},{pickle.dumps(os.system)!r}",
    "number": "1,2",
}


@pytest.mark.parametrize("name", sorted(MALFORMED_ENV))
def test_malformed_env_var_raises_cache_error(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    with pytest.raises(CacheError):
        _load_env(monkeypatch, MALFORMED_ENV[name])


def test_malformed_pickles_in_env_var_chain_their_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CacheError) as info:
        _load_env(monkeypatch, MALFORMED_ENV["garbage pickle"])
    assert info.value.__cause__ is not None
    with pytest.raises(CacheError) as info:
        _load_env(monkeypatch, MALFORMED_ENV["bad escape"])
    assert isinstance(info.value.__cause__, (SyntaxError, ValueError))


@pytest.mark.parametrize("name", ["", "A=B", "A\0B", 3, None])
def test_bad_env_var_names_raise_cache_error(name: Any) -> None:
    with pytest.raises(CacheError):
        InMemoryCache.from_env_var(name)


def test_env_var_global_runs_no_code(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    with pytest.raises(CacheError):
        _load_env(monkeypatch, f"{_OK},{pickle.dumps(Reduces(str(marker)))!r}")
    with pytest.raises(CacheError):
        _load_env(monkeypatch, f"{pickle.dumps(Reduces(str(marker)))!r},{_OK}")
    assert not marker.exists()


# -- files -------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_file_round_trips_every_mapping(mapping: dict[Any, Any]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cache.pkl"
        path.write_bytes(pickle.dumps(mapping))
        _assert_holds(InMemoryCache.from_file_path(path), mapping)
        _assert_holds(InMemoryCache.from_file_path(str(path)), mapping)


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert len(InMemoryCache.from_file_path(tmp_path / "absent.pkl")) == 0


def test_loaded_cache_is_a_normal_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    cache = InMemoryCache.from_file_path(path)
    assert cache.insert("a", 2) is False
    assert cache.insert("b", 2) is True
    assert cache.get("a") == 1


MALFORMED_FILES = {
    "empty": b"",
    "garbage": b"\x00\x01garbage",
    "truncated": pickle.dumps({"a": list(range(100))})[:-5],
    "list": pickle.dumps([1, 2]),
    "none": pickle.dumps(None),
    "unhashable key": b"\x80\x04}]K\x01s.",  # {[]: 1}: setting the item raises TypeError
    "value outside domain": pickle.dumps({"a": bytearray(b"x")}, 5),
    "global": pickle.dumps({"a": os.system}),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_FILES))
def test_malformed_file_raises_cache_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / "c.pkl"
    path.write_bytes(MALFORMED_FILES[name])
    with pytest.raises(CacheError):
        InMemoryCache.from_file_path(path)


def test_file_errors_chain_their_cause(tmp_path: Path) -> None:
    path = tmp_path / "c.pkl"
    path.write_bytes(MALFORMED_FILES["unhashable key"])
    with pytest.raises(CacheError) as info:
        InMemoryCache.from_file_path(path)
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(CacheError) as info:
        InMemoryCache.from_file_path(tmp_path)  # a directory
    assert isinstance(info.value.__cause__, OSError)


def test_file_with_reduce_runs_no_code(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "c.pkl"
    path.write_bytes(pickle.dumps({"k": Reduces(str(marker))}))
    with pytest.raises(CacheError):
        InMemoryCache.from_file_path(path)
    assert not marker.exists()


def _can_make_unreadable(path: Path) -> bool:
    path.write_bytes(b"probe")
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        return True
    finally:
        path.chmod(0o600)
    return False  # root (CAP_DAC_OVERRIDE) reads it anyway


def test_unreadable_file_raises_cache_error(tmp_path: Path) -> None:
    if not _can_make_unreadable(tmp_path / "probe"):
        pytest.skip("this process can read mode-000 files (root with CAP_DAC_OVERRIDE)")
    path = tmp_path / "c.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    path.chmod(0)
    with pytest.raises(CacheError) as info:
        InMemoryCache.from_file_path(path)
    assert isinstance(info.value.__cause__, PermissionError)


@pytest.mark.parametrize("fpath", [None, 3, b"/tmp/x"])
def test_bad_file_path_types_raise_cache_error(fpath: Any) -> None:
    with pytest.raises(CacheError):
        InMemoryCache.from_file_path(fpath)
