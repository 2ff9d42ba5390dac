"""Linearizability checker for histories of a write-once cache, in time linear in the history.

Every key (per ``group``) is a write-once register: absent until one insert takes effect at a
point ``L``, then present with that insert's value forever. A history is linearizable iff a
winner ``w`` and a point ``L`` in ``[invoke(w), complete(w)]`` exist with

- ``L >= N``: ``N`` is the latest invocation of a get that returned None (it must precede L),
- ``L <= E``: ``E`` is the earliest completion of an op that saw the key present (a get that
  returned a value, an insert that returned False), and every value read is ``w``'s value.

(Given ``L``, put each absent-observer at its invocation and each present-observer at its
completion: those points lie in their intervals, so the order respects real time.) Hence
``max(inv_w, N) <= min(cmp_w, E)`` decides the key, and it splits into four pairwise tests,
each a named violation: ``E < inv_w`` (read-before-write / late-winner), ``N > cmp_w``
(lost-write), ``N > E`` (stale-read). Only the extremes ``N``, ``E`` and the winner matter, so
one pass keeps, per key, O(1) aggregates plus the (normally one) winner and the rare
indeterminate inserts (no completion, or failed: they may or may not have taken effect). When
no insert returned True, a candidate that wrote the value read must be the winner; the one with
the earliest invocation among those completing no earlier than ``N`` is feasible if any is.

Several hosts (several clocks): the same rules hold per host, with the clock-free ones across
hosts, and a search for cycles through several keys; ``_hosts`` and ``_causal`` state the
rules and their correctness argument, which extends the one above.

Cost: one pass over the events pairs each completion with its invoke by ``(src, pid, id)`` in a
hash map (order-independent: no sort is needed, a completion seen before its invoke waits in a
second map) and updates its key's aggregates in O(1); a final pass judges each key in O(ops of
the key). Total O(n) expected time, no per-key sorting.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._history import HistoryError
from ._violations import (
    CONC_LINEARIZABLE, CONC_NO_STALE_READ, CONC_ONE_WINNER, CONC_READ_WINNER, CRASH_ATOMIC,
    CRASH_DURABLE, ERROR_ONLY_CACHEERROR, KIND_CLAUSE, VERSION_ISOLATED, CheckReport,
    StressViolation,
)

__all__ = [
    "CheckReport", "StressViolation", "check_history",
    "CONC_ONE_WINNER", "CONC_READ_WINNER", "CONC_NO_STALE_READ", "CONC_LINEARIZABLE",
    "ERROR_ONLY_CACHEERROR", "CRASH_DURABLE", "CRASH_ATOMIC", "VERSION_ISOLATED", "KIND_CLAUSE",
]

_IS_GET = {"get": True, "get_async": True, "insert": False, "insert_async": False}
_INF = float("inf")
_ALL = object()

Op = tuple[dict[str, Any], "dict[str, Any] | None"]  # (invoke record, completion or None)
HostOf = Callable[[Mapping[str, Any]], Any]  # an op's invoke record -> the host it ran on


class _Key:
    """O(1) aggregates of one key's completed operations (plus winners and candidates)."""

    __slots__ = ("winners", "cands", "none_inv", "none_i", "none_c", "get_cmp", "get_op",
                 "false_cmp", "false_op", "reads", "read0", "errors")

    def __init__(self) -> None:
        self.winners: list[Op] = []
        self.cands: list[Op] = []  # inserts that failed or never completed
        self.none_inv: float = -_INF
        self.none_i: dict[str, Any] | None = None  # the None-get with that invocation
        self.none_c: dict[str, Any] | None = None
        self.get_cmp: float = _INF
        self.get_op: Op | None = None
        self.false_cmp: float = _INF
        self.false_op: Op | None = None
        self.reads: dict[str, Op] = {}  # digest read -> one get that read it
        self.read0: str | None = None  # the first digest read (a fast path)
        self.errors: dict[str, list[Any]] | None = None  # kind -> [count, first op]


