"""The verdict engine: which clauses apply to a target, which checks decide them, and how check
outcomes become clause results. The CLI, the pytest plugin, ``CacheConformanceTests`` and the
tests all decide verdicts here; only *where* a check runs differs (a worker process via
``_session``, or this process via :func:`judge_in_process`).

Semantics. A clause whose capabilities are not all in the target's is ``n/a``. Every check that
covers an applicable clause runs on those clauses, re-run without the clauses it violated until
a run finds nothing new (:func:`run_check`); a violation fails its clause. A clause passes only
if every covering check has finished, at least one judged it, and none failed it. A clause no
check covers, or that its checks ran on but never judged, is ``undecided``, never a pass.
"""

from __future__ import annotations

import fnmatch
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from cachespec.spec._replay import as_program
from cachespec.spec import _subject

from ._results import FAIL, NA, PASS, UNDECIDED, ClauseResult, TargetReport, parse_level

#: the clause registry the engine judges against; tests pass a fake one explicitly
DEFAULT_SPEC = "cachespec.spec"

NOT_COVERED = ("not checked: no check in the spec covers this clause for a target with these "
               "capabilities")


def spec_module_name(module: str | None = None) -> str:
    """``module``, else :data:`DEFAULT_SPEC` (read at each call, so a test can patch it)."""
    return module or DEFAULT_SPEC


def load_spec(module: str | None = None) -> Any:
    """The clause registry module: ``module``, else :data:`DEFAULT_SPEC`."""
    return import_module(spec_module_name(module))


def select_clauses(spec: Any, level: str = "should",
                   patterns: Sequence[str] | None = None) -> list[Any]:
    """Clauses at ``level`` (must: MUST only; should: both) matching any of ``patterns``
    (ids or fnmatch patterns such as ``CORE-*``). ValueError names a pattern matching nothing."""
    level = parse_level(level)
    clauses = [c for c in spec.CLAUSES if level == "should" or str(c.level).upper() == "MUST"]
    if not patterns:
        return clauses
    chosen: list[Any] = []
    for pat in patterns:
        hits = [c for c in spec.CLAUSES if fnmatch.fnmatchcase(c.id.upper(), pat.upper())]
        if not hits:
            raise ValueError(f"no clause matches {pat!r}; run `cachespec spec` to list clause ids")
        chosen += [c for c in hits if c in clauses and c not in chosen]
    return [c for c in clauses if c in chosen]


def plan_checks(spec: Any, applicable: set[str], capabilities: set[str]
                ) -> list[tuple[Any, list[str]]]:
    """(check, the applicable clauses it covers) for every check the target can run."""
    out = []
    for check in spec.CHECKS:
        if not set(check.capabilities) <= capabilities:
            continue
        ids = [cid for cid in check.clause_ids if cid in applicable]
        if ids:
            out.append((check, ids))
    return out


_BLOB_ADVICE = ("@reproduce_failure", "You can reproduce this example by temporarily adding")


def clean_counterexample(text: str | None) -> str | None:
    """``text`` without Hypothesis' ``@reproduce_failure`` advice, which means nothing outside
    a Hypothesis test function (the counterexample itself is the replayable program)."""
    if text is None:
        return None
    kept = [line for line in text.splitlines() if not any(a in line for a in _BLOB_ADVICE)]
    return "\n".join(kept).strip("\n") or None


@dataclass
class CheckOutcome:
    """What one check decided on the clauses it was given."""

    passed: list[str]
    #: clause id -> (error, counterexample, seconds)
    failed: dict[str, tuple[str, str | None, float]]
    seconds: float
    #: clauses it ran on without judging them (no failure, no judgement either)
    undecided: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    crashed: str | None = None  #: the check itself raised this (its clauses then failed)
    #: clause id -> why the check proved it cannot apply (n/a unless judged elsewhere)
    inapplicable: dict[str, str] = field(default_factory=dict)


ViolationCallback = Callable[[str, str, str | None, float], None]


def _error_text(err: Any) -> str:
    return f"{type(err).__name__}: {err}" if isinstance(err, BaseException) else str(err)


