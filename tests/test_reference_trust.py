"""The on-disk reference trusts only the current user's files (or, on request, a shared setgid
group directory): each unsafe storage is refused with one CacheError naming the directory, the
problem and the fix. The tests run as root, so "another user" is uid/gid 65534 via chown."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cachespec.reference import CacheError, OnDiskCache
from cachespec.reference import _trust

OTHER = 65534  # nobody / nogroup

needs_chown = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _at(base: Path, **kw: Any) -> OnDiskCache:
    cache = OnDiskCache(**kw)
    cache.base_dir = base
    return cache


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A base_dir holding the entry "k" -> 1, written by a trusted instance."""
    base = tmp_path / "base"
    assert _at(base).insert("k", 1)
    return base


def _refused(cache: OnDiskCache, directory: Path, problem: str) -> None:
    for op in (lambda: cache.get("k"), lambda: cache.insert("new", 2)):
        with pytest.raises(CacheError) as info:
            op()
        message = str(info.value)
        assert str(directory) in message and problem in message and "fix:" in message, message


# -- private by default ---------------------------------------------------------------------------


@pytest.fixture(params=[0o000, 0o022, 0o077, 0o777], ids=lambda m: f"umask{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_the_default_directory_is_private_under_any_umask(
        umask: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cache = OnDiskCache("mine")
    assert cache.insert("k", [1]) and cache.get("k") == [1]
    entry = cache.entry_path("k")
    user_dir = tmp_path / f"cache_{os.geteuid()}"
    for directory in (user_dir, user_dir / "mine", user_dir / "mine" / "v0", entry.parent,
                      user_dir / "mine" / "locks" if (user_dir / "mine" / "locks").exists() else entry.parent):
        assert _mode(directory) == 0o700, directory
    assert _mode(entry) == 0o600
    assert os.lstat(user_dir).st_uid == os.geteuid()


def test_a_group_cache_makes_setgid_group_directories_and_group_readable_entries(
        umask: int, tmp_path: Path) -> None:
    base = tmp_path / "team"
    cache = _at(base, trust="group")
    assert cache.insert("k", 1) and cache.get("k") == 1
    for directory in (base, base / "v0", cache.entry_path("k").parent):
        assert _mode(directory) == 0o2770, directory
    assert _mode(cache.entry_path("k")) == 0o640


def test_unknown_trust_levels_are_refused() -> None:
    with pytest.raises(CacheError, match="trust must be one of"):
        OnDiskCache(trust="world")

    class Sloppy(OnDiskCache):
        trust = "everyone"

    with pytest.raises(CacheError, match="trust must be one of"):
        Sloppy()


# -- refusals --------------------------------------------------------------------------------------


def test_a_symlinked_base_dir_is_refused(filled: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(filled)
    _refused(_at(link), link, "symbolic link")
    _refused(_at(link, trust="group"), link, "symbolic link")


@needs_chown
def test_a_base_dir_of_another_user_is_refused(filled: Path) -> None:
    os.chown(filled, OTHER, -1)
    _refused(_at(filled), filled, f"belongs to uid {OTHER}")


@pytest.mark.parametrize("trust", ["user", "group"])
def test_a_world_writable_base_dir_is_refused_at_every_trust_level(filled: Path, trust: str) -> None:
    os.chmod(filled, 0o777)
    _refused(_at(filled, trust=trust), filled, "writable by every user")
    os.chmod(filled, 0o2777)
    _refused(_at(filled, trust=trust), filled, "writable by every user")


def test_a_group_writable_base_dir_is_refused_without_the_opt_in(filled: Path) -> None:
    os.chmod(filled, 0o775)
    _refused(_at(filled), filled, "writable by its group")
    os.chmod(filled, 0o2775)
    _refused(_at(filled), filled, "writable by its group")


def test_a_loosened_version_directory_is_refused(filled: Path) -> None:
    os.chmod(filled / "v0", 0o777)
    _refused(_at(filled), filled / "v0", "writable by every user")


def test_a_file_in_place_of_base_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"x")
    with pytest.raises(CacheError, match="is not a directory"):
        _at(tmp_path / "plain").insert("k", 1)


def test_a_symlinked_entry_is_refused_and_then_replaced(filled: Path, tmp_path: Path) -> None:
    cache = _at(filled)
    entry = cache.entry_path("k")
    planted = tmp_path / "planted"
    planted.write_bytes(entry.read_bytes())  # a valid entry, but not where it claims to be
    entry.unlink()
    entry.symlink_to(planted)
    with pytest.raises(CacheError, match="symbolic link"):
        cache.get("k")
    assert cache.insert("k", 2) is True  # the refused entry is replaced like a corrupt one
    assert cache.get("k") == 2 and not entry.is_symlink()


@needs_chown
def test_an_entry_of_another_user_is_refused(filled: Path) -> None:
    entry = _at(filled).entry_path("k")
    os.chown(entry, OTHER, OTHER)
    with pytest.raises(CacheError, match=f"belongs to uid {OTHER}"):
        _at(filled).get("k")
    with pytest.raises(CacheError, match=f"belongs to uid {OTHER}"):
        _at(filled, trust="group").get("k")  # nor is it the group directory's group


# -- the opt-in's limits ---------------------------------------------------------------------------


@needs_chown
def test_the_group_opt_in_accepts_a_setgid_directory_of_another_member(filled: Path) -> None:
    mine = os.getegid()
    entry = _at(filled).entry_path("k")
    for directory in (filled, *[p for p in filled.rglob("*") if p.is_dir()]):
        os.chown(directory, OTHER, mine)
        os.chmod(directory, 0o2770)
    os.chown(entry, OTHER, mine)  # written by the other member
    team = _at(filled, trust="group")
    assert team.get("k") == 1
    assert team.insert("new", 2) and team.get("new") == 2
    _refused(_at(filled), filled, f"belongs to uid {OTHER}")  # never without the opt-in


@needs_chown
def test_the_group_opt_in_refuses_a_group_this_user_is_not_in(filled: Path) -> None:
    os.chown(filled, OTHER, OTHER)
    os.chmod(filled, 0o2770)
    _refused(_at(filled, trust="group"), filled, "a group this user is not in")


def test_the_group_opt_in_refuses_group_write_without_setgid(filled: Path) -> None:
    os.chmod(filled, 0o775)
    _refused(_at(filled, trust="group"), filled, "not setgid")


# -- cheap: each directory is checked once per instance --------------------------------------------


def test_directories_are_checked_once_per_instance(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = os.lstat

    def counting(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        calls.append(os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(_trust.os, "lstat", counting)
    cache = _at(filled)
    for i in range(50):
        assert cache.get("k") == 1
        cache.get(("absent", i))
    assert len(calls) <= 2, calls  # base_dir and v0, once
    calls.clear()
    for i in range(20):
        cache.insert(("new", i), i)
    assert len(set(calls)) == len(calls), "a directory was checked twice"
