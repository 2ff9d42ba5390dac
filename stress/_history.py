"""Operation histories: one JSON object per line, one file per writing process.

A record is ``{"ev", "t", "pid", "tid", "op", "key", "id", ...}`` where ``ev`` is ``invoke``,
``ok`` or ``fail``; ``t`` is :func:`now_ns` (one monotonic clock for all processes of a
host);
``id`` is the writer's operation counter, so ``(pid, id)`` pairs an invoke with its completion
even when an async completion is logged by another thread. Insert invokes carry ``value`` (a
digest of the value bytes), ``ok`` records carry ``result`` (get: digest or null, insert: bool),
``fail`` records carry ``error`` (the exception class name); ``group`` is optional.
``{"ev": "meta", ...}`` records carry run parameters and injected faults.

The writer issues exactly one ``os.write`` of a whole line per record on an ``O_APPEND``
descriptor: no user-space buffer to lose, so a SIGKILLed process loses at most the line being
written, and threads never interleave inside a line. :func:`read_history` tolerates that torn
last line and nothing else.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["HistoryError", "HistoryWriter", "digest", "key_id", "read_history", "EVENT_KINDS",
           "HOST_ENV", "SKEW_ENV", "host_id", "now_ns"]

#: The host id a stress process records (default: the machine's host name). Setting it per
#: xdist gateway makes processes of one machine present themselves as different hosts.
HOST_ENV = "CACHESPEC_STRESS_HOST"
#: Nanoseconds added to every time this process records: a simulated clock skew, so a check
#: that wrongly compared two hosts' clocks shows up as false violations.
SKEW_ENV = "CACHESPEC_STRESS_SKEW_NS"


def host_id() -> str:
    """The host this process runs on, as recorded in histories."""
    import socket

    return os.environ.get(HOST_ENV) or socket.gethostname()


def _skew() -> tuple[int, str | None]:
    raw = os.environ.get(SKEW_ENV, "").strip()
    try:
        return (int(raw) if raw else 0), None
    except ValueError:
        return 0, f"{SKEW_ENV}={raw!r} is not an integer number of nanoseconds"


# Read once: every record of a process must carry the same skew. A bad value is reported when
# a writer is opened (and by run_stress as a usage error), not as an import error.
_SKEW, SKEW_ERROR = _skew()


def now_ns() -> int:
    """This host's monotonic clock as recorded (plus the simulated skew, if any)."""
    return time.monotonic_ns() + _SKEW

EVENT_KINDS = frozenset({"invoke", "ok", "fail", "meta"})
_OP_FIELDS = ("t", "pid", "id", "op", "key")
_NEEDS = {"invoke": frozenset(_OP_FIELDS), "ok": frozenset((*_OP_FIELDS, "result")),
          "fail": frozenset((*_OP_FIELDS, "error")), "meta": frozenset()}

# The C string encoder of the json module: escapes and quotes a str without building a dict.
_quote = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
_RESULT_TEXT = {None: "null", True: "true", False: "false"}


class HistoryError(Exception):
    """A history file cannot be read (missing, or garbage before its last line)."""


def digest(value_bytes: bytes) -> str:
    """Short, stable hex digest of a value's bytes (64-bit BLAKE2b: collisions are negligible)."""
    return hashlib.blake2b(value_bytes, digest_size=8).hexdigest()


def key_id(key: object) -> str:
    """The printable key id stored in records: ``repr(key)`` (so ``1`` and ``'1'`` differ)."""
    return repr(key)


_live_writers: weakref.WeakSet[HistoryWriter] = weakref.WeakSet()


def _reset_writers_in_child() -> None:
    for writer in list(_live_writers):
        writer._after_fork()


os.register_at_fork(after_in_child=_reset_writers_in_child)


