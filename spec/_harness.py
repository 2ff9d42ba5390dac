"""What every check shares: the Violation record, clause-tagged assertions that can be switched
off, running a state machine and turning its failure into a Violation with a replayable program.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import reporting, settings
from hypothesis.errors import FlakyReplay, FlakyStrategyDefinition
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test


@dataclass(frozen=True)
class Violation:
    """A clause the target broke, why, and how to replay it (None if not replayable)."""

    clause_id: str
    error: str
    counterexample: str | None


class Ledger:
    """How many times each clause was judged (its condition evaluated) in one check run.

    A clause passes only if something judged it: a check that never reached a clause's assertion
    (no race had a single winner, no crash point was hit) leaves it ``undecided``, never ``pass``.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.notes: dict[str, str] = {}  #: clause id -> what the check chose to test
        #: clause id -> why the check proved the clause cannot apply to this target
        self.inapplicable: dict[str, str] = {}
        self._lock = threading.Lock()  # racing threads judge too

    def judged(self, clause_id: str, n: int = 1) -> None:
        with self._lock:
            self.counts[clause_id] = self.counts.get(clause_id, 0) + n


_LEDGER: Ledger | None = None


def judged(clause_id: str, n: int = 1) -> None:
    """Record that ``clause_id``'s condition was evaluated (by the current check run)."""
    if _LEDGER is not None:
        _LEDGER.judged(clause_id, n)


def note(clause_id: str, text: str) -> None:
    """Record what the current check run chose to test for ``clause_id`` (CheckResult.notes)."""
    if _LEDGER is not None:
        _LEDGER.notes[clause_id] = text


def inapplicable(clause_id: str, reason: str) -> None:
    """Record that the current check *proved* ``clause_id`` cannot apply to this target (a probe
    found no entry file to damage in its storage: the entries live on a server). The clause is
    then ``n/a`` with ``reason``, like a missing capability, unless another check judged or
    violated it. Never a pass; use it only on a probe's proof, never for "nothing happened"."""
    if _LEDGER is not None:
        _LEDGER.inapplicable[clause_id] = reason


@contextmanager
def ledger() -> Iterator[Ledger]:
    """Collect the judgements of one check run."""
    global _LEDGER
    outer, _LEDGER = _LEDGER, Ledger()
    try:
        yield _LEDGER
    finally:
        _LEDGER = outer


@dataclass(frozen=True)
class CheckResult:
    """What one run of a check found: the violations, and how often each clause was judged."""

    violations: list[Violation]
    judged: dict[str, int]
    #: clause id -> what was tested when a check had to choose (e.g. "storage-level corruption:
    #: the target's entries are not one file per key"); shown beside the verdict
    notes: dict[str, str] = field(default_factory=dict)
    #: clause id -> why a probe proved the clause cannot apply (see ``inapplicable``)
    inapplicable: dict[str, str] = field(default_factory=dict)

    def undecided(self, clauses: frozenset[str]) -> set[str]:
        """Of ``clauses``, those neither violated nor judged at least once."""
        failed = {v.clause_id for v in self.violations}
        return {c for c in clauses if c not in failed and not self.judged.get(c)}


class ClauseFailure(AssertionError):
    """A failed assertion of one clause; one subclass per clause keeps Hypothesis' shrinker on
    the same bug instead of sliding to another clause."""

    clause_id = "?"


_FAILURE_TYPES: dict[str, type[ClauseFailure]] = {}


def failure_type(clause_id: str) -> type[ClauseFailure]:
    cls = _FAILURE_TYPES.get(clause_id)
    if cls is None:
        name = "Violated_" + clause_id.replace("-", "_")
        cls = type(name, (ClauseFailure,), {"clause_id": clause_id, "__module__": __name__})
        _FAILURE_TYPES[clause_id] = cls
    return cls


class Asserter:
    """Raises the clause's failure when an enabled clause's condition is false."""

    def __init__(self, enabled: frozenset[str], sink: list[ClauseFailure] | None = None) -> None:
        self.enabled = enabled
        self.sink = sink  #: every failure raised, kept for runs Hypothesis calls flaky

    def on(self, clause_id: str) -> bool:
        return clause_id in self.enabled

    def check(self, clause_id: str, ok: bool, message: str | Callable[[], str]) -> None:
        if clause_id in self.enabled:
            judged(clause_id)
        if not ok and clause_id in self.enabled:
            failure = failure_type(clause_id)(message() if callable(message) else message)
            if self.sink is not None:
                self.sink.append(failure)
            raise failure

    def fail(self, clause_id: str, message: str) -> None:
        self.check(clause_id, False, message)


