"""What a conformance run decides: one ClauseResult per clause, grouped per target and per run.

The four statuses. ``pass``: at least one check judged the clause and none violated it.
``fail``: a check violated it (or could not run on it). ``undecided``: applicable, but no check
judged it; counted like a failure at its level, because pass means judged. ``n/a``: the target
lacks a capability the clause needs; neither a pass nor a failure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, NA, UNDECIDED = "pass", "fail", "n/a", "undecided"
STATUSES = (PASS, FAIL, NA, UNDECIDED)
#: must: only MUST clauses are checked and counted; should: MUST and SHOULD
LEVELS = ("must", "should")


def parse_level(level: object) -> str:
    """``level`` as one of LEVELS (case-insensitive); ValueError names the accepted spellings."""
    if isinstance(level, str) and level.strip().lower() in LEVELS:
        return level.strip().lower()
    raise ValueError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")


def counted_levels(level: str) -> set[str]:
    """The clause levels (``MUST``/``SHOULD``) whose failures count at ``level``."""
    return {"MUST"} if parse_level(level) == "must" else {"MUST", "SHOULD"}


@dataclass
class ClauseResult:
    id: str
    level: str  #: "MUST" | "SHOULD"
    status: str  #: one of STATUSES
    error: str | None = None
    counterexample: str | None = None
    seconds: float = 0.0
    checks: list[str] = field(default_factory=list)  #: the checks that ran on this clause
    missing: list[str] = field(default_factory=list)  #: capabilities lacking, when n/a
    #: what a check chose to test when it had a choice (CheckResult.notes), shown with the verdict
    note: str | None = None


@dataclass
class TargetReport:
    target: str
    capabilities: list[str]
    clauses: list[ClauseResult]
    error: str | None = None  #: the target could not be resolved or its worker failed to start
    seconds: float = 0.0

    def failures(self, level: str = "should") -> list[ClauseResult]:
        levels = counted_levels(level)
        return [c for c in self.clauses if c.status in (FAIL, UNDECIDED) and c.level in levels]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for c in self.clauses:
            out[c.status] += 1
        return out


@dataclass
class Report:
    targets: list[TargetReport]
    profile: str
    level: str

    def failed(self) -> bool:
        return any(t.error or t.failures(self.level) for t in self.targets)

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "level": self.level.upper(),
                "targets": [asdict(t) for t in self.targets]}


__all__ = ["FAIL", "LEVELS", "NA", "PASS", "STATUSES", "UNDECIDED", "ClauseResult", "Report",
           "TargetReport", "counted_levels", "parse_level"]
