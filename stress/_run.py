"""``cachespec stress``: run worker processes on one cache directory, inject faults, check.

The parent never touches the cache except to corrupt it: it starts the workers (``_workers``),
ticks the fault injectors (``_faults``), watches the shared in-flight table for ops stuck past the
liveness timeout, and ends the run by itself, hard-killing whatever is still alive at
``duration + grace``. Then a fresh process per version group reads every key, and the merged
history goes through the checker (``_checker``) plus two checks only the parent can make:
stuck ops and locks left held by a dead process.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cachespec.stress._checker import StressViolation, check_durability, check_history
from cachespec.stress._checker import format_violation
from cachespec.stress._faults import (
    FAULT_KINDS, CorruptFault, KillFault, LockHolderFault, entry_path_hook, parse_faults,
)
from cachespec.stress._history import HistoryWriter, read_history
from cachespec.stress._workers import Shared, WorkerConfig, final_reads_main, worker_main
from cachespec.stress._workload import (
    DEFAULT_MIX, OPS, Workload, WorkloadError, parse_mix, parse_value_sizes,
)

CONC_LIVENESS = "CONC-LIVENESS"
#: A lock whose holder died must be free again within this many seconds.
LOCK_RELEASE_TIMEOUT = 2.0
_TICK = 0.02


class StressUsageError(ValueError):
    """The run cannot start as asked (bad option, target lacking a needed capability)."""


@dataclass
class StressConfig:
    target: str
    procs: int = 4
    threads: int = 4
    duration: float | None = 30.0  #: seconds; None with ``ops`` = run until the ops are done
    ops: int | None = None
    workload: Workload = field(default_factory=Workload)
    faults: frozenset[str] = frozenset()
    storage: Path | None = None  #: the cache directory (a fresh temporary one by default)
    history_dir: Path | None = None  #: per-process logs (next to the cache by default)
    stuck_timeout: float = 10.0
    kill_interval: float = 1.0
    corrupt_interval: float = 0.5
    lockholder_interval: float = 3.0
    seed: int = 0
    tag: str = "run"  #: history file prefix, so several runs can share one history directory
    progress: bool = False
    check: bool = True  #: final reads + checker; the xdist mode checks once per session instead


@dataclass
class StressResult:
    target: str
    ops: int
    elapsed: float
    errors: int
    faults: dict[str, Any]
    latency_ms: dict[str, dict[str, float]]
    violations: list[StressViolation]
    notes: list[str]
    storage: str
    history_dir: str
    history_files: list[str]
    groups: list[tuple[str | None, int | None]]
    checked: bool

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "ops": self.ops, "ops_per_s": round(self.ops_per_s, 1),
            "elapsed_s": round(self.elapsed, 3), "errors": self.errors, "faults": self.faults,
            "latency_ms": self.latency_ms, "checked": self.checked,
            "verdict": ("unchecked" if not self.checked
                        else "violations" if self.violations else "ok"),
            "violations": [
                {"kind": v.kind, "key": v.key, "clause": v.clause, "message": v.message,
                 "group": v.group, "excerpt": v.excerpt} for v in self.violations],
            "notes": self.notes, "storage": self.storage, "history_dir": self.history_dir,
        }


# -- the worker table -------------------------------------------------------------------------
class _Fleet:
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
                         t_kill=time.monotonic_ns())
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


# -- the run ----------------------------------------------------------------------------------
def _groups(target: Any, faults: frozenset[str]) -> list[tuple[str | None, int | None]]:
    """(group, version to set or None) per worker group. Groups are named by version even
    without the version fault, so that runs sharing one directory agree on each key's group."""
    from cachespec.conformance import VERSION

    if VERSION not in target.capabilities:
        return [(None, None)]
    base = int(target.get_version())
    if "version" not in faults:
        return [(f"v{base}", None)]
    return [(f"v{base}", base), (f"v{base + 1}", base + 1)]


