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


def test_stress_tests_leave_nothing_in_the_temp_dir(tmp_path: Path) -> None:
    """A passing session of the stress tests (slices checked at the end, the CLI's clean run)
    removes every ``cachespec-*`` directory it made in the temp dir."""
    tmp = tmp_path / "t"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env["TMPDIR"] = str(tmp)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
         "tests/test_stress_xdist.py::test_stress_slice[nofault]",
         "tests/test_stress_cli.py::test_clean_run_reports_json_and_exits_0"],
        cwd=HERE.parent, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "2 passed" in out, out
    assert "merged check of" in out or "cachespec stress: 0 violations" in out, out
    assert sorted(p.name for p in tmp.glob("cachespec-*")) == []
