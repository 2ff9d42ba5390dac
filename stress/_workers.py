"""One stress worker process: M threads plus an executor for the async methods, logging every op.

The parent and its workers share only lock-free arrays (``Shared``), one slot per worker thread,
each written by one thread: a lock in shared memory would stay locked forever when the kill fault
SIGKILLs its holder. A slot says which op the thread has in flight and since when, so the parent
can aim kills at large inserts and flag ops stuck past the liveness timeout.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cachespec.stress._history import host_id
from cachespec.stress._workload import OPS, Workload, make_value


class Shared:
    """Per-slot shared memory: the op in flight (code, key index, value size, start) and counts."""

    def __init__(self, ctx: Any, slots: int) -> None:
        self.slots = slots
        # time.monotonic() when the op in flight started; 0 = idle
        self.start = ctx.Array("d", slots, lock=False)
        self.op = ctx.Array("i", slots, lock=False)  # 1 + index in OPS
        self.key = ctx.Array("i", slots, lock=False)
        self.size = ctx.Array("q", slots, lock=False)
        self.done = ctx.Array("q", slots, lock=False)
        self.errors = ctx.Array("q", slots, lock=False)
        self.stop = ctx.Value("i", 0, lock=False)

    def clear(self, slots: range) -> None:
        """Forget the in-flight ops of a killed process (it cannot do it itself)."""
        for s in slots:
            self.start[s] = 0.0
            self.op[s] = 0

    def in_flight(self, slot: int) -> tuple[str, int, int, float] | None:
        start, op = self.start[slot], self.op[slot]
        if start <= 0 or op <= 0:
            return None
        return OPS[op - 1], self.key[slot], self.size[slot], start


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker process needs; rebuilt targets come from ``target_name``."""

    target_name: str
    storage: str
    history_dir: str
    index: int  #: worker number; its slots are index*threads .. index*threads + threads - 1
    threads: int
    workload: Workload
    deadline: float  #: time.monotonic() after which no new op starts
    t0: float = 0.0  #: time.monotonic() at the run's start: key epochs count from it
    ops_per_thread: int | None = None
    group: str | None = None
    version: int | None = None
    tag: str = "run"  #: history file prefix (the xdist mode puts several runs in one directory)

    @property
    def slots(self) -> range:
        return range(self.index * self.threads, (self.index + 1) * self.threads)


def history_path(cfg: WorkerConfig) -> Path:
    return Path(cfg.history_dir) / f"{cfg.tag}-w{cfg.index:03d}-{os.getpid()}.jsonl"


def result_digest(value: Any) -> str | None:
    """What a get returned, as history stores it: None, the digest of bytes, or a typed marker."""
    from cachespec.stress._history import digest

    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return digest(bytes(value))
    # Not a value any worker inserted: keep it distinguishable from every digest.
    return "!" + type(value).__name__ + ":" + digest(repr(value).encode())


def worker_main(cfg: WorkerConfig, shared: Shared) -> None:
    """Entry point of a worker process."""
    from cachespec.conformance import resolve_target
    from cachespec.stress._history import HistoryWriter, digest

    target = resolve_target(cfg.target_name)
    if cfg.version is not None:
        target.set_version(cfg.version)
    subject = target.open(Path(cfg.storage))
    writer = HistoryWriter(history_path(cfg))
    writer.meta(role="worker", index=cfg.index, group=cfg.group, version=cfg.version,
                target=cfg.target_name, host=host_id(), pid=os.getpid())
    executor = ThreadPoolExecutor(max_workers=cfg.threads, thread_name_prefix="stress-async")

    def loop(slot: int) -> None:
        chooser = cfg.workload.chooser(slot)
        while not shared.stop.value and time.monotonic() < cfg.deadline:
            if cfg.ops_per_thread is not None and shared.done[slot] >= cfg.ops_per_thread:
                return
            op = chooser.op()
            k = chooser.key_at(time.monotonic() - cfg.t0)
            key = cfg.workload.key(k)
            value = (make_value(chooser.size(), group=cfg.group, slot=slot)
                     if "insert" in op else None)
            shared.key[slot], shared.size[slot] = k, len(value) if value is not None else 0
            shared.op[slot] = OPS.index(op) + 1
            op_id = writer.invoke(op, key, digest(value) if value is not None else None, cfg.group)
            shared.start[slot] = time.monotonic()
            try:
                if op == "get":
                    result: Any = result_digest(subject.get(key))
                elif op == "insert":
                    result = subject.insert(key, value)
                elif op == "get_async":
                    result = result_digest(subject.get_async(key, executor).result())
                else:
                    result = subject.insert_async(key, value, executor).result()
            except Exception as err:  # any exception is data for the checker
                shared.start[slot] = 0.0
                writer.fail(op_id, op, key, type(err).__name__)
                shared.errors[slot] += 1
            else:
                shared.start[slot] = 0.0
                writer.ok(op_id, op, key, result)
            shared.done[slot] += 1

    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in cfg.slots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    # Skip interpreter teardown: a hung executor thread must not keep a finished worker alive.
    os._exit(0)


@dataclass(frozen=True)
class LockHolderConfig:
    target_name: str
    storage: str
    key: str
    version: int | None = None


def lockholder_main(cfg: LockHolderConfig, holding: Any) -> None:
    """Take the target's lock for ``cfg.key``, say so, and wait to be SIGKILLed while holding it."""
    from cachespec.conformance import resolve_target

    target = resolve_target(cfg.target_name)
    if cfg.version is not None:
        target.set_version(cfg.version)
    subject = target.open(Path(cfg.storage))
    with subject.lock_for(cfg.key):
        holding.value = 1
        while True:
            time.sleep(1)


def final_reads_main(target_name: str, storage: str, version: int | None, keys: list[Any],
                     out: str, done: Any) -> None:
    """A fresh process reads every key; writes ``{repr(key): digest | None | {"error": name}}``.
    ``done.value`` counts the keys read so far: the parent's measure of progress."""
    import json

    from cachespec.conformance import resolve_target

    target = resolve_target(target_name)
    if version is not None:
        target.set_version(version)
    subject = target.open(Path(storage))
    reads: dict[str, Any] = {}
    for key in keys:
        try:
            reads[repr(key)] = result_digest(subject.get(key))
        except Exception as err:
            reads[repr(key)] = {"error": type(err).__name__}
        done.value += 1
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(reads, f)
    os.replace(tmp, out)
    os._exit(0)
