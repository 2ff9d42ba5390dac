"""Versions on disk: one directory per version, torch's version-bump sequence as the reference
answers it, and ``OnDiskCache.remove_other_versions`` -- including while a reader or writer of
the removed version is at every step of its operation (enumerated, not raced)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from cachespec.reference import CacheError, OnDiskCache
from cachespec.reference import _disk, _versions


class V0(OnDiskCache):
    version = 0


class V1(OnDiskCache):
    version = 1


def _at(cls: type[OnDiskCache], base: Path) -> OnDiskCache:
    cache = cls()
    cache.base_dir = base
    return cache


def test_torch_s_version_bump_sequence_as_the_reference_answers_it(tmp_path: Path) -> None:
    # The sequence of torch's test_on_disk_cache_version_bump; the two answers after restoring
    # are the ones the spec does not adopt (TORCH_NOT_ADOPTED): the old entry is still there.
    cache = _at(OnDiskCache, tmp_path)
    assert cache.get("k") is None and cache.insert("k", "v") and cache.get("k") == "v"
    with patch.object(OnDiskCache, "version", OnDiskCache.version + 1):
        assert cache.get("k") is None and cache.insert("k", "v") and cache.get("k") == "v"
    assert cache.get("k") == "v"          # torch asserts None
    assert cache.insert("k", "v") is False  # torch asserts True


def test_remove_other_versions_keeps_only_the_current_version(tmp_path: Path) -> None:
    for cls, value in ((V0, "zero"), (V1, "one")):
        assert _at(cls, tmp_path).insert("k", value)

    class Vneg(OnDiskCache):
        version = -3

    assert _at(Vneg, tmp_path).insert("k", "minus")
    for stray in ("v01", "vx", "locks-not", "notes"):
        (tmp_path / stray).mkdir()
    assert _at(V1, tmp_path).remove_other_versions() == [-3, 0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locks-not", "notes", "v01", "v1", "vx"]
    assert _at(V1, tmp_path).get("k") == "one"
    assert _at(V0, tmp_path).get("k") is None
    assert _at(V0, tmp_path).insert("k", "zero again") and _at(V0, tmp_path).get("k") == "zero again"
    assert _at(V1, tmp_path).remove_other_versions() == [0]
    assert _at(V1, tmp_path).remove_other_versions() == []


def test_remove_other_versions_on_a_missing_directory_and_a_non_int_version(tmp_path: Path) -> None:
    assert _at(V0, tmp_path / "never-made").remove_other_versions() == []

    class Bad(OnDiskCache):
        version = "1"  # type: ignore[assignment]

    with pytest.raises(CacheError, match="must be an int"):
        _at(Bad, tmp_path).remove_other_versions()


def test_trash_of_a_dead_remover_is_deleted_and_a_live_one_s_kept(tmp_path: Path) -> None:
    dead = tmp_path / ".trash-999999999-0123"
    live = tmp_path / f".trash-{os.getpid()}-4567"
    for trash in (dead, live):
        (trash / "ab").mkdir(parents=True)
        (trash / "ab" / "entry").write_bytes(b"x")
    _at(V0, tmp_path).remove_other_versions()
    assert not dead.exists() and live.exists()


def test_a_version_directory_replaced_by_a_symlink_is_unlinked_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "ab").mkdir(parents=True)
    (outside / "ab" / "keep").write_bytes(b"x")
    base = tmp_path / "base"
    base.mkdir()
    (base / "v5").symlink_to(outside)
    assert _at(V0, base).remove_other_versions() == [5]
    assert (outside / "ab" / "keep").read_bytes() == b"x"
    assert os.listdir(base) == []


# -- removal at every step of a concurrent operation of the removed version ------------------

_STEPS = ("open", "fstat", "read", "write", "link", "close", "makedirs", "unlink")


class _SteppingOs:
    """``os`` as ``_disk`` sees it, calling ``hook`` just before its ``at``-th system call."""

    def __init__(self, at: int, hook: Callable[[], None]) -> None:
        self.at, self.hook, self.calls = at, hook, 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(os, name)
        if name not in _STEPS:
            return real

        def step(*args: Any, **kwargs: Any) -> Any:
            if self.calls == self.at:
                self.hook()
            self.calls += 1
            return real(*args, **kwargs)
        return step


@contextmanager
def _removal_before_step(at: int, remover: OnDiskCache, delete_late: bool) -> Iterator[_SteppingOs]:
    """Run ``remover.remove_other_versions()`` before ``_disk``'s ``at``-th system call; with
    ``delete_late`` the renamed directory is only deleted when the block ends (the window
    between the rename and the deletion)."""
    pending: list[str] = []
    real_delete = _versions._delete_tree

    def hook() -> None:
        with patch.object(_versions, "_delete_tree", pending.append if delete_late else real_delete):
            remover.remove_other_versions()

    stepping = _SteppingOs(at, hook)
    with patch.object(_disk, "os", stepping):
        yield stepping
    for path in pending:
        real_delete(path)


def _outcome(op: Callable[[], Any]) -> Any:
    try:
        return op()
    except CacheError as err:  # allowed; any other exception fails the test
        return err


@pytest.mark.parametrize("delete_late", [False, True], ids=["deleted", "renamed-only"])
def test_a_reader_of_a_removed_version_gets_the_value_or_none_at_every_step(
        tmp_path: Path, delete_late: bool) -> None:
    value = {"payload": list(range(50))}
    with _removal_before_step(10**9, _at(V0, tmp_path), False) as probe:
        assert _at(V1, tmp_path).insert("k", value)
        calls_before = probe.calls
        assert _at(V1, tmp_path).get("k") == value
        steps = probe.calls - calls_before
    assert steps >= 4  # open, fstat, read, close
    for at in range(steps + 1):
        if not (tmp_path / "v1").exists():
            assert _at(V1, tmp_path).insert("k", value)
        reader = _at(V1, tmp_path)
        with _removal_before_step(at, _at(V0, tmp_path), delete_late) as stepping:
            got = _outcome(lambda: reader.get("k"))
            assert stepping.calls >= min(at, steps)
        assert got is None or isinstance(got, CacheError) or got == value, (at, got)
        assert got == value if at >= 1 else got is None, (at, got)  # open decides


@pytest.mark.parametrize("tmpfile", [True, False], ids=["O_TMPFILE", "named-temp"])
@pytest.mark.parametrize("delete_late", [False, True], ids=["deleted", "renamed-only"])
def test_a_writer_of_a_removed_version_never_leaves_a_wrong_value_at_any_step(
        tmp_path: Path, delete_late: bool, tmpfile: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not tmpfile:
        monkeypatch.setattr(_disk._Staged, "tmpfile_works", False)
    with _removal_before_step(10**9, _at(V0, tmp_path), False) as probe:
        assert _at(V1, tmp_path / "count").insert("k", "first")
        steps = probe.calls
    for at in range(steps + 1):
        base = tmp_path / f"at{at}"
        assert _at(V0, base).insert("other", 0)
        writer = _at(V1, base)
        with _removal_before_step(at, _at(V0, base), delete_late):
            inserted = _outcome(lambda: writer.insert("k", "mine"))
        # An unnamed inode can be linked into the remade directory: the insert always lands.
        # A named temporary goes with the renamed directory: CacheError, nothing stored.
        assert inserted is True or (not tmpfile and isinstance(inserted, CacheError)), (at, inserted)
        got = _at(V1, base).get("k")
        assert got in (None, "mine"), (at, got)
        if got is None:  # the entry went with its directory: the key is insertable again
            assert _at(V1, base).insert("k", "again") and _at(V1, base).get("k") == "again"
        assert _at(V0, base).get("other") == 0  # the remover's own version is untouched


# -- the spec's account of torch's version-bump test -------------------------------------------


def test_the_spec_lists_the_restore_assertions_it_does_not_adopt_with_reasons() -> None:
    import cachespec.spec as spec

    not_adopted = {(test, assertion) for test, assertion, _ in spec.TORCH_NOT_ADOPTED}
    assert not_adopted == {
        ("OtherTest.test_on_disk_cache_version_bump",
         "assertIsNone(cache.get(key)) after restoring the version"),
        ("OtherTest.test_on_disk_cache_version_bump",
         "assertTrue(cache.insert(key, value)) after restoring the version"),
    }
    assert all(len(reason) > 80 for _, _, reason in spec.TORCH_NOT_ADOPTED)
    # No adopted assertion claims what the reference does not do after restoring.
    for _test, assertion, ids in spec.TORCH_ASSERTIONS:
        if "restor" in assertion:
            assert "assertIsNone" not in assertion and "assertTrue" not in assertion, assertion
            assert "VERSION-INSERTABLE" not in ids
    text = spec.render_markdown()
    section = text.split("## torch assertions the spec does not adopt", 1)[1]
    for _test, assertion, reason in spec.TORCH_NOT_ADOPTED:
        assert assertion in section and reason in section


# -- torch's private helpers, under the reference's layout -----------------------------------


def test_torch_s_path_and_lock_helpers_name_the_reference_s_files(tmp_path: Path) -> None:
    import filelock

    cache = _at(V1, tmp_path)
    fpath = cache._fpath_from_key(("k", 1))
    assert fpath == cache.entry_path(("k", 1)) and fpath.parent.parent == tmp_path / "v1"
    lock = cache._flock_from_fpath(fpath)
    assert isinstance(lock, filelock.FileLock)
    assert lock.lock_file == str(cache.lock_path(("k", 1)))
    assert cache.version_prefix == b"v1" and _at(V0, tmp_path).version_prefix == b"v0"
    for bad in (tmp_path / "v1" / "zz" / "not-an-entry", "short", 3):
        with pytest.raises(CacheError):
            cache._flock_from_fpath(bad)  # type: ignore[arg-type]
    for key in (lambda: None, [1], object()):
        with pytest.raises(CacheError):
            cache._fpath_from_key(key)  # type: ignore[arg-type]


def test_in_memory_cache_s_underscore_cache_round_trips_through_from_file_path(tmp_path: Path) -> None:
    import pickle

    from cachespec.reference import InMemoryCache

    cache = InMemoryCache()
    items = {"s": "v", 7: (1, "x"), ("t", 2): {"d": [b"b"]}, -0.0: None, frozenset({1, 2}): [1.5]}
    for key, value in items.items():
        assert cache.insert(key, value)
    snapshot = cache._cache
    assert snapshot == items and type(snapshot) is dict
    snapshot[7] = "changed"  # a new dict every time: the cache is not touched
    assert cache.get(7) == (1, "x")
    path = tmp_path / "dump.pkl"
    with open(path, "wb") as fh:
        pickle.dump(cache._cache, fh)
    loaded = InMemoryCache.from_file_path(path)
    assert loaded._cache == items
    clash = InMemoryCache()
    assert clash.insert(1, "int") and clash.insert(True, "bool")
    with pytest.raises(CacheError, match="cannot represent both"):
        clash._cache