def _prepare(cfg: StressConfig) -> tuple[Any, frozenset[str], list[str]]:
    """Resolve the target; drop the faults and async ops it cannot take (with a note saying
    why). May replace ``cfg.workload``."""
    from cachespec.conformance import (
        ASYNC, FILES, LOCK, PROCESSES, VERSION, TargetError, resolve_target,
    )

    try:
        target = resolve_target(cfg.target)
    except TargetError as err:
        raise StressUsageError(str(err)) from err
    if PROCESSES not in target.capabilities:
        raise StressUsageError(f"target {cfg.target!r} cannot be shared between processes (no "
                               f"{PROCESSES!r} capability); stress needs an on-disk cache")
    if cfg.procs < 1 or cfg.threads < 1:
        raise StressUsageError("--procs and --threads must be at least 1")
    faults, notes = set(cfg.faults), []
    for kind, cap in (("version", VERSION), ("lockholder", LOCK), ("corrupt", FILES)):
        if kind in faults and cap not in target.capabilities:
            faults.discard(kind)
            notes.append(f"fault {kind!r} skipped: {cfg.target} has no {cap!r} capability")
    if ASYNC not in target.capabilities and (cfg.workload.mix["get_async"]
                                            or cfg.workload.mix["insert_async"]):
        mix = {**cfg.workload.mix, "get_async": 0.0, "insert_async": 0.0}
        if not any(mix.values()):
            raise StressUsageError(f"target {cfg.target!r} has no async methods and --mix "
                                   "names only get_async/insert_async")
        cfg.workload = dataclasses.replace(cfg.workload, mix=mix)
        notes.append(f"get_async/insert_async skipped: {cfg.target} has no {ASYNC!r} capability")
    if "version" in faults and cfg.procs < 2:
        raise StressUsageError("--faults version needs --procs 2 or more (the second half of "
                               "the workers runs another version)")
    return target, frozenset(faults), notes


def run_stress(cfg: StressConfig) -> StressResult:
    """Run one stress run as configured; never hangs, whatever the target does."""
    import multiprocess

    target, faults, notes = _prepare(cfg)
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
    groups = _groups(target, faults)
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
                group_versions=[[g, v] for g, v in groups], host=socket.gethostname())
    fault_stop = deadline - 0.2
    fleet = _Fleet(ctx, shared, configs, writer, restart_until=fault_stop)
    injectors: list[Any] = []
    subject = None
    wl = cfg.workload

    def hot_keys() -> list[str]:
        base = wl.epoch_at(time.monotonic() - t0) * wl.keys
        return [wl.key(base + i) for i in range(min(3, wl.keys))]

    if "kill" in faults:
        injectors.append(KillFault(fleet, shared, rng, cfg.kill_interval, fault_stop))
    if "corrupt" in faults:
        subject = target.open(storage)
        injectors.append(CorruptFault(subject.entry_files, writer, rng, cfg.corrupt_interval,
                                      fault_stop, _key_file(target, subject, wl, t0, groups, rng)))
    if "lockholder" in faults:
        injectors.append(LockHolderFault(ctx, cfg.target, str(storage), hot_keys, writer, rng,
                                         cfg.lockholder_interval, fault_stop, groups[0][1]))
    for i in range(cfg.procs):
        fleet.start(i)

    stuck: list[StressViolation] = []
    flagged: set[tuple[int, float]] = set()
    grace = cfg.stuck_timeout + 2.0
    last_progress = 0.0
    try:
        while True:
            now = time.monotonic()
            for inj in injectors:
                inj.tick(now)
            fleet.reap()
            _watch_stuck(shared, fleet, wl, cfg.stuck_timeout, now, flagged, stuck, writer)
            if cfg.progress and now - last_progress >= 0.5:
                last_progress = now
                _progress_line(now - t0, shared, fleet, injectors)
            if now >= deadline:
                shared.stop.value = 1
            live = fleet.live()
            if not live:
                break  # killed workers were restarted synchronously: none left means done
            if now >= deadline or per_thread is not None:
                for index in live:
                    slots = fleet.slots(index)
                    busy = [s for s in slots if shared.in_flight(s)]
                    budget = per_thread or 0
                    rest_done = now >= deadline or all(
                        shared.done[s] >= budget for s in slots if s not in busy)
                    if busy and rest_done and all((s, shared.start[s]) in flagged for s in busy):
                        fleet.kill(index, reason="stuck")  # it can make no more progress
                    elif now >= deadline + grace:
                        fleet.kill(index, reason="run-end")
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
        if subject is not None:
            subject.close()
    elapsed = time.monotonic() - t0
    writer.meta(event="end", elapsed=elapsed)
    writer.close()

    fault_counts: dict[str, Any] = {}
    for inj in injectors:
        fault_counts.update(inj.counts)
    if "version" in faults:
        fault_counts["version_groups"] = [g for g, _ in groups]
    fault_counts["restarts"] = fleet.restarts
    violations = list(stuck)
    for index, pid, code in fleet.died:
        violations.append(StressViolation(
            "worker-died", "-", CONC_LIVENESS,
            f"worker {index} (pid {pid}) exited with code {code} on its own", []))

    files = sorted(str(p) for p in history_dir.glob(f"{cfg.tag}-*.jsonl"))
    events = read_history(files)
    ops = sum(1 for e in events if e["ev"] in ("ok", "fail"))
    errors = sum(1 for e in events if e["ev"] == "fail")
    result = StressResult(cfg.target, ops, elapsed, errors, fault_counts, _latencies(events),
                          violations, notes, str(storage), str(history_dir), files, groups,
                          checked=cfg.check)
    if cfg.check:
        result.violations.extend(check_run(
            cfg.target, storage, history_dir, events, used_keys(events), groups,
            error_type=target.error_type.__name__, timeout=cfg.stuck_timeout + 5,
            record=history_dir / f"{cfg.tag}-final-{os.getpid()}.jsonl"))
    return result


