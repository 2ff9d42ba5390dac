"""The reference on a shared file system (NFS): what a multi-host stress run relies on.

Without ``O_TMPFILE`` (NFS has none) a writer stages its entry in a named temporary, and a
writer sweeps the temporaries of dead writers. A pid is only meaningful on its own host (pid
namespace), so a temporary of another host must never be judged by ``kill(pid, 0)`` here. And
NFS may answer a retransmitted LINK whose first try succeeded with EEXIST: the insert won.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cachespec.reference import OnDiskCache
from cachespec.reference._disk import _pid_scope, _Staged


def _cache(base: Path) -> OnDiskCache:
    cache = OnDiskCache()
    cache.base_dir = base
    return cache


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_judges_only_this_hosts_temporaries(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Staged, "tmpfile_works", False)
    cache = _cache(tmp_path)
    directory = os.path.dirname(cache.entry_path("k"))
    os.makedirs(directory)
    dead = _dead_pid()
    scope = _pid_scope()
    assert re.fullmatch(r"h[0-9a-f]{12}", scope) and scope == _pid_scope()
    mine_dead = os.path.join(directory, f".tmp-{scope}-{dead}-00")
    mine_live = os.path.join(directory, f".tmp-{scope}-{os.getpid()}-00")
    # Another host's writer, whose pid happens to be dead HERE: it may be writing right now.
    other_host = os.path.join(directory, f".tmp-h000000000000-{dead}-00")
    for name in (mine_dead, mine_live, other_host):
        Path(name).write_bytes(b"partial")
    staged: list[str] = []
    real_link = os.link

    def spy(src: str, dst: str, **kw: object) -> None:
        staged.append(os.path.basename(src))
        real_link(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", spy)
    assert cache.insert("k", 1) is True
    assert not os.path.exists(mine_dead), "a dead writer of this host leaves its temp to sweep"
    assert os.path.exists(mine_live)
    assert os.path.exists(other_host), "another host's temporary is not judged by a local pid"
    assert cache.get("k") == 1
    # The writer's own temporary carries the scope, so other hosts leave it alone in turn.
    [name] = staged
    assert name.startswith(f".tmp-{scope}-{os.getpid()}-")


def test_a_forked_child_recomputes_the_scope() -> None:
    scope = _pid_scope()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, _pid_scope().encode())
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 64).decode() == scope  # same boot, same pid namespace
    os.close(read)
    os.waitpid(pid, 0)


def test_a_link_retransmitted_after_success_still_wins(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Staged, "tmpfile_works", False)
    cache = _cache(tmp_path)
    assert cache.insert("other", 0) is True
    real_link = os.link

    def retransmitted(src: str, dst: str, **kw: object) -> None:
        real_link(src, dst, **kw)  # type: ignore[arg-type]
        raise FileExistsError(17, "File exists", dst)  # the reply to the retransmission

    monkeypatch.setattr(os, "link", retransmitted)
    assert cache.insert("k", "mine") is True
    monkeypatch.setattr(os, "link", real_link)
    assert cache.get("k") == "mine"
    # A real loser still loses: the entry is someone else's, our temporary has one name.
    assert cache.insert("k", "late") is False
    assert cache.get("k") == "mine"


def test_named_temporaries_reach_the_server_before_the_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # On NFS another host sees only what the server holds once the entry has a name.
    monkeypatch.setattr(_Staged, "tmpfile_works", False)
    cache = _cache(tmp_path)
    calls: list[str] = []
    real_sync, real_link = os.fdatasync, os.link

    def sync(fd: int) -> None:
        calls.append(f"sync {os.fstat(fd).st_size}")
        real_sync(fd)

    def link(src: str, dst: str, **kw: object) -> None:
        calls.append("link")
        real_link(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fdatasync", sync)
    monkeypatch.setattr(os, "link", link)
    assert cache.insert("k", b"x" * 1000) is True
    size = os.path.getsize(cache.entry_path("k"))
    assert calls == [f"sync {size}", "link"]


def test_a_file_system_without_link_is_refused_with_cacheerror(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Some FUSE file systems (object stores) have no link(2): no atomic first-wins publish.
    from cachespec.reference import CacheError

    monkeypatch.setattr(_Staged, "tmpfile_works", False)
    cache = _cache(tmp_path)

    def no_link(src: str, dst: str, **kw: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    with pytest.raises(CacheError, match="cannot publish"):
        cache.insert("k", 1)
    monkeypatch.undo()
    assert cache.get("k") is None
    assert os.listdir(os.path.dirname(cache.entry_path("k"))) == []
