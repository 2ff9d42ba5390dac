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


# -- causal cycles across keys (``cachespec.stress._causal``) ----------------------------------

def _op(host: int, n: int, name: str, key: str, t0: int, t1: int, *, value: str | None = None,
        result: Any = None) -> list[dict[str, Any]]:
    head = {"pid": 10 + host, "id": n, "op": name, "key": key, "src": host}
    inv = {"ev": "invoke", "t": t0, **head, **({"value": value} if value else {})}
    return [inv, {"ev": "ok", "t": t1, **head, "result": result}]


def _roles(*hosts: int) -> list[dict[str, Any]]:
    return [{"ev": "meta", "t": 0, "pid": 10 + h, "role": "worker", "host": f"h{h}", "src": h}
            for h in hosts]


def _iriw(b_miss_at: int) -> list[dict[str, Any]]:
    """h2 wrote k1 and k2. h0 saw k1, then missed k2; h1 saw k2, then (at ``b_miss_at``)
    missed k1. Each key alone is fine on every host."""
    return [*_roles(0, 1, 2),
            *_op(2, 0, "insert", "k1", 0, 1, value="a", result=True),
            *_op(2, 1, "insert", "k2", 0, 1, value="b", result=True),
            *_op(0, 0, "get", "k1", 5, 10, result="a"), *_op(0, 1, "get", "k2", 20, 25),
            *_op(1, 0, "get", "k2", 5, 10, result="b"), *_op(1, 1, "get", "k1", b_miss_at, 25)]


def test_a_causal_cycle_through_two_keys_is_rejected() -> None:
    # k1 present before k2 (h0's order) and k2 present before k1 (h1's): no clocks explain it.
    [v] = check_history(_iriw(20)).violations
    assert (v.kind, v.clause) == ("causal-cycle", "CONC-LINEARIZABLE")
    assert {(r["host"], r["op"], r.get("result")) for r in v.excerpt if r["ev"] == "ok"} == {
        ("h0", "get", "a"), ("h0", "get", None), ("h1", "get", "b"), ("h1", "get", None)}
    # h1's miss of k1 overlaps its hit of k2: k1 may appear after k2. Fine, whatever the skew.
    assert check_history(_iriw(8)).violations == []


def _winners_of(ops: list[Op]) -> list[Op]:
    return [o for o in ops if o.is_insert and o.result is True]


@st.composite
def multi_key_ops(draw: Any) -> tuple[list[Op], dict[int, int]]:
    """A few completed ops on two keys by two hosts; a get returns None or the value of some
    insert of its key (often an impossible one), so cycles through both keys come up."""
    shapes = [(draw(st.sampled_from(("get", "insert"))), draw(st.sampled_from(("'a'", "'b'"))),
               draw(st.integers(0, 6)), draw(st.integers(0, 4)), draw(st.integers(0, 1)))
              for _ in range(draw(st.integers(2, 6)))]
    ops: list[Op] = []
    for n, (name, key, inv, took, _) in enumerate(shapes):
        if name == "insert":
            result: Any = draw(st.booleans())
        else:
            written = [f"v{m:04x}" for m, s in enumerate(shapes) if s[0] == "insert"
                       and s[1] == key]
            result = draw(st.sampled_from([None, *written]))
        ops.append(Op(n, n, name, key, inv, inv, inv + took, result=result))
    return ops, {n: s[4] for n, s in enumerate(shapes)}


def brute_keys_on_hosts(ops: list[Op], host: dict[int, int]) -> bool:
    """Exhaustive search over orders respecting each host's real time, all keys at once."""
    def search(rest: frozenset[int], state: frozenset[tuple[str, str]]) -> bool:
        if not rest:
            return True
        values = dict(state)
        for n in rest:
            o = ops[n]
            if any(host[m] == host[n] and ops[m].end < o.inv for m in rest  # type: ignore[operator]
                   if m != n):
                continue
            left = rest - {n}
            present = values.get(o.key)
            if not o.is_insert:
                if o.result == present and search(left, state):
                    return True
            elif o.result is True:
                wrote = frozenset({(o.key, str(o.value))})
                if present is None and search(left, state | wrote):
                    return True
            elif present is not None and search(left, state):
                return True
        return False

    return search(frozenset(range(len(ops))), frozenset())


@settings(max_examples=1500, deadline=None)
@given(multi_key_ops(), st.data())
def test_causal_check_agrees_with_exhaustive_search_over_keys(case: Any, data: Any) -> None:
    # Completed ops only: every key seen present has a True winner, where the check is exact.
    ops, host = case
    skew = {0: data.draw(SKEWS), 1: data.draw(SKEWS)}
    violations = check_history(on_hosts(ops, host, skew)).violations
    assert (not violations) == brute_keys_on_hosts(ops, host), violations
