"""The one judge of a stress run: every verdict is derived from the recorded history alone.

A live ``cachespec stress`` run, ``cachespec verify`` on its saved history and the xdist
session check all call :func:`judge_report` on the same records, so they cannot disagree.
Everything the judge needs is therefore IN the history, as ``{"ev": "meta", ...}`` records:

- the parent's ``{"role": "parent", "host", "error_type", ...}`` and each worker's ``{"role":
  "worker", "host", ...}``: several hosts are judged by the per-host rules of ``_hosts`` (real
  time only within a host);
- faults: ``{"fault": "kill" | "corrupt" | "lockholder", ...}`` (a corrupted key, the
  ``t_kill`` of a lock holder);
- liveness observations: ``{"event": "stuck"}`` (an op in flight while the run made no
  progress), ``{"event": "worker-died"}``, ``{"event": "final-stalled"}``;
- the final reads: ``{"final_reads": {key_id: digest | null | {"error": name}}, "group"}``.

Each violation carries a clause id of the spec (``cachespec.spec`` clause registry).
Cost: the linear checker, plus one pass per version group (durability) and per lock-holder
kill (lock release): linear in the history for a fixed number of groups and kills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._checker import (
    CONC_READ_WINNER, CRASH_ATOMIC, ERROR_ONLY_CACHEERROR, StressViolation, check_history,
)
from ._hosts import host_map, host_resolver
from ._report import check_durability

__all__ = ["CONC_LIVENESS", "LOCK_RELEASE_TIMEOUT", "Verdict", "judge", "judge_report"]

CONC_LIVENESS = "CONC-LIVENESS"
#: A lock whose holder died must be free again within this many seconds: an op on its key
#: that waits longer than this AND several times longer than any other op of its kind that
#: ran meanwhile was held back by the dead holder's lock, not by a busy machine.
LOCK_RELEASE_TIMEOUT = 2.0
LOCK_WAIT_RATIO = 3.0

Event = Mapping[str, Any]


@dataclass
class Verdict:
    """What the judge decided about one run's history, plus counts for the summary line."""

    violations: list[StressViolation] = field(default_factory=list)
    ops: int = 0
    keys: int = 0
    indeterminate: int = 0
    orphans: int = 0
    final_reads: int = 0
    clock: bool = True
    corruption: bool = False
    hosts: int = 1

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"ok": not self.violations, "keys": self.keys, "ops": self.ops,
                "indeterminate": self.indeterminate, "orphans": self.orphans,
                "final_reads": self.final_reads, "clock": self.clock, "hosts": self.hosts,
                "corruption": self.corruption,
                "violations": [asdict(v) for v in self.violations]}


def judge(events: Sequence[Event]) -> list[StressViolation]:
    """Every violation the history shows (see :func:`judge_report`)."""
    return judge_report(events).violations


def judge_report(events: Sequence[Event], *, clock: bool | None = None,
                 corruption: bool | None = None) -> Verdict:
    """Judge a merged history. ``corruption`` defaults to what the history says (a corrupt
    fault: CacheError is an allowed outcome); ``clock=False`` turns every real-time check off
    (by default, ops are compared by time only with ops of their own host). Passing them only
    serves hand-written histories without meta records."""
    metas = [e for e in events if e["ev"] == "meta"]
    parents = [m for m in metas if m.get("role") == "parent"]
    if clock is None:
        clock = True
    named = host_map(metas)
    faults = [m for m in metas if m.get("fault")]
    if corruption is None:
        corruption = any(m["fault"] == "corrupt" for m in faults)
    error_types = frozenset({"CacheError"} | {str(m["error_type"]) for m in parents
                                              if m.get("error_type")})
    corrupted = {m["key"] for m in faults if m["fault"] == "corrupt" and m.get("key") is not None}

    report = check_history(events, clock=clock, corruption=corruption, error_types=error_types)
    verdict = Verdict(list(report.violations), report.ops, report.keys, report.indeterminate,
                      report.orphans, 0, clock, corruption,
                      len(set(named.values())) if named else 1)
    verdict.violations.extend(_liveness(metas))
    verdict.final_reads = _final_reads(events, metas, corrupted, corruption, error_types,
                                       verdict.violations)
    verdict.violations.extend(garbage_reads(events, corrupted))
    if clock:
        kills = [m for m in faults if m["fault"] == "lockholder" and "t_kill" in m]
        if named is None:
            verdict.violations.extend(lock_release(events, [(m["key"], int(m["t_kill"]))
                                                            for m in kills]))
        else:  # a kill time is judged only against ops of the killer's host (its clock)
            host_of = host_resolver(named)
            for host in {host_of(m) for m in kills}:
                mine = [(m["key"], int(m["t_kill"])) for m in kills if host_of(m) == host]
                verdict.violations.extend(lock_release(
                    [e for e in events if host_of(e) == host], mine))
    return verdict


def _liveness(metas: list[Event]) -> list[StressViolation]:
    """The parent's liveness observations (it watched progress while the run went on)."""
    out = []
    for m in metas:
        event = m.get("event")
        if event == "stuck":
            stalled = m.get("stalled_s")
            why = (f", while no operation of the run completed for {stalled} s"
                   if stalled is not None else "")
            out.append(StressViolation(
                "stuck", str(m.get("key", "-")), CONC_LIVENESS,
                f"{m.get('op')} on {m.get('key')} (pid {m.get('victim')}, thread slot "
                f"{m.get('slot')}) still in flight after {m.get('since_s')} s{why}", [],
                m.get("group")))
        elif event == "worker-died":
            out.append(StressViolation(
                "worker-died", "-", CONC_LIVENESS,
                f"worker {m.get('index')} (pid {m.get('victim')}) exited with code "
                f"{m.get('exitcode')} on its own", []))
        elif event == "final-stalled":
            what = (f"made no progress for {m['stalled_s']} s" if m.get("stalled_s")
                    else f"ended with exit code {m.get('exitcode')} before writing its reads")
            out.append(StressViolation(
                "stuck", "-", CONC_LIVENESS,
                f"the final read of every key (group {m.get('group')}) {what}, after "
                f"{m.get('done')} of {m.get('of')} keys", [], m.get("group")))
    return out


