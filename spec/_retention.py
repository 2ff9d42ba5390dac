"""The retention check (CORE-RETAIN): a write-once cache keeps every entry it acknowledged.

One fixed, deterministic program: insert ``BIG_COUNT`` large values (``BIG_SIZE`` bytes each,
seeded random bytes, so they do not compress: 64 MiB in total) and then many small ones, until
``MIN_KEYS`` keys were inserted; then get every key whose insert returned True and compare it
with its value. A cache that evicts (by count, by size or by age) loses some.

Capacity. A target may declare a smaller capacity with an optional attribute
``capacity = (max_keys, max_bytes)`` (two positive ints): the program then inserts
``min(MIN_KEYS, max_keys)`` keys and ``min(MIN_BYTES, max_bytes)`` bytes of values. Without it
the target must keep at least ``MIN_KEYS`` keys and ``MIN_BYTES`` bytes.

Values are bytes, or ``[bytes, key]`` for targets with rich values. A refused insert (False or an
error: other clauses judge those) is not expected back; with no accepted insert nothing is judged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._compare import show, strict_equal
from ._harness import Violation, Violations, error_name, new_dir
from ._subject import RICH_VALUES, Subject, Target, TargetError

MIN_KEYS = 2000
MIN_BYTES = 64 << 20
BIG_SIZE = 4 << 20
_SHOWN = 5  #: lost keys named in a violation


@dataclass(frozen=True)
class RetentionPlan:
    """How many big values of which size, and how many small ones, a target must keep."""

    big_count: int
    big_size: int
    small_count: int

    @property
    def keys(self) -> int:
        return self.big_count + self.small_count

    @property
    def total_bytes(self) -> int:
        return self.big_count * self.big_size

    def describe(self) -> str:
        return (f"{self.big_count} values of {self.big_size} bytes (keys 'retain-big-0'..), then "
                f"{self.small_count} small values (keys 'retain-0'..)")


def declared_capacity(target: Target) -> tuple[int, int]:
    """(max_keys, max_bytes) the target must keep: its ``capacity``, capped at the minimums."""
    declared = getattr(target, "capacity", None)
    if declared is None:
        return MIN_KEYS, MIN_BYTES
    if (not isinstance(declared, tuple) or len(declared) != 2
            or not all(type(n) is int and n > 0 for n in declared)):
        raise TargetError(f"{getattr(target, 'name', target)!r}: capacity must be "
                          f"(max_keys, max_bytes), two positive ints, not {declared!r}")
    return min(declared[0], MIN_KEYS), min(declared[1], MIN_BYTES)


def plan_for(max_keys: int, max_bytes: int) -> RetentionPlan:
    """Big values carry the bytes, small ones make up the key count (both at least met)."""
    big_count = max(1, min(-(-max_bytes // BIG_SIZE), max_keys))
    big_size = -(-max_bytes // big_count)
    return RetentionPlan(big_count, big_size, max(max_keys - big_count, 0))


def _values(plan: RetentionPlan, rich: bool) -> list[tuple[Any, Any]]:
    pairs: list[tuple[Any, Any]] = []
    for n in range(plan.big_count):
        big = random.Random(n).randbytes(plan.big_size)
        key = f"retain-big-{n}"
        pairs.append((key, [big, key] if rich else big))
    for n in range(plan.small_count):
        small = f"value {n}".encode()
        key = f"retain-{n}"
        pairs.append((key, [small, key] if rich else small))
    return pairs


def run_retention(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                  ) -> list[Violation]:
    """Insert many keys and 64 MiB, then every acknowledged key must return its value."""
    found = Violations(clauses)
    if not found.on("CORE-RETAIN"):
        return []
    plan = plan_for(*declared_capacity(target))
    pairs = _values(plan, RICH_VALUES in target.capabilities)
    subject = target.open(new_dir(workdir, "retention"))
    try:
        accepted, refused = _insert_all(subject, pairs)
        if not accepted:
            return []  # nothing was stored: there is nothing to retain, nothing is judged
        lost = _read_back(subject, pairs, accepted)
    finally:
        try:
            subject.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
    found.check("CORE-RETAIN", not lost, lambda: _message(lost, len(accepted), refused),
                lambda: _program(plan, target))
    return found.list()


def _insert_all(subject: Subject, pairs: list[tuple[Any, Any]]) -> tuple[set[int], int]:
    """Indexes of the pairs whose insert returned True, and how many were refused."""
    accepted: set[int] = set()
    for n, (key, value) in enumerate(pairs):
        try:
            if subject.insert(key, value) is True:
                accepted.add(n)
        except Exception:  # noqa: BLE001 - a refused insert is another clause's business
            pass
    return accepted, len(pairs) - len(accepted)


def _read_back(subject: Subject, pairs: list[tuple[Any, Any]], accepted: set[int]
               ) -> list[str]:
    """One line per acknowledged key that does not return its value, in insertion order."""
    lost: list[str] = []
    for n in sorted(accepted):
        key, value = pairs[n]
        try:
            got = subject.get(key)
        except Exception as err:  # noqa: BLE001
            lost.append(f"get({key!r}) raised {error_name(err)}")
            continue
        if got is None:
            lost.append(f"get({key!r}) returned None")
        elif not strict_equal(got, value):
            lost.append(f"get({key!r}) returned {show(got)}, not its value")
    return lost


def _message(lost: list[str], accepted: int, refused: int) -> str:
    shown = "; ".join(lost[:_SHOWN]) + ("; ..." if len(lost) > _SHOWN else "")
    note = f" ({refused} inserts refused, not counted)" if refused else ""
    return (f"{len(lost)} of {accepted} acknowledged keys lost after all inserts{note}: "
            f"{shown}")


def _program(plan: RetentionPlan, target: Target) -> str:
    value = "[v, k]" if RICH_VALUES in target.capabilities else "v"
    return f"""# one instance, one fresh storage directory; every insert first, then every get
import random
cache = ...  # {getattr(target, 'name', 'the target')} on a fresh directory
pairs = [(f"retain-big-{{n}}", random.Random(n).randbytes({plan.big_size}))
         for n in range({plan.big_count})]
pairs += [(f"retain-{{n}}", f"value {{n}}".encode()) for n in range({plan.small_count})]
acknowledged = [(k, v) for k, v in pairs if cache.insert(k, {value})]
for k, v in acknowledged:  # ({plan.describe()})
    assert cache.get(k) == {value}, k"""