def run_check(check: Any, target: Any, clauses: Iterable[str], profile: str, workroot: Path,
              on_run: Callable[[list[str]], None] | None = None,
              on_violation: ViolationCallback | None = None) -> CheckOutcome:
    """Run ``check`` on ``clauses`` in this process, re-run without the clauses it violated until
    a run finds no new violation (fixing one bug's shrink lets the next one show). Violations
    stream through ``on_violation(clause, error, counterexample, seconds)``."""
    remaining = set(clauses)
    failed: dict[str, tuple[str, str | None, float]] = {}
    judged: dict[str, int] = {}
    notes: dict[str, str] = {}
    proved_na: dict[str, str] = {}
    started = time.monotonic()
    while remaining:
        if on_run:
            on_run(sorted(remaining))
        workroot.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{check.name}-", dir=workroot))
        t0 = time.monotonic()
        try:
            result = check.run(target, workdir, profile, frozenset(remaining))
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # noqa: BLE001 - anything a check raises fails its clauses
            error = f"check {check.name!r} raised {_error_text(err)}"
            tb = traceback.format_exc()
            for cid in sorted(remaining):
                failed[cid] = (error, tb, time.monotonic() - t0)
            return CheckOutcome([], failed, time.monotonic() - started, notes=notes,
                                crashed=error)
        for cid, n in (getattr(result, "judged", None) or {}).items():
            judged[cid] = judged.get(cid, 0) + int(n)
        notes.update(getattr(result, "notes", None) or {})
        proved_na.update(getattr(result, "inapplicable", None) or {})
        new = 0
        for v in getattr(result, "violations", None) or ():
            cid = getattr(v, "clause_id", None)
            if cid not in remaining:
                continue  # already reported, or not asked for
            remaining.discard(cid)
            new += 1
            error = _error_text(v.error)
            # every counterexample leaves the engine as a standalone program (same in-process
            # and in the worker), never truncated: a cut program does not run
            cex = as_program(check.name, getattr(target, "name", "?"), cid, profile,
                             getattr(v, "counterexample", None))
            failed[cid] = (error, cex, time.monotonic() - t0)
            if on_violation:
                on_violation(cid, error, cex, time.monotonic() - t0)
        if not new:
            break
    return CheckOutcome(sorted(c for c in remaining if judged.get(c)), failed,
                        time.monotonic() - started,
                        sorted(c for c in remaining if not judged.get(c)), notes,
                        inapplicable={c: why for c, why in proved_na.items()
                                      if c in remaining and not judged.get(c)})


