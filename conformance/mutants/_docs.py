"""docs/mutants/<Name>.txt: each caught mutant's counterexample as a runnable program.

A file is a Python program (``python docs/mutants/StrKeyMemory.txt`` shows the failure again):
a comment header (mutant, target, intended clause, the clause its counterexample shows, the
failure message) above the standalone program the check printed (see cachespec.spec._replay).
Everything run-specific is scrubbed (temporary paths, object addresses), so the committed
files change only when a counterexample does; ``REGENERATE`` rewrites them all and
tests/test_mutants_docs.py keeps them current.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: the one command that rewrites docs/mutants/ (run from the repository root)
REGENERATE = ("cachespec mutants --profile quick --intended-only "
              "--counterexamples docs/mutants --overwrite")

_ADDRESS = re.compile(r"\bat 0x[0-9a-f]{6,}")
_ROOTS = sorted({tempfile.gettempdir(), "/tmp", "/root", "/work", "/home", "/var/folders"},
                key=len, reverse=True)
_PATH = re.compile("(?:" + "|".join(re.escape(r) for r in _ROOTS) + r")/[^\s'\")\],]*")


def scrub(text: str) -> str:
    """``text`` without this run's machine specifics: paths under temp/home/work directories
    become ``<path>``, object addresses ``at 0x...``."""
    return _ADDRESS.sub("at 0x...", _PATH.sub("<path>", text))


def render(result: Any) -> str:
    """The file's text for a caught mutant (a MutantResult)."""
    clause = result.intended_clause if result.caught_as_intended else result.caught_by[0]
    failure = scrub(result.failure or "").splitlines() or [""]
    program = scrub(result.counterexample or
                    "# (no counterexample recorded by the check)\n").rstrip("\n")
    return "\n".join([
        f"# mutant: {result.name} ({result.target})",
        f"# intended clause: {result.intended_clause}",
        f"# counterexample of: {clause}",
        *[f"# failure: {failure[0]}", *(f"#   {line}" for line in failure[1:])],
        f"# regenerate: {REGENERATE}",
        "",
        program, ""])


def write(results: Iterable[Any], directory: Path, overwrite: bool = False,
          prune: Iterable[str] | None = None) -> list[Path]:
    """Write each caught mutant's file (kept if present unless ``overwrite``). ``prune``: the
    names of every mutant in the catalogue; other ``.txt`` files in ``directory`` are removed
    (a mutant that left the catalogue)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for r in results:
        if not r.killed:
            continue
        path = directory / f"{r.name}.txt"
        if path.exists() and not overwrite:
            continue
        path.write_text(render(r))
        written.append(path)
    if prune is not None:
        keep = set(prune)
        for stale in directory.glob("*.txt"):
            if stale.stem not in keep:
                stale.unlink()
    return written


__all__ = ["REGENERATE", "render", "scrub", "write"]
