"""Property tests of the per-host rules (``cachespec.stress._hosts``): histories of several
hosts, each host's times shifted by its own large clock offset.

The reference for one key is an exhaustive search over every order that respects real time
WITHIN each host only (across hosts any order is possible, since any increasing map of each
host's clock to real time is); the checker must agree with it exactly. Model histories must
be accepted whatever the offsets; violations that one host's clock proves must be rejected.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_checker_properties import SETTINGS, Op, arbitrary_ops, completed, events_of, runs

from cachespec.stress import check_history

#: Offsets far larger than any interval of the generated runs: comparing two hosts' times
#: would order every op of one host before every op of the other.
SKEWS = st.sampled_from((0, 10**6, -(10**6), 37, -5))


def on_hosts(ops: list[Op], host: dict[int, int], skew: dict[int, int]) -> list[dict[str, Any]]:
    """``ops`` recorded by several hosts: op ``n`` by host ``host[n]`` (its own history file,
    ``src``), whose clock reads ``skew[h]`` more than real time."""
    out = [{"ev": "meta", "t": skew[h], "pid": 1, "role": "worker", "host": f"h{h}", "src": h}
           for h in sorted(set(host.values()))]
    for rec in events_of(ops):
        h = host[rec["id"]]
        out.append({**rec, "t": rec["t"] + skew[h], "src": h})
    out.sort(key=lambda r: r["t"])
    return out


def kinds(ops: list[Op], host: dict[int, int], skew: dict[int, int]) -> set[str]:
    events = on_hosts(ops, host, skew)
    return {v.kind for v in check_history(events, corruption=True).violations}


@st.composite
def placed(draw: Any, ops_strategy: Any = None) -> tuple[list[Op], dict[int, int], dict[int, int]]:
    """Ops, each thread on one of 2-3 hosts (so a host's ops keep its threads' program
    order), and a clock offset per host."""
    ops = draw(ops_strategy if ops_strategy is not None else runs())
    n_hosts = draw(st.integers(2, 3))
    thread_host = {t: draw(st.integers(0, n_hosts - 1)) for t in sorted({o.thread for o in ops})}
    host = {o.n: thread_host[o.thread] for o in ops}
    skew = {h: draw(SKEWS) for h in range(n_hosts)}
    return ops, host, skew


@SETTINGS
@given(placed())
def test_model_histories_on_skewed_hosts_are_accepted(case: Any) -> None:
    ops, host, skew = case
    assert kinds(ops, host, skew) == set()


def _winners(ops: list[Op]) -> list[Op]:
    return [o for o in ops if o.is_insert and completed(o) and o.result is True]


@SETTINGS
@given(placed(), st.data(), st.integers(0, 10), st.sampled_from(("get", "get_async")))
def test_a_lost_write_on_the_winners_host_is_rejected(case: Any, data: Any, gap: int,
                                                      name: str) -> None:
    ops, host, skew = case
    winners = _winners(ops)
    assume(winners)
    w = data.draw(st.sampled_from(winners))
    assert w.end is not None
    t = w.end + 1 + gap
    ops.append(Op(len(ops), 99, name, w.key, t, t, t + gap, result=None))
    host[len(ops) - 1] = host[w.n]  # the same host: one clock proves it came after
    assert "lost-write" in kinds(ops, host, skew)


@SETTINGS
@given(placed(), st.data(), st.integers(1, 10))
def test_a_read_before_the_write_on_its_host_is_rejected(case: Any, data: Any, gap: int) -> None:
    ops, host, skew = case
    winners = _winners(ops)
    assume(winners)
    w = data.draw(st.sampled_from(winners))
    t = w.inv - gap
    ops.append(Op(len(ops), 99, "get", w.key, t - 5, t, t, result=w.value))
    host[len(ops) - 1] = host[w.n]
    assert "read-before-write" in kinds(ops, host, skew)


@SETTINGS
@given(placed(), st.data())
def test_clock_free_violations_are_rejected_across_hosts(case: Any, data: Any) -> None:
    ops, host, skew = case
    reads = [o for o in ops if not o.is_insert and completed(o) and o.result is not None]
    won = {w.key for w in _winners(ops)}
    losers = [o for o in ops if o.is_insert and completed(o) and o.result is False
              and o.key in won]
    assume(reads or losers)
    if reads and (not losers or data.draw(st.booleans())):
        o = data.draw(st.sampled_from(reads))
        ops[ops.index(o)] = replace(o, result="ffff")
        assert "wrong-value" in kinds(ops, host, skew)
    else:
        o = data.draw(st.sampled_from(losers))
        ops[ops.index(o)] = replace(o, result=True)
        assert "two-winners" in kinds(ops, host, skew)


def brute_on_hosts(ops: list[Op], host: dict[int, int]) -> bool:
    """Search every order in which an op precedes another of ITS HOST that it ended before."""
    inf = float("inf")

    def end(o: Op) -> float:
        return inf if o.end is None else o.end

    def search(rest: frozenset[int], value: str | None) -> bool:
        if not rest:
            return True
        for n in rest:
            o = ops[n]
            if any(host[m] == host[n] and end(ops[m]) < o.inv for m in rest if m != n):
                continue  # an op of the same host must come first
            left = rest - {n}
            if not o.is_insert:
                if o.end is None or o.failed or o.result == value:
                    if search(left, value):
                        return True
            elif o.end is None or o.failed:  # may or may not take effect
                if search(left, value) or value is None and search(left, o.value):
                    return True
            elif o.result is True:
                if value is None and search(left, o.value):
                    return True
            elif value is not None and search(left, value):
                return True
        return False

    return search(frozenset(range(len(ops))), None)


@settings(max_examples=1500, deadline=None)
@given(st.data())
def test_per_host_rules_agree_with_exhaustive_search(data: Any) -> None:
    ops = data.draw(arbitrary_ops())
    host = {o.n: data.draw(st.integers(0, 1)) for o in ops}
    skew = {0: data.draw(SKEWS), 1: data.draw(SKEWS)}
    events = on_hosts(ops, host, skew)
    violations = check_history(events, corruption=True).violations
    assert (not violations) == brute_on_hosts(ops, host), violations