class TargetVerdicts:
    """The clause results of one target, settled as check outcomes arrive.

    ``plan`` lists the checks to run, each with its clauses; feed each one's outcome to
    :meth:`record` (and streamed violations to :meth:`violated`). ``on_clause(result)`` is called
    once per clause, when its verdict is final.
    """

    def __init__(self, spec: Any, clauses: Sequence[Any], capabilities: Iterable[str],
                 on_clause: Callable[[ClauseResult], None] | None = None) -> None:
        self.capabilities = set(capabilities)  #: the target's, as reported
        usable = self.capabilities | _subject.harness_capabilities()  # + the harness's (root)
        self.on_clause = on_clause
        self.results: dict[str, ClauseResult] = {}
        for c in clauses:
            missing = sorted(set(c.capabilities) - usable)
            # until settled a clause reads as undecided, never as a provisional pass
            self.results[c.id] = ClauseResult(
                c.id, str(c.level).upper(), NA if missing else UNDECIDED,
                None if missing else "undecided: not every check covering it has run",
                missing=missing)
        applicable = {cid for cid, r in self.results.items() if r.status != NA}
        self.plan = plan_checks(spec, applicable, usable)
        self._covering = dict.fromkeys(applicable, 0)
        self._judged: set[str] = set()
        self._proved_na: dict[str, str] = {}  #: clause -> why a check proved it cannot apply
        self._final: set[str] = set()
        for _check, ids in self.plan:
            for cid in ids:
                self._covering[cid] += 1
        for cid, r in self.results.items():
            if r.status == NA:
                self._settle(cid)
            elif self._covering[cid] == 0:
                self._settle(cid, UNDECIDED, NOT_COVERED)

    def _settle(self, cid: str, status: str | None = None, error: str | None = None) -> None:
        r = self.results[cid]
        if status is not None:
            r.status, r.error = status, error
        self._final.add(cid)
        if self.on_clause:
            self.on_clause(r)

    def final(self, cid: str) -> bool:
        return cid in self._final

    def violated(self, cid: str, error: str, counterexample: str | None, seconds: float) -> None:
        """A check found ``cid`` violated: its verdict is final at once."""
        if cid not in self.results or self.final(cid):
            return
        r = self.results[cid]
        r.counterexample = clean_counterexample(counterexample)
        r.seconds += seconds
        self._settle(cid, FAIL, error)

    def record(self, check_name: str, ids: Sequence[str], outcome: CheckOutcome) -> None:
        """The outcome of ``check_name`` on ``ids``; settles every clause it was the last for."""
        for cid, (error, cex, secs) in outcome.failed.items():
            self.violated(cid, error, cex, secs)
        for cid in ids:
            if cid not in self.results:
                continue
            r = self.results[cid]
            r.checks.append(check_name)
            if cid in outcome.notes:
                r.note = "; ".join(filter(None, [r.note, outcome.notes[cid]]))
            if cid in outcome.passed:
                self._judged.add(cid)
                r.seconds += outcome.seconds
            elif cid in outcome.inapplicable:
                self._proved_na.setdefault(cid, outcome.inapplicable[cid])
            self._covering[cid] -= 1
            if self._covering[cid] == 0 and not self.final(cid):
                if cid in self._judged:
                    self._settle(cid, PASS)
                elif cid in self._proved_na:  # a probe proved there is nothing to judge
                    r.note = "; ".join(filter(None, [r.note, self._proved_na[cid]]))
                    self._settle(cid, NA, None)
                else:  # pass means judged
                    self._settle(cid, UNDECIDED, "undecided: " + ", ".join(r.checks) + " ran but "
                                 "never reached this clause's assertion, so nothing was judged")

    def unusable(self, error: str) -> None:
        """The target cannot run checks any more: every clause not yet final fails."""
        for cid in self.results:
            if not self.final(cid):
                self._settle(cid, FAIL, f"not run: {error}")

    def report(self, name: str, error: str | None = None, seconds: float = 0.0) -> TargetReport:
        return TargetReport(name, sorted(self.capabilities), list(self.results.values()), error,
                            seconds)


def not_run(name: str, clauses: Sequence[Any], error: str, seconds: float = 0.0) -> TargetReport:
    """The report of a target that never ran: its capabilities are unknown, so every clause
    fails (none can be called n/a)."""
    results = [ClauseResult(c.id, str(c.level).upper(), FAIL, f"not run: {error}")
               for c in clauses]
    return TargetReport(name, [], results, error, seconds)


def judge_in_process(target: Any, workroot: Path, profile: str = "quick", level: str = "should",
                     patterns: Sequence[str] | None = None, spec: Any = None,
                     checks: Sequence[str] | None = None) -> TargetReport:
    """The verdicts on ``target`` with every check run in this process (no hang protection):
    for tests of the spec, where the target is a trusted object. ``checks`` limits the run to
    the checks of those names (their clauses' other checks then leave them undecided)."""
    spec = spec if spec is not None else load_spec()
    started = time.monotonic()
    verdicts = TargetVerdicts(spec, select_clauses(spec, level, patterns), target.capabilities)
    for n, (check, ids) in enumerate(verdicts.plan):
        if checks is not None and check.name not in checks:
            outcome = CheckOutcome([], {}, 0.0, undecided=list(ids))
        else:
            outcome = run_check(check, target, ids, profile, workroot / f"{n}-{check.name}")
        verdicts.record(check.name, ids, outcome)
    return verdicts.report(getattr(target, "name", repr(target)), None,
                           time.monotonic() - started)


__all__ = ["DEFAULT_SPEC", "CheckOutcome", "TargetVerdicts", "clean_counterexample",
           "judge_in_process", "load_spec", "not_run", "plan_checks", "run_check",
           "select_clauses", "spec_module_name"]
