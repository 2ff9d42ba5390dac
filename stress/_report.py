"""Durability of acknowledged values, and the text form of a violation.

Split from ``_checker`` (the register check) to keep modules small: both only read the
checker's per-key aggregates or a violation, neither compares clocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ._checker import _ALL, CRASH_DURABLE, Op, StressViolation, _collect, _recs

__all__ = ["check_durability", "format_violation"]


def check_durability(events: Iterable[Mapping[str, Any]], final_reads: Mapping[str, str | None],
                     *, group: Any = _ALL) -> list[StressViolation]:
    """Every acknowledged (or read) winner must be in ``final_reads`` with its digest.

    ``final_reads`` maps key ids to the digest a final get returned (None: absent); keys it
    does not name are not checked. ``group`` restricts the check to one group's events.
    """
    keys, _, _ = _collect(events, frozenset(), True)
    expected: dict[str, list[Op]] = {}
    for gk, st in keys.items():
        g, key = gk if isinstance(gk, tuple) else (None, gk)
        if (group is not _ALL and g != group) or key not in final_reads:
            continue
        if st.winners:
            expected.setdefault(key, []).extend(st.winners)
        elif len(st.reads) == 1:
            d = next(iter(st.reads))
            expected.setdefault(key, []).extend(
                c for c in st.cands if c[0].get("value") == d)
    out = []
    for key, winners in expected.items():
        digests = {op[0].get("value") for op in winners}
        got = final_reads[key]
        if winners and got not in digests:
            seen = "absent" if got is None else f"holding {got}"
            want = " or ".join(sorted(str(d) for d in digests))
            g = winners[0][0].get("group")
            out.append(StressViolation("not-durable", key, CRASH_DURABLE,
                                       f"final read found the key {seen}, expected {want}",
                                       _recs(*winners[:2]), g))
    return out


def format_violation(v: StressViolation) -> str:
    """Render a violation and its excerpt, times relative to the first record of their host."""
    where = f"key {v.key}" + (f" [group {v.group}]" if v.group is not None else "")
    lines = [f"{v.kind} ({v.clause}) {where}: {v.message}"]
    t0s: dict[Any, int] = {}  # times are relative per host: hosts' clocks differ
    for r in v.excerpt:
        t0s[r.get("host")] = min(t0s.get(r.get("host"), r.get("t", 0)), r.get("t", 0))
    for r in v.excerpt:
        t0 = t0s[r.get("host")]
        ev = r.get("ev", "?")
        if ev == "invoke":
            tail = f" value={r['value']}" if r.get("value") is not None else ""
        elif ev == "ok":
            tail = f" -> {json.dumps(r.get('result'))}"
        else:
            tail = f" !! {r.get('error')}"
        rel = f"+{(r.get('t', 0) - t0) / 1e6:.3f}"
        where = f"host {r['host']}  " if r.get("host") is not None else ""
        lines.append(f"  {rel:>11} ms  {where}pid {r.get('pid')} "
                     f"tid {r.get('tid')} #{r.get('id')}  {ev:<6} {r.get('op')}{tail}")
    return "\n".join(lines)
