"""Running the catalogue: check each mutant with the conformance runner and record what caught it.

A mutant is *killed* when at least one clause fails on it; it is *caught as intended* when its
``intended_clause`` is among them. A mutant whose worker could not start is an error, never a
kill: a mutant that does not import proves nothing about the checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cachespec.conformance.mutants._catalogue import MUTANTS, Mutant

#: "full": every clause (the table shows everything that caught the mutant);
#: "intended": only the mutant's intended clause (fast; what the kill test needs)
SCOPES = ("full", "intended")


@dataclass
class MutantResult:
    name: str
    target: str
    intended_clause: str
    description: str
    caught_by: list[str] = field(default_factory=list)
    first_failure_seconds: float | None = None
    seconds: float = 0.0
    error: str | None = None  #: the mutant could not be checked at all
    counterexample: str | None = None  #: of the intended clause, else of the first failure
    failure: str | None = None  #: the error message belonging to ``counterexample``
    spec_gap: str | None = None  #: the catalogue's note when the spec is known to miss it

    @property
    def killed(self) -> bool:
        return bool(self.caught_by) and self.error is None

    @property
    def caught_as_intended(self) -> bool:
        return self.intended_clause in self.caught_by

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["killed"] = self.killed
        out["caught_as_intended"] = self.caught_as_intended
        return out


def check_one(target: str, intended: str, profile: str = "default", scope: str = "full",
              timeout: float | None = None, name: str = "", description: str = "",
              spec_module: str | None = None) -> MutantResult:
    """Check one target (a mutant or a control) and summarise what failed."""
    from cachespec.conformance._runner import run_target

    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    result = MutantResult(name or target, target, intended, description)
    started = time.monotonic()

    def on_clause(_target: str, clause: Any) -> None:
        if clause.status == "fail" and result.first_failure_seconds is None:
            result.first_failure_seconds = time.monotonic() - started

    patterns = [intended] if scope == "intended" and intended else None
    try:
        report = run_target(target, profile, "should", patterns, spec_module, on_clause, timeout)
    except Exception as err:  # a target that does not resolve here
        result.error = f"{type(err).__name__}: {err}"
        result.seconds = time.monotonic() - started
        return result
    result.seconds = report.seconds
    result.error = report.error
    failed = [c for c in report.clauses if c.status == "fail"]
    result.caught_by = [c.id for c in failed]
    shown = next((c for c in failed if c.id == intended), failed[0] if failed else None)
    if shown is not None:
        result.counterexample = shown.counterexample
        result.failure = shown.error
    return result


def run_mutant(mutant: Mutant, profile: str = "default", scope: str = "full",
               timeout: float | None = None) -> MutantResult:
    result = check_one(mutant.target, mutant.intended_clause, profile, scope, timeout,
                       mutant.name, mutant.description)
    result.spec_gap = mutant.spec_gap
    return result


def run_catalogue(mutants: Sequence[Mutant] = MUTANTS, profile: str = "default",
                  scope: str = "full", jobs: int = 1, timeout: float | None = None,
                  on_result: Callable[[MutantResult], None] | None = None) -> list[MutantResult]:
    """Check every mutant (``jobs`` at a time, each in its own worker process), in order."""
    def one(m: Mutant) -> MutantResult:
        r = run_mutant(m, profile, scope, timeout)
        if on_result:
            on_result(r)
        return r

    if jobs <= 1:
        return [one(m) for m in mutants]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, mutants))


def run_controls(profile: str = "default", timeout: float | None = None,
                 controls: Sequence[str] | None = None) -> list[MutantResult]:
    """Check the correct implementations: every clause must pass on them."""
    from cachespec.conformance.mutants._catalogue import CONTROLS

    return [check_one(name, "", profile, "full", timeout, name, "correct implementation (control)")
            for name in (controls or CONTROLS)]


def save_counterexample(result: MutantResult, directory: Path, overwrite: bool = False) -> Path | None:
    """Write the caught mutant's counterexample to ``directory/<name>.txt`` (first catch only,
    unless ``overwrite``); None if the mutant was not caught or a file is already there."""
    if not result.killed:
        return None
    path = Path(directory) / f"{result.name}.txt"
    if path.exists() and not overwrite:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    from cachespec.conformance.mutants._docs import render  # one format: docs/mutants/*.txt
    path.write_text(render(result))
    return path


def kill_rate(results: Sequence[MutantResult]) -> float:
    return sum(r.killed for r in results) / len(results) if results else 0.0


def render_table(results: Sequence[MutantResult], controls: Sequence[MutantResult] = ()) -> str:
    """A fixed-width table, one mutant a row, ending with the kill rate."""
    rows = [("mutant", "intended", "caught by", "first fail (s)", "total (s)")]
    for r in results:
        ids = ([f"*{r.intended_clause}"] if r.caught_as_intended else []) + \
            [c for c in r.caught_by if c != r.intended_clause]
        shown = ", ".join(ids[:3]) + (f" +{len(ids) - 3} more" if len(ids) > 3 else "")
        caught = r.error and f"ERROR: {r.error[:60]}" or shown or (
            "-- SURVIVED (known spec gap) --" if r.spec_gap else "-- SURVIVED --")
        first = "-" if r.first_failure_seconds is None else f"{r.first_failure_seconds:.1f}"
        rows.append((r.name, r.intended_clause, caught, first, f"{r.seconds:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    killed = sum(r.killed for r in results)
    intended = sum(r.caught_as_intended for r in results)
    total = sum(r.seconds for r in results)
    lines.append("")
    for c in controls:
        verdict = "clean" if not c.caught_by and not c.error else (
            f"FLAGGED by {', '.join(c.caught_by)}" + (f" ({c.error})" if c.error else ""))
        lines.append(f"control {c.name}: {verdict} ({c.seconds:.1f} s)")
    lines.append(f"kill rate: {killed}/{len(results)} = {100 * kill_rate(results):.1f}%  "
                 f"(caught by the intended clause: {intended}/{len(results)}; "
                 f"check time {total:.1f} s)")
    lines.append("(* = the intended clause; the JSON report lists every clause that caught it)")
    return "\n".join(lines)
