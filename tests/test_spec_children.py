"""The child-process machinery of the spec (spec/_children.py): every child that drives a target
is a fresh process with an instance of its own, and a child that fails says why.

The proof is a cache that, like LMDB, allows one open environment per storage per process and
none inherited across ``fork``: it passes every check that uses other processes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import cachespec.conformance  # noqa: F401 - registers the resolver children rebuild targets with
from cachespec.conformance._torchshaped import TorchShapedTarget
from cachespec.reference import CacheError, OnDiskCache
from cachespec.spec import CHECKS
from cachespec.spec._children import ChildError, Zygote

#: storage path -> pid of the process that opened it (inherited across fork, as LMDB's is)
_OPEN: dict[str, int] = {}


class OneEnvTarget(TorchShapedTarget):
    """The reference disk cache behind LMDB's rule: one open environment per storage and
    process; an instance opened before a fork is unusable in the child. Its name resolves
    nowhere, so children get it pickled."""

    def __init__(self) -> None:
        super().__init__("one-env-per-process (test)", OnDiskCache)

    def create(self, storage: Path | None) -> Any:
        path = os.path.realpath(storage or ".")
        if path in _OPEN:
            raise CacheError(f"environment {path} is already open in this process")
        _OPEN[path] = os.getpid()
        native = super().create(storage)
        native.env = (path, os.getpid())
        return native

    def _usable(self, native: Any) -> Any:
        if native.env[1] != os.getpid():
            raise CacheError("an environment opened before fork is unusable in the child")
        return native

    def get(self, native: Any, key: Any) -> Any:
        return super().get(self._usable(native), key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        return super().insert(self._usable(native), key, value)

    def lock_for(self, native: Any, key: Any) -> Any:
        return super().lock_for(self._usable(native), key)

    def close(self, native: Any) -> None:
        if native.env[1] == os.getpid():
            _OPEN.pop(native.env[0], None)


def test_the_one_env_cache_is_strict(tmp_path: Path) -> None:
    """The fake enforces what it claims: a second open raises, a forked child cannot use an
    inherited instance nor open its own."""
    target = OneEnvTarget()
    s = target.open(tmp_path)
    assert s.insert("k", b"v") is True
    with pytest.raises(CacheError, match="already open"):
        target.open(tmp_path)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        for attempt in (lambda: s.get("k"), lambda: target.open(tmp_path)):
            try:
                attempt()
                code = 1
            except CacheError:
                pass
        os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    s.close()
    assert target.open(tmp_path).get("k") == b"v"


@pytest.mark.parametrize("check", ["crash-writer", "crash-lock-holder", "keys-hashseed",
                                   "race-processes"])
def test_a_one_env_per_process_cache_passes_the_process_checks(tmp_path: Path, check: str
                                                               ) -> None:
    by_name = {c.name: c for c in CHECKS}
    target = OneEnvTarget()
    clauses = frozenset(by_name[check].clause_ids)
    result = by_name[check].run(target, tmp_path, "quick", clauses)
    assert result.violations == []
    assert not result.undecided(clauses), result.judged


# -- the zygote ---------------------------------------------------------------------------------
def _whoami(target: Any, chan: Any, storage: str) -> tuple[int, int, bool]:
    s = target.open(Path(storage))
    res = s.insert(f"k-{os.getpid()}", b"v")
    s.close()
    return os.getpid(), os.getppid(), res


def _fails(target: Any, chan: Any) -> None:
    raise ValueError("the disk is made of cheese")


def _echo(target: Any, chan: Any) -> str:
    chan.send(("hello", target.name))
    return str(chan.recv())


def test_each_job_runs_in_its_own_fresh_process(tmp_path: Path) -> None:
    with Zygote(OneEnvTarget()) as z:
        first = z.run(_whoami, str(tmp_path))
        second = z.run(_whoami, str(tmp_path))
    assert first[2] is True and second[2] is True  # each opened the storage itself
    assert len({os.getpid(), first[0], second[0]}) == 3
    assert first[1] == second[1] != os.getpid()  # both forked by the zygote, not by us


def test_a_failing_child_reports_its_exception_and_where(tmp_path: Path) -> None:
    with Zygote(OneEnvTarget()) as z:
        with pytest.raises(ChildError) as info:
            z.run(_fails)
    text = str(info.value)
    assert "ValueError: the disk is made of cheese" in text
    assert "test_spec_children.py" in text and "in _fails" in text


def test_a_child_talks_to_the_parent_while_it_runs() -> None:
    with Zygote(OneEnvTarget()) as z:
        child = z.start(_echo)
        assert child.recv() == ("hello", "one-env-per-process (test)")
        child.send("go on")
        assert child.result() == "go on"
        child.kill()


def test_a_target_that_cannot_be_rebuilt_is_a_clear_error() -> None:
    target = OneEnvTarget()  # a name that resolves nowhere, holding what cannot be pickled
    target.pending = (i for i in range(3))  # type: ignore[attr-defined]
    with pytest.raises(ChildError, match="cannot be pickled|could not rebuild"):
        with Zygote(target):
            pass
