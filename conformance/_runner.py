"""The runner: which clauses apply to a target, which checks decide them, and their verdicts.

Semantics. A clause whose capabilities are not all in the target's is ``n/a``. Every check that
covers an applicable clause runs (in a :class:`WorkerSession`, a killable child process) on
those clauses; a violation fails its clause; a clause passes only if at least one check covered
it, judged it at least once, and none failed it. A clause no check covered, or that the checks ran on but never judged, is ``undecided``
(counted like a failure at its level), never a pass.
A check during which no operation of the target completes for the profile's timeout (or that
exceeds ten times that in total) fails its undecided clauses; the worker is killed and restarted
for the rest.
"""

from __future__ import annotations

import fnmatch
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from cachespec.spec._subject import TargetError

#: seconds without any completed operation of the target (in the worker or a process it spawned)
#: after which the target is declared hung; see _progress for why progress, not wall time
PROFILES: dict[str, float] = {"quick": 30.0, "default": 60.0, "thorough": 300.0}
#: a check run may take at most this many stall periods even while making progress (livelock)
HARD_CAP_FACTOR = 10
LEVELS = ("must", "should")
#: extra seconds for a worker to start (import the target, torch, hypothesis) before its first job
STARTUP_GRACE = 60.0
DEFAULT_SPEC = "cachespec.spec"

PASS, FAIL, NA, UNDECIDED = "pass", "fail", "n/a", "undecided"


@dataclass
class ClauseResult:
    id: str
    level: str  #: "MUST" | "SHOULD"
    status: str  #: "pass" | "fail" | "n/a" | "undecided" (applicable, but no check judged it)
    error: str | None = None
    counterexample: str | None = None
    seconds: float = 0.0
    checks: list[str] = field(default_factory=list)  #: the checks that ran on this clause
    missing: list[str] = field(default_factory=list)  #: capabilities lacking, when n/a


@dataclass
class TargetReport:
    target: str
    capabilities: list[str]
    clauses: list[ClauseResult]
    error: str | None = None  #: the target could not be resolved or its worker failed to start
    seconds: float = 0.0

    def failures(self, level: str = "should") -> list[ClauseResult]:
        levels = {"MUST"} if level == "must" else {"MUST", "SHOULD"}
        return [c for c in self.clauses if c.status in (FAIL, UNDECIDED) and c.level in levels]

    def counts(self) -> dict[str, int]:
        out = {PASS: 0, FAIL: 0, NA: 0, UNDECIDED: 0}
        for c in self.clauses:
            out[c.status] += 1
        return out


@dataclass
class Report:
    targets: list[TargetReport]
    profile: str
    level: str

    def failed(self) -> bool:
        return any(t.error or t.failures(self.level) for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "level": self.level.upper(),
                "targets": [asdict(t) for t in self.targets]}


# -- the spec -------------------------------------------------------------------------------
def load_spec(spec_module: str | None = None) -> Any:
    """The clause registry module (``cachespec.spec``, or CACHESPEC_SPEC_MODULE for tests)."""
    name = spec_module or os.environ.get("CACHESPEC_SPEC_MODULE") or DEFAULT_SPEC
    return import_module(name)


def select_clauses(spec: Any, level: str = "should",
                   patterns: Sequence[str] | None = None) -> list[Any]:
    """Clauses at ``level`` (must: MUST only; should: both) matching any of ``patterns``
    (ids or fnmatch patterns such as ``CORE-*``). ValueError names a pattern matching nothing."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    clauses = [c for c in spec.CLAUSES if level == "should" or str(c.level).upper() == "MUST"]
    if not patterns:
        return clauses
    chosen: list[Any] = []
    for pat in patterns:
        pat_u = pat.upper()
        hits = [c for c in spec.CLAUSES if fnmatch.fnmatchcase(c.id.upper(), pat_u)]
        if not hits:
            raise ValueError(f"no clause matches {pat!r}; run `cachespec spec` to list clause ids")
        chosen += [c for c in hits if c in clauses and c not in chosen]
    return [c for c in clauses if c in chosen]


# -- the worker session ---------------------------------------------------------------------
def _extra_sys_path() -> list[str]:
    """Entries of sys.path a fresh interpreter would not have (a test's tmp dir, a conftest's
    insert), so the worker imports ``module:Class`` as this process does; the interpreter's own
    dirs are left out, lest PYTHONPATH put site-packages ahead of the standard library."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    out = []
    for p in sys.path:
        if not p or not os.path.isdir(p):
            continue
        real = os.path.realpath(p)
        if any(real == pre or real.startswith(pre + os.sep) for pre in prefixes):
            continue
        out.append(p)
    return out


class WorkerError(Exception):
    """The worker could not start (target unresolvable in a child, spec import failed, ...)."""


@dataclass
class CheckOutcome:
    passed: list[str]
    #: clause id -> (error, counterexample, seconds)
    failed: dict[str, tuple[str, str | None, float]]
    seconds: float
    #: clauses the check ran on without judging them (no failure, no judgement either)
    undecided: list[str] = field(default_factory=list)


