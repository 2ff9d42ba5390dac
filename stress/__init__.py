"""cachespec.stress: multi-process stress runs, their histories, and the one judge of them.

``run_stress(StressConfig(...))`` runs a fleet of worker processes with faults on one cache
directory and records every op, fault and observation in a history; ``judge(history)`` is the
only place a verdict comes from (the live run, ``cachespec verify`` and the xdist session check
all call it). ``check_history`` is its linear-time linearizability core.
"""

from __future__ import annotations

from ._checker import (
    CONC_LINEARIZABLE,
    CONC_NO_STALE_READ,
    CONC_ONE_WINNER,
    CONC_READ_WINNER,
    CRASH_ATOMIC,
    CRASH_DURABLE,
    ERROR_ONLY_CACHEERROR,
    VERSION_ISOLATED,
    CheckReport,
    StressViolation,
    check_history,
)
from ._report import check_durability, format_violation
from ._config import StressConfig, StressResult, StressUsageError
from ._history import HistoryError, HistoryWriter, digest, key_id, read_history
from ._judge import CONC_LIVENESS, Verdict, judge, judge_report
from ._run import run_stress

__all__ = [
    "CONC_LINEARIZABLE",
    "CONC_LIVENESS",
    "CONC_NO_STALE_READ",
    "CONC_ONE_WINNER",
    "CONC_READ_WINNER",
    "CRASH_ATOMIC",
    "CRASH_DURABLE",
    "ERROR_ONLY_CACHEERROR",
    "VERSION_ISOLATED",
    "CheckReport",
    "HistoryError",
    "HistoryWriter",
    "StressConfig",
    "StressResult",
    "StressUsageError",
    "StressViolation",
    "Verdict",
    "check_durability",
    "check_history",
    "digest",
    "format_violation",
    "judge",
    "judge_report",
    "key_id",
    "read_history",
    "run_stress",
]
