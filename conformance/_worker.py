"""The check worker: a child process that runs the spec's checks against one target.

Why a child process: a deadlocking or livelocking target must cost one failed clause, not a
hung harness, and the only reliable way to stop a thread stuck in a lock is to kill its process.

Protocol. The parent starts ``python -m cachespec.conformance._worker TARGET --profile P
--spec MODULE --result-fd N --workroot DIR`` and writes one JSON job per line on stdin:
``{"check": name, "clauses": [id, ...]}``. The worker answers with JSON lines on fd N (its
stdout/stderr belong to the checks and the target, which may print): ``ready`` once the target
resolved (or ``fatal``), then per job ``run`` at each call of ``check.run``, ``violation`` per
failed clause, and ``done`` (``passed``, ``undecided``, ``failed``, ``notes``) or ``crash`` if
``check.run`` raised; ``progress`` whenever an operation of the target completed. The job itself
is the engine's :func:`~._engine.run_check` (re-run without failed clauses; of the clauses left,
those judged at least once passed), the same code that runs checks in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, TextIO

from . import _progress
from ._engine import DEFAULT_SPEC, load_spec, run_check


def _configure_hypothesis() -> None:
    """No example database in the user's tree: checks replay nothing across runs."""
    try:
        from hypothesis import settings
    except ImportError:  # pragma: no cover - hypothesis is a dependency
        return
    settings.register_profile("cachespec-worker", database=None)
    settings.load_profile("cachespec-worker")


def _short(obj: Any, limit: int = 4000) -> str | None:
    if obj is None:
        return None
    text = obj if isinstance(obj, str) else repr(obj)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


def _error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


class _Channel:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()  # the heartbeat thread sends too

    def send(self, **event: Any) -> None:
        line = json.dumps(event, default=repr) + "\n"
        with self.lock:
            self.stream.write(line)
            self.stream.flush()


def _heartbeat(out: _Channel, progress_file: Path, stop: threading.Event) -> None:
    """Send a ``progress`` event whenever an operation of the target completed since the last."""
    last = _progress.signal_of(progress_file)
    while not stop.wait(0.5):
        now = _progress.signal_of(progress_file)
        if now != last:
            last = now
            out.send(ev="progress")


def run_job(check: Any, target: Any, clauses: list[str], profile: str, workroot: Path,
            send: Any) -> None:
    """Run ``check`` on ``clauses`` (the engine re-runs it without failed clauses); stream the
    outcome. The version a check changes is restored by the check itself (spec ``_guarded``)."""

    def violation(cid: str, error: str, counterexample: str | None, seconds: float) -> None:
        # already a standalone program: the engine made it one (never truncated)
        send(ev="violation", check=check.name, clause=cid, error=_short(error),
             counterexample=counterexample, seconds=seconds)

    outcome = run_check(check, target, clauses, profile, workroot,
                        on_run=lambda ids: send(ev="run", check=check.name, clauses=ids),
                        on_violation=violation)
    if outcome.crashed is not None:
        tb = next(iter(outcome.failed.values()))[1] if outcome.failed else None
        send(ev="crash", check=check.name, clauses=sorted(outcome.failed),
             error=outcome.crashed, traceback=_short(tb, 8000), seconds=outcome.seconds)
        return
    send(ev="done", check=check.name, passed=outcome.passed, undecided=outcome.undecided,
         failed=sorted(outcome.failed), notes=outcome.notes, seconds=outcome.seconds,
         inapplicable=outcome.inapplicable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cachespec-worker")
    parser.add_argument("target")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--spec", default=DEFAULT_SPEC)
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--workroot", type=Path, required=True)
    args = parser.parse_args(argv)
    out = _Channel(os.fdopen(args.result_fd, "w", buffering=1))
    _configure_hypothesis()
    try:
        from . import resolve_target

        target = resolve_target(args.target)
        spec = load_spec(args.spec)
        checks = {c.name: c for c in spec.CHECKS}
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which decides
        out.send(ev="fatal", error=_error_text(err), traceback=_short(traceback.format_exc(), 8000))
        return 1
    progress_file = args.workroot / "progress"
    progress_file.touch()
    os.environ[_progress.ENV] = str(progress_file)  # children of checks tick it
    _progress.instrument(target)
    threading.Thread(target=_heartbeat, args=(out, progress_file, threading.Event()),
                     daemon=True, name="cachespec-heartbeat").start()
    out.send(ev="ready", capabilities=sorted(target.capabilities), pid=os.getpid())
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        check = checks.get(job["check"])
        if check is None:
            out.send(ev="crash", check=job["check"], clauses=job["clauses"],
                     error=f"no check named {job['check']!r} in {args.spec}", seconds=0.0)
            continue
        run_job(check, target, list(job["clauses"]), args.profile, args.workroot, out.send)
    return 0


if __name__ == "__main__":
    sys.exit(main())
