"""The upstream report on torch (docs/upstream/torch.md): every reproduction under
docs/upstream/torch/ still shows its defect against the pinned torch, is standalone (torch and
the stdlib only) and stays under 30 lines, and the report links each one."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "upstream" / "torch.md"
REPROS = sorted((ROOT / "docs" / "upstream" / "torch").glob("*.py"))
PINNED = "2.13.0"


def _installed() -> str | None:
    try:
        return version("torch").split("+")[0]
    except PackageNotFoundError:
        return None


def test_there_are_reproductions_and_the_report_names_each() -> None:
    assert REPROS
    text = REPORT.read_text()
    assert f"torch** {PINNED}" in text
    for path in REPROS:
        assert f"torch/{path.name}" in text, f"{path.name} is not linked from {REPORT.name}"
        assert path.read_text().strip() in text, f"{REPORT.name} quotes an old {path.name}"


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
    assert imported <= set(sys.stdlib_module_names) | {"torch"}, imported


@pytest.mark.skipif(_installed() != PINNED, reason=f"needs torch=={PINNED}")
@pytest.mark.parametrize("path", REPROS, ids=lambda p: p.stem)
def test_reproduction_shows_its_defect(path: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "DEFECT REPRODUCED", done.stdout
