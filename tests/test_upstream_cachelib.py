"""The upstream report on cachelib (docs/upstream/cachelib.md): every reproduction under
docs/upstream/cachelib/ still shows its defect against the pinned cachelib, is standalone (the
library and the stdlib only) and stays under 30 lines, and the report links each one."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "upstream" / "cachelib.md"
REPROS = sorted((ROOT / "docs" / "upstream" / "cachelib").glob("*.py"))
PINNED = "0.17.0"


def _installed() -> str | None:
    try:
        return version("cachelib")
    except PackageNotFoundError:
        return None


def test_there_are_reproductions_and_the_report_names_each() -> None:
    assert REPROS
    text = REPORT.read_text()
    assert f"cachelib {PINNED}" in text
    for path in REPROS:
        assert f"cachelib/{path.name}" in text, f"{path.name} is not linked from {REPORT.name}"


@pytest.mark.parametrize("path", REPROS, ids=lambda p: p.stem)
def test_reproduction_is_standalone_and_short(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) < 30
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"cachelib"}, imported


@pytest.mark.skipif(_installed() != PINNED, reason=f"needs cachelib=={PINNED}")
@pytest.mark.parametrize("path", REPROS, ids=lambda p: p.stem)
def test_reproduction_shows_its_defect(path: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "DEFECT REPRODUCED", done.stdout
