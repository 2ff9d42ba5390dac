"""Liveness by progress, and one verdict for a recorded run whoever judges it.

``StallWatch`` is driven with explicit times (no sleeps): an op is stuck only when no op of the
run completed for ``timeout`` seconds while it was in flight, never because a busy machine made
it slow. The end-to-end tests record real runs under each fault, on the reference and on
mutants, and judge them live, with ``cachespec verify`` and with the xdist session check.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cachespec.stress import StressConfig, StressViolation, judge, read_history, run_stress
from cachespec.stress._fleet import StallWatch
from cachespec.stress._workload import Workload

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class _Shared:
    done: list[int]
    ops: dict[int, tuple[str, int, int, float]] = field(default_factory=dict)

    def in_flight(self, slot: int) -> tuple[str, int, int, float] | None:
        return self.ops.get(slot)


@dataclass
class _Proc:
    pid: int


@dataclass
class _Config:
    group: str | None = None


class _Fleet:
    def __init__(self, procs: int, threads: int) -> None:
        self.threads = threads
        self.procs = {i: _Proc(100 + i) for i in range(procs)}
        self.configs = [_Config() for _ in range(procs)]

    def live(self) -> list[int]:
        return list(self.procs)

    def slots(self, index: int) -> range:
        return range(index * self.threads, (index + 1) * self.threads)


class _Writer:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def meta(self, **fields: Any) -> None:
        self.records.append(fields)


def _watch(timeout: float = 10.0) -> tuple[StallWatch, _Shared, _Writer]:
    shared, writer = _Shared(done=[0, 0, 0, 0]), _Writer()
    watch = StallWatch(shared, _Fleet(2, 2), Workload(seed=0), timeout, writer)  # type: ignore[arg-type]
    watch.tick(0.0)
    return watch, shared, writer


def test_a_slow_op_on_a_busy_machine_is_not_stuck() -> None:
    watch, shared, writer = _watch()
    shared.ops[0] = ("insert", 1, 4 << 20, 0.0)  # a large insert, slow under load
    for second in range(1, 60):  # others keep completing, one op a second
        shared.done[1] += 1
        assert watch.tick(float(second)) == []
    assert writer.records == []  # a fixed 10 s limit per op would have called it stuck


def test_an_op_in_flight_while_nothing_completes_is_stuck() -> None:
    watch, shared, writer = _watch()
    shared.ops[0] = ("get", 2, 0, 0.0)
    shared.done[1] += 1
    watch.tick(1.0)  # the last completion
    assert watch.tick(10.9) == [] and writer.records == []
    shared.ops[2] = ("insert", 3, 10, 8.0)  # started during the stall: not long enough yet
    assert watch.tick(11.5) == [0]
    [rec] = writer.records
    assert rec["event"] == "stuck" and rec["op"] == "get" and rec["victim"] == 100
    assert rec["since_s"] == 11.5 and rec["stalled_s"] == 10.5
    assert watch.tick(12.0) == [0] and len(writer.records) == 1  # recorded once
    assert watch.tick(18.5) == [0, 1] and len(writer.records) == 2


def test_idle_time_is_not_a_stall() -> None:
    watch, shared, writer = _watch()
    assert watch.tick(30.0) == []  # nothing in flight: no progress is owed
    shared.ops[3] = ("get", 0, 0, 30.0)
    assert watch.tick(39.0) == [] and watch.tick(40.5) == [1]


# -- one verdict, whoever judges ---------------------------------------------------------------
CASES = [
    ("reference-disk", ""), ("reference-disk", "kill"), ("reference-disk", "corrupt"),
    ("reference-disk", "version"), ("reference-disk", "lockholder"),
    ("tests.stress_mutants:CheckThenCreate", "kill"),
    ("tests.stress_mutants:HalfWritten", "corrupt"),
    ("tests.stress_mutants:LeakyLock", "lockholder"),
]
FAULT_RECORD = {"kill": "kill", "corrupt": "corrupt", "lockholder": "lockholder"}


def _canon(violations: list[Any]) -> list[tuple[Any, ...]]:
    rows = []
    for v in violations:
        d = v if isinstance(v, dict) else v.__dict__
        rows.append((d["kind"], d["clause"], d["key"], d["group"], d["message"]))
    return sorted(rows)


@pytest.mark.parametrize("target, faults", CASES, ids=[f"{t.rsplit(':')[-1]}-{f or 'none'}"
                                                       for t, f in CASES])
def test_live_verify_and_session_give_one_verdict(tmp_path: Path, target: str,
                                                  faults: str) -> None:
    from cachespec._cli import main
    from cachespec.stress._faults import parse_faults
    from cachespec.stress._xdist import check_session

    cfg = StressConfig(target=target, procs=2, threads=2, duration=2.5,
                       workload=Workload(seed=3), faults=parse_faults(faults),
                       storage=tmp_path / "cache", history_dir=tmp_path / "history",
                       stuck_timeout=2.0, lockholder_interval=1.0, seed=3)
    res = run_stress(cfg)
    events = read_history(res.history_files)
    metas = [e for e in events if e["ev"] == "meta"]
    if faults in FAULT_RECORD:  # the fault is IN the history, so any judge can excuse it
        assert any(m.get("fault") == FAULT_RECORD[faults] for m in metas), res.faults
    if faults == "lockholder":  # taking the lock, then dying with it
        taken = [m["t_held"] for m in metas if m.get("fault") == "lockholder-holding"]
        kills = [m["t_kill"] for m in metas if m.get("fault") == "lockholder"]
        assert taken and kills and min(taken) < min(kills)
    assert any("final_reads" in m for m in metas)
    assert all(isinstance(v, StressViolation) and v.clause for v in res.violations)

    live = _canon(res.violations)
    assert _canon(judge(events)) == live
    report = tmp_path / "verify.json"
    assert main(["verify", str(tmp_path / "history"), "--json", str(report)]) == (
        1 if live else 0)
    assert _canon(json.loads(report.read_text())["violations"]) == live
    session, _ = check_session(tmp_path)
    assert _canon(session) == live
    if target == "reference-disk":
        assert live == [], live


# -- the soak of issue #8.8 ----------------------------------------------------------------
SOAK = ["reference-disk", "--procs", "4", "--duration", "30", "--faults",
        "kill,corrupt,version,lockholder"]


@pytest.mark.soak
def test_all_faults_pass_beside_two_cpu_burners(tmp_path: Path) -> None:
    """`cachespec stress reference-disk --procs 4 --duration 30 --faults
    kill,corrupt,version,lockholder` gives 0 violations while two CPU-burning processes run."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
        proc = subprocess.run([sys.executable, "-m", "cachespec", "stress", *SOAK], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=900)
    finally:
        for b in burners:
            os.kill(b.pid, signal.SIGKILL)
            b.wait()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verdict: ok, 0 violations" in proc.stdout
    assert list(tmp_path.glob("cachespec-*")) == []



def test_the_corrupter_holds_no_open_instance_between_ticks(tmp_path: Path) -> None:
    """Workers are forked between the parent's ticks: the corrupter must have closed the
    instance it used, so no child inherits an open one."""
    import random

    from cachespec.stress._faults import CorruptFault

    entry = tmp_path / "entry"
    entry.write_bytes(b"x" * 64)
    opened: list[Any] = []

    class Subject:
        closed = False

        def entry_files(self) -> Any:
            return iter([entry])

        def close(self) -> None:
            self.closed = True

    def open_subject() -> Subject:
        opened.append(Subject())
        return opened[-1]

    writer = _Writer()
    fault = CorruptFault(open_subject, writer, random.Random(1), 0.5, float("inf"))
    fault.tick(fault.due)
    assert len(opened) == 1 and opened[0].closed
    [rec] = writer.records
    assert rec["fault"] == "corrupt" and rec["file"] == str(entry)