def _key_file(target: Any, subject: Any, wl: Workload, t0: float,
              groups: list[tuple[str | None, int | None]], rng: random.Random
              ) -> Callable[[], tuple[Path, str] | None] | None:
    """A picker of (entry file, repr(key)) for a key the workers use now, in a random version
    group (the version can change where a key lives); None if the target hides its files."""
    hook = entry_path_hook(subject)
    if hook is None:
        return None
    chooser = wl.chooser(-1)
    base = groups[0][1]

    def pick() -> tuple[Path, str] | None:
        key = wl.key(chooser.key_at(time.monotonic() - t0))
        version = rng.choice(groups)[1]
        try:
            if version is not None:
                target.set_version(version)
            return Path(hook(key)), repr(key)
        except Exception:
            return None
        finally:
            if version is not None and base is not None:
                target.set_version(base)
    return pick


def _watch_stuck(shared: Shared, fleet: _Fleet, wl: Workload, timeout: float, now: float,
                 flagged: set[tuple[int, float]], out: list[StressViolation],
                 writer: HistoryWriter) -> None:
    for index in fleet.live():
        for slot in fleet.slots(index):
            op = shared.in_flight(slot)
            if op is None:
                continue
            name, k, size, start = op
            if now - start > timeout and (slot, start) not in flagged:
                flagged.add((slot, start))
                key = repr(wl.key(k))
                pid = fleet.procs[index].pid
                writer.meta(event="stuck", op=name, key=key, victim=pid, slot=slot,
                            since_s=round(now - start, 3))
                out.append(StressViolation(
                    "stuck", key, CONC_LIVENESS,
                    f"{name} on {key} (pid {pid}, thread slot {slot}, value {size} B) still "
                    f"in flight after {timeout:g} s", []))


def _progress_line(elapsed: float, shared: Shared, fleet: _Fleet, injectors: list[Any]) -> None:
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


