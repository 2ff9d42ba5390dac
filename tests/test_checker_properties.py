"""Property tests: histories of a sequential model with random real-time intervals are
accepted; the same histories with one planted violation are rejected."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cachespec.stress import check_history

OPS = ("get", "insert", "get_async", "insert_async")


@dataclass(frozen=True)
class Op:
    n: int  # unique op number (its id and, for inserts, its value)
    thread: int
    name: str
    key: str
    inv: int
    lp: int  # linearization point, inv <= lp <= end
    end: int | None  # None: indeterminate (the thread was killed)
    failed: bool = False
    effect: bool = True  # for failed/indeterminate inserts: did it take effect?
    result: Any = None

    @property
    def is_insert(self) -> bool:
        return self.name.startswith("insert")

    @property
    def value(self) -> str | None:
        return f"v{self.n:04x}" if self.is_insert else None


@st.composite
def runs(draw: Any) -> list[Op]:
    """Ops of several threads with overlapping intervals and results from the model."""
    n_keys = draw(st.integers(1, 3))
    ops: list[Op] = []
    for thread in range(draw(st.integers(1, 4))):
        t = draw(st.integers(0, 20))
        n_ops = draw(st.integers(1, 8))
        for j in range(n_ops):
            name = draw(st.sampled_from(OPS))
            inv = t + draw(st.integers(0, 5))
            lp = inv + draw(st.integers(0, 10))
            end: int | None = lp + draw(st.integers(0, 10))
            fate = draw(st.sampled_from(("ok",) * 6 + ("fail", "killed")))
            failed = fate == "fail"
            if fate == "killed" or j == n_ops - 1 and draw(st.booleans()) and name != "get":
                end = None  # the process died inside this op: the thread stops here
            effect = draw(st.booleans()) if failed or end is None else True
            ops.append(Op(len(ops), thread, name, f"'k{draw(st.integers(0, n_keys - 1))}'",
                          inv, lp, end, failed, effect))
            if end is None:
                break
            # Async ops resolve later: the thread's next op may start before this one ends.
            t = lp if name.endswith("_async") else end
    # Run the model in linearization order.
    state: dict[str, str] = {}
    done = []
    for o in sorted(ops, key=lambda o: (o.lp, o.thread, o.n)):
        if o.is_insert:
            won = o.effect and o.key not in state
            if won:
                state[o.key] = o.value  # type: ignore[assignment]
            done.append(replace(o, result=won))
        else:
            done.append(replace(o, result=state.get(o.key)))
    return done


def events_of(ops: list[Op]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for o in ops:
        head = {"pid": 100 + o.thread, "tid": o.thread, "id": o.n, "op": o.name, "key": o.key}
        inv = {"ev": "invoke", "t": o.inv, **head}
        if o.is_insert:
            inv["value"] = o.value
        out.append(inv)
        if o.end is None:
            continue
        if o.failed:
            out.append({"ev": "fail", "t": o.end, **head, "error": "CacheError"})
        else:
            out.append({"ev": "ok", "t": o.end, **head, "result": o.result})
    out.sort(key=lambda r: r["t"])
    return out


def kinds(ops: list[Op], **kw: Any) -> set[str]:
    return {v.kind for v in check_history(events_of(ops), corruption=True, **kw).violations}


def completed(o: Op) -> bool:
    return o.end is not None and not o.failed


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@SETTINGS
@given(runs())
def test_model_histories_are_accepted(ops: list[Op]) -> None:
    assert kinds(ops) == set()
    assert kinds(ops, clock=False) == set()


@SETTINGS
@given(runs(), st.data())
def test_a_second_winner_is_rejected(ops: list[Op], data: Any) -> None:
    # A loser turned winner beside an acknowledged winner (a killed insert may have won
    # instead of nobody, so it does not count).
    won = {w.key for w in _winners(ops)}
    losers = [o for o in ops if o.is_insert and completed(o) and o.result is False and o.key in won]
    assume(losers)
    o = data.draw(st.sampled_from(losers))
    ops[ops.index(o)] = replace(o, result=True)
    assert "two-winners" in kinds(ops)
    assert "two-winners" in kinds(ops, clock=False)


@SETTINGS
@given(runs(), st.data())
def test_a_wrong_read_is_rejected(ops: list[Op], data: Any) -> None:
    reads = [o for o in ops if not o.is_insert and completed(o) and o.result is not None]
    assume(reads)
    o = data.draw(st.sampled_from(reads))
    ops[ops.index(o)] = replace(o, result="ffff")  # a value no insert wrote
    assert "wrong-value" in kinds(ops)
    assert "wrong-value" in kinds(ops, clock=False)


def _winners(ops: list[Op]) -> list[Op]:
    return [o for o in ops if o.is_insert and completed(o) and o.result is True]


@SETTINGS
@given(runs(), st.data(), st.integers(0, 10), st.sampled_from(("get", "get_async")))
def test_a_stale_read_after_the_winner_completed_is_rejected(
        ops: list[Op], data: Any, gap: int, name: str) -> None:
    winners = _winners(ops)
    assume(winners)
    w = data.draw(st.sampled_from(winners))
    assert w.end is not None
    t = w.end + 1 + gap
    ops.append(Op(len(ops), 99, name, w.key, t, t, t + gap, result=None))
    assert "lost-write" in kinds(ops)


@SETTINGS
@given(runs(), st.data(), st.integers(1, 10))
def test_a_read_before_the_write_is_rejected(ops: list[Op], data: Any, gap: int) -> None:
    winners = _winners(ops)
    assume(winners)
    w = data.draw(st.sampled_from(winners))
    t = w.inv - gap
    ops.append(Op(len(ops), 99, "get", w.key, t - 5, t, t, result=w.value))
    assert "read-before-write" in kinds(ops)


@SETTINGS
@given(runs(), st.data())
def test_a_denied_sole_winner_is_rejected(ops: list[Op], data: Any) -> None:
    # The only insert that could take effect on its key says it lost: nobody else won.
    sole = [w for w in _winners(ops)
            if not any(o.is_insert and not completed(o) and o.key == w.key for o in ops)]
    assume(sole)
    w = data.draw(st.sampled_from(sole))
    ops[ops.index(w)] = replace(w, result=False)
    assert kinds(ops) & {"false-without-winner", "wrong-value"}


def brute_linearizable(ops: list[Op]) -> bool:
    """Search every order consistent with real time (a before b if a ends before b starts)."""
    inf = float("inf")

    def end(o: Op) -> float:
        return inf if o.end is None else o.end

    def search(rest: frozenset[int], value: str | None) -> bool:
        if not rest:
            return True
        for n in rest:
            o = ops[n]
            if any(end(ops[m]) < o.inv for m in rest if m != n):
                continue  # another pending op must come first
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


@st.composite
def arbitrary_ops(draw: Any) -> list[Op]:
    """A few ops on one key with random intervals and random (often impossible) results."""
    ops: list[Op] = []
    for n in range(draw(st.integers(1, 5))):
        name = draw(st.sampled_from(("get", "insert")))
        inv = draw(st.integers(0, 6))
        end = inv + draw(st.integers(0, 4))
        fate = draw(st.sampled_from(("ok", "ok", "ok", "fail", "killed")))
        if name == "insert":
            result: Any = draw(st.booleans())
        else:
            result = draw(st.sampled_from([None, "zz"] + [f"v{m:04x}" for m in range(5)]))
        ops.append(Op(n, n, name, "'k'", inv, inv, None if fate == "killed" else end,
                      fate == "fail", result=result))
    return ops


@settings(max_examples=1000, deadline=None)
@given(arbitrary_ops())
def test_checker_agrees_with_exhaustive_search(ops: list[Op]) -> None:
    events = events_of(ops)
    violations = check_history(events, corruption=True).violations
    assert (not violations) == brute_linearizable(ops), violations
