"""The cache state machine: random programs of get/insert (sync and async), repeated inserts,
reopening, version bumps and restores, near-miss and twin keys, isolation probes and small thread
bursts, all checked against the model of ``_cache_model`` (which also says what is judged when).

Each ``scenario_*`` is a short program aimed at one clause; the rules and the tour (every
scenario once with fixed data, so each clause is met in every run) use them.
"""

from __future__ import annotations

import copy
import random
import time
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, precondition, rule

from . import _strategies as strategies
from ._bursts import BurstingCache
from ._cache_model import ABSENT
from ._compare import key_token, show, strict_equal
from ._limits import NO_LIMITS, Limits, limits_of
from ._subject import ASYNC, PERSISTENT, RICH_VALUES, THREADS, TYPED_KEYS, VERSION, Target


class CacheModelMachine(BurstingCache):
    """The model-checked operations plus the scenarios; ``make_cache_machine`` adds the target
    and the rules."""

    replay_tour = False  #: True: the initialize step runs the tour (to replay a tour failure)
    big_size = 2 << 20  #: bytes of insert_big's value; set per run by size_big_values
    probe_seconds = 0.0  #: how long the tour's 64 KiB insert + get took
    limits: Limits = NO_LIMITS  #: the target's declared limits: no key or value beyond them

    def __init__(self) -> None:
        super().__init__()
        self.big_inserts_done = 0

    # -- scenarios -------------------------------------------------------------------------------
    def scenario_insert_twice(self, index: int, key: Any, first: Any, second: Any) -> None:
        self.do_insert(index, key, first)
        self.do_insert(index, key, self.tagged(second, "second"))
        self.do_get(index, key)

    def scenario_distinct(self, index: int, key: Any, other: Any, value: Any) -> None:
        self.do_insert(index, key, self.tagged(value, f"first {key!r:.40}"))
        self.do_insert(index, other, self.tagged(value, f"second {other!r:.40}"))
        self.do_get(index, key)
        self.do_get(index, other)

    def scenario_near_miss(self, index: int, key: Any, other: Any, value: Any) -> None:
        self.do_get(index, other)
        self.do_insert(index, key, self.tagged(value, f"first {key!r:.40}"))
        self.do_get(index, other)
        self.do_insert(index, other, self.tagged(value, f"second {other!r:.40}"))
        self.do_get(index, key)
        self.do_get(index, other)

    def scenario_twins(self, index: int, key: Any, twin: Any, value: Any, how: str = "") -> None:
        """``twin`` equals ``key`` (same types) but is built differently (``how``): one entry."""
        differ = f" ({how})" if how else ""
        if not self.asserter.on("KEY-EQUAL-SAME"):
            return  # the model cannot follow a target that splits equal keys
        _, subject = self.subject(index)
        if self.do_insert(index, key, value) is None:
            return
        want = self.do_get(index, key)  # judged by the model; the twin must agree with it
        if want is None:
            return  # no entry to share: both forms missing would judge nothing
        got = self.raw_get(subject, twin)
        self.asserter.check("KEY-EQUAL-SAME", got is want or strict_equal(got, want), lambda: (
            f"{show(key)} and {show(twin)}{differ} are equal keys but get(second form) returned "
            f"{show(None if got is ABSENT else got)} and get(first form) {show(want)}"))
        try:
            again: Any = subject.insert(twin, self.tagged(value, "twin"))
        except Exception as err:  # noqa: BLE001
            again = err
        if again is True and strict_equal(self.raw_get(subject, key), self.tagged(value, "twin")):
            # one slot, overwritten: that is CORE-INSERT-NO-OVERWRITE's business
            self.asserter.fail("CORE-INSERT-NO-OVERWRITE", f"insert({show(twin)}) overwrote the "
                               "entry")
            self.resync(subject, key)
            return
        self.asserter.check("KEY-EQUAL-SAME", again is False, lambda: (
            f"insert of {show(twin)}, equal to the present key {show(key)} but built "
            f"differently{differ}, returned {show(again)}"))

    def scenario_big(self, index: int, key: Any, seed: int) -> None:
        self.big_inserts_done += 1
        big = random.Random(seed).randbytes(self.big_size)
        self.do_insert(index, key, [big, 1] if RICH_VALUES in self.caps else big)
        self.do_get(index, key)

    def scenario_insert_then_reopen(self, index: int, key: Any, value: Any) -> None:
        self.do_insert(index, key, value)
        if len(self.subjects) >= 3:
            self.subjects.pop(0).close()
            for entries in self.model.values():
                for entry in entries.values():
                    entry.writer = max(entry.writer - 1, 0)
        self.subjects.append(self.subjects[-1].reopen())
        self.do_get(len(self.subjects) - 1, key)
        self.do_insert(len(self.subjects) - 1, key, self.tagged(value, "reopened"))

    def scenario_version_roundtrip(self, index: int, key: Any, value: Any, bump: int) -> None:
        start = self.version
        self.do_insert(index, key, self.tagged(value, "old"))
        self.switch(start + bump)
        self.do_get(index, key)
        self.do_insert(index, key, self.tagged(value, "new"))
        self.do_get(index, key)
        self.switch(start)
        self.do_get(index, key)
        self.do_insert(index, key, self.tagged(value, "again"))
        self.do_get(index, key)

    def scenario_mutate_after_insert(self, index: int, key: Any, value: Any) -> None:
        _, subject = self.subject(index)
        if self.do_insert(index, key, value) is not True:
            return
        before = copy.deepcopy(value)
        if not strategies.mutate(value):
            return
        got = self.raw_get(subject, key)
        self.asserter.check("ISO-INSERT-COPY", strict_equal(got, before), lambda: (
            f"mutating the inserted value changed get({show(key)}) to {show(got)}"))
        self.resync(subject, key)

    def scenario_mutate_after_get(self, index: int, key: Any, value: Any) -> None:
        _, subject = self.subject(index)
        self.do_insert(index, key, value)
        got = self.do_get(index, key)
        entry = self.current_entries().get(key_token(key))
        if entry is None or got is None or not strategies.mutate(got):
            return
        again = self.raw_get(subject, key)
        self.asserter.check("ISO-GET-COPY", strict_equal(again, entry.value), lambda: (
            f"mutating a value returned by get changed get({show(key)}) to {show(again)}"))
        self.resync(subject, key)

    def scenario_async(self, index: int, key: Any, value: Any) -> None:
        self.do_get(index, key, "async")
        self.do_insert(index, key, value, "async")
        self.do_get(index, key, "async")
        self.do_insert(index, key, self.tagged(value, "second"), "async")
        self.do_get(index, key, "async")

    def scenario_async_after_insert(self, index: int, key: Any, value: Any) -> None:
        """A miss through get_async, a sync insert, get_async again: a memoized future shows."""
        self.do_get(index, key, "async")
        self.do_insert(index, key, value)
        self.do_get(index, key, "async")

    def tour(self) -> None:
        """Every scenario once with fixed data, so each clause is met in every run."""
        caps = self.caps
        value = b"tour" if RICH_VALUES not in caps else ["tour", -0.0, ()]
        probe = bytes(range(256)) * 256  # 64 KiB: how fast this target stores data
        started = time.perf_counter()
        self.do_insert(0, "tour-probe", [probe, 1] if RICH_VALUES in caps else probe)
        self.do_get(0, "tour-probe")
        type(self).probe_seconds = time.perf_counter() - started
        pairs = (strategies.DISTINCT_TYPED_PAIRS if TYPED_KEYS in caps
                 else strategies.DISTINCT_STR_PAIRS)
        fits = self.limits.key_fits
        for n, (key, other) in enumerate(pairs):
            if fits(key) and fits(other):
                self.scenario_distinct(n, key, other, value)
        for n, edge in enumerate(strategies.edge_values(caps)):
            if not self.limits.value_fits(edge):
                continue
            self.do_insert(n, f"tour-edge-value-{n}", edge)
            self.do_get(n, f"tour-edge-value-{n}")
        for n, key in enumerate(strategies.edge_keys(caps)):
            if not fits(key):
                continue  # beyond the store's declared key limit: its refusal is no bug
            self.do_insert(n, key, self.tagged(value, f"edge key {n}"))
            self.do_get(n, key)
        if TYPED_KEYS in caps:
            for n, (key, other) in enumerate(strategies.TYPED_NEAR_MISS):
                self.scenario_near_miss(n, key, other, value)
            for how, key, twin in strategies.twin_pairs("tour-twin", 7):
                self.scenario_twins(0, key, twin, self.tagged(value, how), how)
        self.scenario_insert_twice(0, "tour-twice", value, value)
        if ASYNC in caps:
            self.scenario_async(0, "tour-async", value)
            self.scenario_async_after_insert(1, "tour-async-after-insert", value)
        if PERSISTENT in caps:
            self.scenario_insert_then_reopen(0, "tour-reopen", value)
        if VERSION in caps:
            self.scenario_version_roundtrip(0, "tour-version", value, 1)
        if RICH_VALUES in caps:
            self.scenario_mutate_after_insert(0, "tour-iso-in", [1, {"a": [2]}])
            self.scenario_mutate_after_get(0, "tour-iso-out", [1, {"a": [2]}])
        if THREADS in caps:
            self.burst(0, ["tour-burst-1", "tour-burst-2", "tour-burst-3"], value)