# -- checks after the run ---------------------------------------------------------------------
def final_reads(target_name: str, storage: Path, out_dir: Path, keys: list[str],
                groups: list[tuple[str | None, int | None]], timeout: float,
                ) -> tuple[dict[str | None, dict[str, Any]], list[StressViolation]]:
    """A fresh process per version group reads every key (killed if it hangs)."""
    import multiprocess

    # spawn, not fork: the parent has threads (progress, fault injection) by now, and a child
    # forked while one of them holds a lock (import, logging, allocator) can hang before its
    # first read. A fresh interpreter is also what "a fresh process reads every key" means.
    ctx = multiprocess.get_context("spawn")
    reads: dict[str | None, dict[str, Any]] = {}
    stuck: list[StressViolation] = []
    for group, version in groups:
        out = out_dir / f"final-{group or 'all'}-{os.getpid()}.json"
        progress = ctx.Array("d", 1, lock=False)
        p = ctx.Process(target=final_reads_main, daemon=True,
                        args=(target_name, str(storage), version, keys, str(out), progress))
        p.start()
        started = time.monotonic()
        while p.is_alive():
            p.join(0.05)
            now = time.monotonic()
            hung = progress[0] > 0 and now - progress[0] > timeout
            # Also bound the whole pass (a generous per-key allowance), so nothing can hang us.
            if hung or now - started > 30 + timeout + 0.05 * len(keys):  # 30 s: interpreter start
                os.kill(p.pid, signal.SIGKILL)
                p.join(5)
        try:
            reads[group] = json.loads(out.read_text())
        except (OSError, ValueError):
            reads[group] = {}
            stuck.append(StressViolation(
                "stuck", "-", CONC_LIVENESS,
                f"the final read of every key (group {group}) did not finish: a get hung for "
                f"{timeout:g} s or the pass overran (exit code {p.exitcode})", [], group))
    return reads, stuck


def check_run(target_name: str, storage: Path, history_dir: Path, events: list[dict[str, Any]],
              keys: list[str], groups: list[tuple[str | None, int | None]], *,
              error_type: str, timeout: float, clock: bool = True,
              record: Path | None = None) -> list[StressViolation]:
    """Final reads + history check + durability + lock release; the violations found.

    ``record`` (a history file) receives the final reads as ``{"ev": "meta", "final_reads":
    ..., "group": ...}`` records, so ``cachespec verify`` can repeat the durability check.
    """
    corruption = any(e.get("fault") == "corrupt" for e in events if e["ev"] == "meta")
    error_types = frozenset({error_type, "CacheError"})
    violations = list(check_history(events, clock=clock, corruption=corruption,
                                    error_types=error_types).violations)
    reads, stuck = final_reads(target_name, storage, history_dir, keys, groups, timeout)
    violations.extend(stuck)
    corrupted = {e.get("key") for e in events if e["ev"] == "meta" and e.get("fault") == "corrupt"}
    for group, got in reads.items():
        plain: dict[str, str | None] = {}
        for key, value in got.items():
            if isinstance(value, dict):  # the final get raised
                if corruption and value.get("error") in error_types:
                    continue  # a corrupted entry may keep raising CacheError
                unexpected = value.get("error") not in error_types
                violations.append(StressViolation(
                    "unexpected-error" if unexpected else "spurious-error", key,
                    "ERROR-ONLY-CACHEERROR" if unexpected else "CRASH-ATOMIC",
                    f"the final get raised {value.get('error')}", [], group))
            elif key not in corrupted:
                plain[key] = value
        if record is not None:
            with HistoryWriter(record) as w:
                w.meta(final_reads=plain, group=group)
        violations.extend(check_durability(events, plain, group=group) if len(groups) > 1
                          else check_durability(events, plain))
    violations.extend(_garbage_reads(events, corrupted))
    if clock:
        kills = [(e["key"], e["t_kill"]) for e in events
                 if e["ev"] == "meta" and e.get("fault") == "lockholder"]
        violations.extend(_lock_release(events, kills))
    return violations