def _collect(events: Iterable[Mapping[str, Any]], error_types: frozenset[str], corruption: bool,
             host_of: HostOf | None = None, roles: list[Any] | None = None
             ) -> tuple[dict[Any, _Key], CheckReport, set[Any]]:
    """One pass: pair completions with invokes and fold each op into its key's aggregates."""
    # The pass allocates millions of small tuples but no cycles: pausing the cyclic GC stops
    # it from re-traversing the whole history over and over (a several-fold speed-up).
    paused = gc.isenabled()
    gc.disable()
    try:
        return _fold(events, error_types, corruption, host_of, roles)
    finally:
        if paused:
            gc.enable()


def _fold(events: Iterable[Mapping[str, Any]], error_types: frozenset[str], corruption: bool,
          host_of: HostOf | None, roles: list[Any] | None
          ) -> tuple[dict[Any, _Key], CheckReport, set[Any]]:
    """With ``host_of``, ops are folded per (key, host of the op): one clock per aggregate.
    ``roles`` collects the ``role`` records (which name the hosts) met on the way."""
    keys: dict[Any, _Key] = {}
    pending: dict[tuple[Any, Any, Any], Any] = {}  # invokes awaiting a completion
    early: dict[tuple[Any, Any, Any], Any] = {}  # completions seen before their invoke
    corrupted: set[Any] = set()
    report = CheckReport()
    n_ops = 0
    is_get_of = _IS_GET
    for r in events:
        ev = r["ev"]
        if ev == "invoke":
            n_ops += 1
            pk = (r.get("src"), r["pid"], r["id"])
            if early:
                c = early.pop(pk, None)
                if c is None:
                    pending[pk] = r
                    continue
                i = r
            else:
                pending[pk] = r
                continue
        elif ev == "meta":
            if r.get("fault") == "corrupt" and r.get("key") is not None:
                # Accept the key id (repr) or the raw str key; exempt the key in every group.
                corrupted.update((r["key"], repr(r["key"])))
            elif roles is not None and r.get("role") is not None:
                roles.append(r)
            continue
        else:
            pk = (r.get("src"), r["pid"], r["id"])
            i = pending.pop(pk, None)
            if i is None:
                early[pk] = r
                continue
            c = r
        g = i.get("group")
        gk = i["key"] if g is None else (g, i["key"])
        if host_of is not None:
            gk = (gk, host_of(i))
        st = keys.get(gk)
        if st is None:
            st = keys[gk] = _Key()
        is_get = is_get_of.get(i["op"])
        if is_get is None:
            raise HistoryError(f"unknown op {i['op']!r} in {dict(i)}")
        if c["ev"] == "ok":
            res = c["result"]
            if is_get:
                if res is None:
                    t = i["t"]
                    if t > st.none_inv:  # true for most None-gets: no tuple built here
                        st.none_inv = t
                        st.none_i = i
                        st.none_c = c
                else:
                    if res != st.read0:  # almost every read returns the first value read
                        if st.read0 is None:
                            st.read0 = res
                        if res not in st.reads:
                            st.reads[res] = (i, c)
                    t = c["t"]
                    if t < st.get_cmp:
                        st.get_cmp, st.get_op = t, (i, c)
            elif res is True:
                st.winners.append((i, c))
            else:
                t = c["t"]
                if t < st.false_cmp:
                    st.false_cmp, st.false_op = t, (i, c)
        else:
            if not is_get:
                st.cands.append((i, c))
            err = c.get("error")
            kind = ("unexpected-error" if err not in error_types
                    else None if corruption else "spurious-error")
            if kind is not None:
                errs = st.errors
                if errs is None:
                    errs = st.errors = {}
                if kind in errs:
                    errs[kind][0] += 1
                else:
                    errs[kind] = [1, (i, c)]
    for i in pending.values():
        report.indeterminate += 1
        if not is_get_of.get(i["op"], True):
            g = i.get("group")
            gk = i["key"] if g is None else (g, i["key"])
            if host_of is not None:
                gk = (gk, host_of(i))
            st = keys.get(gk)
            if st is None:
                st = keys[gk] = _Key()
            st.cands.append((i, None))
    report.orphans = len(early)
    report.ops = n_ops
    report.keys = len(keys)
    return keys, report, corrupted


