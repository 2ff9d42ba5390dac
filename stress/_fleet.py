"""The worker fleet of a stress run and the liveness watch over it.

``Fleet`` starts worker processes, kills them (a fault, or a stuck process at the end) and
restarts killed ones while the run lasts; every kill and every death is a history record.
``StallWatch`` judges liveness by progress, never by a wall-clock limit per op: an op is stuck
when it has been in flight for ``timeout`` seconds AND no op of the whole run completed during
the last ``timeout`` seconds. A busy machine slows every op but keeps completing some, so load
alone never makes a stall; a hung op shows once the others have finished or hung too.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from cachespec.stress._history import HistoryWriter, now_ns
from cachespec.stress._workers import Shared, WorkerConfig, worker_main
from cachespec.stress._workload import Workload

__all__ = ["Fleet", "StallWatch"]


class Fleet:
    """The worker processes, by index; restarts killed ones while the run lasts."""

    def __init__(self, ctx: Any, shared: Shared, configs: list[WorkerConfig],
                 writer: HistoryWriter, restart_until: float) -> None:
        self.ctx, self.shared, self.configs, self.writer = ctx, shared, configs, writer
        self.restart_until = restart_until
        self.procs: dict[int, Any] = {}
        self.killed: set[int] = set()  # pids we SIGKILLed on purpose
        self.died: list[tuple[int, int, int | None]] = []  # (index, pid, exitcode) not ours
        self.restarts = 0

    def start(self, index: int) -> None:
        p = self.ctx.Process(target=worker_main, args=(self.configs[index], self.shared),
                             daemon=True, name=f"cachespec-stress-w{index}")
        p.start()
        self.procs[index] = p

    def slots(self, index: int) -> range:
        return self.configs[index].slots

    def live(self) -> list[int]:
        return [i for i, p in self.procs.items() if p.is_alive()]

    def _budget_left(self, index: int) -> bool:
        per = self.configs[index].ops_per_thread
        return per is None or any(self.shared.done[s] < per for s in self.slots(index))

    def kill(self, index: int, reason: str) -> None:
        p = self.procs[index]
        self.killed.add(p.pid)
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.join(5)
        self.shared.clear(self.slots(index))
        self.writer.meta(fault="kill", reason=reason, index=index, victim=p.pid,
                         t_kill=now_ns())
        if reason.startswith("fault:") and time.monotonic() < self.restart_until \
                and self._budget_left(index):
            self.restarts += 1
            self.start(index)

    def reap(self) -> None:
        """Note workers that ended on their own with a failure (not by our SIGKILL)."""
        for index, p in list(self.procs.items()):
            if p.is_alive() or p.exitcode is None:
                continue
            if p.exitcode != 0 and p.pid not in self.killed:
                self.died.append((index, p.pid, p.exitcode))
                self.writer.meta(event="worker-died", index=index, victim=p.pid,
                                 exitcode=p.exitcode)
            del self.procs[index]


class StallWatch:
    """Records ``{"event": "stuck"}`` for ops in flight while the run made no progress."""

    def __init__(self, shared: Shared, fleet: Fleet, workload: Workload, timeout: float,
                 writer: HistoryWriter) -> None:
        self.shared, self.fleet, self.workload = shared, fleet, workload
        self.timeout, self.writer = timeout, writer
        self.done = -1
        self.completed_at = time.monotonic()  #: last time an op completed (or the start)
        self.busy_since = self.completed_at  #: no completion since then, with ops in flight
        self.flagged: set[tuple[int, float]] = set()  # (slot, start) already recorded

    def quiet(self, now: float) -> float:
        """Seconds since the last op of the run completed."""
        return now - self.completed_at

    def tick(self, now: float) -> list[int]:
        """Update the progress clock; record newly stuck ops. The indices of workers that hold
        a stuck op are returned."""
        done = sum(self.shared.done[:])
        if done != self.done:
            self.done, self.completed_at, self.busy_since = done, now, now
            return self.stuck_workers()
        pending = [(index, slot, op) for index in self.fleet.live()
                   for slot in self.fleet.slots(index)
                   if (op := self.shared.in_flight(slot)) is not None]
        if not pending:
            self.busy_since = now  # nothing waits: no progress is owed
            return self.stuck_workers()
        if now - self.busy_since < self.timeout:
            return self.stuck_workers()
        for index, slot, (name, k, size, start) in pending:
            if now - start < self.timeout or (slot, start) in self.flagged:
                continue
            self.flagged.add((slot, start))
            worker = self.fleet.configs[index]
            self.writer.meta(event="stuck", op=name, key=repr(self.workload.key(k)),
                             victim=self.fleet.procs[index].pid, slot=slot, size=size,
                             group=worker.group, since_s=round(now - start, 3),
                             stalled_s=round(now - self.busy_since, 3))
        return self.stuck_workers()

    def unflagged(self) -> int:
        """Ops in flight not (yet) recorded as stuck."""
        return sum(1 for index in self.fleet.live() for slot in self.fleet.slots(index)
                   if (op := self.shared.in_flight(slot)) is not None
                   and (slot, op[3]) not in self.flagged)

    def stuck_workers(self) -> list[int]:
        out = []
        for index in self.fleet.live():
            for slot in self.fleet.slots(index):
                op = self.shared.in_flight(slot)
                if op is not None and (slot, op[3]) in self.flagged:
                    out.append(index)
                    break
        return out
