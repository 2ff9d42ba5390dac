"""cachespec.stress: multi-process stress runs, their histories and the history checker."""

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
    check_durability,
    check_history,
    format_violation,
)
from ._history import HistoryError, HistoryWriter, digest, key_id, read_history

__all__ = [
    "CONC_LINEARIZABLE",
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
    "StressViolation",
    "check_durability",
    "check_history",
    "digest",
    "format_violation",
    "key_id",
    "read_history",
]
