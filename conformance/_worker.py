"""The check worker: a child process that runs the spec's checks against one target.

Why a child process: a deadlocking or livelocking target must cost one failed clause, not a
hung harness, and the only reliable way to stop a thread stuck in a lock is to kill its process.

Protocol. The parent starts ``python -m cachespec.conformance._worker TARGET --profile P
--spec MODULE --result-fd N --workroot DIR`` and writes one JSON job per line on stdin:
``{"check": name, "clauses": [id, ...]}``. The worker answers with JSON lines on fd N (its
stdout/stderr belong to the checks and the target, which may print): ``ready`` once the target
resolved (or ``fatal``), then per job ``run`` at each call of ``check.run``, ``violation`` per
failed clause, and ``done`` (or ``crash`` if ``check.run`` raised). A job is re-run without the
clauses that failed until a run finds no new violation; of the clauses left, those the check
judged at least once passed and the others are undecided.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from . import _progress
from cachespec.spec._replay import as_program
from cachespec.spec._subject import VERSION


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


def _error_text(err: Any) -> str:
    if isinstance(err, BaseException):
        return f"{type(err).__name__}: {err}"
    return str(err)


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
    """Run ``check`` on ``clauses`` until a run finds no new violation; stream the outcome."""
    remaining = set(clauses)
    failed: set[str] = set()
    judged: dict[str, int] = {}
    started = time.monotonic()
    while remaining:
        send(ev="run", check=check.name, clauses=sorted(remaining))
        workdir = Path(tempfile.mkdtemp(prefix=f"{check.name}-", dir=workroot))
        version = target.get_version() if VERSION in target.capabilities else None
        t0 = time.monotonic()
        try:
            result = check.run(target, workdir, profile, frozenset(remaining))
        except BaseException as err:  # noqa: BLE001 - anything a check raises is reported
            send(ev="crash", check=check.name, clauses=sorted(remaining),
                 error=_error_text(err), traceback=_short(traceback.format_exc(), 8000),
                 seconds=time.monotonic() - t0)
            return
        finally:
            if version is not None:
                try:  # a check that bumped the process-wide version must not leak it
                    target.set_version(version)
                except Exception:
                    pass
        for cid, n in (getattr(result, "judged", None) or {}).items():
            judged[cid] = judged.get(cid, 0) + int(n)
        new = 0
        for v in getattr(result, "violations", None) or ():
            cid = getattr(v, "clause_id", None)
            if cid not in remaining:
                continue  # already reported, or not asked for
            remaining.discard(cid)
            failed.add(cid)
            new += 1
            send(ev="violation", check=check.name, clause=cid, error=_short(_error_text(v.error)),
                 counterexample=as_program(check.name, target.name, cid, profile, getattr(v, "counterexample", None)),
                 seconds=time.monotonic() - t0)
        if not new:
            break
    # a clause passes only if the check judged it at least once and never found it broken
    send(ev="done", check=check.name, passed=sorted(c for c in remaining if judged.get(c)),
         undecided=sorted(c for c in remaining if not judged.get(c)), failed=sorted(failed),
         judged=judged, seconds=time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cachespec-worker")
    parser.add_argument("target")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--spec", default="cachespec.spec")
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--workroot", type=Path, required=True)
    args = parser.parse_args(argv)
    out = _Channel(os.fdopen(args.result_fd, "w", buffering=1))
    _configure_hypothesis()
    try:
        from . import resolve_target

        target = resolve_target(args.target)
        spec = importlib.import_module(args.spec)
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
