"""Fault injectors the stress parent runs between its monitoring ticks.

Each injector is a small state machine with ``tick(now)``, so none of them blocks the parent's
loop (which also watches for stuck ops). Every fault is logged as a ``meta`` history event, so the
checker can relax exactly what a fault excuses (e.g. CacheError on reads after corruption).
``version`` is not injected here: it is a second group of workers (see ``_run``).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cachespec.stress._history import now_ns
from cachespec.stress._workers import LockHolderConfig, Shared, lockholder_main

FAULT_KINDS: tuple[str, ...] = ("kill", "corrupt", "version", "lockholder")
#: An insert at least this large is the preferred kill victim: its write window is widest.
LARGE_INSERT = 128 * 1024


def parse_faults(text: str | None) -> frozenset[str]:
    """``"kill,corrupt"`` -> the set; ``""``/``"none"`` -> empty; ValueError on unknown kinds."""
    if not text or text == "none":
        return frozenset()
    kinds = frozenset(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(kinds - set(FAULT_KINDS))
    if unknown:
        raise ValueError(f"unknown fault {', '.join(unknown)}: choose from {','.join(FAULT_KINDS)}")
    return kinds


class Fleet(Protocol):
    """What the injectors need from the parent's table of worker processes."""

    def live(self) -> list[int]: ...

    def slots(self, index: int) -> range: ...

    def kill(self, index: int, reason: str) -> None: ...


class Writer(Protocol):
    def meta(self, **fields: Any) -> None: ...


class KillFault:
    """SIGKILL a worker every ``interval`` s on average, aiming at one inserting a large value."""

    AIM_FOR = 1.0  # seconds to wait for a large insert before settling for any victim
    MAX_AGE = 1.0  # an op in flight longer than this may be stuck: leave its process alone

    def __init__(self, fleet: Fleet, shared: Shared, rng: random.Random, interval: float,
                 stop_at: float) -> None:
        self.fleet, self.shared, self.rng = fleet, shared, rng
        self.interval, self.stop_at = interval, stop_at
        self.due = time.monotonic() + interval * rng.uniform(0.3, 1.0)
        self.counts = {"kills": 0, "mid_insert": 0, "large_insert": 0}

    def _victims(self, now: float, large: bool | None) -> list[int]:
        """Live workers with an insert in flight (a large one if ``large``; None: any worker),
        sparing workers with an op in flight for over ``MAX_AGE``: killing them would erase the
        evidence of a stuck op (its slot is cleared), which the liveness check needs."""
        found = []
        for index in self.fleet.live():
            ops = [op for op in map(self.shared.in_flight, self.fleet.slots(index)) if op]
            if any(now - op[3] > self.MAX_AGE for op in ops):
                continue
            if large is None or any(op[0].startswith("insert") and
                                    (not large or op[2] >= LARGE_INSERT) for op in ops):
                found.append(index)
        return found

    def tick(self, now: float) -> None:
        if now < self.due or now >= self.stop_at:
            return
        live = self.fleet.live()
        if not live:
            return
        victims = self._victims(now, large=True)
        if not victims and now < self.due + self.AIM_FOR:
            return  # keep aiming for a wide write window
        kind = "large_insert" if victims else "mid_insert"
        victims = victims or self._victims(now, large=False)
        if not victims:
            kind, victims = "any", self._victims(now, large=None)
        if not victims:
            self.due = now + self.interval
            return
        self.fleet.kill(self.rng.choice(victims), reason=f"fault:kill:{kind}")
        self.counts["kills"] += 1
        if kind != "any":
            self.counts["mid_insert"] += 1
        if kind == "large_insert":
            self.counts["large_insert"] += 1
        self.due = now + self.interval * self.rng.uniform(0.5, 1.5)


def entry_path_hook(subject: Any) -> Callable[[Any], Any] | None:
    """``key -> entry file`` where the implementation tells it (``entry_path(key)`` or torch's
    ``_fpath_from_key(key)``); None when it does not."""
    native = getattr(subject, "native", subject)
    for name in ("entry_path", "_fpath_from_key"):
        method = getattr(native, name, None)
        if callable(method):
            return method  # type: ignore[no-any-return]
    return None


