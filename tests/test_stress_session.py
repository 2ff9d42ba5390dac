"""The xdist mode end to end: a nested ``pytest -n 2`` whose slices run a buggy cache must fail
at the session's merged check, although each slice test on its own passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SLICES = '''
import pytest

@pytest.mark.parametrize("n", [0, 1])
def test_slice(stress_slice, n):
    res = stress_slice.run(duration=3.0, procs=2, threads=3, seed=n)
    assert res.ops > 0
'''


def test_merged_check_fails_the_session(tmp_path: Path) -> None:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(HERE / "stress_mutants.py", tmp_path / "stress_mutants.py")
    (tmp_path / "test_slices.py").write_text(SLICES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
         "--stress-target", "stress_mutants:CheckThenCreate", "--stress-dir", str(tmp_path),
         "test_slices.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    out = proc.stdout + proc.stderr
    assert "2 passed" in out, out
    assert proc.returncode == 1, out
    assert "merged check of" in out and "two-winners" in out, out
    kept = list(tmp_path.glob("cachespec-stress-*/history/*.jsonl"))
    assert kept, "a failing run keeps its histories"