class Violations:
    """Collects at most one violation per enabled clause (for non-Hypothesis runs)."""

    def __init__(self, enabled: frozenset[str]) -> None:
        self.enabled = enabled
        self.found: dict[str, Violation] = {}

    def on(self, clause_id: str) -> bool:
        return clause_id in self.enabled and clause_id not in self.found

    def add(self, clause_id: str, error: str, counterexample: str | None) -> None:
        if self.on(clause_id):
            self.found[clause_id] = Violation(clause_id, error, counterexample)

    def check(self, clause_id: str, ok: bool, error: str | Callable[[], str],
              counterexample: str | Callable[[], str] | None) -> bool:
        if self.on(clause_id):
            judged(clause_id)
        if not ok and self.on(clause_id):
            self.add(clause_id, error() if callable(error) else error,
                     counterexample() if callable(counterexample) else counterexample)
        return ok

    def list(self) -> list[Violation]:
        return list(self.found.values())


@contextmanager
def shrink_cap(seconds: float) -> Iterator[None]:
    """Cap Hypothesis' shrinking time. Its only knob is a module constant of the engine (300 s,
    far beyond a conformance budget); patched for the run and restored, skipped if it moved."""
    from hypothesis.internal.conjecture import engine

    old = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if old is None:
        yield
        return
    engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[attr-defined]
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = old  # type: ignore[attr-defined]


def run_machine(machine: type[RuleBasedStateMachine], run_settings: settings,
                unexpected_clause: str, shrink_seconds: float = 300.0) -> list[Violation]:
    """Run a machine; a failure becomes one Violation with the shrunk program as counterexample.

    An exception that is not a ClauseFailure is blamed on ``unexpected_clause`` (re-raised if
    that clause is not enabled).
    """
    with shrink_cap(shrink_seconds):
        return _run_machine(machine, run_settings, unexpected_clause)


def _run_machine(machine: type[RuleBasedStateMachine], run_settings: settings,
                 unexpected_clause: str) -> list[Violation]:
    printed: list[str] = []
    raised: list[ClauseFailure] = []
    machine.failures = raised  # type: ignore[attr-defined]
    try:
        with reporting.with_reporter(lambda s: printed.append(str(s))):
            run_state_machine_as_test(machine, settings=run_settings)
    except (FlakyStrategyDefinition, FlakyReplay):
        # A nondeterministic target (timing, clocks) failed once and not on replay, so there is
        # no shrunk program; the failure itself is still a finding.
        if not raised:
            raise
        first = raised[0]
        return [Violation(first.clause_id, f"{first} (flaky: the program did not fail again "
                          "on replay)", None)]
    except ClauseFailure as e:
        return [Violation(e.clause_id, str(e), _program(e, printed))]
    except BaseExceptionGroup as group:  # Hypothesis' FlakyFailure: it did not replay
        inner = _first_clause_failure(group)
        if inner is None:
            raise
        return [Violation(inner.clause_id, f"{inner} (flaky: did not fail again on replay)",
                          _program(group, printed))]
    except Exception as e:  # noqa: BLE001 - a crash outside any operation's judgement
        if unexpected_clause not in machine.enabled:  # type: ignore[attr-defined]
            raise
        return [Violation(unexpected_clause, f"{type(e).__name__}: {e}", _program(e, printed))]
    return []


def _first_clause_failure(group: BaseExceptionGroup) -> ClauseFailure | None:
    for e in group.exceptions:
        if isinstance(e, ClauseFailure):
            return e
        if isinstance(e, BaseExceptionGroup) and (inner := _first_clause_failure(e)):
            return inner
    return None


#: lines of Hypothesis' output that are advice for its own tests, not part of the program
_NOT_PROGRAM = ("WARNING: Hypothesis has spent", "@reproduce_failure",
                "You can reproduce this example by temporarily", "Falsifying example")