class CorruptFault:
    """Truncate an entry file, or overwrite part of it with garbage, while the run goes on.

    The corrupter is one more writer, of garbage. Where the target tells a key's file, it picks
    a recently used key and corrupts that key's entry, and its meta event names the key, so the
    checker can excuse exactly that key. Otherwise it corrupts any entry file (``key`` null).

    It opens the target (``open_subject``) for one tick at a time and closes it again: the
    parent forks workers between ticks, and no child may inherit an open instance.
    """

    TRIES = 8  # recent keys to try per tick for one that has an entry file

    def __init__(self, open_subject: Callable[[], Any], writer: Writer,
                 rng: random.Random, interval: float, stop_at: float,
                 key_file: Callable[[Any], tuple[Path, str] | None] | None = None) -> None:
        self.open_subject, self.writer, self.rng = open_subject, writer, rng
        self.interval, self.stop_at = interval, stop_at
        self.key_file = key_file  # subject -> (entry file of a recent key, repr(key)) or None
        self.due = time.monotonic() + interval
        self.counts = {"truncate": 0, "garbage": 0}

    def tick(self, now: float) -> None:
        if now < self.due or now >= self.stop_at:
            return
        self.due = now + self.interval * self.rng.uniform(0.5, 1.5)
        subject = self.open_subject()
        try:
            self._tick(subject)
        finally:
            subject.close()

    def _tick(self, subject: Any) -> None:
        if self.key_file is not None:
            for _ in range(self.TRIES):
                found = self.key_file(subject)
                if found is not None and found[0].is_file():
                    self.corrupt(*found)
                    return
            return
        try:
            files: list[Path] = list(subject.entry_files())
        except OSError:
            return
        if files:
            self.corrupt(self.rng.choice(files))

    def corrupt(self, path: Path, key: str | None = None) -> None:
        mode = self.rng.choice(("truncate", "garbage"))
        try:
            size = path.stat().st_size
            if mode == "truncate":
                new_size = self.rng.randrange(size) if size else 0
                os.truncate(path, new_size)
                detail: dict[str, Any] = {"size": size, "new_size": new_size}
            else:
                offset = self.rng.randrange(size) if size else 0
                junk = os.urandom(max(1, min(4096, size - offset)))
                with open(path, "r+b") as f:
                    f.seek(offset)
                    f.write(junk)
                detail = {"size": size, "offset": offset, "length": len(junk)}
        except OSError:
            return  # replaced or removed under us: nothing was corrupted
        self.writer.meta(fault="corrupt", mode=mode, file=str(path), key=key, **detail)
        self.counts[mode] += 1


class LockHolderFault:
    """A process takes a key's lock (LOCK) and is SIGKILLed holding it; the rest must carry on."""

    HOLD = 0.3  # seconds the doomed holder keeps the lock before the kill
    ACQUIRE_TIMEOUT = 5.0

    def __init__(self, ctx: Any, target_name: str, storage: str, hot_keys: Callable[[], list[str]],
                 writer: Writer, rng: random.Random, interval: float, stop_at: float,
                 version: int | None = None) -> None:
        self.ctx, self.target_name, self.storage = ctx, target_name, storage
        self.hot_keys, self.writer, self.rng = hot_keys, writer, rng
        self.interval, self.stop_at, self.version = interval, stop_at, version
        self.due = time.monotonic() + interval * 0.5
        self.proc: Any = None
        self.holding: Any = None
        self.key = ""
        self.started = self.held_at = 0.0
        self.kills: list[tuple[str, int]] = []  # (repr(key), monotonic_ns of the kill)
        self.counts = {"lockholder_kills": 0, "lock_not_acquired": 0}

    def tick(self, now: float) -> None:
        if self.proc is None:
            if now >= self.due and now < self.stop_at - 2 * self.HOLD:
                self._start(now)
            return
        if not self.holding.value:
            if now - self.started > self.ACQUIRE_TIMEOUT or not self.proc.is_alive():
                # The lock stayed taken (or the holder died): record it, give up this round.
                self.writer.meta(fault="lockholder-not-acquired", key=self.key)
                self.counts["lock_not_acquired"] += 1
                self._kill()
                self.proc = None
                self.due = now + self.interval
            return
        if not self.held_at:
            self.held_at = now
            self.writer.meta(fault="lockholder-holding", key=repr(self.key),
                             t_held=now_ns())
        elif now - self.held_at >= self.HOLD:
            self._kill()
            t_kill = now_ns()
            self.kills.append((repr(self.key), t_kill))
            self.writer.meta(fault="lockholder", key=repr(self.key), t_kill=t_kill)
            self.counts["lockholder_kills"] += 1
            self.proc = None
            self.due = now + self.interval * self.rng.uniform(0.7, 1.3)

    def _start(self, now: float) -> None:
        # A hot key: the contention is where a lock left behind would hurt most.
        self.key = self.rng.choice(self.hot_keys())
        self.holding = self.ctx.Value("i", 0, lock=False)
        cfg = LockHolderConfig(self.target_name, self.storage, self.key, self.version)
        self.proc = self.ctx.Process(target=lockholder_main, args=(cfg, self.holding), daemon=True)
        self.proc.start()
        self.started, self.held_at = now, 0.0

    def _kill(self) -> None:
        if self.proc is not None and self.proc.pid is not None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.join(5)

    def shutdown(self) -> None:
        if self.proc is not None:
            self._kill()
            self.proc = None
