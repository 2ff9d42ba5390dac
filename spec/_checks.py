"""The checks the conformance runner calls: each covers the clauses that name it in
``checked_by`` and runs only on targets with its capabilities.

``run(target, workdir, profile_name, clauses_to_check) -> [Violation]``: at most one violation
per clause, only for clauses asked for; a clause not asked for still has its operations run, its
assertion is just off (see the machines' docstring).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._subject import (
    ASYNC, CORE, ENV_LOADER, FILE_LOADER, LOCK, PERSISTENT, PRIVILEGED, PROCESSES, THREADS,
    TYPED_KEYS, VERSION, Target, effective_capabilities,
)

from . import _async_races, _crashes, _faults, _hashseed, _procraces, _races, _retention, _trust
from ._clauses import CLAUSES
from ._harness import CheckResult, Violation, ledger, run_machine
from ._loaders import make_loader_machine, run_loader_tour
from ._machines import TOUR_PROGRAM, make_cache_machine, run_tour, size_big_values
from ._profiles import get_budget, get_profile

RunFn = Callable[[Target, Path, str, frozenset[str]], list[Violation]]


@dataclass(frozen=True)
class Check:
    """A named run that judges ``clause_ids`` on targets with ``capabilities``.

    ``run(target, workdir, profile, clauses) -> CheckResult``: the violations of the asked
    clauses (at most one each) and how often each was judged; a clause asked for, not violated
    and judged zero times is undecided.
    """

    name: str
    clause_ids: tuple[str, ...]
    capabilities: frozenset[str]
    run: Callable[[Target, Path, str, frozenset[str]], CheckResult]


def _applicable(target: Target, clauses: frozenset[str]) -> frozenset[str]:
    caps = set(effective_capabilities(target))
    by_id = {c.id: c for c in CLAUSES}
    return frozenset(c for c in clauses if c in by_id and by_id[c].capabilities <= caps)


def _guarded(fn: RunFn) -> Callable[[Target, Path, str, frozenset[str]], CheckResult]:
    """Assert only applicable clauses, count their judgements, and leave the process-wide
    version as found (the one place a check's version change is undone)."""

    def run(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
            ) -> CheckResult:
        get_budget(profile)  # a bad profile name fails before anything runs
        enabled = _applicable(target, frozenset(clauses))
        version = target.get_version() if VERSION in target.capabilities else None
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            with ledger() as book:
                found = fn(target, workdir, profile, enabled)
        finally:
            if version is not None:
                target.set_version(version)
        return CheckResult([v for v in found if v.clause_id in enabled],
                           {c: n for c, n in book.counts.items() if c in enabled},
                           {c: t for c, t in book.notes.items() if c in enabled},
                           {c: t for c, t in book.inapplicable.items() if c in enabled})

    run.__doc__ = fn.__doc__
    return run


def _machine(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
             ) -> list[Violation]:
    """The cache state machine (get/insert/async/reopen/version/isolation/bursts)."""
    machine = make_cache_machine(target, workdir, clauses)
    # The tour (every scenario once, fixed data) runs once per call, outside Hypothesis, so each
    # clause is met in every run whatever the random programs do; then the random programs.
    failed = run_tour(machine)
    if failed is not None:
        return [Violation(failed[0], failed[1], TOUR_PROGRAM)]
    size_big_values(machine, get_budget(profile).machine_examples)
    return run_machine(machine, get_profile(profile), "ERROR-ONLY-CACHEERROR",
                       get_budget(profile).shrink_seconds)


def _loader(which: str) -> RunFn:
    def run(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
            ) -> list[Violation]:
        machine = make_loader_machine(target, workdir, clauses, which)
        failed = run_loader_tour(machine)
        if failed is not None:
            return [Violation(*failed)]
        settings = get_profile(profile)
        b = get_budget(profile)
        settings = type(settings)(settings, max_examples=b.loader_examples,
                                  stateful_step_count=min(b.machine_steps, 20))
        return run_machine(machine, settings, "ERROR-ONLY-CACHEERROR", b.shrink_seconds)

    run.__doc__ = f"The {which} loader state machine (round trips, malformed input, code)."
    return run


_RUNS: dict[str, tuple[frozenset[str], RunFn]] = {
    "machine-cache": (frozenset({CORE}), _machine),
    "machine-env-loader": (frozenset({ENV_LOADER}), _loader("env")),
    "machine-file-loader": (frozenset({FILE_LOADER}), _loader("file")),
    "race-threads": (frozenset({THREADS}), _races.run_threads),
    "race-async": (frozenset({ASYNC}), _async_races.run_async),
    "race-processes": (frozenset({PERSISTENT, PROCESSES}), _procraces.run_processes),
    "keys-hashseed": (frozenset({TYPED_KEYS, PERSISTENT, PROCESSES}), _hashseed.run_hashseed),
    "fault-serialization": (frozenset({CORE}), _faults.run_serialization),
    "fault-corrupt-files": (frozenset({PERSISTENT}), _faults.run_corrupt),
    "crash-writer": (frozenset({PERSISTENT, PROCESSES}), _crashes.run_kill_writer),
    "crash-lock-holder": (frozenset({LOCK, PROCESSES}), _crashes.run_lock_holder),
    "retention": (frozenset({CORE}), _retention.run_retention),
    "trust-storage": (frozenset({PERSISTENT, PRIVILEGED}), _trust.run_trust),
}

CHECKS: tuple[Check, ...] = tuple(
    Check(name, tuple(c.id for c in CLAUSES if name in c.checked_by), caps, _guarded(fn))
    for name, (caps, fn) in _RUNS.items()
)
