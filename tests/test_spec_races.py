"""The thread and async race checks: scheduled races that need no luck, read clauses judged in
rounds with several winners, liveness judged by lack of progress, and judgement counts on the
reference targets (nothing undecided)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest

import cachespec.spec as spec
from cachespec.spec import _races
from cachespec.spec._harness import Violations, ledger
from cachespec.spec._races import Event, judge_history
from cachespec.spec._subject import ASYNC, CORE, RICH_VALUES, THREADS

RACE = frozenset({"CONC-ONE-WINNER", "CONC-READ-WINNER", "CONC-NO-STALE-READ",
                  "CONC-LINEARIZABLE", "CONC-LIVENESS"})


# -- small targets ----------------------------------------------------------------------------
class _Subject:
    """A dict cache; ``store`` decides how an insert stores (the bug under test)."""

    def __init__(self, target: _Target) -> None:
        self.target, self.storage = target, None
        self.data: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        return self.data.get(key)

    def insert(self, key: Any, value: Any) -> bool:
        return self.target.store(self, key, value)

    def get_async(self, key: Any, ex: Executor) -> Future[Any]:
        return ex.submit(self.get, key)

    def insert_async(self, key: Any, value: Any, ex: Executor) -> Future[bool]:
        return ex.submit(self.insert, key, value)

    def close(self) -> None:
        pass


class _Target:
    capabilities = frozenset({CORE, THREADS, RICH_VALUES, ASYNC})
    error_type = ValueError

    def __init__(self, name: str, store: Callable[[_Subject, Any, Any], bool]) -> None:
        self.name = name
        self.store = store

    def open(self, storage: Path) -> _Subject:
        return _Subject(self)


def _check_then_set(s: _Subject, key: Any, value: Any) -> bool:
    # no sleep, no lock: a free-running race almost never lands between these two lines
    if key in s.data:
        return False
    s.data[key] = value
    return True


# -- judging a history ------------------------------------------------------------------------
def _ins(thread: int, t0: int, t1: int, res: Any) -> Event:
    return Event(thread, "insert", 0, thread, t0, t1, res)


def _get(thread: int, t0: int, t1: int, who: int | None) -> Event:
    return Event(thread, "get", 0, who, t0, t1, "raw")


def _judge(events: list[Event], final: list[Any]) -> tuple[dict[str, Any], dict[str, int]]:
    v = Violations(RACE)
    with ledger() as book:
        judge_history(v, events, ["k"], 4, "history", {0: final})
    return v.found, dict(book.counts)


def test_reads_of_two_winners_violate_read_winner() -> None:
    found, judged = _judge([_ins(0, 0, 10, True), _ins(1, 1, 5, True), _get(2, 6, 7, 1),
                            _get(2, 11, 12, 0)], [0])
    assert set(found) == {"CONC-ONE-WINNER", "CONC-READ-WINNER"}
    assert "different writers (w0, w1)" in found["CONC-READ-WINNER"].error
    assert judged["CONC-NO-STALE-READ"] and judged["CONC-LINEARIZABLE"]


def test_several_winners_still_judge_the_read_clauses() -> None:
    # two inserts returned True but every read agrees: only CONC-ONE-WINNER fails, and the
    # read clauses are judged (not skipped, which would leave them undecided)
    found, judged = _judge([_ins(0, 0, 10, True), _ins(1, 1, 5, True), _get(2, 6, 7, 1)], [1])
    assert set(found) == {"CONC-ONE-WINNER"}
    assert all(judged.get(c) for c in ("CONC-READ-WINNER", "CONC-NO-STALE-READ",
                                       "CONC-LINEARIZABLE"))


def test_several_winners_stale_and_wrong_final_reads() -> None:
    found, _ = _judge([_ins(0, 0, 10, True), _ins(1, 1, 5, True), _get(2, 11, 12, None)], [2])
    assert {"CONC-NO-STALE-READ", "CONC-READ-WINNER"} <= set(found)
    assert "after the race get returned w2" in found["CONC-READ-WINNER"].error


def test_a_value_read_before_its_insert_started_is_not_linearizable() -> None:
    found, _ = _judge([_get(2, 0, 1, 0), _ins(0, 2, 3, True)], [0])
    assert set(found) == {"CONC-LINEARIZABLE"}


# -- scheduled races --------------------------------------------------------------------------
def test_scheduled_phase_opens_a_check_then_set_window(tmp_path: Path) -> None:
    target = _Target("check-then-set", _check_then_set)
    v = Violations(RACE)
    with ledger():
        assert _races._scheduled(v, target.open(tmp_path), target.capabilities, 24)
    found = v.found["CONC-ONE-WINNER"]
    assert "2 returned True" in found.error
    # the counterexample names the schedule: where thread 0 paused, what thread 1 ran
    assert found.counterexample is not None
    assert "pauses before its point" in found.counterexample
    assert "test_spec_races.py" in found.counterexample


@pytest.mark.parametrize(("mutant", "clause"), [
    ("TwoPhaseInsertMemory", "CONC-READ-WINNER"), ("UnlockedCheckThenSetMemory", "CONC-ONE-WINNER"),
    ("ChunkedPublishMemory", "CONC-READ-WINNER"), ("NegativeCacheMemory", "CONC-NO-STALE-READ"),
])
def test_race_mutants_are_caught_by_the_schedule_alone(mutant: str, clause: str,
                                                       tmp_path: Path) -> None:
    # no free-running phase, no luck: the scheduled phase at the quick budget finds each one
    from cachespec.conformance import resolve_target

    target = resolve_target(f"cachespec.conformance.mutants._catalogue:{mutant}")
    v = Violations(frozenset({clause}))
    with ledger():
        _races._scheduled(v, target.open(tmp_path), frozenset(target.capabilities), 30)
    assert clause in v.found
    assert "scheduled race" in (v.found[clause].counterexample or "")


_LOCK = threading.Lock()


def _locked(s: _Subject, key: Any, value: Any) -> bool:
    with _LOCK:
        return _check_then_set(s, key, value)


def test_a_correct_cache_passes_every_schedule(tmp_path: Path) -> None:
    target = _Target("locked", _locked)
    result = _run("race-threads", target, tmp_path)
    assert result.violations == []
    assert result.undecided(RACE) == set()


# -- liveness ---------------------------------------------------------------------------------
def test_a_racer_that_never_returns_is_a_liveness_violation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    never = threading.Event()

    def hang(s: _Subject, key: Any, value: Any) -> bool:
        if str(key).startswith("race-"):  # the free-running phase: one insert never returns
            never.wait()
        return _locked(s, key, value)

    monkeypatch.setattr(_races, "_STALL", 0.3)
    try:
        result = _run("race-threads", _Target("hang", hang), tmp_path)
    finally:
        never.set()
    assert [v.clause_id for v in result.violations] == ["CONC-LIVENESS"]
    assert "no racer completed an operation" in result.violations[0].error


# -- the reference targets: every clause judged ----------------------------------------------
def _run(check: str, target: Any, tmp_path: Path) -> spec.CheckResult:
    (c,) = [c for c in spec.CHECKS if c.name == check]
    return c.run(target, tmp_path, "quick", frozenset(c.clause_ids))


@pytest.mark.parametrize("name", ["reference-memory", "reference-disk"])
def test_reference_races_judge_every_clause(name: str, tmp_path: Path) -> None:
    from cachespec.conformance import resolve_target

    target = resolve_target(name)
    for check in ("race-threads", "race-async"):
        (c,) = [c for c in spec.CHECKS if c.name == check]
        if not c.capabilities <= set(target.capabilities):
            continue
        result = _run(check, target, tmp_path / check)
        assert result.violations == [], result.violations
        assert result.undecided(frozenset(c.clause_ids)) == set(), (check, result.judged)


def test_async_calls_made_while_the_executor_is_held_all_see_the_key_absent(
        tmp_path: Path) -> None:
    from cachespec.conformance import resolve_target

    target = resolve_target("cachespec.conformance.mutants._catalogue:AsyncCheckThenInsertDisk")
    result = _run("race-async", target, tmp_path)
    (found,) = [v for v in result.violations if v.clause_id == "ASYNC-ONE-WINNER"]
    assert "every executor worker was held" in (found.counterexample or "")


def test_async_errors_judge_nothing_when_sync_accepts_every_probe(tmp_path: Path) -> None:
    # the toy subject accepts any key and value, so there is no error to compare: undecided,
    # never a pass without a judgement
    result = _run("race-async", _Target("lenient", _check_then_set), tmp_path)
    assert "ASYNC-ERRORS" in result.undecided(frozenset({"ASYNC-ERRORS"}))
