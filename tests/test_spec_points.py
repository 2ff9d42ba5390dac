"""The point tracer the crash and race checks stop at: it sees the cache's own steps and file
calls, only in the thread that armed it, and stops exactly at the asked point."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cachespec.reference import OnDiskCache
from cachespec.spec._points import Points, choose


def _cache(tmp_path: Path) -> OnDiskCache:
    cache = OnDiskCache()
    cache.base_dir = tmp_path
    cache.insert("warm", b"x")  # directories exist: the traced insert is the steady state
    return cache


def test_an_insert_has_line_and_file_points(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    with Points() as pts:
        assert cache.insert("k", b"v")
    assert any("reference/_disk.py:" in d for d in pts.seen)
    assert pts.fs and all(pts.seen[i].startswith("before ") for i in pts.fs)
    assert not any("_points.py" in d or "threading.py" in d for d in pts.seen)


def test_stop_at_calls_back_once_at_that_point(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    with Points() as pts:
        cache.insert("a", b"v")
    hits: list[tuple[int, str]] = []
    k = pts.fs[0]
    with Points(stop_at=k, on_stop=lambda i, d: hits.append((i, d))) as again:
        cache.insert("b", b"v")
    assert hits == [(k, again.seen[k])] and again.seen[k].startswith("before ")


def test_a_pause_at_a_point_lets_another_thread_run_first(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    with Points() as pts:
        cache.insert("probe", b"v")
    gate, paused = threading.Event(), threading.Event()

    def pause(i: int, d: str) -> None:
        paused.set()
        gate.wait(10)

    results: dict[str, bool] = {}

    def racer() -> None:
        with Points(stop_at=pts.windows()[-1], on_stop=pause):
            results["first"] = cache.insert("raced", b"first")

    th = threading.Thread(target=racer)
    th.start()
    assert paused.wait(10)
    results["second"] = cache.insert("raced", b"second")  # untraced: other threads are not
    gate.set()
    th.join(10)
    assert sorted(results.values()) == [False, True]
    assert cache.get("raced") == (b"first" if results["first"] else b"second")


def test_only_one_tracer_per_process() -> None:
    with Points(), pytest.raises(RuntimeError, match="already armed"):
        with Points():
            pass


@pytest.mark.parametrize(("count", "budget", "prefer", "want"), [
    (5, 10, (), [0, 1, 2, 3, 4]),
    (100, 3, (), [0, 50, 99]),
    (100, 4, (40, 41), [0, 40, 41, 99]),
    (0, 5, (), []),
])
def test_choose(count: int, budget: int, prefer: tuple[int, ...], want: list[int]) -> None:
    assert choose(count, budget, prefer) == want


def test_installed_packages_are_target_code_even_inside_a_venvs_lib_dir() -> None:
    # in a venv, sysconfig's "platstdlib" is <venv>/lib/python3.X, which holds site-packages:
    # an installed cache (torch, diskcache) must still be traced, the stdlib must not
    import sysconfig

    import filelock

    from cachespec.spec._points import is_target_code

    assert is_target_code(filelock.__file__)
    assert not is_target_code(threading.__file__)
    assert not is_target_code(Points.__init__.__code__.co_filename)
    site = sysconfig.get_paths()["purelib"]
    assert is_target_code(f"{site}/somecache/core.py")
