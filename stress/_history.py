"""Operation histories: one JSON object per line, one file per writing process.

A record is ``{"ev", "t", "pid", "tid", "op", "key", "id", ...}`` where ``ev`` is ``invoke``,
``ok`` or ``fail``; ``t`` is ``time.monotonic_ns()`` (one clock for all processes of a host);
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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["HistoryError", "HistoryWriter", "digest", "key_id", "read_history", "EVENT_KINDS"]

EVENT_KINDS = frozenset({"invoke", "ok", "fail", "meta"})
_OP_FIELDS = ("t", "pid", "id", "op", "key")

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


class HistoryWriter:
    """Append records for one process to ``path``; safe to share between its threads.

    ``key`` arguments are cache keys: the writer records :func:`key_id` of them, so the same
    object must be passed to ``invoke`` and to its completion.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._pid = os.getpid()
        # next() on itertools.count is atomic under the GIL: no lock on the hot path.
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def _head(self, ev: str, op_id: int, op: str, key: object) -> str:
        return (
            f'{{"ev":"{ev}","t":{time.monotonic_ns()},"pid":{self._pid},'
            f'"tid":{threading.get_native_id()},"id":{op_id},"op":{_quote(op)},"key":{_quote(repr(key))}'
        )

    def _write(self, line: str) -> None:
        os.write(self._fd, line.encode())

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
        text = _RESULT_TEXT[result] if result is None or result is True or result is False else (
            _quote(result)
        )
        self._write(self._head("ok", op_id, op, key) + f',"result":{text}}}\n')

    def fail(self, op_id: int, op: str, key: object, error_name: str) -> None:
        """Record that ``op`` raised an exception of class ``error_name``."""
        self._write(self._head("fail", op_id, op, key) + f',"error":{_quote(error_name)}}}\n')

    def meta(self, **fields: Any) -> None:
        """Record run parameters or an injected fault (``t`` and ``pid`` are added)."""
        record = {"ev": "meta", "t": time.monotonic_ns(), "pid": self._pid, **fields}
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


def _parse_file(path: Path, src: int) -> list[dict[str, Any]]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise HistoryError(f"cannot read history {path}: {err.strerror or err}") from err
    lines = data.split(b"\n")
    torn_ok = not data.endswith(b"\n")  # only a line without its newline may be torn
    records: list[dict[str, Any]] = []
    loads = json.loads
    last = len(lines) - 1
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            rec = loads(raw)
        except ValueError:
            if torn_ok and lineno - 1 == last:
                break  # the line a killed writer was writing
            raise HistoryError(f"{path}:{lineno}: not a JSON record: {raw[:60]!r}") from None
        if type(rec) is not dict or rec.get("ev") not in EVENT_KINDS:
            raise HistoryError(f"{path}:{lineno}: not a history record (need 'ev' in "
                               f"{sorted(EVENT_KINDS)})")
        if rec["ev"] != "meta" and not all(f in rec for f in _OP_FIELDS):
            missing = [f for f in _OP_FIELDS if f not in rec]
            raise HistoryError(f"{path}:{lineno}: {rec['ev']} record lacks {missing}")
        rec["src"] = src
        records.append(rec)
    return records


def read_history(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Read and merge history files into one list ordered by ``t``.

    Each record gains ``src`` (the index of its file), which the checker adds to ``(pid, id)``
    so that processes of different hosts with equal pids never pair each other's operations.
    """
    records: list[dict[str, Any]] = []
    for src, path in enumerate(paths):
        records.extend(_parse_file(Path(path), src))
    # Each file is nearly sorted already, so Timsort merges the runs in close to linear time.
    records.sort(key=lambda r: r.get("t", 0))
    return records
