"""The final-read pass: a fresh process per version group reads every key the run used.

What it read goes into the history as ``{"ev": "meta", "final_reads": ..., "group": ...}`` and
a pass that stops making progress as ``{"ev": "meta", "event": "final-stalled", ...}``: the
judge (``_judge``) decides durability and liveness from those records, never from this module.

Liveness by progress: the reader counts each key it finished in shared memory, and the parent
kills it only when that count has not moved for ``timeout`` seconds. Before its first key the
child is still starting (a fresh interpreter on a busy machine can take long): CPU time it
consumes counts as progress then, so a slow start is never a stall, and a hung start is.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cachespec.stress._history import HistoryWriter
from cachespec.stress._workers import final_reads_main

__all__ = ["final_reads", "used_keys"]

_POLL = 0.05


def used_keys(events: Sequence[dict[str, Any]]) -> list[Any]:
    """The keys the history's operations used (rebuilt from their ``repr``)."""
    keys = {}
    for e in events:
        if e["ev"] == "invoke" and e["key"] not in keys:
            try:
                keys[e["key"]] = ast.literal_eval(e["key"])
            except (ValueError, SyntaxError):
                continue  # not a literal: cannot be read back (typed keys are literals)
    return [keys[k] for k in sorted(keys)]


def _cpu_ticks(pid: int) -> int | None:
    """User + system CPU time of ``pid`` in clock ticks (None without /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def final_reads(target_name: str, storage: Path, record: Path, keys: list[Any],
                groups: Sequence[tuple[str | None, int | None]], timeout: float) -> None:
    """Read every key in a fresh process per group; append what was read to ``record``."""
    import multiprocess

    # spawn, not fork: the parent has threads (progress, fault injection) by now, and a child
    # forked while one of them holds a lock (import, logging, allocator) can hang before its
    # first read. A fresh interpreter is also what "a fresh process reads every key" means.
    ctx = multiprocess.get_context("spawn")
    with HistoryWriter(record) as writer:
        for group, version in groups:
            out = record.parent / f"final-{group or 'all'}-{os.getpid()}.json"
            done = ctx.Value("q", 0, lock=False)  # keys finished by the child
            p = ctx.Process(target=final_reads_main, daemon=True,
                            args=(target_name, str(storage), version, keys, str(out), done))
            p.start()
            seen, cpu, moved = -1, None, time.monotonic()
            stalled = 0.0
            while p.is_alive():
                p.join(_POLL)
                now = time.monotonic()
                count = done.value
                ticks = _cpu_ticks(p.pid) if count == 0 else None
                if count != seen or (ticks is not None and ticks != cpu):
                    seen, cpu, moved = count, ticks, now
                elif now - moved > timeout:
                    stalled = now - moved
                    os.kill(p.pid, signal.SIGKILL)
                    p.join(5)
            try:
                reads = json.loads(out.read_text())
            except (OSError, ValueError):
                writer.meta(event="final-stalled", group=group, done=done.value, of=len(keys),
                            stalled_s=round(stalled, 3), exitcode=p.exitcode)
                reads = {}
            finally:
                out.unlink(missing_ok=True)
            writer.meta(final_reads=reads, group=group)
