"""The one judge of stress runs (``cachespec.stress._judge``), on hand-written histories.

Each test builds the records a run would write (ops, faults, observations, final reads) and
checks what the judge decides from them alone: so a verdict never depends on who judges.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cachespec.spec import CLAUSES
from cachespec.stress import CONC_LIVENESS, judge, judge_report

K = "'k'"
S = 1_000_000_000  # one second in ns


def op(n: int, name: str, t0: float, t1: float | None, *, key: str = K, pid: int = 1,
       value: str | None = None, result: Any = None, error: str | None = None,
       group: str | None = None) -> list[dict[str, Any]]:
    """The invoke (and completion, unless ``t1`` is None) of one op; times in seconds."""
    inv: dict[str, Any] = {"ev": "invoke", "t": int(t0 * S), "pid": pid, "id": n, "op": name,
                           "key": key}
    if value is not None:
        inv["value"] = value
    if group is not None:
        inv["group"] = group
    if t1 is None:
        return [inv]
    head = {"t": int(t1 * S), "pid": pid, "id": n, "op": name, "key": key}
    done = ({"ev": "fail", **head, "error": error} if error else
            {"ev": "ok", **head, "result": result})
    return [inv, done]


def parent(host: str = "h1", error_type: str = "CacheError") -> dict[str, Any]:
    return {"ev": "meta", "t": 0, "role": "parent", "host": host, "error_type": error_type}


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((v.kind, v.clause) for v in judge(events))


def test_liveness_observations_are_clause_violations() -> None:
    events = [parent(), *op(0, "insert", 0, 0.1, value="aa", result=True),
              {"ev": "meta", "t": 5, "event": "stuck", "op": "get", "key": K, "victim": 7,
               "slot": 0, "since_s": 12.0, "stalled_s": 10.5},
              {"ev": "meta", "t": 6, "event": "worker-died", "index": 1, "victim": 8,
               "exitcode": 3},
              {"ev": "meta", "t": 7, "event": "final-stalled", "group": None, "done": 3,
               "of": 9, "stalled_s": 10.0, "exitcode": -9}]
    found = judge(events)
    assert [v.kind for v in found] == ["stuck", "worker-died", "stuck"]
    assert {v.clause for v in found} == {CONC_LIVENESS}
    assert "no operation of the run completed for 10.5 s" in found[0].message
    assert "made no progress for 10.0 s, after 3 of 9 keys" in found[2].message


def test_final_reads_decide_durability_and_errors() -> None:
    events = [parent(error_type="MyError"), *op(0, "insert", 0, 1, value="aa", result=True),
              *op(1, "insert", 0, 1, key="'j'", value="bb", result=True),
              *op(2, "insert", 0, 1, key="'x'", value="cc", result=True),
              {"ev": "meta", "t": 9, "final_reads": {K: None, "'j'": {"error": "MyError"},
                                                     "'x'": {"error": "KeyError"}}}]
    assert kinds(events) == [("not-durable", "CRASH-DURABLE"),
                             ("spurious-error", "CRASH-ATOMIC"),
                             ("unexpected-error", "ERROR-ONLY-CACHEERROR")]


def test_corruption_is_read_from_the_recorded_fault() -> None:
    events = [parent(), *op(0, "insert", 0, 1, value="aa", result=True),
              *op(1, "get", 2, 3, result="ff")]
    assert kinds(events) == [("wrong-value", "CONC-READ-WINNER")]
    corrupt = {"ev": "meta", "t": 1, "fault": "corrupt", "key": K, "mode": "garbage"}
    # The corrupter wrote garbage: the register check is off for the key, but the garbage
    # must never be returned as a value.
    assert kinds(events + [corrupt]) == [("wrong-value", "CONC-READ-WINNER")]
    assert "corrupted entry" in judge(events + [corrupt])[0].message
    fine = events[:-1] + [{**events[-1], "ev": "fail", "error": "CacheError"}]
    assert kinds(fine) == [("spurious-error", "CRASH-ATOMIC")]
    assert kinds(fine + [corrupt]) == []


def test_several_hosts_compare_clocks_only_within_a_host() -> None:
    # a get that returned None after the insert completed: stale only by the clock
    events = [*op(0, "insert", 0, 1, value="aa", result=True), *op(1, "get", 2, 3, pid=2)]
    assert kinds([parent("h1"), *events]) == [("lost-write", "CONC-NO-STALE-READ")]
    # The insert's file is on host h1, the get's on h2: their clocks cannot be compared.
    on_hosts = [{**parent("h1"), "src": 0}, {**parent("h2"), "src": 1},
                {**events[0], "src": 0}, {**events[1], "src": 0},
                {**events[2], "src": 1}, {**events[3], "src": 1}]
    report = judge_report(on_hosts)
    assert report.violations == [] and report.clock is True and report.hosts == 2
    # Both ops in h1's file: one clock, so the lost write is judged.
    same = [{**e, "src": 0} if e["ev"] != "meta" else e for e in on_hosts]
    assert [v.kind for v in judge(same)] == ["lost-write"]


def _lock_history(other_took: float) -> list[dict[str, Any]]:
    """A lock holder on K killed at t=10; an insert on K waits 3 s after it; meanwhile an
    insert of another key takes ``other_took`` seconds."""
    return [parent(), {"ev": "meta", "t": 10 * S, "fault": "lockholder", "key": K,
                       "t_kill": 10 * S},
            *op(0, "insert", 9.5, 13.0, value="aa", result=True),
            *op(1, "insert", 10.5, 10.5 + other_took, key="'j'", pid=2, value="bb",
                result=True)]


def test_lock_release_is_judged_against_the_progress_of_other_ops() -> None:
    # Other inserts took 10 ms while this one waited 3 s: the dead holder's lock held it.
    [v] = judge(_lock_history(0.01))
    assert (v.kind, v.clause) == ("lock-not-released", CONC_LIVENESS)
    # A busy machine: every insert takes seconds. A fixed 2 s limit would fail a correct
    # cache here; progress says the wait was the machine's, not the lock's.
    assert judge(_lock_history(2.5)) == []
    # Parents of two hosts and ops of no known host: the kill time is compared with nothing.
    assert judge([parent("h2"), *_lock_history(0.01)]) == []


def test_lock_release_compares_the_kill_only_with_ops_of_the_killers_host() -> None:
    # The parent (src 0) killed the holder; the ops ran in a worker file (src 1).
    parent_rec, kill, *ops = _lock_history(0.01)
    def on(worker_host: str, skew: int) -> list[dict[str, Any]]:
        return [{**parent_rec, "src": 0}, {**kill, "src": 0},
                {"ev": "meta", "t": 0, "role": "worker", "host": worker_host, "src": 1},
                *({**e, "src": 1, "t": e["t"] + skew} for e in ops)]

    assert [v.kind for v in judge(on("h1", 0))] == ["lock-not-released"]
    # On another host (its clock an hour off), the kill time says nothing about these ops.
    assert judge(on("h2", 3600 * S)) == []


def test_every_clause_the_stress_judge_names_is_in_the_spec() -> None:
    import cachespec.stress._checker as checker
    import cachespec.stress._judge as judge_mod

    ids = {getattr(m, n) for m in (checker, judge_mod) for n in dir(m)
           if isinstance(getattr(m, n), str) and re.fullmatch(r"[A-Z]+(-[A-Z]+)+", getattr(m, n))}
    ids |= set(checker.KIND_CLAUSE.values())
    known = {c.id for c in CLAUSES}
    assert CONC_LIVENESS in ids and ids <= known, sorted(ids - known)


def _write_run(run: Path, records: list[dict[str, Any]]) -> Path:
    (run / "history").mkdir(parents=True)
    path = run / "history" / "run-parent-1.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return run / "history"


def test_verify_judges_each_run_on_its_own(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from cachespec._cli import main

    # Two clean runs that used the same key name: merged, they would have two winners.
    a = _write_run(tmp_path / "cachespec-stress-a", [
        parent(), *op(0, "insert", 0, 1, value="aa", result=True)])
    b = _write_run(tmp_path / "cachespec-stress-b", [
        parent(), *op(0, "insert", 0, 1, value="bb", result=True)])
    assert main(["verify", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "2 runs judged one by one: no violations" in out and "two-winners" not in out
    # The README's glob, and run directories (holding history/) name the same runs.
    assert main(["verify", *map(str, sorted(tmp_path.glob("cachespec-stress-*")))]) == 0
    capsys.readouterr()
    bad = _write_run(tmp_path / "cachespec-stress-c", [
        parent(), *op(0, "insert", 0, 1, value="aa", result=True),
        *op(1, "insert", 0, 1, pid=2, value="cc", result=True)])
    report = tmp_path / "r.json"
    assert main(["verify", str(a), str(bad), "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "2 runs judged one by one: 1 with violations" in out
    runs = json.loads(report.read_text())["runs"]
    assert [len(r["violations"]) for r in runs] == [0, 1]
    assert runs[1]["history"] == str(bad.resolve())