def used_keys(events: list[dict[str, Any]]) -> list[Any]:
    """The keys the history's operations used (rebuilt from their ``repr``)."""
    import ast

    keys = {}
    for e in events:
        if e["ev"] == "invoke" and e["key"] not in keys:
            try:
                keys[e["key"]] = ast.literal_eval(e["key"])
            except (ValueError, SyntaxError):
                continue  # not a literal: cannot be read back (typed keys are literals)
    return [keys[k] for k in sorted(keys)]


def _garbage_reads(events: list[dict[str, Any]], corrupted: set[Any]) -> list[StressViolation]:
    """On a corrupted key the register check is off (the corrupter is a writer of garbage), but
    a get must still return None, raise the cache's error, or return a value some insert of
    that key wrote: returning the garbage as if it were a value is a wrong value."""
    if not corrupted:
        return []
    written: dict[tuple[Any, str], set[str]] = {}
    invokes: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
    for e in events:
        if e["ev"] == "invoke" and e["key"] in corrupted:
            invokes[(e.get("src"), e["pid"], e["id"])] = e
            if e.get("value") is not None:
                written.setdefault((e.get("group"), e["key"]), set()).add(e["value"])
    out: list[StressViolation] = []
    seen: set[tuple[Any, str]] = set()
    for e in events:
        if e["ev"] != "ok" or e["key"] not in corrupted or not e["op"].startswith("get"):
            continue
        i = invokes.get((e.get("src"), e["pid"], e["id"]))
        gk = (i.get("group") if i else None, e["key"])
        if e["result"] is not None and e["result"] not in written.get(gk, ()) and gk not in seen:
            seen.add(gk)
            out.append(StressViolation(
                "wrong-value", e["key"], "CONC-READ-WINNER",
                f"{e['op']} of a corrupted entry returned {e['result']}, a value no insert of "
                "this key wrote, instead of raising the cache's error", [i, e] if i else [e],
                gk[0]))
    return out


def _lock_release(events: list[dict[str, Any]], kills: list[tuple[str, int]]
                  ) -> list[StressViolation]:
    """After a lock holder is killed, every op on its key must finish within 2 s."""
    out = []
    limit = int(LOCK_RELEASE_TIMEOUT * 1e9)
    for key, t_kill in kills:
        starts: dict[tuple[Any, Any, Any], dict[str, Any]] = {}
        for e in events:
            if e.get("key") != key or e["ev"] == "meta":
                continue
            pk = (e.get("src"), e["pid"], e["id"])
            if e["ev"] == "invoke":
                starts[pk] = e
                continue
            i = starts.pop(pk, None)
            if i is None or e["t"] < t_kill:
                continue
            waited = e["t"] - max(i["t"], t_kill)
            if waited > limit:
                out.append(StressViolation(
                    "lock-not-released", key, CONC_LIVENESS,
                    f"{e['op']} finished {waited / 1e9:.2f} s after the lock holder was killed "
                    f"(limit {LOCK_RELEASE_TIMEOUT:g} s)", [i, e]))
                break
    return out


