"""Histories of several hosts: real time within a host, only what is provable across hosts.

Each host has its own monotonic clock (``t`` of its records); two hosts' clocks have an
unknown offset (and the simulated run adds a large one on purpose). A history is accepted iff
it is linearizable for SOME choice of how the hosts' clocks map to real time, each map
increasing. The per-host rules below decide that exactly for each key:

Correctness argument. Fix one key with (possibly candidate) winner ``w`` on host ``H``. For each
host ``h`` let ``N_h`` be the latest invocation of a get on ``h`` that returned None and ``E_h``
the earliest completion of an op on ``h`` that saw the key present. The key is linearizable
under some increasing clock maps iff

- (own host) ``max(inv_w, N_H) <= min(cmp_w, E_H)`` -- the single-host rule, on ``H``'s clock;
- (every other host) ``N_h <= E_h``.

Necessary: on every host, each absent-observer is linearized before ``L`` (the winner's point)
and each present-observer after it, and these points lie in their intervals on ``h``'s clock,
so some cut ``c_h`` with ``N_h <= c_h <= E_h`` exists (on ``H``: also ``c_H in [inv_w, cmp_w]``).
Sufficient: given the cuts, map every host's clock so that all ``c_h`` land on one real moment
``L``; maps of different hosts are independent, so this is always possible, and every op keeps
its interval. Nothing else across hosts can be proven for one key: the rules compare only times
of one host, so any clock offset between hosts (the simulated skew) changes no verdict.

Hence: two-winners, wrong-value, cross-version and errors are judged across hosts (no clock);
read-before-write, late-winner and lost-write only between the winner and ops of its own host;
stale-read (``N_h > E_h``) within every host. Across keys, the clock maps must be the same for
every key, so keys that are each fine can still conflict: ``_causal`` finds those causal
cycles (sound; exact when every key seen present has a winner that returned True).

An op's host is the ``host`` of its file's ``role`` record (``parent``/``worker``; one file per
process); a file naming no host, or two, makes each of its processes a host of its own (never
compared by clock with anything else).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._causal import causal_cycles
from ._checker import HostOf, Op, StressViolation, _cmp_t, _Judge, _Key

__all__ = ["host_map", "host_resolver", "judge_per_host"]

_ROLES = ("parent", "worker")


def host_map(events: Sequence[Mapping[str, Any]]) -> dict[Any, Any] | None:
    """``src -> host`` for files whose role record names one host; ``None`` when the history
    names at most one host (then every op shares one clock, as on a single machine)."""
    named: dict[Any, Any] = {}
    ambiguous: set[Any] = set()
    seen: set[Any] = set()
    for e in events:
        if e["ev"] == "meta" and e.get("role") in _ROLES and e.get("host") is not None:
            src = e.get("src")
            seen.add(e["host"])
            if named.setdefault(src, e["host"]) != e["host"]:
                ambiguous.add(src)
    if len(seen) <= 1:
        return None
    for src in ambiguous:
        del named[src]
    return named


def host_resolver(named: Mapping[Any, Any]) -> HostOf:
    """An op's host: its file's host, else a host of its own per (file, pid)."""
    def host_of(rec: Mapping[str, Any]) -> Any:
        src = rec.get("src")
        host = named.get(src)
        return host if host is not None else ("?", src, rec.get("pid"))
    return host_of


def _merge(parts: Sequence[_Key]) -> _Key:
    """One key's clock-free view: the winners, candidates, values read and errors of all
    hosts (the time aggregates stay per host)."""
    m = _Key()
    for st in parts:
        m.winners.extend(st.winners)
        m.cands.extend(st.cands)
        for d, op in st.reads.items():
            m.reads.setdefault(d, op)
        if m.read0 is None:
            m.read0 = st.read0
        if m.false_op is None:
            m.false_op = st.false_op
        if m.get_op is None:
            m.get_op = st.get_op
        for kind, (count, op) in (st.errors or {}).items():
            errs = m.errors if m.errors is not None else {}
            m.errors = errs
            if kind in errs:
                errs[kind][0] += count
            else:
                errs[kind] = [count, op]
    return m


class _HostJudge(_Judge):
    """A key's judge across hosts: clock-free on the merged view, timing per host."""

    def __init__(self, gk: Any, parts: dict[Any, _Key], host_of: HostOf) -> None:
        super().__init__(gk, _merge(list(parts.values())), clock=False)
        self.gk, self.parts, self.host_of = gk, parts, host_of

    def pick(self, cands: list[Op]) -> Op:
        # A candidate feasible on its own host's clock (max(inv, N_H) <= min(cmp, E_H)).
        for c in cands:
            st = self.parts.get(self.host_of(c[0]))
            if st is None or (_cmp_t(c) >= st.none_inv
                              and c[0]["t"] <= min(st.get_cmp, st.false_cmp)):
                return c
        return super().pick(cands)

    def timing_per_host(self, w: Op, true_winner: bool) -> None:
        own = self.host_of(w[0])
        for host, st in self.parts.items():
            clocked = _Judge(self.gk, st, clock=True)
            clocked.timing(w if host == own else None, true_winner)
            self.out.extend(clocked.out)


def judge_per_host(keys: dict[Any, _Key], corrupted: set[Any], host_of: HostOf
                   ) -> tuple[list[StressViolation], dict[Any, _Key]]:
    """Judge aggregates folded per ``(key, host)``: the violations, and the merged per-key
    view (for the relabelling of cross-version reads)."""
    by_key: dict[Any, dict[Any, _Key]] = {}
    for (gk, host), st in keys.items():
        by_key.setdefault(gk, {})[host] = st
    out: list[StressViolation] = []
    merged: dict[Any, _Key] = {}
    sound: list[tuple[Any, dict[Any, _Key], Op | None]] = []  # keys for the cycle search
    for gk, parts in by_key.items():
        judge = _HostJudge(gk, parts, host_of)
        st = merged[gk] = judge.st
        if st.errors:
            judge.errors()
        if judge.key not in corrupted and (st.winners or st.reads or st.false_op is not None):
            found = judge.register()
            if found is not None:  # (as on one host: no winner, no timing to judge)
                judge.timing_per_host(*found)
            if not judge.out:
                sound.append((gk, parts, found[0] if found and found[1] else None))
        out.extend(judge.out)
    if len(sound) > 1:
        out.extend(causal_cycles(sound, host_of))
    return out, merged
