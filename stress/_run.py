"""``run_stress``: run worker processes on one cache directory, inject faults, judge the history.

The parent never touches the cache except to corrupt it: it starts the workers (``_fleet``),
ticks the fault injectors (``_faults``), watches progress (``StallWatch``), and ends the run by
itself: after the deadline it waits while ops keep completing and kills what no longer makes
progress. Then a fresh process per version group reads every key (``_final``). Every fault,
observation and final read is a history record, and the verdict is ``judge(history)``
(``_judge``), the same function ``cachespec verify`` and the xdist session check call.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cachespec.stress._config import (
    StressConfig, StressResult, prepare, worker_groups,
)
from cachespec.stress._faults import CorruptFault, KillFault, LockHolderFault, entry_path_hook
from cachespec.stress._final import final_reads, used_keys
from cachespec.stress._fleet import Fleet, StallWatch
from cachespec.stress._history import HistoryWriter, host_id, read_history
from cachespec.stress._judge import CONC_LIVENESS, judge
from cachespec.stress._workers import Shared, WorkerConfig
from cachespec.stress._workload import OPS, Workload

__all__ = ["run_stress"]

_TICK = 0.02


def run_stress(cfg: StressConfig) -> StressResult:
    """Run one stress run as configured and judge it; never hangs, whatever the target does."""
    import multiprocess

    target, faults, notes = prepare(cfg)
    root = None
    if cfg.storage is None or cfg.history_dir is None:
        root = Path(tempfile.mkdtemp(prefix="cachespec-stress-"))
    storage = Path(cfg.storage or root / "cache")  # type: ignore[operator]
    history_dir = Path(cfg.history_dir or root / "history")  # type: ignore[operator]
    storage.mkdir(parents=True, exist_ok=True)
    history_dir.mkdir(parents=True, exist_ok=True)

    # fork: workers start in milliseconds, so kills can be frequent; they rebuild the target
    # from its name anyway, so nothing but the config crosses the process boundary.
    ctx = multiprocess.get_context("fork")
    groups = worker_groups(target, faults)
    threads = cfg.threads
    shared = Shared(ctx, cfg.procs * threads)
    rng = random.Random(cfg.seed)
    t0 = time.monotonic()
    duration = cfg.duration if cfg.duration is not None else (None if cfg.ops else 30.0)
    deadline = t0 + duration if duration is not None else float("inf")
    per_thread = -(-cfg.ops // (cfg.procs * threads)) if cfg.ops else None
    configs = [
        WorkerConfig(cfg.target, str(storage), str(history_dir), i, threads, cfg.workload,
                     deadline, t0, per_thread, groups[i % len(groups)][0],
                     groups[i % len(groups)][1], cfg.tag)
        for i in range(cfg.procs)
    ]
    writer = HistoryWriter(history_dir / f"{cfg.tag}-parent-{os.getpid()}.jsonl")
    writer.meta(role="parent", target=cfg.target, procs=cfg.procs, threads=threads,
                duration=duration, ops=cfg.ops, faults=sorted(faults), seed=cfg.seed,
                keys=cfg.workload.keys, groups=[g for g, _ in groups],
                group_versions=[[g, v] for g, v in groups], host=host_id(),
                error_type=target.error_type.__name__, stall_timeout=cfg.stuck_timeout)
    fault_stop = deadline - 0.2
    fleet = Fleet(ctx, shared, configs, writer, restart_until=fault_stop)
    watch = StallWatch(shared, fleet, cfg.workload, cfg.stuck_timeout, writer)
    injectors: list[Any] = []
    wl = cfg.workload

    def hot_keys() -> list[str]:
        base = wl.epoch_at(time.monotonic() - t0) * wl.keys
        return [wl.key(base + i) for i in range(min(3, wl.keys))]

    if "kill" in faults:
        injectors.append(KillFault(fleet, shared, rng, cfg.kill_interval, fault_stop))
    if "corrupt" in faults:
        injectors.append(CorruptFault(lambda: target.open(storage), writer, rng,
                                      cfg.corrupt_interval, fault_stop,
                                      _key_file(target, storage, wl, t0, groups, rng)))
    if "lockholder" in faults:
        injectors.append(LockHolderFault(ctx, cfg.target, str(storage), hot_keys, writer, rng,
                                         cfg.lockholder_interval, fault_stop, groups[0][1]))
    for i in range(cfg.procs):
        fleet.start(i)

    last_progress = 0.0
    try:
        while True:
            now = time.monotonic()
            for inj in injectors:
                inj.tick(now)
            fleet.reap()
            stuck = watch.tick(now)
            if cfg.progress and now - last_progress >= 0.5:
                last_progress = now
                _progress_line(now - t0, shared, fleet, injectors)
            if now >= deadline:
                shared.stop.value = 1
            live = fleet.live()
            if not live:
                break  # killed workers were restarted synchronously: none left means done
            budget_only = per_thread is not None and now < deadline
            for index in stuck:
                # A stuck op can make no more progress: end its process once the rest of it
                # is done (its other threads finished their budget, or the run is over).
                others = [s for s in fleet.slots(index) if shared.in_flight(s) is None]
                if now >= deadline or (budget_only and all(
                        shared.done[s] >= (per_thread or 0) for s in others)):
                    fleet.kill(index, reason="stuck")
            if (now >= deadline or per_thread is not None) \
                    and watch.quiet(now) > cfg.stuck_timeout and not watch.unflagged():
                # Nothing completes any more and every op in flight is recorded as stuck:
                # end the run (a worker with no op in flight may hang outside one).
                for index in fleet.live():
                    fleet.kill(index, reason="stuck" if index in stuck else "run-end")
            time.sleep(_TICK)
    finally:
        shared.stop.value = 1
        for inj in injectors:
            if hasattr(inj, "shutdown"):
                inj.shutdown()
        for index in fleet.live():
            fleet.kill(index, reason="harness-exit")
        if cfg.progress:
            sys.stderr.write("\n")
    elapsed = time.monotonic() - t0
    writer.meta(event="end", elapsed=elapsed)
    writer.close()

    fault_counts: dict[str, Any] = {}
    for inj in injectors:
        fault_counts.update(inj.counts)
    if "version" in faults:
        fault_counts["version_groups"] = [g for g, _ in groups]
    fault_counts["restarts"] = fleet.restarts

    pattern = f"{cfg.tag}-*.jsonl"
    events = read_history(sorted(history_dir.glob(pattern)))
    if cfg.check:
        final_reads(cfg.target, storage, history_dir / f"{cfg.tag}-final-{os.getpid()}.jsonl",
                    used_keys(events), groups, cfg.stuck_timeout)
        events = read_history(sorted(history_dir.glob(pattern)))
    files = sorted(str(p) for p in history_dir.glob(pattern))
    ops = sum(1 for e in events if e["ev"] in ("ok", "fail"))
    errors = sum(1 for e in events if e["ev"] == "fail")
    # A slice of an xdist session (check=False) sees only its own records: the register and
    # durability checks wait for the session's merged history; its liveness is its own.
    violations = judge(events) if cfg.check else [
        v for v in judge(events) if v.clause == CONC_LIVENESS]
    return StressResult(cfg.target, ops, elapsed, errors, fault_counts, _latencies(events),
                        violations, notes, str(storage), str(history_dir), files, groups,
                        checked=cfg.check, root=str(root) if root is not None else None)


def _key_file(target: Any, storage: Path, wl: Workload, t0: float,
              groups: list[tuple[str | None, int | None]], rng: random.Random
              ) -> Callable[[Any], tuple[Path, str] | None] | None:
    """A picker of (entry file, repr(key)) for a key the workers use now, in a random version
    group (the version can change where a key lives); None if the target hides its files."""
    probe = target.open(storage)
    try:
        if entry_path_hook(probe) is None:
            return None
    finally:
        probe.close()
    chooser = wl.chooser(-1)
    base = groups[0][1]

    def pick(subject: Any) -> tuple[Path, str] | None:
        hook = entry_path_hook(subject)
        key = wl.key(chooser.key_at(time.monotonic() - t0))
        version = rng.choice(groups)[1]
        try:
            if version is not None:
                target.set_version(version)
            return Path(hook(key)), repr(key)  # type: ignore[misc]
        except Exception:
            return None
        finally:
            if version is not None and base is not None:
                target.set_version(base)
    return pick



def _progress_line(elapsed: float, shared: Shared, fleet: Fleet, injectors: list[Any]) -> None:
    done = sum(shared.done[:])
    errors = sum(shared.errors[:])
    kills = sum(inj.counts.get("kills", 0) + inj.counts.get("lockholder_kills", 0)
                for inj in injectors)
    rate = done / elapsed if elapsed > 0 else 0.0
    sys.stderr.write(f"\r  {elapsed:6.1f} s  {done:9d} ops  {rate:9.0f} ops/s  "
                     f"errors {errors:6d}  kills {kills:4d}  workers {len(fleet.live())} ")
    sys.stderr.flush()


def _latencies(events: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """p50/p99 (ms) and count per op kind, from paired invoke/completion records."""
    starts: dict[tuple[Any, Any, Any], int] = {}
    per_op: dict[str, list[float]] = {op: [] for op in OPS}
    for e in events:
        if e["ev"] == "invoke":
            starts[(e.get("src"), e["pid"], e["id"])] = e["t"]
        elif e["ev"] in ("ok", "fail"):
            t = starts.pop((e.get("src"), e["pid"], e["id"]), None)
            if t is not None:
                per_op.setdefault(e["op"], []).append((e["t"] - t) / 1e6)
    out = {}
    for op, xs in per_op.items():
        if xs:
            xs.sort()
            out[op] = {"n": len(xs), "p50": round(xs[len(xs) // 2], 3),
                       "p99": round(xs[min(len(xs) - 1, int(len(xs) * 0.99))], 3)}
    return out