# -- the command ------------------------------------------------------------------------------
def summary_text(res: StressResult) -> str:
    lines = [f"cachespec stress {res.target}: {res.ops} ops in {res.elapsed:.1f} s "
             f"({res.ops_per_s:.0f} ops/s), {res.errors} op errors"]
    for op, st in res.latency_ms.items():
        lines.append(f"  {op:<13} n={st['n']:<8} p50 {st['p50']:9.3f} ms   p99 {st['p99']:9.3f} ms")
    if res.faults:
        lines.append("  faults: " + ", ".join(f"{k}={v}" for k, v in res.faults.items()))
    for note in res.notes:
        lines.append(f"  note: {note}")
    if not res.checked:
        lines.append("verdict: not checked")
    elif res.violations:
        lines.append(f"verdict: {len(res.violations)} violation(s)")
        for v in res.violations[:20]:
            lines.append(format_violation(v))
        if len(res.violations) > 20:
            lines.append(f"... {len(res.violations) - 20} more (see --json)")
    else:
        lines.append("verdict: ok, 0 violations")
    lines.append(f"  history: {res.history_dir}")
    return "\n".join(lines)


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def register_stress(subparsers: Any) -> None:
    """Add ``cachespec stress`` to the CLI (called by ``cachespec.stress._cli.register``)."""
    p = subparsers.add_parser(
        "stress", help="run many processes on one cache with faults; check the history",
        description="Run worker processes and threads on one cache directory with a skewed, "
                    "contended key mix; record every op; check the merged history. Exit 0: no "
                    "violation, 1: violations, 2: usage error.")
    p.add_argument("target", metavar="TARGET", help="target name (see `cachespec targets`)")
    p.add_argument("--procs", type=_positive(int), default=4, help="worker processes (4)")
    p.add_argument("--threads", type=_positive(int), default=4, help="threads per process (4)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--duration", type=_positive(float), help="seconds to run (30)")
    g.add_argument("--ops", type=_positive(int), help="total ops to run instead of a duration")
    p.add_argument("--keys", type=_positive(int), default=64, help="distinct keys (64)")
    p.add_argument("--value-size", default="mixed", metavar="DIST",
                   help="mixed|tiny|small|large, a size (4k) or a range LOW-HIGH (16-4M)")
    p.add_argument("--mix", default=DEFAULT_MIX, metavar="SPEC",
                   help=f"op weights ({DEFAULT_MIX})")
    p.add_argument("--faults", default="", metavar="LIST",
                   help=f"comma-separated faults from {','.join(FAULT_KINDS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skew", type=float, default=1.1, help="Zipf exponent of key popularity")
    p.add_argument("--key-epoch", type=float, default=0.25, metavar="S",
                   help="replace the K keys by fresh ones every S seconds, so first inserts "
                        "stay contended (0: fixed keys; default 0.25)")
    p.add_argument("--stuck-timeout", type=_positive(float), default=10.0,
                   help="an op in flight longer than this is a liveness violation (10)")
    p.add_argument("--dir", type=Path, help="cache directory (default: a fresh temporary one)")
    p.add_argument("--history", type=Path, metavar="FILE", help="write the merged history here")
    p.add_argument("--json", type=Path, metavar="FILE",
                   help="write the JSON report here ('-': stdout)")
    p.set_defaults(func=cmd_stress)


def cmd_stress(args: argparse.Namespace) -> int:
    from cachespec._cli import UsageError

    try:
        workload = Workload(keys=args.keys, mix=parse_mix(args.mix),
                            sizes=parse_value_sizes(args.value_size), skew=args.skew,
                            seed=args.seed, epoch=args.key_epoch)
        faults = parse_faults(args.faults)
    except (WorkloadError, ValueError) as err:
        raise UsageError(str(err)) from None
    if args.dir and any((args.dir / "history").glob("*.jsonl")):
        raise UsageError(f"--dir {args.dir} already holds a run's history; give an empty or "
                         "new directory")
    cfg = StressConfig(
        target=args.target, procs=args.procs, threads=args.threads,
        duration=args.duration if args.duration or args.ops else 30.0, ops=args.ops,
        workload=workload, faults=faults, seed=args.seed, stuck_timeout=args.stuck_timeout,
        storage=args.dir / "cache" if args.dir else None,
        history_dir=args.dir / "history" if args.dir else None,
        progress=sys.stderr.isatty())
    try:
        res = run_stress(cfg)
    except StressUsageError as err:
        raise UsageError(str(err)) from None
    if not args.dir:
        # Entries of a run take up to gigabytes; the history (all `verify` needs) stays.
        shutil.rmtree(res.storage, ignore_errors=True)
    if args.history:
        with open(args.history, "w") as f:
            for e in read_history(res.history_files):
                e.pop("src", None)
                f.write(json.dumps(e) + "\n")
    if args.json:
        text = json.dumps(res.to_dict(), indent=2, default=repr)
        if str(args.json) == "-":
            print(text)
        else:
            args.json.write_text(text + "\n")
    print(summary_text(res), file=sys.stderr if str(args.json) == "-" else sys.stdout)
    return 1 if res.violations else 0
