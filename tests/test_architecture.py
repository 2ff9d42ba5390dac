"""The shape of the code a newcomer relies on: dependencies point one way (reference, spec,
conformance, stress, CLI), modules stay small, and every clause id the code or docs cite exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import importgraph  # noqa: E402

#: the installed package's source folders
PACKAGE_DIRS = [ROOT / d for d in ("reference", "spec", "conformance", "stress", "src")]
MAX_LINES = 420  #: "about 400": a module a reader takes in one sitting
CLAUSE_ID = re.compile(r"\b(?:CORE|KEY|ASYNC|DISK|VERSION|LOAD|ERROR|ISO|SAFE|CONC|CRASH)"
                       r"-[A-Z0-9]+(?:-[A-Z0-9]+)*\b")


def test_no_upward_imports() -> None:
    bad = importgraph.upward(importgraph.edges())
    assert not bad, "\n".join(f"{a} -> {b}" for a, b in bad)


def test_the_graph_script_runs_and_says_so() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "importgraph.py")],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.rstrip().endswith("no upward edges")


def test_the_graph_sees_an_upward_edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the checker itself can fail: a spec module importing conformance is reported
    fake = tmp_path / "spec"
    fake.mkdir()
    (fake / "_bad.py").write_text("from cachespec.conformance import resolve_target\n")
    monkeypatch.setitem(importgraph.FOLDERS, "cachespec.spec", fake)
    assert ("cachespec.spec._bad", "cachespec.conformance") in importgraph.upward(
        importgraph.edges())


def test_modules_are_small() -> None:
    big = {}
    for folder in PACKAGE_DIRS:
        for path in folder.rglob("*.py"):
            n = len(path.read_text().splitlines())
            if n > MAX_LINES:
                big[str(path.relative_to(ROOT))] = n
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def _cited_ids() -> dict[str, set[str]]:
    where: dict[str, set[str]] = {}
    files = [p for d in PACKAGE_DIRS for p in d.rglob("*.py")]
    files += list((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    files += list((ROOT / "examples").rglob("*.py"))
    for path in files:
        for cid in CLAUSE_ID.findall(path.read_text()):
            where.setdefault(cid, set()).add(str(path.relative_to(ROOT)))
    return where


def test_every_cited_clause_id_exists() -> None:
    from cachespec.spec import CLAUSES

    known = {c.id for c in CLAUSES}
    # prefixes of families ("CONC-PROC-*" in a sentence) are patterns, not ids
    unknown = {cid: sorted(paths) for cid, paths in _cited_ids().items()
               if cid not in known and not any(k.startswith(cid + "-") for k in known)}
    assert not unknown, unknown