class WorkerSession:
    """A child process running checks for one target; restarted after a timeout or crash."""

    def __init__(self, target: str, profile: str = "default", spec_module: str | None = None,
                 timeout: float | None = None) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
        self.target = target
        self.profile = profile
        self.spec_module = spec_module or os.environ.get("CACHESPEC_SPEC_MODULE") or DEFAULT_SPEC
        self.timeout = PROFILES[profile] if timeout is None else timeout
        self.root = Path(tempfile.mkdtemp(prefix="cachespec-check-"))
        self._proc: subprocess.Popen[str] | None = None
        self._fd: int | None = None
        self._buf = b""
        self.capabilities: list[str] = []
        self._log_path = self.root / "worker.log"

    # lifecycle
    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        # the worker runs in a scratch cwd (so nothing, e.g. a .hypothesis dir, lands in the
        # user's tree), yet `module:Class` must import from the user's cwd as it did here
        paths = [os.getcwd(), *_extra_sys_path()]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(self.root / ".hypothesis")
        env.setdefault("PYTHONHASHSEED", "0")  # runs are reproducible from the report
        workroot = self.root / "work"
        workroot.mkdir(exist_ok=True)
        log = open(self._log_path, "ab")  # noqa: SIM115 - the child owns it after fork
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "cachespec.conformance._worker", self.target,
                 "--profile", self.profile, "--spec", self.spec_module,
                 "--result-fd", str(write_fd), "--workroot", str(workroot)],
                stdin=subprocess.PIPE, stdout=log, stderr=log, pass_fds=(write_fd,),
                cwd=workroot, env=env, text=True, start_new_session=True)
        finally:
            os.close(write_fd)
            log.close()
        self._fd = read_fd
        self._buf = b""
        event = self._next_event(time.monotonic() + self.timeout + STARTUP_GRACE)
        if event is None or event.get("ev") != "ready":
            detail = (event or {}).get("error") or self._log_tail() or "no output"
            self.stop()
            raise WorkerError(f"worker for {self.target!r} did not start: {detail}")
        self.capabilities = list(event.get("capabilities", []))

    def start_if_needed(self) -> list[str]:
        """Start the worker unless it runs; the target's capabilities as the worker sees them."""
        if self._proc is None or self._proc.poll() is not None:
            self.stop()
            self.start()
        return self.capabilities

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker and any process it spawned
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
            if proc.stdin:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> WorkerSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # protocol
    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self._log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def _next_event(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON event, or None at the deadline or when the worker died."""
        assert self._fd is not None
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return None  # EOF: the worker exited
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)  # type: ignore[no-any-return]

    def run_check(self, check: str, clauses: Iterable[str],
                  on_clause: Callable[[str, str, str | None, str | None, float], None] | None = None,
                  ) -> CheckOutcome:
        """Run one check on ``clauses``; ``on_clause(id, status, error, cex, seconds)`` is called
        as each is decided. Never hangs: a silent worker is killed after the timeout."""
        pending = sorted(set(clauses))
        failed: dict[str, tuple[str, str | None, float]] = {}
        started = time.monotonic()

        def fail(ids: Iterable[str], error: str, cex: str | None = None) -> None:
            for cid in ids:
                if cid not in failed:
                    failed[cid] = (error, cex, time.monotonic() - started)
                    if on_clause:
                        on_clause(cid, FAIL, error, cex, time.monotonic() - started)

        self.start_if_needed()
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps({"check": check, "clauses": pending}) + "\n")
            self._proc.stdin.flush()
        except OSError:
            pass  # a dead worker shows up as EOF below
        cap = self.timeout * HARD_CAP_FACTOR
        run_started = stalled_since = time.monotonic()
        running: list[str] = pending
        while True:
            event = self._next_event(min(stalled_since + self.timeout, run_started + cap))
            if event is None:
                undecided = [c for c in running if c not in failed]
                if self._proc.poll() is None and time.monotonic() >= run_started + cap:
                    msg = (f"timed out after {cap:g} s in check {check!r}, still busy "
                           f"(livelock, or raise --timeout)")
                elif self._proc.poll() is None:
                    msg = (f"timed out after {self.timeout:g} s without progress "
                           f"(deadlock or livelock?) in check {check!r}")
                else:
                    msg = (f"worker died (exit {self._proc.returncode}) in check {check!r}: "
                           f"{self._log_tail() or 'no output'}")
                fail(undecided, msg)
                self.stop()
                return CheckOutcome([], failed, time.monotonic() - started)
            ev = event.get("ev")
            if ev == "progress":
                stalled_since = time.monotonic()
            elif ev == "run":
                running = list(event["clauses"])
                run_started = stalled_since = time.monotonic()
            elif ev == "violation":
                fail([event["clause"]], event.get("error") or "violation",
                     event.get("counterexample"))
            elif ev == "crash":
                tb = event.get("traceback")
                fail([c for c in event["clauses"] if c not in failed],
                     f"check {check!r} raised {event.get('error')}", tb)
                return CheckOutcome([], failed, time.monotonic() - started)
            elif ev == "done":
                passed = [c for c in event["passed"] if c not in failed]
                undecided = [c for c in event.get("undecided", []) if c not in failed]
                return CheckOutcome(passed, failed, float(event.get("seconds", 0.0)), undecided)


# -- planning and running a target ----------------------------------------------------------
def plan_checks(spec: Any, applicable: set[str], capabilities: set[str]) -> list[tuple[Any, list[str]]]:
    """(check, the applicable clauses it covers) for every check the target can run."""
    out = []
    for check in spec.CHECKS:
        if not set(check.capabilities) <= capabilities:
            continue
        ids = [cid for cid in check.clause_ids if cid in applicable]
        if ids:
            out.append((check, ids))
    return out


ClauseCallback = Callable[[str, ClauseResult], None]


def run_target(name: str, profile: str = "default", level: str = "should",
               clause_patterns: Sequence[str] | None = None, spec_module: str | None = None,
               on_clause: ClauseCallback | None = None, timeout: float | None = None) -> TargetReport:
    """Check one target; TargetError if it cannot be resolved here."""
    from ._targets import resolve_target

    started = time.monotonic()
    spec = load_spec(spec_module)
    clauses = select_clauses(spec, level, clause_patterns)
    target = resolve_target(name)
    caps = set(target.capabilities)
    results: dict[str, ClauseResult] = {}
    for c in clauses:
        missing = sorted(set(c.capabilities) - caps)
        level_s = str(c.level).upper()
        results[c.id] = ClauseResult(c.id, level_s, NA if missing else PASS, missing=missing)
    applicable = {cid for cid, r in results.items() if r.status != NA}
    plan = plan_checks(spec, applicable, caps)
    covering: dict[str, int] = {cid: 0 for cid in applicable}
    judged_by: dict[str, list[str]] = {cid: [] for cid in applicable}
    for _check, ids in plan:
        for cid in ids:
            covering[cid] += 1

    def finish(cid: str) -> None:
        if on_clause:
            on_clause(name, results[cid])

    for cid in sorted(applicable):
        if covering[cid] == 0:
            r = results[cid]
            r.status, r.error = UNDECIDED, ("not checked: no check in the spec covers this "
                                            "clause for a target with these capabilities")
    for cid, r in results.items():
        if r.status == NA or r.error:
            finish(cid)
    error: str | None = None
    if plan:
        session = WorkerSession(name, profile, spec_module, timeout)
        try:
            for check, ids in plan:
                def decided(cid: str, status: str, err: str | None, cex: str | None,
                            secs: float) -> None:
                    r = results[cid]
                    if r.status != FAIL:
                        r.status, r.error, r.counterexample = FAIL, err, cex
                        r.seconds += secs
                        finish(cid)

                outcome = session.run_check(check.name, ids, decided)
                for cid in ids:
                    results[cid].checks.append(check.name)
                    covering[cid] -= 1
                    if cid in outcome.passed:
                        judged_by[cid].append(check.name)
                        results[cid].seconds += outcome.seconds
                    if covering[cid] == 0 and results[cid].status == PASS:
                        if not judged_by[cid]:  # pass means judged
                            results[cid].status = UNDECIDED
                            results[cid].error = (
                                "undecided: " + ", ".join(results[cid].checks) + " ran but never "
                                "reached this clause's assertion, so nothing was judged")
                        finish(cid)
        except WorkerError as err:
            error = str(err)
            for cid in applicable:
                r = results[cid]
                if r.status == PASS and covering[cid] > 0:
                    r.status, r.error = FAIL, f"not run: {err}"
                    finish(cid)
        finally:
            session.close()
    return TargetReport(name, sorted(caps), [results[c.id] for c in clauses], error,
                        time.monotonic() - started)


def run_conformance(targets: Sequence[str], profile: str = "default", level: str = "should",
                    clause_patterns: Sequence[str] | None = None, spec_module: str | None = None,
                    on_clause: ClauseCallback | None = None, timeout: float | None = None) -> Report:
    """Check each target in turn. Raises TargetError/ValueError for bad names before running any."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    from ._targets import resolve_target

    for name in targets:  # fail fast on a typo in the last name, before minutes of checks
        resolve_target(name)
    select_clauses(load_spec(spec_module), level, clause_patterns)
    reports = [run_target(n, profile, level, clause_patterns, spec_module, on_clause, timeout)
               for n in targets]
    return Report(reports, profile, level)


__all__ = ["ClauseResult", "FAIL", "NA", "PASS", "PROFILES", "UNDECIDED", "Report", "TargetError", "TargetReport", "WorkerSession",
           "load_spec", "plan_checks", "run_conformance", "run_target", "select_clauses"]