def make_cache_machine(target: Target, workdir: Path, enabled: frozenset[str]
                       ) -> type[CacheModelMachine]:
    """The machine class for this target: strategies and rules follow its capabilities."""
    caps = frozenset(target.capabilities)
    limits = limits_of(target)
    keys_s = strategies.keys(caps)
    values_s = strategies.values(caps)
    pairs_s = strategies.distinct_pairs(caps)
    if limits.max_key_bytes is not None:
        keys_s = keys_s.filter(limits.key_fits)
        pairs_s = pairs_s.filter(lambda pair: limits.key_fits(pair[0]) and limits.key_fits(pair[1]))
    if limits.max_value_bytes is not None:
        values_s = values_s.filter(limits.value_fits)
    instances = st.integers(0, 3)  #: which open instance an operation goes through

    class CacheMachine(CacheModelMachine):
        keys = Bundle("keys")

        @initialize()
        def start(self) -> None:
            """Replays the tour when a tour failure is reported (see run_tour)."""
            if self.replay_tour:
                self.tour()

        @rule(target=keys, instance=instances, key=keys_s, value=values_s)
        def insert_new(self, instance: int, key: Any, value: Any) -> Any:
            self.do_insert(instance, key, value)
            return key

        @rule(instance=instances, key=keys, value=values_s)
        def insert_again(self, instance: int, key: Any, value: Any) -> None:
            self.do_insert(instance, key, value)

        @rule(instance=instances, key=st.one_of(keys, keys_s))
        def get(self, instance: int, key: Any) -> None:
            self.do_get(instance, key)

        @rule(instance=instances, key=keys_s, first=values_s, second=values_s)
        def insert_twice(self, instance: int, key: Any, first: Any, second: Any) -> None:
            self.scenario_insert_twice(instance, key, first, second)

        @rule(instance=instances, pair=pairs_s, value=values_s)
        def distinct_keys(self, instance: int, pair: tuple[Any, Any], value: Any) -> None:
            self.scenario_distinct(instance, pair[0], pair[1], value)

        # never conditioned on big_size: which rules exist must not depend on how fast the
        # tour's probe ran, or a derandomized search would draw other programs on a busy machine
        @precondition(lambda self: self.big_inserts_done < 1)
        @rule(instance=instances, key=keys_s, seed=st.integers(0, 2**32))
        def insert_big(self, instance: int, key: Any, seed: int) -> None:
            self.scenario_big(instance, key, seed)

        if TYPED_KEYS in caps:
            @rule(instance=instances, pair=strategies.typed_near_miss(), value=values_s)
            def near_miss_keys(self, instance: int, pair: tuple[Any, Any], value: Any) -> None:
                self.scenario_near_miss(instance, pair[0], pair[1], value)

            @rule(instance=instances, twins=strategies.twin_keys(), value=values_s)
            def twin_keys(self, instance: int, twins: tuple[str, Any, Any], value: Any) -> None:
                how, key, twin = twins
                self.scenario_twins(instance, key, twin, value, how)

        if ASYNC in caps:
            @rule(instance=instances, key=st.one_of(keys, keys_s))
            def get_async(self, instance: int, key: Any) -> None:
                self.do_get(instance, key, "async")

            @rule(target=keys, instance=instances, key=keys_s, value=values_s)
            def async_after_insert(self, instance: int, key: Any, value: Any) -> Any:
                self.scenario_async_after_insert(instance, key, value)
                return key

            @rule(target=keys, instance=instances, key=st.one_of(keys, keys_s), value=values_s)
            def insert_async(self, instance: int, key: Any, value: Any) -> Any:
                self.do_insert(instance, key, value, "async")
                return key

        if PERSISTENT in caps:
            @precondition(lambda self: len(self.subjects) < 3)
            @rule()
            def reopen(self) -> None:
                self.subjects.append(self.subjects[-1].reopen())
                self.read_back_all(len(self.subjects) - 1)

            @rule(instance=instances, key=keys_s, value=values_s)
            def insert_then_reopen(self, instance: int, key: Any, value: Any) -> None:
                self.scenario_insert_then_reopen(instance, key, value)

        if VERSION in caps:
            @rule(offset=st.integers(0, 2))
            def set_version(self, offset: int) -> None:
                self.switch(self.base_version + offset)

            @rule(instance=instances, key=keys_s, value=values_s, offset=st.integers(1, 2))
            def version_roundtrip(self, instance: int, key: Any, value: Any, offset: int) -> None:
                self.scenario_version_roundtrip(instance, key, value, offset)

        if RICH_VALUES in caps:
            @rule(instance=instances, key=keys_s, value=strategies.mutable_values())
            def mutate_after_insert(self, instance: int, key: Any, value: Any) -> None:
                self.scenario_mutate_after_insert(instance, key, value)

            @rule(instance=instances, key=keys_s, value=strategies.mutable_values())
            def mutate_after_get(self, instance: int, key: Any, value: Any) -> None:
                self.scenario_mutate_after_get(instance, key, value)

        if THREADS in caps:
            @rule(instance=instances, burst_keys=st.lists(strategies.str_keys(), min_size=2,
                                                          max_size=4, unique=True),
                  value=values_s)
            def thread_burst(self, instance: int, burst_keys: list[Any], value: Any) -> None:
                fresh = [k for k in burst_keys if key_token(k) not in self.current_entries()]
                self.burst(instance, fresh, value)

    CacheMachine.replay_tour = False
    CacheMachine.target = target
    CacheMachine.workdir = workdir
    CacheMachine.enabled = enabled
    CacheMachine.caps = caps
    CacheMachine.limits = limits
    return CacheMachine


