"""Running targets: each target's checks in a :class:`~._session.WorkerSession`, verdicts by the
engine (``_engine.TargetVerdicts``), the capabilities as the worker reports them.

:func:`validate_run` decides every usage error (unknown target, profile, level, clause pattern)
before anything runs; :func:`run_conformance` calls it, then checks each target in turn. The
parent resolves each target once (to reject a bad name up front); the worker resolves it again
in its own process, and its answer is the one used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cachespec.spec._subject import TargetError

from ._engine import CheckOutcome, TargetVerdicts, load_spec, not_run, select_clauses
from ._results import (
    FAIL, NA, PASS, UNDECIDED, ClauseResult, Report, TargetReport, parse_level,
)
from ._session import WorkerError, WorkerSession, stall_timeout

#: ``on_clause(target, result)``: a clause's verdict is final
ClauseCallback = Callable[[str, ClauseResult], None]
#: ``on_check(target, check, outcome)``: a check finished on a target
CheckCallback = Callable[[str, str, CheckOutcome], None]


def validate_run(targets: Sequence[str], profile: str, level: str,
                 clause_patterns: Sequence[str] | None, spec_module: str | None = None,
                 timeout: float | None = None) -> str:
    """Raise ValueError/TargetError for a bad argument before minutes of checks; the level as
    one of LEVELS."""
    stall_timeout(profile)
    level = parse_level(level)
    if timeout is not None and not timeout > 0:
        raise ValueError("the timeout must be a positive number of seconds")
    select_clauses(load_spec(spec_module), level, clause_patterns)
    from ._targets import resolve_target

    for name in targets:  # a typo in the last name fails now, not after the first target
        resolve_target(name)
    return level


def run_target(name: str, profile: str = "default", level: str = "should",
               clause_patterns: Sequence[str] | None = None, spec_module: str | None = None,
               on_clause: ClauseCallback | None = None, timeout: float | None = None,
               on_check: CheckCallback | None = None) -> TargetReport:
    """Check one target in a worker process. A target the worker cannot build gets a report
    with ``error`` set and every clause failed ("not run")."""
    started = time.monotonic()
    spec = load_spec(spec_module)
    clauses = select_clauses(spec, level, clause_patterns)
    with WorkerSession(name, profile, spec_module, timeout) as session:
        try:
            capabilities = session.start_if_needed()
        except WorkerError as err:
            report = not_run(name, clauses, str(err), time.monotonic() - started)
            if on_clause:
                for r in report.clauses:
                    on_clause(name, r)
            return report
        verdicts = TargetVerdicts(spec, clauses, capabilities,
                                  (lambda r: on_clause(name, r)) if on_clause else None)
        error: str | None = None
        for check, ids in verdicts.plan:
            try:
                outcome = session.run_check(check.name, ids, verdicts.violated)
            except WorkerError as err:  # the worker could not be restarted after a crash
                error = str(err)
                verdicts.unusable(error)
                break
            verdicts.record(check.name, ids, outcome)
            if on_check:
                on_check(name, check.name, outcome)
    return verdicts.report(name, error, time.monotonic() - started)


def run_conformance(targets: Sequence[str], profile: str = "default", level: str = "should",
                    clause_patterns: Sequence[str] | None = None, spec_module: str | None = None,
                    on_clause: ClauseCallback | None = None, timeout: float | None = None,
                    on_check: CheckCallback | None = None) -> Report:
    """Check each target in turn. Raises TargetError/ValueError for bad arguments before
    running anything (see :func:`validate_run`)."""
    level = validate_run(targets, profile, level, clause_patterns, spec_module, timeout)
    reports = [run_target(n, profile, level, clause_patterns, spec_module, on_clause, timeout,
                          on_check)
               for n in targets]
    return Report(reports, profile, level)


__all__ = ["FAIL", "NA", "PASS", "UNDECIDED", "CheckCallback", "ClauseCallback", "ClauseResult",
           "Report", "TargetError", "TargetReport", "run_conformance", "run_target",
           "validate_run"]