class HistoryWriter:
    """Append records for one process to ``path``; safe to share between its threads.

    ``key`` arguments are cache keys: the writer records :func:`key_id` of them, so the same
    object must be passed to ``invoke`` and to its completion.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if SKEW_ERROR:
            raise HistoryError(SKEW_ERROR)
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._pid = os.getpid()
        # next() on itertools.count is atomic under the GIL: no lock on the hot path.
        self._ids = itertools.count()
        self._lock = threading.Lock()
        _live_writers.add(self)

    def _head(self, ev: str, op_id: int, op: str, key: object) -> str:
        return (
            f'{{"ev":"{ev}","t":{time.monotonic_ns() + _SKEW},"pid":{self._pid},'
            f'"tid":{threading.get_native_id()},"id":{op_id},"op":{_quote(op)},'
            f'"key":{_quote(repr(key))}'
        )

    def _write(self, line: str) -> None:
        data = line.encode()
        # The lock makes a write after close() an error rather than a write into whatever
        # file reuses the descriptor number; it also keeps a (rare) short write's tail adjacent.
        with self._lock:
            if self._fd < 0:
                raise ValueError(f"history writer for {self.path} is closed")
            done = os.write(self._fd, data)
            while done < len(data):
                done += os.write(self._fd, data[done:])

    def _after_fork(self) -> None:
        # A forked child logs under its own pid, and must not inherit a lock held by a thread
        # that does not exist in the child.
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def invoke(
        self, op: str, key: object, value_digest: str | None = None, group: str | None = None
    ) -> int:
        """Record the start of ``op`` on ``key``; return the id to pass to ``ok``/``fail``."""
        op_id = next(self._ids)
        line = self._head("invoke", op_id, op, key)
        if value_digest is not None:
            line += f',"value":{_quote(value_digest)}'
        if group is not None:
            line += f',"group":{_quote(str(group))}'
        self._write(line + "}\n")
        return op_id

    def ok(self, op_id: int, op: str, key: object, result: str | bool | None) -> None:
        """Record that ``op`` returned ``result`` (get: digest or None; insert: bool)."""
        if result is None or result is True or result is False:
            text = _RESULT_TEXT[result]
        elif isinstance(result, str):
            text = _quote(result)
        else:  # a non-conforming target's odd return value: keep it visible, never crash
            text = json.dumps(result, default=repr)
        self._write(self._head("ok", op_id, op, key) + f',"result":{text}}}\n')

    def fail(self, op_id: int, op: str, key: object, error_name: str) -> None:
        """Record that ``op`` raised an exception of class ``error_name``."""
        self._write(self._head("fail", op_id, op, key) + f',"error":{_quote(error_name)}}}\n')

    def meta(self, **fields: Any) -> None:
        """Record run parameters or an injected fault (``t`` and ``pid`` are added)."""
        record = {"ev": "meta", "t": now_ns(), "pid": self._pid, **fields}
        self._write(json.dumps(record, default=repr) + "\n")

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_BLANK = object()


def _bad(path: Path, lineno: int, rec: Any) -> HistoryError:
    if type(rec) is not dict or type(rec.get("ev")) is not str or rec["ev"] not in EVENT_KINDS:
        return HistoryError(f"{path}:{lineno}: not a history record (need 'ev' in "
                            f"{sorted(EVENT_KINDS)})")
    missing = sorted(_NEEDS[rec["ev"]] - rec.keys())
    return HistoryError(f"{path}:{lineno}: bad {rec['ev']} record: "
                        + (f"lacks {missing}" if missing else "'t' is not an int"))


def _loads_lines(path: Path, lines: list[bytes]) -> list[Any]:
    """One ``json.loads`` for the whole file (fast); line by line to locate an error."""
    if b"" not in lines:
        try:
            records = json.loads(b"[" + b",".join(lines) + b"]")
        except ValueError:
            pass
        else:
            if len(records) == len(lines):  # else a line held two values: find it below
                return records
    records = []
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            records.append(_BLANK)  # skipped, but keeps the line numbers right
            continue
        try:
            records.append(json.loads(raw))
        except ValueError:
            raise HistoryError(f"{path}:{lineno}: not a JSON record: {raw[:60]!r}") from None
    return records


def _parse_file(path: Path, src: int) -> list[dict[str, Any]]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise HistoryError(f"cannot read history {path}: {err.strerror or err}") from err
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" unless the last line lacks its newline: only it may be torn
    parsed = _loads_lines(path, lines)
    if tail.strip():
        try:
            parsed.append(json.loads(tail))
        except ValueError:
            pass  # the line a killed writer was writing
    records: list[dict[str, Any]] = []
    needs = _NEEDS
    for lineno, rec in enumerate(parsed, 1):
        if rec is _BLANK:
            continue
        ev = rec.get("ev") if type(rec) is dict else None
        need = needs.get(ev) if type(ev) is str else None
        if need is None or not rec.keys() >= need or type(rec.get("t", 0)) is not int:
            raise _bad(path, lineno, rec)
        rec["src"] = src
        records.append(rec)
    return records


def read_history(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Read and merge history files into one list ordered by ``t``.

    A file named twice is read once. Each record gains ``src`` (the index of its file), which
    the checker adds to ``(pid, id)`` so that processes of different hosts with equal pids
    never pair each other's operations.
    """
    records: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        real = path.resolve()
        if real in seen:
            continue  # a file named twice would double every op (and make two winners)
        seen.add(real)
        records.extend(_parse_file(path, len(seen) - 1))
    # Each file is nearly sorted already, so Timsort merges the runs in close to linear time.
    records.sort(key=lambda r: r.get("t", 0))
    return records