def _recs(*ops: Op | None) -> list[dict[str, Any]]:
    out = [rec for op in ops if op is not None for rec in op if rec is not None]
    out.sort(key=lambda rec: rec.get("t", 0))
    return [dict(rec) for rec in out]


def _cmp_t(op: Op) -> float:
    return _INF if op[1] is None else op[1]["t"]


class _Judge:
    """Turns one key's aggregates into violations."""

    def __init__(self, gk: Any, st: _Key, clock: bool) -> None:
        self.group, self.key = (gk if isinstance(gk, tuple) else (None, gk))
        self.st, self.clock = st, clock
        self.out: list[StressViolation] = []

    def add(self, kind: str, message: str, *ops: Op | None) -> None:
        self.out.append(StressViolation(kind, self.key, KIND_CLAUSE[kind], message, _recs(*ops),
                                        self.group))

    def errors(self) -> None:
        for kind, (count, (i, c)) in (self.st.errors or {}).items():
            more = f" ({count} such failures on this key)" if count > 1 else ""
            self.add(kind, f"{i['op']} raised {c['error']}{more}", (i, c))

    def register(self) -> tuple[Op, bool] | None:
        """The clock-free checks (and, with the clock, :meth:`timing`); returns the winner
        ``(op, returned True)`` the timing checks are judged against, if there is one."""
        st = self.st
        if len(st.winners) > 1:
            self.add("two-winners", f"{len(st.winners)} inserts returned True", *st.winners[:2])
            return None
        if st.winners:
            w, true_winner = st.winners[0], True
        else:
            true_winner = False
            found = self._candidate()
            if found is None:
                return None
            w = found
        wval = w[0].get("value")
        for d, op in st.reads.items():
            if d != wval:
                self.add("wrong-value", f"get returned {d}, the winning insert wrote {wval}",
                         w, op)
                break
        if self.clock:
            self.timing(w, true_winner)
        return w, true_winner

    def _candidate(self) -> Op | None:
        """With no True insert: the failed/indeterminate insert that must have won, if any."""
        st = self.st
        if st.reads:
            if len(st.reads) > 1:
                (d1, op1), (d2, op2) = list(st.reads.items())[:2]
                self.add("wrong-value", f"two gets returned different values {d1} and {d2}",
                         op1, op2)
                return None
            d, op = next(iter(st.reads.items()))
            cands = [c for c in st.cands if c[0].get("value") == d]
            if not cands:
                self.add("wrong-value", f"get returned {d}, which no insert that could have won "
                         "wrote", op)
                return None
        elif st.false_op is not None:
            cands = st.cands
            if not cands:
                self.add("false-without-winner", "insert returned False but no insert returned "
                         "True or could have taken effect", st.false_op)
                return None
        else:
            return None  # the key was never observed present: nothing to decide
        return self.pick(cands)

    def pick(self, cands: list[Op]) -> Op:
        """The candidate to judge as the winner: the earliest invoked of those completing no
        earlier than ``N`` (it is feasible if any is)."""
        late_enough = [c for c in cands if _cmp_t(c) >= self.st.none_inv] or cands
        return min(late_enough, key=lambda c: c[0]["t"])

    def timing(self, w: Op | None, true_winner: bool) -> None:
        """The real-time tests of the module docstring; ``w=None``: the winner ran on another
        clock, so only ``N > E`` (stale-read) can be judged against this key's aggregates."""
        st = self.st
        none_op = None if st.none_i is None else (st.none_i, st.none_c)
        if w is not None:
            inv_w, cmp_w = w[0]["t"], _cmp_t(w)
            who = "the winning insert" if true_winner else "any insert that could have won"
            if st.get_cmp < inv_w:
                self.add("read-before-write", f"get returned a value {_ms(inv_w - st.get_cmp)} "
                         f"before {who} was invoked", w, st.get_op)
            if st.false_cmp < inv_w:
                kind = "late-winner" if true_winner else "false-without-winner"
                self.add(kind, f"insert returned False {_ms(inv_w - st.false_cmp)} before {who} "
                         "was invoked", w, st.false_op)
        if w is not None and st.none_inv > _cmp_t(w):
            self.add("lost-write", f"get invoked {_ms(st.none_inv - _cmp_t(w))} after the "
                     "winning insert completed returned None", w, none_op)
        else:
            seen, by = min((st.get_cmp, st.get_op), (st.false_cmp, st.false_op),
                           key=lambda x: x[0])
            if st.none_inv > seen:
                self.add("stale-read", f"get invoked {_ms(st.none_inv - seen)} after another op "
                         "saw the key present returned None", by, none_op)


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3f} ms"


