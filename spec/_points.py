"""Points of an operation: the steps a cache takes inside one call, enumerated so that crash and
race checks can stop *at each one in turn* instead of hoping a timed kill or a race lands there.

A point is a line event in the target's own code (not the standard library, not the harness)
or an audited file-system call (open, rename, link, unlink, ...) made by the traced thread.
Tracing covers only the thread that arms it, so racing threads are traced one at a time.

    with Points(stop_at=k, on_stop=kill_self) as pts:   # stop (kill/pause) at point k
        subject.insert(key, value)
    pts.seen  # the descriptions of the points passed, in order

Enumerate with ``stop_at=None`` to learn how many points an operation has, then run it again
(on a fresh key, in a fresh process for a kill) once per chosen point; :func:`choose` samples
evenly when there are more points than the budget allows.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

#: audited calls that change or open files; each is a point just before the call runs
_FS_EVENTS = frozenset({
    "open", "os.rename", "os.replace", "os.link", "os.symlink", "os.unlink", "os.remove",
    "os.rmdir", "os.mkdir", "os.truncate", "os.chmod", "os.utime", "shutil.move",
    "shutil.rmtree", "os.fsync",
})

_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__))) + os.sep  # never a point
_SKIP_PREFIXES = tuple(
    {os.path.realpath(p) + os.sep for p in (sysconfig.get_paths()["stdlib"],
                                             sysconfig.get_paths()["platstdlib"])}
)
#: installed packages are the cache's libraries, never the standard library, even where a
#: venv's "platstdlib" (``<venv>/lib/python3.X``) contains its site-packages
_SITE_PREFIXES = tuple(
    {os.path.realpath(sysconfig.get_paths()[k]) + os.sep for k in ("purelib", "platlib")}
)
#: infrastructure that is neither the cache nor its I/O
_SKIP_PARTS = (f"{os.sep}hypothesis{os.sep}", f"{os.sep}_pytest{os.sep}",
               f"{os.sep}multiprocess{os.sep}", f"{os.sep}dill{os.sep}",
               f"{os.sep}conformance{os.sep}_progress.py", f"{os.sep}conformance{os.sep}_torchshaped.py")

_code_cache: dict[str, bool] = {}


def is_target_code(filename: str) -> bool:
    """Whether a code object's file belongs to the cache under test (and its libraries)."""
    hit = _code_cache.get(filename)
    if hit is None:
        real = os.path.realpath(filename) if not filename.startswith("<") else filename
        stdlib = real.startswith(_SKIP_PREFIXES) and not real.startswith(_SITE_PREFIXES)
        hit = not (filename.startswith("<") or real.startswith(_HERE) or stdlib
                   or any(part in real for part in _SKIP_PARTS))
        _code_cache[filename] = hit
    return hit


def _short(filename: str) -> str:
    parts = filename.replace(os.sep, "/").split("/")
    return "/".join(parts[-2:])


class _Armed:
    """The one armed tracer per process (the audit hook is global and cannot be removed)."""

    current: Points | None = None
    hooked = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    pts = _Armed.current
    if pts is None or event not in _FS_EVENTS or threading.get_ident() != pts.thread:
        return
    what = args[0] if args else ""
    if isinstance(what, (bytes, os.PathLike)):
        what = os.fsdecode(what)
    if isinstance(what, int):
        what = f"fd {what}"
    pts.point(f"before {event}({os.path.basename(str(what))})", fs=True, path=str(what))


class Points:
    """Trace the calling thread's target code; call ``on_stop(index, description)`` when point
    ``stop_at`` (0-based) is reached. ``on_stop`` may kill the process, block (a pause), or
    return to let the operation go on."""

    def __init__(self, stop_at: int | None = None,
                 on_stop: Callable[[int, str], None] | None = None, limit: int = 100_000) -> None:
        self.stop_at = stop_at
        self.on_stop = on_stop
        self.limit = limit  #: stop recording past this many (a runaway loop)
        self.seen: list[str] = []
        self.fs: list[int] = []  #: indices of the points that are file-system calls
        self.paths: list[str] = []  #: the path (or "fd N") each file-system call named, in order
        self.depths: list[int] = []  #: per point, how many frames of target code were active
        self.thread = 0
        self._depth = 0

    def point(self, description: str, fs: bool = False, path: str = "",
              frame: FrameType | None = None) -> None:
        n = len(self.seen)
        if n >= self.limit:
            return
        self.seen.append(description)
        self.depths.append(_depth(frame or sys._getframe(1)))
        if fs:
            self.fs.append(n)
            self.paths.append(path)
        if n == self.stop_at and self.on_stop is not None:
            self.on_stop(n, description)

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            return self._local if is_target_code(frame.f_code.co_filename) else None
        return None

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            code = frame.f_code
            self.point(f"{_short(code.co_filename)}:{frame.f_lineno} ({code.co_name})",
                       frame=frame)
        return self._local

    def __enter__(self) -> Points:
        if _Armed.current is not None:
            raise RuntimeError("Points is already armed in this process; trace one operation "
                               "at a time")
        if not _Armed.hooked:
            sys.addaudithook(_audit)
            _Armed.hooked = True
        self.thread = threading.get_ident()
        _Armed.current = self
        sys.settrace(self._trace)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)
        _Armed.current = None

    @property
    def count(self) -> int:
        return len(self.seen)


    def windows(self) -> list[int]:
        """The points around file-system calls (just before and just after each), where a
        crash or a pause splits what a cache does on disk: the ones to try first."""
        out: list[int] = []
        for i in self.fs:
            out += [j for j in (i, i + 1) if j < len(self.seen) and j not in out]
        return out


    def steps(self) -> list[int]:
        """The points worth trying first, in order: the operation's own lines (the shallowest
        two levels of target code: an adapter and the cache method it calls, not the libraries
        below), the points just after each file-system call (a file created, renamed, removed,
        not yet written), then the points just before each."""
        out: list[int] = []
        if self.depths:
            top = min(self.depths) + 1
            out += [i for i, d in enumerate(self.depths) if d <= top and i not in self.fs]
        out += [i + 1 for i in self.fs if i + 1 < len(self.seen)]
        out += self.fs
        return list(dict.fromkeys(out))


def _depth(frame: FrameType | None) -> int:
    """The number of target-code frames on the stack from ``frame`` down."""
    n = 0
    while frame is not None:
        if is_target_code(frame.f_code.co_filename):
            n += 1
        frame = frame.f_back
    return n


def choose(count: int, budget: int, prefer: list[int] | tuple[int, ...] = ()) -> list[int]:
    """Up to ``budget`` point indices out of ``count``: the ``prefer``red ones first (in order),
    the rest spread evenly, first and last included. All of them when ``count <= budget``."""
    if count <= 0 or budget <= 0:
        return []
    if count <= budget:
        return list(range(count))
    picked = list(dict.fromkeys(i for i in prefer if 0 <= i < count))[:budget]
    left = budget - len(picked)
    if left > 0:
        step = (count - 1) / max(left - 1, 1)
        even = [round(i * step) for i in range(left)] if left > 1 else [count // 2]
        for i in even:
            if i not in picked:
                picked.append(i)
    return sorted(picked)


def kill_self(index: int, description: str) -> None:
    """An ``on_stop`` that SIGKILLs the current process (the crash point)."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


__all__ = ["Points", "choose", "is_target_code", "kill_self"]
