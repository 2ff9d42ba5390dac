"""docs/mutants/*.txt are generated (conformance/mutants/_docs.py) and kept current: one file
per mutant of the catalogue, each a program that runs against the mutant as it is today; and no
committed doc carries a traceback or a path of the machine that generated it."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cachespec.conformance  # noqa: F401 - registers the target names the programs use
from cachespec.conformance.mutants import MUTANTS, MutantResult
from cachespec.conformance.mutants._docs import REGENERATE, render, scrub
from cachespec.spec import CHECKS, machine

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "mutants"
FILES = sorted(DOCS.glob("*.txt"))
BY_NAME = {m.name: m for m in MUTANTS}
HINT = f"regenerate with: {REGENERATE}"


def _header(text: str) -> dict[str, str]:
    return dict(re.findall(r"^# (mutant|intended clause|counterexample of): (.*)$", text, re.M))


def test_one_file_per_mutant_of_the_catalogue() -> None:
    assert {p.stem for p in FILES} == set(BY_NAME), HINT


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_file_is_a_current_program_for_its_mutant(path: Path) -> None:
    text = path.read_text()
    mutant = BY_NAME[path.stem]
    head = _header(text)
    assert head["mutant"] == f"{mutant.name} ({mutant.target})", HINT
    assert head["intended clause"] == mutant.intended_clause, HINT
    assert head["counterexample of"] == mutant.intended_clause, HINT
    tree = ast.parse(text)  # the whole file is Python
    calls = {n.func.id: n for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
             and n.func.id in ("machine", "replay")}
    assert len(calls) == 1, "exactly one machine(...) or replay(...) call"
    ((kind, call),) = calls.items()
    check, target, clause = (ast.literal_eval(a) for a in call.args[:3])
    assert target == mutant.target
    assert clause in ([mutant.intended_clause] if kind == "replay" else [[mutant.intended_clause]])
    (spec_check,) = [c for c in CHECKS if c.name == check]
    assert mutant.intended_clause in spec_check.clause_ids
    if kind == "machine":
        # every step is a method of today's machine, called with arguments it accepts
        cls = machine(check, target, [mutant.intended_clause])
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "state"):
                method = getattr(cls, node.func.attr, None)
                assert method is not None, f"state.{node.func.attr} no longer exists; {HINT}"
                inspect.signature(method).bind(None, *node.args,
                                               **{k.arg: k.value for k in node.keywords if k.arg})


def test_render_scrubs_run_specifics() -> None:
    r = MutantResult("X", "m:X", "CORE-GET-MISSING", "d", caught_by=["CORE-GET-MISSING"],
                     counterexample="# <function <lambda> at 0x7fd78064b920>\nreplay(...)",
                     failure="/tmp/cachespec-check-abc/work/x.pkl is not a file")
    text = render(r)
    assert "/tmp/" not in text and "0x7fd78064b920" not in text
    assert "# failure: <path> is not a file" in text
    assert scrub("/root/.cache/y and /work/wt/a.py") == "<path> and <path>"


_MACHINE_PATH = re.compile(r"(?<![\w.<$])/(tmp|root|work|home)/")


@pytest.mark.parametrize("path", [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*")
                                                              if p.is_file())],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_committed_doc_has_a_traceback_or_a_machine_path(path: Path) -> None:
    text = path.read_text()
    assert "Traceback (most recent call last)" not in text
    found = [line for line in text.splitlines() if _MACHINE_PATH.search(line)]
    assert found == [], found[:3]


MACHINE_FILES = [p for p in FILES if "machine(" in p.read_text()]


@pytest.mark.slow
@pytest.mark.parametrize("path", MACHINE_FILES, ids=[p.stem for p in MACHINE_FILES])
def test_machine_counterexample_still_fails_as_recorded(path: Path, tmp_path: Path) -> None:
    """Machine programs are deterministic: run as is, each fails on its clause again."""
    clause = _header(path.read_text())["counterexample of"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{clause}: " in done.stderr.strip().splitlines()[-1], done.stderr[-2000:]
