"""The twin-key generators (equal keys built differently, per the reference's key rules) and the
retention check (CORE-RETAIN) with its capacity declaration."""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import cachespec.spec as spec
from cachespec.conformance import resolve_target
from cachespec.reference import encode_key
from cachespec.spec import TargetError
from cachespec.spec._compare import key_token, token
from cachespec.spec._retention import MIN_BYTES, MIN_KEYS, declared_capacity, plan_for
from cachespec.spec._strategies import base_twins, twin_keys, twin_pairs

_MUTANTS = "cachespec.conformance.mutants._catalogue"


def _types(key: Any) -> Any:
    """The key's shape with every leaf replaced by its type (frozensets as sorted type names)."""
    if type(key) is tuple:
        return tuple(_types(k) for k in key)
    if type(key) is frozenset:
        return ("frozenset", tuple(sorted(repr(_types(k)) for k in key)))
    return type(key)


@pytest.mark.parametrize(("text", "number"), [("ab", 0), ("tour-twin", 7), ("é☃", 999)])
def test_twins_are_one_key_of_the_same_types_built_differently(text: str, number: int) -> None:
    for how, a, b in twin_pairs(text, number):
        assert encode_key(a) == encode_key(b), how  # one key under the reference's rules
        assert key_token(a) == key_token(b), how
        assert _types(a) == _types(b), how
        assert a is not b, how


def test_twins_cover_every_kind_of_representation() -> None:
    kinds = " / ".join(how for how, _, _ in base_twins("ab", 1))
    for needed in ("-0.0", "float computed", "big int", "str", "bytes", "sharing", "frozenset built in "
                   "two orders", "colliding hashes", "nested"):
        assert needed in kinds, needed
    pairs = twin_pairs("ab", 1)
    assert len(pairs) == 3 * len(base_twins("ab", 1))  # alone, in a tuple, in a frozenset
    # the numeric twins really differ in representation
    zero, minus_zero = base_twins("ab", 1)[0][1:]
    assert struct.pack(">d", zero) != struct.pack(">d", minus_zero)
    assert not any(isinstance(x, float) and math.isnan(x)  # NaN != NaN: not a MUST twin
                   for _, a, b in base_twins("ab", 1) for x in (a, b))
    assert token(zero) != token(minus_zero)  # as values they stay different


@settings(max_examples=50, deadline=None)
@given(twin_keys())
def test_drawn_twins_are_one_key(twins: tuple[str, Any, Any]) -> None:
    how, a, b = twins
    assert encode_key(a) == encode_key(b), how


def _machine_check() -> spec.Check:
    return next(c for c in spec.CHECKS if c.name == "machine-cache")


def test_a_cache_splitting_float_representations_is_caught_in_the_tour(tmp_path: Path) -> None:
    target = resolve_target(f"{_MUTANTS}:FloatBitsKeyMemory")
    (violation,) = _machine_check().run(target, tmp_path, "quick",
                                        frozenset({"KEY-EQUAL-SAME"})).violations
    assert violation.clause_id == "KEY-EQUAL-SAME"
    assert "(-0.0 and 0.0" in violation.error
    assert "state.start()" in (violation.counterexample or "")


# -- retention --------------------------------------------------------------------------------
def _retention() -> spec.Check:
    return next(c for c in spec.CHECKS if c.name == "retention")


def test_retention_is_a_core_check_of_core_retain() -> None:
    assert _retention().clause_ids == ("CORE-RETAIN",)
    assert _retention().capabilities == frozenset({spec.CORE})


def test_the_plan_meets_both_minimums() -> None:
    plan = plan_for(MIN_KEYS, MIN_BYTES)
    assert plan.keys >= 2000 and plan.total_bytes >= 64 << 20
    small = plan_for(10, 1000)
    assert small.keys == 10 and small.total_bytes >= 1000
    assert plan_for(1, 5 << 20).keys == 1


def test_reference_memory_retains_everything(tmp_path: Path) -> None:
    result = _retention().run(resolve_target("reference-memory"), tmp_path, "quick",
                              frozenset({"CORE-RETAIN"}))
    assert result.violations == [] and result.judged == {"CORE-RETAIN": 1}


def test_an_evicting_cache_loses_keys_and_the_violation_says_which(tmp_path: Path) -> None:
    target = resolve_target(f"{_MUTANTS}:EvictingMemory")
    (violation,) = _retention().run(target, tmp_path, "quick",
                                    frozenset({"CORE-RETAIN"})).violations
    assert violation.error.startswith("1500 of 2000 acknowledged keys lost")
    assert "get('retain-big-0') returned None" in violation.error
    assert "range(16)" in (violation.counterexample or "")


class _Small:
    """A target wrapper declaring a capacity (and forwarding everything else)."""

    def __init__(self, capacity: Any) -> None:
        self._inner = resolve_target(f"{_MUTANTS}:EvictingMemory")
        self.capacity = capacity

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_declared_capacity_shrinks_the_program(tmp_path: Path) -> None:
    # the evicting cache keeps 500 entries: declared honestly, it retains what it promises
    target = _Small((500, 1 << 20))
    assert declared_capacity(target) == (500, 1 << 20)  # type: ignore[arg-type]
    result = _retention().run(target, tmp_path, "quick", frozenset({"CORE-RETAIN"}))  # type: ignore[arg-type]
    assert result.violations == [] and result.judged == {"CORE-RETAIN": 1}
    over = _retention().run(_Small((501, 1 << 20)), tmp_path / "over", "quick",  # type: ignore[arg-type]
                            frozenset({"CORE-RETAIN"}))
    assert [v.clause_id for v in over.violations] == ["CORE-RETAIN"]


@pytest.mark.parametrize("bad", [(0, 10), (10,), [10, 10], (10, 1.5), "big"])
def test_a_malformed_capacity_is_refused(bad: Any, tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="capacity"):
        _retention().run(_Small(bad), tmp_path, "quick", frozenset({"CORE-RETAIN"}))  # type: ignore[arg-type]


def test_a_cache_that_stores_nothing_leaves_retention_undecided(tmp_path: Path) -> None:
    from _toy import ToyTarget

    result = _retention().run(ToyTarget(False, frozenset({"store-nothing"})), tmp_path, "quick",
                              frozenset({"CORE-RETAIN"}))
    assert result.violations == [] and result.undecided(frozenset({"CORE-RETAIN"}))

