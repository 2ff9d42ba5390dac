"""What a stress check reports: violations, each naming the spec clause it breaks.

Split from ``_checker`` to keep modules small; ``_checker`` re-exports every name.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "CheckReport", "StressViolation",
    "CONC_ONE_WINNER", "CONC_READ_WINNER", "CONC_NO_STALE_READ", "CONC_LINEARIZABLE",
    "ERROR_ONLY_CACHEERROR", "CRASH_DURABLE", "CRASH_ATOMIC", "VERSION_ISOLATED", "KIND_CLAUSE",
]

CONC_ONE_WINNER = "CONC-ONE-WINNER"
CONC_READ_WINNER = "CONC-READ-WINNER"
CONC_NO_STALE_READ = "CONC-NO-STALE-READ"
CONC_LINEARIZABLE = "CONC-LINEARIZABLE"
ERROR_ONLY_CACHEERROR = "ERROR-ONLY-CACHEERROR"
CRASH_DURABLE = "CRASH-DURABLE"
CRASH_ATOMIC = "CRASH-ATOMIC"
VERSION_ISOLATED = "VERSION-ISOLATED"

# The clause each violation kind breaks. A CacheError with no fault injected most often means
# a reader met a half-published entry, hence CRASH-ATOMIC for spurious errors.
KIND_CLAUSE: dict[str, str] = {
    "two-winners": CONC_ONE_WINNER,
    "wrong-value": CONC_READ_WINNER,
    "cross-version": VERSION_ISOLATED,
    "read-before-write": CONC_LINEARIZABLE,
    "late-winner": CONC_LINEARIZABLE,
    "false-without-winner": CONC_LINEARIZABLE,
    "lost-write": CONC_NO_STALE_READ,
    "stale-read": CONC_NO_STALE_READ,
    "unexpected-error": ERROR_ONLY_CACHEERROR,
    "spurious-error": CRASH_ATOMIC,
    "not-durable": CRASH_DURABLE,
    "causal-cycle": CONC_LINEARIZABLE,
}


@dataclass
class StressViolation:
    kind: str
    key: str
    clause: str
    message: str
    excerpt: list[dict[str, Any]]
    group: str | None = None


@dataclass
class CheckReport:
    violations: list[StressViolation] = field(default_factory=list)
    keys: int = 0
    ops: int = 0
    indeterminate: int = 0
    orphans: int = 0  # completions whose invoke is missing from the history

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "keys": self.keys, "ops": self.ops,
                "indeterminate": self.indeterminate, "orphans": self.orphans,
                "violations": [asdict(v) for v in self.violations]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=repr)
