"""Crash and process-race checks with enumerated points instead of timed kills and luck: the
same findings in every run, each naming the point where the writer died or the racer paused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cachespec.conformance import resolve_target
from cachespec.spec import CHECKS
from cachespec.spec._harness import CheckResult
from cachespec.spec._points import Points

_M = "cachespec.conformance.mutants._catalogue:"
_POINT = re.compile(r"at (\S+\.py:\d+ \(\w+\)|before \S+\(.*?\)) \(point \d+ of \d+\)")


def _run(target: Any, check: str, tmp_path: Path, profile: str = "quick") -> CheckResult:
    c = {c.name: c for c in CHECKS}[check]
    if isinstance(target, str):
        target = resolve_target(target)
    return c.run(target, tmp_path, profile, frozenset(c.clause_ids))


def _found(result: CheckResult) -> dict[str, Any]:
    return {v.clause_id: v for v in result.violations}


def test_reference_disk_passes_every_crash_clause_judged(tmp_path: Path) -> None:
    result = _run("reference-disk", "crash-writer", tmp_path)
    assert result.violations == []
    assert set(result.judged) == {"CRASH-ATOMIC", "CRASH-RECOVER", "CRASH-DURABLE",
                                  "CRASH-NO-STRAY-TEMP"}
    assert result.judged["CRASH-ATOMIC"] >= 10  # one per crash point: every point of an insert


def test_an_in_place_writer_is_caught_at_a_named_crash_point(tmp_path: Path) -> None:
    found = _found(_run(_M + "InPlaceWriteDisk", "crash-writer", tmp_path))
    v = found["CRASH-ATOMIC"]
    assert _POINT.search(v.error) and _POINT.search(v.counterexample), v
    assert "SIGKILLed at" in v.counterexample


def test_an_acknowledged_insert_that_is_not_yet_written_is_caught(tmp_path: Path) -> None:
    found = _found(_run(_M + "WriteBehindDisk", "crash-writer", tmp_path))
    assert "CRASH-DURABLE" in found and "returned True" in found["CRASH-DURABLE"].error


def test_strays_are_listed_by_name_sorted(tmp_path: Path) -> None:
    v = _found(_run(_M + "StrayTempDisk", "crash-writer", tmp_path))["CRASH-NO-STRAY-TEMP"]
    listed = v.error.split(": ", 1)[1].split(", ")
    assert listed == sorted(listed) and len(listed) >= 2
    assert all(name.endswith(".tmp") for name in listed), listed


def test_a_reservation_left_by_a_dead_writer_blocks_recovery(tmp_path: Path) -> None:
    found = _found(_run(_M + "ReservationDisk", "crash-writer", tmp_path))
    assert "CRASH-RECOVER" in found and _POINT.search(found["CRASH-RECOVER"].error)


class _BrokenOpen:
    """A target whose instances cannot be opened in a child: the reason must reach the user."""

    name = "broken-open (test)"
    capabilities = frozenset({"core", "persistent", "processes"})
    error_type = RuntimeError

    def open(self, storage: Path) -> Any:
        raise RuntimeError("the storage is on a tape drive that is not mounted")

    def get_version(self) -> int:
        return 0


def test_a_failing_writer_shows_its_exception(tmp_path: Path) -> None:
    v = _found(_run(_BrokenOpen(), "crash-writer", tmp_path))["CRASH-ATOMIC"]
    assert "RuntimeError: the storage is on a tape drive that is not mounted" in v.error
    assert "test_spec_crashes.py" in v.error and "in open" in v.error  # where it raised


@pytest.mark.slow
def test_torch_disk_crash_clauses_are_found_at_quick(tmp_path: Path) -> None:
    """torch's OnDiskCache pickles into an ``open(path, "xb")`` file: a writer that dies before
    the file is complete poisons the key. A crash point is tried there in every run."""
    pytest.importorskip("torch")
    found = _found(_run("torch-disk", "crash-writer", tmp_path))
    assert {"CRASH-ATOMIC", "CRASH-RECOVER"} <= set(found)
    # named by its crash point: a line of torch's insert, or the write cut at a byte offset
    # (both are enumerated in every run; whichever is tried first is reported)
    cex = found["CRASH-ATOMIC"].counterexample
    assert "_inductor/cache.py:" in cex or "cut by RLIMIT_FSIZE" in cex, cex


@pytest.mark.slow
def test_torch_caching_disk_torn_write_is_found_by_a_cut_write(tmp_path: Path) -> None:
    """_OnDiskCacheImpl writes the value in place with one write(): only a writer that dies
    inside that write leaves a torn entry, which a write cut at a byte offset produces."""
    pytest.importorskip("torch")
    found = _found(_run("torch-caching-disk", "crash-writer", tmp_path))
    assert {"CRASH-ATOMIC", "CRASH-RECOVER"} <= set(found)
    assert "past byte" in found["CRASH-ATOMIC"].error


# -- lock holders -------------------------------------------------------------------------------
def test_a_stale_lock_file_of_a_dead_holder_is_caught(tmp_path: Path) -> None:
    found = _found(_run(_M + "StaleLockFileDisk", "crash-lock-holder", tmp_path))
    assert "CRASH-LOCK-RELEASED" in found and "is held" in found["CRASH-LOCK-RELEASED"].error


def test_reads_that_wait_for_a_live_lock_holder_are_caught(tmp_path: Path) -> None:
    """The holder keeps its locks until it is killed (a lock object it dropped would have
    released itself, and this mutant passed)."""
    found = _found(_run(_M + "LockedReadsDisk", "crash-lock-holder", tmp_path))
    assert "SAFE-LOCK-FREE-READS" in found, found


def test_reference_disk_lock_holder_clauses_are_judged(tmp_path: Path) -> None:
    result = _run("reference-disk", "crash-lock-holder", tmp_path)
    assert result.violations == []
    assert result.judged.get("SAFE-LOCK-FREE-READS") and result.judged.get("CRASH-LOCK-RELEASED")


# -- process races --------------------------------------------------------------------------------
def test_check_then_write_is_caught_by_a_scheduled_pause(tmp_path: Path) -> None:
    result = _run(_M + "ExistsThenWriteDisk", "race-processes", tmp_path)
    v = _found(result)["CONC-PROC-ONE-WINNER"]
    assert "2 of 2" in v.error and "A paused at" in v.counterexample
    # the read clause is judged in the rounds with two winners too, and holds there
    assert "CONC-PROC-READ-WINNER" not in _found(result)
    assert result.judged["CONC-PROC-READ-WINNER"] > result.judged["CONC-PROC-ONE-WINNER"]


def test_a_process_that_reads_its_own_losing_value_is_caught(tmp_path: Path) -> None:
    v = _found(_run(_M + "LocalMemoDisk", "race-processes", tmp_path))["CONC-PROC-READ-WINNER"]
    assert "the winner was" in v.error


def test_reference_disk_races_pass_judged(tmp_path: Path) -> None:
    result = _run("reference-disk", "race-processes", tmp_path)
    assert result.violations == []
    assert result.judged["CONC-PROC-READ-WINNER"] >= result.judged["CONC-PROC-ONE-WINNER"] >= 10


def test_racers_that_wait_for_the_paused_ones_lock_are_let_through(tmp_path: Path) -> None:
    """Inserts and gets that take the key's lock wait while A is paused holding it: A is
    resumed first (the waiter is seen asleep), so nothing hangs and nothing is blamed."""
    result = _run(_M + "LockedReadsDisk", "race-processes", tmp_path)
    assert result.violations == []
    assert result.judged["CONC-PROC-READ-WINNER"] >= result.judged["CONC-PROC-ONE-WINNER"] >= 10


@pytest.mark.slow
def test_torch_caching_disk_two_winners_at_quick(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    found = _found(_run("torch-caching-disk", "race-processes", tmp_path))
    assert "2 of 2" in found["CONC-PROC-ONE-WINNER"].error
    # a get while the winner's file is still empty takes it for a stale entry and unlinks it
    v = found["CONC-PROC-READ-WINNER"]
    assert "a get during it returned None" in v.error and "A paused at" in v.counterexample


# -- the points tried first ---------------------------------------------------------------------
def test_steps_prefer_the_operations_own_lines_and_file_calls(tmp_path: Path) -> None:
    from cachespec.reference import OnDiskCache

    cache = OnDiskCache()
    cache.base_dir = tmp_path
    cache.insert("warm", b"x")
    with Points() as pts:
        cache.insert("k", b"v" * 100)
    steps = pts.steps()
    assert len(set(steps)) == len(steps)
    assert all(i + 1 in steps for i in pts.fs if i + 1 < pts.count)  # just after each file call
    assert 0 in steps  # the operation's first line
    assert len(pts.paths) == len(pts.fs) and all(pts.paths)
