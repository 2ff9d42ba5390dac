"""The upstream reports (docs/upstream/<library>.md): every reproduction under
docs/upstream/<library>/ is standalone (the library and the stdlib only), stays under 30 lines,
is linked from its report, and still shows its defect (last stdout line ``DEFECT REPRODUCED``)
against the version pyproject.toml pins for that library."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM = ROOT / "docs" / "upstream"
LIBRARIES = sorted(p.stem for p in UPSTREAM.glob("*.md"))
REPROS = sorted(UPSTREAM.glob("*/*.py"))


def _pinned(dist: str) -> str:
    """The version the extras pin (the one the reports were written against)."""
    pins = set(re.findall(rf'"{re.escape(dist)}==([^"]+)"', (ROOT / "pyproject.toml").read_text()))
    assert len(pins) == 1, f"pyproject.toml pins {dist} as {sorted(pins)}"
    return pins.pop()


def _installed(dist: str) -> str | None:
    try:
        return version(dist).split("+")[0]  # torch's local tag: 2.13.0+cpu
    except PackageNotFoundError:
        return None


@pytest.mark.parametrize("library", LIBRARIES)
def test_each_report_names_the_pinned_version_and_links_its_reproductions(library: str) -> None:
    text = (UPSTREAM / f"{library}.md").read_text()
    repros = sorted((UPSTREAM / library).glob("*.py"))
    assert repros, f"docs/upstream/{library}.md has no reproduction under {library}/"
    assert _pinned(library) in text
    for path in repros:
        assert f"{library}/{path.name}" in text, f"{path.name} is not linked from {library}.md"
        source = path.read_text().strip()
        if source.splitlines()[0] in text:  # the report quotes it: the quote must be current
            assert source in text, f"{library}.md quotes an old {path.name}"


@pytest.mark.parametrize("path", REPROS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_reproduction_is_standalone_and_short(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) < 30
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {path.parent.name}, imported


@pytest.mark.parametrize("path", REPROS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_reproduction_still_shows_its_defect(path: Path, tmp_path: Path) -> None:
    library = path.parent.name
    if _installed(library) != _pinned(library):
        pytest.skip(f"needs {library}=={_pinned(library)} (pip install 'cachespec[{library}]')")
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines and lines[-1] == "DEFECT REPRODUCED", (
        f"exit {done.returncode}; stdout: {done.stdout!r}; stderr tail: {done.stderr[-500:]!r}")
