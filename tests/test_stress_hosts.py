"""A multi-host stress run simulated on one machine: two xdist gateways that present themselves
as different hosts (``CACHESPEC_STRESS_HOST``), one of them with its recorded clock an hour
ahead (``CACHESPEC_STRESS_SKEW_NS``), share one cache directory; the merged session check
applies the per-host rules (``cachespec.stress._hosts``). The reference passes in spite of the
skew; ``MissMemo``, a cache that is wrong only across hosts, fails the session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cachespec._cli import main
from cachespec.stress import StressConfig, judge_report, read_history, run_stress
from cachespec.stress._workload import Workload

HERE = Path(__file__).resolve().parent
SKEW_NS = 3600 * 10**9  # host-b's clock reads one hour more than host-a's

# --dist each: every gateway (host) runs the slice. The slices run in phases, each host's part
# of a phase chosen by PHASES (host -> one mix per phase, "" = sit this phase out), with a
# barrier between phases (a poll for the other host, not a sleep that hopes for it). So what one
# host reads of the other's writes is arranged, not left to how the two schedules happen to meet.
SLICES = '''
import json
import os
import time


def _barrier(root, phase, hosts=2):
    here = root / "barrier" / str(phase)
    here.mkdir(parents=True, exist_ok=True)
    (here / os.environ["CACHESPEC_STRESS_HOST"]).touch()
    deadline = time.monotonic() + 120  # a harness guard (the other host died), not a verdict
    while len(list(here.iterdir())) < hosts:
        assert time.monotonic() < deadline, "the other host never arrived"
        time.sleep(0.02)


def test_slice(stress_slice):
    phases = json.loads(os.environ["SLICE_PHASES"])[os.environ["CACHESPEC_STRESS_HOST"]]
    for n, mix in enumerate(phases):
        _barrier(stress_slice.root, n)
        if mix:
            res = stress_slice.run(duration=float(os.environ["SLICE_SECONDS"]), procs=2,
                                   threads=2, keys=int(os.environ["SLICE_KEYS"]), mix=mix,
                                   key_epoch=0, seed=n)
            assert res.ops > 0
'''

WRITE, READ, BOTH = "insert=1", "get=1", "get=4,insert=3,get_async=2,insert_async=1"

HOSTS = [f"popen//env:CACHESPEC_STRESS_HOST=host-a",
         f"popen//env:CACHESPEC_STRESS_HOST=host-b//env:CACHESPEC_STRESS_SKEW_NS={SKEW_NS}"]


def _run_two_hosts(tmp_path: Path, target: str, phases: dict[str, list[str]], *extra: str,
                   seconds: float = 1.0, keys: int = 12) -> tuple[int, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(HERE / "stress_mutants.py", tmp_path / "stress_mutants.py")
    (tmp_path / "test_slices.py").write_text(SLICES)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "CACHESPEC_STRESS_"))}
    env.update(SLICE_SECONDS=str(seconds), SLICE_KEYS=str(keys), SLICE_PHASES=json.dumps(phases))
    tx = [arg for spec in HOSTS for arg in ("--tx", spec)]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--dist", "each", *tx,
         "--stress-target", target, "--stress-dir", str(tmp_path),
         *extra, "test_slices.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def _one_clock(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same history with every host renamed to one: as if all times were one clock."""
    return [{**e, "host": "one"} if e["ev"] == "meta" and e.get("role") else e for e in events]


def test_reference_passes_across_skewed_hosts(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # host-b writes every key first, then both hosts share the cache: host-a reads what host-b
    # wrote (its recorded times an hour "later"), so one clock for both would see reads before
    # their writes; the per-host rules must not.
    code, out = _run_two_hosts(tmp_path, "reference-disk", {"host-a": ["", BOTH],
                                                            "host-b": [WRITE, BOTH]},
                               "--stress-keep")
    assert code == 0 and "2 passed" in out, out
    assert "on 2 host(s) (real time within each host only)" in out, out
    assert "cachespec stress: 0 violations" in out, out
    [history] = tmp_path.glob("cachespec-stress-*/history")
    events = read_history(sorted(history.glob("*.jsonl")))
    host_of = {e["src"]: e["host"] for e in events if e["ev"] == "meta" and e.get("role")}
    times: dict[str, list[int]] = {}
    for e in events:
        if e["ev"] != "meta":
            times.setdefault(host_of[e["src"]], []).append(e["t"])
    assert sorted(times) == ["host-a", "host-b"]
    # The skew is in the records: every op of host-b is "later" than every op of host-a.
    assert min(times["host-b"]) > max(times["host-a"])
    verdict = judge_report(events)
    assert verdict.violations == [] and verdict.hosts == 2
    assert main(["verify", str(history)]) == 0  # the kept session, judged again
    assert "2 hosts (real time within each host only)" in capsys.readouterr().out
    # Comparing the two clocks (one host) turns the skew into false real-time violations.
    assert {v.kind for v in judge_report(_one_clock(events)).violations} & {
        "read-before-write", "late-winner", "lost-write", "stale-read"}


def test_a_cache_wrong_only_across_hosts_fails_the_session(tmp_path: Path) -> None:
    # host-a misses every key (MissMemo memoizes the misses), host-b then inserts them all, and
    # host-a comes back: its inserts lose (the key is there) and its gets still miss. Each
    # host's slices alone see nothing wrong; the merged check of the session must.
    code, out = _run_two_hosts(tmp_path, "stress_mutants:MissMemo",
                               {"host-a": [READ, "", BOTH], "host-b": ["", WRITE, ""]}, keys=4)
    assert "2 passed" in out, out  # each host's slices on their own see nothing wrong
    assert code == 1, out
    assert "merged check of" in out and "stale-read" in out, out


def test_the_cross_host_mutant_is_correct_on_one_host(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The same cache on one host, with the full real-time check: nothing to find. So only the
    # multi-host run above can catch it.
    monkeypatch.delenv("CACHESPEC_STRESS_HOST", raising=False)
    cfg = StressConfig(target="stress_mutants:MissMemo", procs=2, threads=2, duration=1.5,
                       workload=Workload(keys=12, seed=3), storage=tmp_path / "cache",
                       history_dir=tmp_path / "history")
    res = run_stress(cfg)
    assert res.ops > 100
    assert res.violations == [], [v.kind for v in res.violations]
