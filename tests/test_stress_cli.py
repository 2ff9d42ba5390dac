"""``cachespec stress`` from the command line: exit codes, JSON report, usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cachespec.stress._workload import (
    Workload, WorkloadError, make_value, parse_mix, parse_value_sizes,
)

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, timeout: float = 120, tmp: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    """Run ``cachespec stress``; ``tmp`` becomes its temp dir, so what it leaves is seen."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if tmp is not None:
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp)
    return subprocess.run([sys.executable, "-m", "cachespec", "stress", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def _left(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("cachespec-*"))


def test_clean_run_reports_json_and_exits_0(tmp_path) -> None:
    out = tmp_path / "report.json"
    hist = tmp_path / "merged.jsonl"
    proc = _cli("reference-disk", "--procs", "2", "--threads", "2", "--duration", "2",
                "--json", str(out), "--history", str(hist), tmp=tmp_path / "t")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _left(tmp_path / "t") == [], "a passing run removes its temporary directory"
    assert "kept" not in proc.stdout
    report = json.loads(out.read_text())
    assert report["ops"] > 0 and report["ops_per_s"] > 0
    assert report["violations"] == [] and report["verdict"] == "ok"
    assert set(report["latency_ms"]) <= {"get", "insert", "get_async", "insert_async"}
    assert "verdict: ok" in proc.stdout
    events = [json.loads(line) for line in hist.read_text().splitlines()]
    assert sum(e["ev"] == "invoke" for e in events) >= report["ops"]


def test_violations_exit_1_with_excerpts(tmp_path) -> None:
    proc = _cli("tests.stress_mutants:CheckThenCreate", "--procs", "3", "--threads", "3",
                "--duration", "4", "--json", "-", tmp=tmp_path / "t")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["violations"]
    v = report["violations"][0]
    assert {"kind", "key", "excerpt", "clause"} <= set(v) and v["excerpt"]
    # A failing run keeps its history (not the bulky entries) and says where.
    [kept] = (tmp_path / "t").glob("cachespec-stress-*")
    assert report["kept"] == str(kept / "history") and f"kept in {kept / 'history'}" in proc.stderr
    assert any((kept / "history").glob("*.jsonl")) and not (kept / "cache").exists()


def test_keep_keeps_a_passing_run(tmp_path) -> None:
    proc = _cli("reference-disk", "--procs", "1", "--threads", "1", "--duration", "1", "--keep",
                tmp=tmp_path / "t")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [kept] = (tmp_path / "t").glob("cachespec-stress-*")
    assert (kept / "cache").is_dir() and any((kept / "history").glob("*.jsonl"))
    assert f"kept in {kept}" in proc.stdout


@pytest.mark.parametrize("args, needle", [
    (["reference-disk", "--faults", "explode"], "unknown fault"),
    (["reference-disk", "--mix", "get=x"], "mix"),
    (["reference-disk", "--value-size", "9-1"], "value-size"),
    (["no-such-target"], "unknown target"),
    (["reference-memory"], "processes"),
    (["reference-disk", "--procs", "1", "--faults", "version"], "--procs"),
    (["reference-disk", "--procs", "0"], "positive"),
])
def test_usage_errors_exit_2(args: list[str], needle: str) -> None:
    proc = _cli(*args, "--duration", "1")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_workload_parsing() -> None:
    assert parse_mix("get=1,insert_async=2")["insert_async"] == 2.0
    assert parse_value_sizes("16-4M") == ((1.0, 16, 4 * 1024**2),)
    with pytest.raises(WorkloadError):
        parse_mix("get=0")
    with pytest.raises(WorkloadError):
        parse_value_sizes("big")


def test_values_are_unique_and_sized() -> None:
    values = [make_value(size, group=None, slot=0) for size in (1, 100, 5000, 5000)]
    assert len(set(values)) == len(values)
    assert [len(v) for v in values[1:]] == [100, 5000, 5000]


def test_keys_are_skewed_and_epochs_fresh() -> None:
    wl = Workload(keys=16, seed=3, epoch=0.5)
    chooser = wl.chooser(0)
    ranks = [chooser.key_index() for _ in range(4000)]
    assert ranks.count(0) > 4 * ranks.count(15)
    assert wl.key(wl.epoch_at(1.2) * wl.keys) not in wl.keys_until(0.4)


def test_reads_of_a_corrupted_key_must_not_return_garbage() -> None:
    from cachespec.stress._judge import garbage_reads as _garbage_reads

    def op(ev: str, i: int, op: str, **kw: object) -> dict:
        return {"ev": ev, "t": i, "pid": 1, "id": i, "op": op, "key": "'k'", **kw}

    events = [op("invoke", 1, "insert", value="aa"), op("ok", 1, "insert", result=True),
              op("invoke", 2, "get"), op("ok", 2, "get", result="aa"),
              op("invoke", 3, "get"), op("ok", 3, "get", result=None)]
    assert _garbage_reads(events, {"'k'"}) == []
    bad = events + [op("invoke", 4, "get"), op("ok", 4, "get", result="ff")]
    [v] = _garbage_reads(bad, {"'k'"})
    assert v.kind == "wrong-value" and v.key == "'k'"
    assert _garbage_reads(bad, set()) == []  # only corrupted keys get this relaxed check


def test_a_bad_simulated_clock_skew_is_a_usage_error() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CACHESPEC_STRESS_SKEW_NS": "1h"}
    proc = subprocess.run([sys.executable, "-m", "cachespec", "stress", "reference-disk",
                           "--ops", "10"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "cachespec stress: error: CACHESPEC_STRESS_SKEW_NS='1h' is not an integer number of "
        "nanoseconds"]
