"""Child processes that drive a target, each with an instance of its own.

A check that needs other processes (a writer to kill, a lock holder, racers, a reader that
judges after a crash) starts one :class:`Zygote`: a *spawned* interpreter that rebuilds the
target from its name (``resolve_in_child``; a dill-pickled target when the name does not
resolve, e.g. a test's inline target), never opens an instance itself, and ``fork``s one
short-lived child per job. So no child inherits an open instance (caches like LMDB allow one
environment per process and none across ``fork``), the parent's own instances are never
copied, and the target's import (torch) is paid once per check instead of once per job.

Each child talks to the parent over its own Unix socket connection: the job function
``fn(target, chan, *args)`` may ``chan.send``/``chan.recv`` (to report a crash point or wait
at a pause), and its return value or exception (type, message, short traceback) comes back.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._subject import VERSION, Target, rebuild_target, resolve_in_child, resolver_path

#: base seconds a child may take for one step before it counts as hung; stretched by load
#: (``scaled``). Under the conformance runner its stall detector (no operation completing
#: anywhere) usually decides first; this bound is for runs outside it.
WAIT = 60.0


class ChildError(Exception):
    """A child failed: it raised (the message carries its exception and traceback), died
    without answering (``died``), or did not answer in time."""

    def __init__(self, message: str, died: bool = False) -> None:
        super().__init__(message)
        self.died = died


@dataclass(frozen=True)
class Raised:
    """What an operation in a child raised, as text (exceptions need not pickle)."""

    text: str

    def __repr__(self) -> str:
        return f"raised {self.text}"


def describe(err: BaseException, frames: int = 4) -> str:
    """``Type: message`` and the last few frames of its traceback, for a violation's text."""
    head = f"{type(err).__name__}: {str(err)[:300]}"
    tb = [f for f in traceback.extract_tb(err.__traceback__)
          if os.path.abspath(f.filename) != os.path.abspath(__file__)][-frames:]
    lines = [f"  {os.path.basename(f.filename)}:{f.lineno} in {f.name}: {(f.line or '').strip()}"
             for f in tb]
    return "\n".join([head, *lines])