def _program(e: BaseException, printed: list[str]) -> str:
    """The shrunk program Hypothesis printed (notes or reporter output), without its advice."""
    chunks = [n for n in getattr(e, "__notes__", []) if isinstance(n, str)] + printed
    # a chunk that starts with advice is advice throughout (the shrink-time warning spans lines)
    kept = [line for chunk in chunks if not chunk.lstrip().startswith(_NOT_PROGRAM)
            for line in chunk.strip("\n").splitlines()
            if not line.strip().startswith(_NOT_PROGRAM)]
    return "\n".join(kept).strip() or "(no program printed)"


def error_name(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e)[:200]}"


@contextmanager
def fast_switching(interval: float = 1e-6) -> Iterator[None]:
    """Switch threads very often so check-then-act races show up in bounded runs."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def new_dir(base: Path, prefix: str) -> Path:
    """A fresh, unique, private (0o700) directory under ``base``: a cache that refuses storage
    other users could write (as the reference does) must not be failed for the harness's umask."""
    n = 0
    while True:
        p = base / f"{prefix}-{os.getpid()}-{threading.get_ident() % 10000}-{n}"
        try:
            p.mkdir(parents=True)
            p.chmod(0o700)  # mkdir's mode is masked by the umask; chmod is not
            return p
        except FileExistsError:
            n += 1


def call_within(seconds: float, fn: Callable[[], Any]) -> tuple[bool, Any]:
    """(finished, result or exception) of ``fn`` run in a daemon thread for at most ``seconds``."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as err:  # noqa: BLE001
            box.append(err)

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(seconds)
    return (not th.is_alive(), box[0] if box else None)


class Hung(Exception):
    """An operation that did not return in time (a hung target must not hang the check)."""


_OP_TIMEOUT = 10.0


def outcome(fn: Callable[[], Any], seconds: float = _OP_TIMEOUT) -> Any:
    """fn's result or exception, or a Hung exception if it takes longer than ``seconds``."""
    done, res = call_within(seconds, fn)
    return res if done else Hung(f"did not return within {seconds:.0f} s")


def scaled(seconds: float) -> float:
    """``seconds`` stretched by CPU oversubscription (load average / cores), so a time bound
    meant for a quiet machine does not fail a correct target on a saturated CI runner."""
    try:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        load = 1.0
    return seconds * min(max(load, 1.0), 10.0)


# -- is a racing thread blocked, or only slow? ------------------------------------------
def _cpu_and_state(ident: int) -> tuple[float, str] | None:
    """(CPU seconds used, scheduler state letter) of a thread of this process, or None where
    Linux's per-thread clocks or /proc are not available."""
    try:
        cpu = time.clock_gettime(time.pthread_getcpuclockid(ident))
        native = NATIVE_IDS.get(ident)
        if native is None:
            return None
        with open(f"/proc/self/task/{native}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0].decode()
        return cpu, state
    except (AttributeError, OSError, ValueError, IndexError):
        return None


NATIVE_IDS: dict[int, int] = {}  #: threading ident -> kernel thread id, filled by the racers


def wait_unless_blocked(done: threading.Event, ids: list[int], grace: float,
                         every: float = 0.02) -> bool:
    """Wait for ``done``; False once thread B is *blocked* (on a lock the paused racer holds).

    B counts as blocked only after ``grace`` seconds AND while it is asleep in the kernel using
    almost no CPU (a lock wait, or a polling lock's sleeps). A B that is merely slow on a loaded
    machine is running or runnable, so it is waited for: the schedule, and so the verdict, does
    not depend on machine load. Where threads' clocks or /proc cannot be read, ``grace`` alone
    decides."""
    while not ids:  # B is starting: it names itself first thing
        if done.wait(0.001):
            return True
    if _cpu_and_state(ids[0]) is None:
        return done.wait(grace)
    started = time.monotonic()
    last = _cpu_and_state(ids[0])
    while not done.wait(every):
        now = _cpu_and_state(ids[0])
        if now is None or last is None:
            return done.wait(grace)
        asleep = now[1] in ("S", "D") and now[0] - last[0] < every / 10
        last = now
        if asleep and time.monotonic() - started >= grace:
            return False
    return True
