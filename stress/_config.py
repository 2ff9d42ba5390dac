"""What a stress run is asked to do (``StressConfig``), what it found (``StressResult``), and
the checks made before it starts: the target resolves, can be shared between processes, and
has the capabilities its faults need (faults it cannot take are dropped with a note).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cachespec.stress._checker import StressViolation
from cachespec.stress._workload import Workload

__all__ = ["StressConfig", "StressResult", "StressUsageError", "prepare", "worker_groups"]


class StressUsageError(ValueError):
    """The run cannot start as asked (bad option, target lacking a needed capability)."""


@dataclass
class StressConfig:
    """One run: the target, the fleet, the workload, the faults, where to write."""

    target: str
    procs: int = 4
    threads: int = 4
    duration: float | None = 30.0  #: seconds; None with ``ops`` = run until the ops are done
    ops: int | None = None
    workload: Workload = field(default_factory=Workload)
    faults: frozenset[str] = frozenset()
    storage: Path | None = None  #: the cache directory (a fresh temporary one by default)
    history_dir: Path | None = None  #: per-process logs (next to the cache by default)
    #: Liveness by progress: ops in flight while no op of the run completed for this many
    #: seconds are stuck (CONC-LIVENESS); the final-read pass is judged the same way.
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
    """What a run did and what the judge found; ``root`` is the temporary directory the run
    created (None when the caller named the directories)."""

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
    root: str | None = None

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


def worker_groups(target: Any, faults: frozenset[str]) -> list[tuple[str | None, int | None]]:
    """(group, version to set or None) per worker group. Groups are named by version even
    without the version fault, so that runs sharing one directory agree on each key's group."""
    from cachespec.conformance import VERSION

    if VERSION not in target.capabilities:
        return [(None, None)]
    base = int(target.get_version())
    if "version" not in faults:
        return [(f"v{base}", None)]
    return [(f"v{base}", base), (f"v{base + 1}", base + 1)]


def prepare(cfg: StressConfig) -> tuple[Any, frozenset[str], list[str]]:
    """Resolve the target; drop the faults and async ops it cannot take (with a note saying
    why). May replace ``cfg.workload``."""
    from cachespec.stress._history import SKEW_ERROR

    if SKEW_ERROR:
        raise StressUsageError(SKEW_ERROR)
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
