"""WorkerSession: one killable child process (``_worker``) running checks for one target.

Why a child: a deadlocking or livelocking target must cost failed clauses, not a hung harness,
and the only reliable way to stop a thread stuck in a lock is to kill its process. The session
declares a hang when no operation of the target completes for the stall timeout (see
``_progress``), or when one check run exceeds ``HARD_CAP_FACTOR`` times that (livelock); it then
fails the clauses still running, kills the worker and starts a fresh one for the next check.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cachespec.spec._profiles import PROFILE_NAMES

from ._engine import CheckOutcome, ViolationCallback, spec_module_name

#: per spec profile (in PROFILE_NAMES' order: quick, default, thorough): seconds without any
#: completed operation of the target (in the worker or a process it spawned) after which the
#: target is declared hung. Not the profiles' Hypothesis settings, only keyed by their names.
STALL_TIMEOUTS: dict[str, float] = dict(zip(PROFILE_NAMES, (30.0, 60.0, 300.0), strict=True))
#: a check run may take at most this many stall periods even while making progress (livelock)
HARD_CAP_FACTOR = 10
#: extra seconds for a worker to start (import the target, torch, hypothesis) before its first job
STARTUP_GRACE = 60.0


class WorkerError(Exception):
    """The worker could not start (target unresolvable in a child, spec import failed, ...)."""


class WorkerProtocolError(RuntimeError):
    """The worker sent something that is not the protocol: a bug of the harness, not a verdict."""


def stall_timeout(profile: str) -> float:
    if profile not in STALL_TIMEOUTS:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(STALL_TIMEOUTS)}")
    return STALL_TIMEOUTS[profile]


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


def worker_command(target: str, profile: str, spec_module: str, result_fd: int,
                   workroot: Path) -> list[str]:
    """The command line of a worker (a seam for tests of the protocol's error handling)."""
    return [sys.executable, "-m", "cachespec.conformance._worker", target, "--profile", profile,
            "--spec", spec_module, "--result-fd", str(result_fd), "--workroot", str(workroot)]


class WorkerSession:
    """A child process running checks for one target; restarted after a timeout or crash."""

    def __init__(self, target: str, profile: str = "default", spec_module: str | None = None,
                 timeout: float | None = None) -> None:
        self.target = target
        self.profile = profile
        self.spec_module = spec_module_name(spec_module)
        self.timeout = stall_timeout(profile) if timeout is None else timeout
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
        # the worker's (and its children's) temporary files live in this session's root,
        # which close() removes: a worker killed for hanging cannot leave any behind
        scratch = self.root / "tmp"
        scratch.mkdir(mode=0o700, exist_ok=True)
        env["TMPDIR"] = str(scratch)
        env.setdefault("PYTHONHASHSEED", "0")  # runs are reproducible from the report
        workroot = self.root / "work"
        workroot.mkdir(exist_ok=True)
        log = open(self._log_path, "ab")  # noqa: SIM115 - the child owns it after fork
        try:
            self._proc = subprocess.Popen(
                worker_command(self.target, self.profile, self.spec_module, write_fd, workroot),
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
                # EOF: the worker exited; reap it, so that the caller reports a death (a
                # SIGBUS, say) as a death and not as a timeout
                if self._proc is not None:
                    try:
                        self._proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            event = json.loads(line)
        except ValueError as err:
            self.stop()
            raise WorkerProtocolError(f"the check worker for {self.target!r} sent a line that is "
                                      f"not a JSON event ({err}): {line[:200]!r}") from err
        if not isinstance(event, dict):
            self.stop()
            raise WorkerProtocolError(f"the check worker for {self.target!r} sent {event!r}, "
                                      "not an event object")
        return event

    def run_check(self, check: str, clauses: Iterable[str],
                  on_violation: ViolationCallback | None = None) -> CheckOutcome:
        """Run one check on ``clauses``; ``on_violation(id, error, cex, seconds)`` is called as
        each violation arrives. Never hangs: a silent worker is killed after the timeout."""
        pending = sorted(set(clauses))
        failed: dict[str, tuple[str, str | None, float]] = {}
        started = time.monotonic()

        def fail(ids: Iterable[str], error: str, cex: str | None = None) -> None:
            for cid in ids:
                if cid not in failed:
                    failed[cid] = (error, cex, time.monotonic() - started)
                    if on_violation:
                        on_violation(cid, error, cex, time.monotonic() - started)

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
                if self._proc.poll() is None and time.monotonic() >= run_started + cap:
                    msg = (f"timed out after {cap:g} s in check {check!r}, still busy "
                           f"(livelock, or raise --timeout)")
                elif self._proc.poll() is None:
                    msg = (f"timed out after {self.timeout:g} s without progress "
                           f"(deadlock or livelock?) in check {check!r}")
                else:
                    msg = (f"worker died (exit {self._proc.returncode}) in check {check!r}: "
                           f"{self._log_tail() or 'no output'}")
                fail(running, msg)
                self.stop()
                return CheckOutcome([], failed, time.monotonic() - started, crashed=msg)
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
                fail(event["clauses"], str(event.get("error")), event.get("traceback"))
                return CheckOutcome([], failed, time.monotonic() - started,
                                    crashed=str(event.get("error")))
            elif ev == "done":
                return CheckOutcome([c for c in event["passed"] if c not in failed], failed,
                                    float(event.get("seconds", 0.0)),
                                    [c for c in event.get("undecided", []) if c not in failed],
                                    dict(event.get("notes") or {}),
                                    inapplicable=dict(event.get("inapplicable") or {}))
            else:
                self.stop()
                raise WorkerProtocolError(f"the check worker for {self.target!r} sent an "
                                          f"unknown event {ev!r}")


__all__ = ["HARD_CAP_FACTOR", "STALL_TIMEOUTS", "STARTUP_GRACE", "WorkerError",
           "WorkerProtocolError", "WorkerSession", "stall_timeout", "worker_command"]
