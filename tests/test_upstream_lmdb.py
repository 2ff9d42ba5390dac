"""docs/upstream/lmdb/*.py: each reproduction of a lmdb defect still shows it with
the pinned lmdb (last stdout line ``DEFECT REPRODUCED``)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

PINNED = "3.0.0"
REPROS = sorted((Path(__file__).resolve().parents[1] / "docs" / "upstream" / "lmdb")
                .glob("*.py"))


def _installed() -> str | None:
    try:
        return version("lmdb")
    except PackageNotFoundError:
        return None


def test_there_is_a_reproduction() -> None:
    assert [p.name for p in REPROS] == ["stale-readers-block-open.py"]


@pytest.mark.skipif(_installed() != PINNED, reason=f"needs lmdb=={PINNED} "
                    "(pip install 'cachespec[lmdb]')")
@pytest.mark.parametrize("path", REPROS, ids=lambda p: p.stem)
def test_upstream_reproduction_still_shows_the_defect(path: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines and lines[-1] == "DEFECT REPRODUCED", (
        f"exit {done.returncode}; stdout: {done.stdout!r}; stderr tail: {done.stderr[-500:]!r}")