def attempt(fn: Callable[[], Any]) -> Any:
    """``fn()``'s result, or a :class:`Raised` describing its exception (runs in a child)."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - the judge decides what an exception means
        return Raised(f"{type(err).__name__}: {str(err)[:300]}")


def scaled_wait(seconds: float = WAIT) -> float:
    from ._harness import scaled

    return scaled(seconds)


# -- the parent's end ----------------------------------------------------------------------
class Child:
    """One forked child running a job; its connection and pid."""

    def __init__(self, conn: Any, pid: int, job: str) -> None:
        self.conn = conn
        self.pid = pid
        self.job = job

    def send(self, msg: Any) -> None:
        self.conn.send(msg)

    def recv(self, timeout: float | None = None) -> Any:
        """The child's next message. Raises ChildError if it died (EOF) or stayed silent."""
        limit = scaled_wait() if timeout is None else timeout
        try:
            ready = self.conn.poll(limit)
        except (OSError, EOFError):
            ready = True
        if not ready:
            raise ChildError(f"the child process running {self.job} did not answer within "
                             f"{limit:.0f} s")
        try:
            msg = self.conn.recv()
        except (EOFError, OSError):
            raise ChildError(f"the child process running {self.job} died without "
                             "answering", died=True) from None
        if isinstance(msg, tuple) and msg and msg[0] == "error":
            raise ChildError(f"the child process running {self.job} raised {msg[1]}")
        return msg

    def result(self, timeout: float | None = None) -> Any:
        """The job's return value; messages sent before it are skipped."""
        while True:
            msg = self.recv(timeout)
            if isinstance(msg, tuple) and msg and msg[0] == "result":
                return msg[1]

    def dead(self, timeout: float | None = None) -> bool:
        """Wait for the child to die (EOF on its connection); False if it is still talking or
        alive after ``timeout``."""
        limit = scaled_wait() if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                if not self.conn.poll(max(deadline - time.monotonic(), 0)):
                    return False
                self.conn.recv()
            except (EOFError, OSError):
                return True

    def cpu(self) -> tuple[str, int] | None:
        """(scheduler state, CPU ticks used) of the child, from /proc; None where unknown."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return fields[0].decode(), int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return None

    def waits(self, limit: float, idle: float = 0.5) -> bool:
        """Whether the child, silent, is waiting for something (a lock another process holds):
        found asleep in nine of ten looks over ``idle`` seconds (a child at work is running or
        runnable, however loaded the machine, and is waited for as long as it works). False once
        it speaks. Without /proc the answer is whether it stayed silent for ``limit`` seconds."""
        deadline = time.monotonic() + limit
        looks: list[tuple[float, bool]] = []
        while not self.conn.poll(0.02):
            now = time.monotonic()
            seen = self.cpu()
            if seen is None:
                if now > deadline:
                    return True
                continue
            looks.append((now, seen[0] == "S"))
            recent = [asleep for t, asleep in looks if t >= now - idle]
            if now - looks[0][0] >= idle and len(recent) >= 10 and \
                    sum(recent) >= 0.9 * len(recent):
                return True
            # no deadline here: a child that is only slow (a loaded CI machine) is running or
            # runnable, and letting A go before it finished would change the schedule, and so
            # the verdict; a child that never finishes is the runner's stall detector's to judge
        return False

    def kill(self) -> None:
        """SIGKILL the child and return once it is dead (its connection closed)."""
        if self.conn.closed:
            return
        if self.dead(0):  # already gone: never signal a pid that may have been reused
            self.conn.close()
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.dead(scaled_wait(10.0))
        self.conn.close()


class Zygote:
    """A spawned process holding the rebuilt target; forks one child per job.

        with Zygote(target) as z:
            child = z.start(job, arg1, arg2)   # job(target, chan, arg1, arg2) in a fresh child
            value = child.result()            # or z.run(job, ...) for both at once
    """

    def __init__(self, target: Target, env: dict[str, str] | None = None) -> None:
        self.target = target
        self.env = dict(env or {})
        self.children: list[Child] = []
        self._proc: Any = None
        self._ctl: Any = None
        self._server: socket.socket | None = None
        self._address = ""

    def __enter__(self) -> Zygote:
        import dill  # type: ignore[import-untyped]

        name, blob = self.target.name, None
        if rebuild_target(self.target) is self.target:  # the name does not resolve here
            try:
                blob = dill.dumps(self.target)
            except Exception as err:  # noqa: BLE001
                raise ChildError(f"target {name!r} does not resolve by name and cannot be "
                                 f"pickled for a child process: {describe(err, 1)}") from err
        version = self.target.get_version() if VERSION in self.target.capabilities else None
        self._address = f"\0cachespec-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self._address)
        self._server.listen(16)
        job = pickle.dumps((list(sys.path), resolver_path(), name, blob, version, self._address))
        try:
            # a plain interpreter (not multiprocessing's spawn, which re-runs the caller's
            # __main__): nothing of this process is inherited but the environment
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "from cachespec.spec._children import _zygote_entry; "
                 "_zygote_entry()"], stdin=subprocess.PIPE, env={**os.environ, **self.env})
            assert self._proc.stdin is not None
            self._proc.stdin.write(job)
            self._proc.stdin.close()
            self._ctl = self._accept(f"the zygote of {name!r}")
            msg = self._ctl.recv() if self._ctl.poll(scaled_wait()) else None
        except BaseException:
            self.__exit__()
            raise
        if not (isinstance(msg, tuple) and msg[0] == "ready"):
            self.__exit__()
            why = msg[1] if isinstance(msg, tuple) and len(msg) > 1 else "it did not answer"
            raise ChildError(f"a fresh process could not rebuild target {name!r}: {why}")
        return self

    def _accept(self, what: str) -> Any:
        """The next child's connection; ChildError if the zygote exited or nobody came."""
        from multiprocess.connection import Connection  # type: ignore[import-untyped]

        assert self._server is not None
        limit = scaled_wait()
        deadline = time.monotonic() + limit
        self._server.settimeout(0.5)
        while True:
            try:
                sock, _ = self._server.accept()
                break
            except socket.timeout:
                code = self._proc.poll() if self._proc is not None else None
                if code is not None:
                    raise ChildError(f"{what} did not start: the zygote process exited with "
                                     f"status {code} (its stderr is above)") from None
                if time.monotonic() > deadline:
                    raise ChildError(f"{what} did not start within {limit:.0f} s") from None
        sock.settimeout(None)
        return Connection(sock.detach())

    def start(self, fn: Callable[..., Any], *args: Any) -> Child:
        """Fork a fresh child running ``fn(target, chan, *args)``."""
        import dill

        job = getattr(fn, "__name__", "a job").lstrip("_")
        try:
            self._ctl.send(("fork", dill.dumps((fn, args)), getattr(fn, "__module__", None)))
            forked = self._ctl.recv() if self._ctl.poll(scaled_wait()) else None
        except (EOFError, OSError):
            forked = None
        if not (isinstance(forked, tuple) and forked[0] == "forked"):
            raise ChildError(f"the zygote could not fork a child for {job}: "
                             f"{forked[1] if isinstance(forked, tuple) else 'it died'}")
        child = Child(self._accept(f"the child for {job}"), forked[1], job)
        self.children.append(child)
        return child

    def run(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """``fn(target, chan, *args)`` in a fresh child; its result (ChildError if it failed)."""
        child = self.start(fn, *args)
        try:
            return child.result(timeout)
        finally:
            child.kill()

    def __exit__(self, *exc: object) -> None:
        for child in self.children:
            child.kill()
        self.children.clear()
        if self._ctl is not None:
            try:
                self._ctl.send(("stop",))
            except (OSError, ValueError):
                pass
            self._ctl.close()
            self._ctl = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
            self._proc = None
        if self._server is not None:
            self._server.close()
            self._server = None


# -- the zygote and its children -------------------------------------------------------------
def _connect(address: str) -> Any:
    from multiprocess.connection import Connection

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    return Connection(sock.detach())


def _zygote_entry() -> None:
    """``python -c`` entry of the zygote: the job comes pickled on stdin."""
    path, resolver, name, blob, version, address = pickle.loads(sys.stdin.buffer.read())
    sys.path[:] = path  # the parent's, so a test's inline target module imports here too
    _zygote_main(resolver, name, blob, version, address)


def _zygote_main(resolver: str | None, name: str, blob: bytes | None, version: int | None,
                 address: str) -> None:
    ctl = _connect(address)
    try:
        if blob is None:
            target = resolve_in_child(resolver, name)
        else:
            import dill

            target = dill.loads(blob)
        if version is not None:
            target.set_version(version)
    except BaseException as err:  # noqa: BLE001 - reported to the parent
        ctl.send(("fatal", describe(err)))
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    ctl.send(("ready", os.getpid()))
    while True:
        try:
            msg = ctl.recv()
        except (EOFError, OSError):
            return
        if msg[0] != "fork":
            return
        if msg[2] and msg[2] != "__main__":
            try:  # import the job's module once here, not in every child
                importlib.import_module(msg[2])
            except Exception:  # noqa: BLE001 - the child reports it when it unpickles the job
                pass
        sys.stdout.flush()  # or a child would print the zygote's buffered output again
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as err:
            ctl.send(("failed", describe(err)))
            continue
        if pid == 0:
            _child_main(target, ctl, address, msg[1])
        ctl.send(("forked", pid))


def _child_main(target: Target, ctl: Any, address: str, payload: bytes) -> None:
    """In a forked child: run the job, send its result or exception, never return."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the target may wait for its own children
        ctl.close()
        chan = _connect(address)
        try:
            import dill

            fn, args = dill.loads(payload)
            chan.send(("result", fn(target, chan, *args)))
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            chan.send(("error", describe(err)))
        chan.close()
    except BaseException:  # noqa: BLE001 - the parent sees EOF
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


__all__ = ["Child", "ChildError", "Raised", "WAIT", "Zygote", "attempt", "describe",
           "scaled_wait"]