def _final_reads(events: Sequence[Event], metas: list[Event], corrupted: set[Any],
                 corruption: bool, error_types: frozenset[str],
                 out: list[StressViolation]) -> int:
    """Errors of the final gets, and durability: every acknowledged value is still there."""
    finals: dict[Any, dict[str, Any]] = {}  # group -> key id -> what the final get returned
    for m in metas:
        if isinstance(m.get("final_reads"), dict):
            finals.setdefault(m.get("group"), {}).update(m["final_reads"])
    for group, got in finals.items():
        plain: dict[str, str | None] = {}
        for key, value in got.items():
            if isinstance(value, dict):  # the final get raised
                error = value.get("error")
                if corruption and error in error_types:
                    continue  # a corrupted entry may keep raising CacheError
                unexpected = error not in error_types
                out.append(StressViolation(
                    "unexpected-error" if unexpected else "spurious-error", key,
                    ERROR_ONLY_CACHEERROR if unexpected else CRASH_ATOMIC,
                    f"the final get raised {error}", [], group))
            elif key not in corrupted:
                plain[key] = value
        # One group: its records may carry the group or not; several: judge each apart.
        out.extend(check_durability(events, plain, group=group) if len(finals) > 1
                   else check_durability(events, plain))
    return sum(len(got) for got in finals.values())


def _op_key(e: Event) -> tuple[Any, Any, Any]:
    return (e.get("src"), e["pid"], e["id"])


def garbage_reads(events: Sequence[Event], corrupted: set[Any]) -> list[StressViolation]:
    """On a corrupted key the register check is off (the corrupter is a writer of garbage), but
    a get must still return None, raise the cache's error, or return a value some insert of
    that key wrote: returning the garbage as if it were a value is a wrong value."""
    if not corrupted:
        return []
    written: dict[tuple[Any, str], set[str]] = {}
    invokes: dict[tuple[Any, Any, Any], Event] = {}
    for e in events:
        if e["ev"] == "invoke" and e["key"] in corrupted:
            invokes[_op_key(e)] = e
            if e.get("value") is not None:
                written.setdefault((e.get("group"), e["key"]), set()).add(e["value"])
    out: list[StressViolation] = []
    seen: set[tuple[Any, str]] = set()
    for e in events:
        if e["ev"] != "ok" or e["key"] not in corrupted or not e["op"].startswith("get"):
            continue
        i = invokes.get(_op_key(e))
        gk = (i.get("group") if i else None, e["key"])
        if e["result"] is not None and e["result"] not in written.get(gk, ()) and gk not in seen:
            seen.add(gk)
            out.append(StressViolation(
                "wrong-value", e["key"], CONC_READ_WINNER,
                f"{e['op']} of a corrupted entry returned {e['result']}, a value no insert of "
                "this key wrote, instead of raising the cache's error",
                [dict(i), dict(e)] if i else [dict(e)], gk[0]))
    return out


def lock_release(events: Sequence[Event], kills: list[tuple[str, int]]
                 ) -> list[StressViolation]:
    """After a lock holder is killed, ops on its key must not wait for the dead holder.

    An op on the key that completes ``waited`` ns after ``max(invoke, kill)`` is held back by
    the lock if ``waited`` exceeds both ``LOCK_RELEASE_TIMEOUT`` and ``LOCK_WAIT_RATIO`` times
    the longest op of the same kind on another key that overlapped that wait: on a busy
    machine every op is slow, so the machine's load alone never decides. (A lock never
    released leaves its waiters in flight: the parent's stall watch reports those.)
    """
    out = []
    limit = int(LOCK_RELEASE_TIMEOUT * 1e9)
    for key, t_kill in kills:
        starts: dict[tuple[Any, Any, Any], Event] = {}
        waits: list[tuple[int, int, Event, Event]] = []  # (from, to, invoke, completion)
        others: list[tuple[str, int, int]] = []  # (op, invoke t, completion t) of other keys
        for e in events:
            if e["ev"] == "meta":
                continue
            if e["ev"] == "invoke":
                starts[_op_key(e)] = e
                continue
            i = starts.pop(_op_key(e), None)
            if i is None or e["t"] < t_kill:
                continue
            if e["key"] == key:
                begin = max(i["t"], t_kill)
                if e["t"] - begin > limit:
                    waits.append((begin, e["t"], i, e))
            else:
                others.append((e["op"], i["t"], e["t"]))
        for begin, end, i, c in waits:
            slowest = max((t1 - t0 for op, t0, t1 in others
                           if op == c["op"] and t0 < end and t1 > begin), default=None)
            # No other op of its kind ran meanwhile: the machine made no comparable progress,
            # so the wait says nothing about the lock (a wait forever is a stall instead).
            if slowest is not None and end - begin > LOCK_WAIT_RATIO * slowest:
                out.append(StressViolation(
                    "lock-not-released", key, CONC_LIVENESS,
                    f"{c['op']} finished {(end - begin) / 1e9:.2f} s after the lock holder was "
                    f"killed (limit {LOCK_RELEASE_TIMEOUT:g} s; the slowest other {c['op']} "
                    f"meanwhile took {slowest / 1e9:.2f} s)", [dict(i), dict(c)]))
                break
    return out