def size_big_values(machine: type[CacheModelMachine], examples: int, budget: float = 10.0
                    ) -> int:
    """Size insert_big's value so that all examples' big inserts fit in ``budget`` seconds at
    the rate the tour measured (at most 2 MiB; below 128 KiB, a token 4 KiB): a slow target
    costs seconds here, not one slow insert per example. Only the size depends on the rate,
    never whether the rule runs (the programs drawn stay the same on a loaded machine)."""
    per_byte = machine.probe_seconds / 65536
    size = 2 << 20 if per_byte <= 0 else min(int(budget / max(examples, 1) / per_byte), 2 << 20)
    size = size if size >= 1 << 17 else MIN_BIG
    machine.big_size = machine.limits.cap_value_size(size)
    return machine.big_size


MIN_BIG = 4096  #: insert_big's value when the target is too slow for big ones


TOUR_PROGRAM = """state = CacheMachine()  # with replay_tour = True
state.start()  # runs CacheModelMachine.tour(): every scenario once with fixed data
state.teardown()"""


def run_tour(machine: type[CacheModelMachine]) -> tuple[str, str] | None:
    """Run the tour once, outside Hypothesis: (clause id, message) of its first failure."""
    from ._harness import ClauseFailure

    tour_machine = machine()
    try:
        tour_machine.tour()
    except ClauseFailure as failure:
        return failure.clause_id, str(failure)
    finally:
        tour_machine.teardown()
    return None