def _cross_version(violations: list[StressViolation], keys: dict[Any, _Key]) -> None:
    """Re-label wrong reads whose value was written under another group (version)."""
    written: dict[tuple[str, str], str] = {}  # (key, digest) -> group that inserted it
    for gk, st in keys.items():
        if isinstance(gk, tuple):
            for op in st.winners + st.cands:
                written.setdefault((gk[1], op[0].get("value")), gk[0])
    for v in violations:
        if v.kind != "wrong-value" or v.group is None:
            continue
        for rec in v.excerpt:
            src = written.get((v.key, rec.get("result")))
            if rec.get("ev") == "ok" and src is not None and src != v.group:
                v.kind, v.clause = "cross-version", VERSION_ISOLATED
                v.message += f" (written under group {src})"
                break


def check_history(events: Iterable[Mapping[str, Any]], *, clock: bool = True,
                  corruption: bool = False,
                  error_types: frozenset[str] = frozenset({"CacheError"})) -> CheckReport:
    """Check a merged history (see module docstring); ``clock=False`` skips real-time tests.

    With the clock, a history whose role records name several hosts is judged by the per-host
    rules of ``_hosts``: real time only between ops of one host, clock-free across hosts.
    Keys named by a ``{"ev": "meta", "fault": "corrupt", "key": ...}`` record are exempt from
    the register checks (their entry was damaged on purpose); their errors are still checked.
    """
    from ._hosts import host_map, host_resolver, judge_per_host

    roles: list[Any] | None = None
    if clock:
        if not isinstance(events, Sequence):
            events = list(events)  # a second fold may be needed
        roles = []
    keys, report, corrupted = _collect(events, frozenset(error_types), corruption, roles=roles)
    named = host_map(roles) if roles else None
    if named is not None:  # several hosts: fold again, per (key, host)
        host_of = host_resolver(named)
        keys, report, corrupted = _collect(events, frozenset(error_types), corruption, host_of)
        violations, merged = judge_per_host(keys, corrupted, host_of)
        report.violations.extend(violations)
        report.keys = len(merged)
        _relabel(report, merged)
        return report
    for gk, st in keys.items():
        judge = _Judge(gk, st, clock)
        if st.errors:
            judge.errors()
        if judge.key not in corrupted and (st.winners or st.reads or st.false_op is not None):
            judge.register()
        report.violations.extend(judge.out)
    _relabel(report, keys)
    return report


def _relabel(report: CheckReport, keys: dict[Any, _Key]) -> None:
    if any(v.kind == "wrong-value" and v.group is not None for v in report.violations):
        _cross_version(report.violations, keys)
