"""``cachespec bench``: the output's shape (never its timings)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cachespec._cli import main

ROW_LABELS = ["raw get floor", "reference OnDiskCache.get", "reference InMemoryCache.get",
              "raw insert floor", "reference OnDiskCache.insert", "reference InMemoryCache.insert"]


def _check_table(out: str, with_torch: bool) -> None:
    lines = out.splitlines()
    assert lines[1].split()[:1] == ["operation"] and "small ops/s" in lines[1] and "large ops/s" in lines[1]
    for label in ROW_LABELS + (["torch OnDiskCache.get", "torch OnDiskCache.insert"] if with_torch else []):
        row = next(line for line in lines if line.startswith(label))
        cells = row[40:].split()
        assert len(cells) == 2 and all(float(c.replace(",", "")) > 0 for c in cells), row
    verdicts = [line for line in lines if line.endswith((" met", " MISSED"))]
    names = {line[:48].strip() for line in verdicts}
    assert "reference get time <= 1.5x raw get floor" in names
    assert "reference insert time <= 2x raw insert floor" in names
    assert ("reference get >= 5x faster than torch get" in names) is with_torch
    assert len(verdicts) == 2 * len(names)  # one per value size


def test_bench_quick_prints_the_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--no-torch", "--json", str(report), "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    _check_table(out, with_torch=False)
    assert "note: torch skipped (--no-torch)" in out
    data = json.loads(report.read_text())
    assert set(data["results"]) == {"small", "large"}
    assert set(data["results"]["small"]["get"]) == {"raw", "reference", "memory"}
    assert all(isinstance(t["met"], bool) and t["ratio"] > 0 for t in data["targets"])
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"], "bench must clean up its files"


@pytest.mark.parametrize("argv", [["--seconds", "0"], ["--rounds", "0"], ["--json", "/nonexistent/dir/x.json"],
                                  ["--dir", "/nonexistent/dir"]])
def test_bench_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", *argv]) == 2
    assert "cachespec bench: error:" in capsys.readouterr().err


_WITH_TORCH = """
import os, sys
os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
from torch._inductor.cache import InductorOnDiskCache as TorchInductor
from cachespec.reference import InductorOnDiskCache
print("inductor base dirs agree:", TorchInductor().base_dir == InductorOnDiskCache().base_dir, flush=True)
from cachespec._cli import main
sys.exit(main(["bench", "--quick", "--dir", sys.argv[1]]))
"""


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_with_torch_bench_quick_and_inductor_default_dir(tmp_path: Path) -> None:
    """One torch import (slow) serves two checks: the bench's torch rows, and that the reference
    InductorOnDiskCache defaults to torch's directory without importing torch itself."""
    done = subprocess.run([sys.executable, "-c", _WITH_TORCH, str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, rest = done.stdout.split("\n", 1)
    assert first == "inductor base dirs agree: True"
    _check_table(rest, with_torch=True)
