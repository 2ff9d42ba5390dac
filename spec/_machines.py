"""The cache state machine: random programs of get/insert (sync and async), repeated inserts,
reopening, version bumps and restores, near-miss and twin keys, isolation probes and small thread
bursts, all checked against a model.

The model is one dict per version, ``token(key) -> Entry``, with typed identity (1, True and 1.0
are different keys). Every assertion names its clause. A clause the runner already decided is
*disabled*: its assertion is skipped and the model adopts what the target actually did, so later
assertions judge the target's real state instead of cascading.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, precondition, rule

from ._subject import (
    ASYNC, PERSISTENT, RICH_VALUES, THREADS, TYPED_KEYS, VERSION, Subject, Target,
)

from . import _strategies as S
from ._compare import show, strict_equal, token
from ._harness import Asserter, error_name, fast_switching, new_dir

_TIMEOUT = 30.0  # a single async result; the runner's global timeout covers hangs elsewhere
_ABSENT = object()


@dataclass
class Entry:
    key: Any
    value: Any
    certain: bool = True  #: False once another version touched the key (it may be gone)
    writer: int = 0  #: index of the instance that inserted it
    rejected: list[Any] = field(default_factory=list)  #: values refused by insert -> False
    foreign: bool = False  #: adopted from another version (VERSION-ISOLATED already failed)


class CacheModelMachine(RuleBasedStateMachine):
    """Base with the model-checked operations; ``make_cache_machine`` adds target and rules."""

    replay_tour = False  #: True: the initialize step runs the tour (to replay a tour failure)
    big_size = 2 << 20  #: bytes of insert_big's value; set per run by size_big_values
    probe_seconds = 0.0  #: how long the tour's 64 KiB insert + get took

    target: Target
    workdir: Path
    enabled: frozenset[str]
    caps: frozenset[str]

    def __init__(self) -> None:
        super().__init__()
        self.a = Asserter(self.enabled, getattr(type(self), "failures", None))
        self.dir = new_dir(self.workdir, "machine")
        self.subjects: list[Subject] = [self.target.open(self.dir)]
        self.has_version = VERSION in self.caps
        self.base_version = self.target.get_version() if self.has_version else 0
        self.version = self.base_version
        self.model: dict[int, dict[Any, Entry]] = {self.version: {}}
        self._executor: ThreadPoolExecutor | None = None
        self.big_done = 0

    # -- plumbing -------------------------------------------------------------------------------
    def teardown(self) -> None:
        for s in self.subjects:
            try:
                s.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self.has_version:
            self.target.set_version(self.base_version)
        # no rmtree here: deleting is slow on some disks; the runner removes the workdir

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(4)
        return self._executor

    def subject(self, i: int) -> tuple[int, Subject]:
        i %= len(self.subjects)
        return i, self.subjects[i]

    def here(self) -> dict[Any, Entry]:
        return self.model.setdefault(self.version, {})

    def touch(self, t: Any) -> None:
        """An operation on a key under this version may evict its entries of other versions."""
        for ver, entries in self.model.items():
            if ver != self.version and t in entries:
                entries[t].certain = False

    # -- blame: which clause explains a value the model did not expect ---------------------------
    def blame_foreign(self, key: Any, got: Any, fallback: str) -> str:
        t = token(key)
        for ver, entries in self.model.items():
            e = entries.get(t)
            if ver != self.version and e is not None and strict_equal(e.value, got):
                return "VERSION-ISOLATED"
        for t2, e in self.here().items():
            if t2 != t and strict_equal(e.value, got):
                try:
                    same = bool(e.key == key)
                except Exception:  # noqa: BLE001
                    same = False
                return "KEY-TYPED-DISTINCT" if same else "KEY-DISTINCT"
        return fallback

    def raw_get(self, s: Subject, key: Any) -> Any:
        try:
            return s.get(key)
        except Exception:  # noqa: BLE001 - a probe; the failing operation was already judged
            return _ABSENT

    # -- model-checked operations --------------------------------------------------------------
    def do_get(self, i: int, key: Any, how: str = "sync") -> Any:
        i, s = self.subject(i)
        t = token(key)
        self.touch(t)
        e = self.here().get(t)
        tag = "ASYNC-GET" if how == "async" else None
        try:
            if how == "async":
                got = s.get_async(key, self.executor).result(timeout=_TIMEOUT)
            else:
                got = s.get(key)
        except Exception as err:  # noqa: BLE001
            clause = tag or ("CORE-GET-MISSING" if e is None else "CORE-GET-INSERTED")
            self.a.fail(clause, f"get({show(key)}) raised {error_name(err)}")
            got = self.raw_get(s, key)
            if got is _ABSENT:
                return None
        if tag is not None:
            sync = self.raw_get(s, key)
            if sync is not _ABSENT and (sync is got or strict_equal(sync, got)):
                tag = None  # async agrees with get: any mismatch is get's (a CORE- clause)
        self.judge_get(i, key, e, got, tag)
        return got

    def judge_get(self, i: int, key: Any, e: Entry | None, got: Any, tag: str | None) -> None:
        t = token(key)
        if e is None:
            if got is not None:
                clause = tag or self.blame_foreign(key, got, "CORE-GET-MISSING")
                self.a.fail(clause, f"get({show(key)}) returned {show(got)} for an absent key")
                self.here()[t] = Entry(key, copy.deepcopy(got), writer=i,
                                       foreign=clause == "VERSION-ISOLATED")
            return
        if got is None:
            if not e.certain:
                del self.here()[t]
                return
            clause = tag or ("DISK-PERSIST-REOPEN" if i != e.writer else "CORE-GET-INSERTED")
            self.a.fail(clause, f"get({show(key)}) returned None, expected {show(e.value)}")
            del self.here()[t]
            return
        if strict_equal(got, e.value):
            e.certain = True
            return
        if tag is not None:
            clause = tag
        elif any(strict_equal(got, r) for r in e.rejected):
            clause = "CORE-INSERT-NO-OVERWRITE"
        else:
            clause = self.blame_foreign(key, got, "CORE-GET-INSERTED")
            if clause == "CORE-GET-INSERTED" and i != e.writer:
                clause = "DISK-PERSIST-REOPEN"
        self.a.fail(clause, f"get({show(key)}) returned {show(got)}, expected {show(e.value)}")
        e.value, e.certain = copy.deepcopy(got), True

    def do_insert(self, i: int, key: Any, value: Any, how: str = "sync") -> bool | None:
        i, s = self.subject(i)
        t = token(key)
        self.touch(t)
        e = self.here().get(t)
        tag = "ASYNC-INSERT" if how == "async" else None
        snapshot = copy.deepcopy(value)
        try:
            if how == "async":
                r = s.insert_async(key, value, self.executor).result(timeout=_TIMEOUT)
            else:
                r = s.insert(key, value)
        except Exception as err:  # noqa: BLE001
            clause = tag or ("CORE-INSERT-NEW" if e is None else "CORE-INSERT-NO-OVERWRITE")
            self.a.fail(clause, f"insert({show(key)}, {show(value)}) raised {error_name(err)}")
            self.resync(s, key)
            return None
        self.judge_insert(i, s, key, snapshot, e, r, tag)
        return r

    def judge_insert(self, i: int, s: Subject, key: Any, value: Any, e: Entry | None, r: Any,
                     tag: str | None) -> None:
        t = token(key)
        if r is not True and r is not False:
            self.a.fail(tag or "CORE-INSERT-NEW", f"insert({show(key)}) returned {r!r}, not a bool")
            self.resync(s, key)
            return
        tag = None  # a wrong bool from insert_async is judged as insert's (CORE-/KEY-/VERSION-)
        if e is None or not e.certain:
            if r:
                self.here()[t] = Entry(key, value, writer=i)
                return
            if e is not None:  # an entry of another epoch survived: it is still there
                e.certain = True
                e.rejected.append(value)
                return
            probe = self.raw_get(s, key)
            if any(t in m for v, m in self.model.items() if v != self.version):
                clause = tag or "VERSION-INSERTABLE"  # the other version's entry blocks it
            elif probe is not _ABSENT and probe is not None and strict_equal(probe, value):
                clause = tag or "CORE-INSERT-NEW"  # stored, but said False
            elif probe is None or probe is _ABSENT:
                clause = tag or "CORE-INSERT-NEW"
            else:
                clause = tag or self.blame_foreign(key, probe, "CORE-INSERT-NEW")
            self.a.fail(clause, f"insert({show(key)}, {show(value)}) of an absent key returned "
                        f"False (get now returns {show(None if probe is _ABSENT else probe)})")
            self.resync(s, key)
            return
        if e.foreign and not r:
            self.a.fail("VERSION-INSERTABLE", f"insert({show(key)}) returned False after a "
                        "version change: the other version's entry was not replaced")
            e.rejected.append(value)
            return
        if r:
            self.a.fail(tag or "CORE-INSERT-NO-OVERWRITE", f"insert({show(key)}, {show(value)}) "
                        f"returned True but the key held {show(e.value)}")
            self.resync(s, key)
        else:
            e.rejected.append(value)

    def resync(self, s: Subject, key: Any) -> None:
        """Adopt the target's actual state for ``key`` (after a disabled assertion)."""
        got = self.raw_get(s, key)
        t = token(key)
        if got is None or got is _ABSENT:
            self.here().pop(t, None)
        else:
            self.here()[t] = Entry(key, copy.deepcopy(got), writer=self.subjects.index(s))

    def switch(self, version: int) -> None:
        self.target.set_version(version)
        self.version = version
        self.model.setdefault(version, {})


    def check_all(self, i: int) -> None:
        """Every entry of the current version is visible through instance ``i``."""
        for e in list(self.here().values()):
            if e.certain:
                self.do_get(i, e.key)


    def burst(self, i: int, ks: list[Any], v: Any) -> None:
        """Threads insert their own keys at once, then read them and the keys present before.

        No two threads touch one absent key, so a correct target's outcome is deterministic and
        Hypothesis can replay it (same-key races live in the race-threads check).
        """
        if not ks:
            return
        _, s = self.subject(i)
        present = [e.key for e in self.here().values() if e.certain][:4]
        results: dict[int, Any] = {}
        reads: dict[int, list[Any]] = {}
        barrier = threading.Barrier(len(ks))

        def worker(j: int) -> None:
            barrier.wait(timeout=10)
            try:
                results[j] = s.insert(ks[j], self.tagged(v, f"burst {j}"))
                reads[j] = [s.get(k) for k in [ks[j], *present]]
            except Exception as err:  # noqa: BLE001
                results[j] = err

        threads = [threading.Thread(target=worker, args=(j,), daemon=True)
                   for j in range(len(ks))]
        with fast_switching():
            for th in threads:
                th.start()
            for th in threads:
                th.join(timeout=_TIMEOUT)
        if any(th.is_alive() for th in threads):
            self.a.fail("CORE-INSERT-NEW", "a thread of a burst did not finish within 30 s")
        for j, k in enumerate(ks):
            want = self.tagged(v, f"burst {j}")
            res = results.get(j)
            self.a.check("CORE-INSERT-NEW", res is True, lambda: (
                f"insert({show(k)}) from one of {len(ks)} threads inserting distinct keys "
                f"returned {show(res)}"))
            got = reads.get(j, [None])
            self.a.check("CORE-GET-INSERTED", strict_equal(got[0], want), lambda: (
                f"a thread's get({show(k)}) right after its insert returned {show(got[0])}"))
            for key, g in zip(present, got[1:]):
                e = self.here().get(token(key))
                self.a.check("CORE-GET-INSERTED", e is None or strict_equal(g, e.value),
                             lambda: f"get({show(key)}) from a burst thread returned {show(g)}")
            self.resync(s, k)

    # -- scenarios: short programs aimed at one clause each (rules and the tour use them) ----
    def tagged(self, v: Any, tag: str) -> Any:
        if RICH_VALUES in self.caps:
            return [tag, v]
        return tag.encode() + v

    def sc_insert_twice(self, i: int, k: Any, v1: Any, v2: Any) -> None:
        self.do_insert(i, k, v1)
        self.do_insert(i, k, self.tagged(v2, "second"))
        self.do_get(i, k)

    def sc_distinct(self, i: int, a: Any, b: Any, v: Any) -> None:
        # values name their key so a merged pair shows whose value came back
        self.do_insert(i, a, self.tagged(v, f"first {a!r:.40}"))
        self.do_insert(i, b, self.tagged(v, f"second {b!r:.40}"))
        self.do_get(i, a)
        self.do_get(i, b)

    def sc_near_miss(self, i: int, a: Any, b: Any, v: Any) -> None:
        self.do_get(i, b)
        self.do_insert(i, a, self.tagged(v, f"first {a!r:.40}"))
        self.do_get(i, b)
        self.do_insert(i, b, self.tagged(v, f"second {b!r:.40}"))
        self.do_get(i, a)
        self.do_get(i, b)

    def sc_twins(self, i: int, a: Any, b: Any, v: Any) -> None:
        if not self.a.on("KEY-EQUAL-SAME"):
            return  # the model cannot follow a target that splits equal keys
        _, s = self.subject(i)
        r = self.do_insert(i, a, v)
        if r is None:
            return
        want = self.do_get(i, a)  # judged by the model; the twin must agree with it, whatever
        got = self.raw_get(s, b)
        self.a.check("KEY-EQUAL-SAME", got is want or strict_equal(got, want), lambda: (
            f"{show(a)} == {show(b)} but get(second form) returned {show(got)} and get(first "
            f"form) {show(want)}"))
        try:
            r2: Any = s.insert(b, self.tagged(v, "twin"))
        except Exception as err:  # noqa: BLE001
            r2 = err
        if r2 is True and strict_equal(self.raw_get(s, a), self.tagged(v, "twin")):
            # one slot, overwritten: that is CORE-INSERT-NO-OVERWRITE's business
            self.a.fail("CORE-INSERT-NO-OVERWRITE", f"insert({show(b)}) overwrote the entry")
            self.resync(s, a)
            return
        self.a.check("KEY-EQUAL-SAME", r2 is False, lambda: (
            f"insert of {show(b)}, equal to the present key {show(a)} but built from other "
            f"objects, returned {show(r2)}"))

    def sc_big(self, i: int, k: Any, seed: int) -> None:
        self.big_done += 1
        big = random.Random(seed).randbytes(self.big_size)
        self.do_insert(i, k, [big, 1] if RICH_VALUES in self.caps else big)
        self.do_get(i, k)

    def sc_insert_then_reopen(self, i: int, k: Any, v: Any) -> None:
        self.do_insert(i, k, v)
        if len(self.subjects) >= 3:
            self.subjects.pop(0).close()
            for entries in self.model.values():
                for e in entries.values():
                    e.writer = max(e.writer - 1, 0)
        self.subjects.append(self.subjects[-1].reopen())
        self.do_get(len(self.subjects) - 1, k)
        self.do_insert(len(self.subjects) - 1, k, self.tagged(v, "reopened"))

    def sc_version_roundtrip(self, i: int, k: Any, v: Any, d: int) -> None:
        start = self.version
        self.do_insert(i, k, self.tagged(v, "old"))
        self.switch(start + d)
        self.do_get(i, k)
        self.do_insert(i, k, self.tagged(v, "new"))
        self.do_get(i, k)
        self.switch(start)
        self.do_get(i, k)
        self.do_insert(i, k, self.tagged(v, "again"))
        self.do_get(i, k)

    def sc_mutate_after_insert(self, i: int, k: Any, v: Any) -> None:
        _, s = self.subject(i)
        if self.do_insert(i, k, v) is not True:
            return
        before = copy.deepcopy(v)
        if not S.mutate(v):
            return
        got = self.raw_get(s, k)
        self.a.check("ISO-INSERT-COPY", strict_equal(got, before), lambda: (
            f"mutating the inserted value changed get({show(k)}) to {show(got)}"))
        self.resync(s, k)

    def sc_mutate_after_get(self, i: int, k: Any, v: Any) -> None:
        _, s = self.subject(i)
        self.do_insert(i, k, v)
        got = self.do_get(i, k)
        e = self.here().get(token(k))
        if e is None or got is None or not S.mutate(got):
            return
        again = self.raw_get(s, k)
        self.a.check("ISO-GET-COPY", strict_equal(again, e.value), lambda: (
            f"mutating a value returned by get changed get({show(k)}) to {show(again)}"))
        self.resync(s, k)

    def sc_async(self, i: int, k: Any, v: Any) -> None:
        self.do_get(i, k, "async")
        self.do_insert(i, k, v, "async")
        self.do_get(i, k, "async")
        self.do_insert(i, k, self.tagged(v, "second"), "async")
        self.do_get(i, k, "async")

    def sc_async_after_insert(self, i: int, k: Any, v: Any) -> None:
        """A miss through get_async, a sync insert, get_async again: a memoized future shows."""
        self.do_get(i, k, "async")
        self.do_insert(i, k, v)
        self.do_get(i, k, "async")

    def tour(self) -> None:
        """Every scenario once with fixed data, so each clause is met in every run."""
        caps, v = self.caps, (b"tour" if RICH_VALUES not in self.caps else ["tour", -0.0, ()])
        probe = bytes(range(256)) * 256  # 64 KiB: how fast this target stores data
        t0 = time.perf_counter()
        self.do_insert(0, "tour-probe", [probe, 1] if RICH_VALUES in caps else probe)
        self.do_get(0, "tour-probe")
        type(self).probe_seconds = time.perf_counter() - t0
        for n, (a, b) in enumerate(S.DISTINCT_TYPED_PAIRS if TYPED_KEYS in caps
                                   else S.DISTINCT_STR_PAIRS):
            self.sc_distinct(n, a, b, v)
        for n, val in enumerate(S.edge_values(caps)):
            self.do_insert(n, f"tour-edge-value-{n}", val)
            self.do_get(n, f"tour-edge-value-{n}")
        for n, key in enumerate(S.edge_keys(caps)):
            self.do_insert(n, key, self.tagged(v, f"edge key {n}"))
            self.do_get(n, key)
        if TYPED_KEYS in caps:
            for n, (a, b) in enumerate(S.TYPED_NEAR_MISS):
                self.sc_near_miss(n, a, b, v)
            for n in range(6):
                a, b = S._twins_from("tw", n)[n]
                self.sc_twins(0, a, b, v)
        self.sc_insert_twice(0, "tour-twice", v, v)
        if ASYNC in caps:
            self.sc_async(0, "tour-async", v)
            self.sc_async_after_insert(1, "tour-async-after-insert", v)
        if PERSISTENT in caps:
            self.sc_insert_then_reopen(0, "tour-reopen", v)
        if VERSION in caps:
            self.sc_version_roundtrip(0, "tour-version", v, 1)
        if RICH_VALUES in caps:
            self.sc_mutate_after_insert(0, "tour-iso-in", [1, {"a": [2]}])
            self.sc_mutate_after_get(0, "tour-iso-out", [1, {"a": [2]}])
        if THREADS in caps:
            self.burst(0, ["tour-burst-1", "tour-burst-2", "tour-burst-3"], v)


def make_cache_machine(target: Target, workdir: Path, enabled: frozenset[str]
                       ) -> type[CacheModelMachine]:
    """The machine class for this target: strategies and rules follow its capabilities."""
    caps = frozenset(target.capabilities)
    keys_s = S.keys(caps)
    values_s = S.values(caps)
    inst = st.integers(0, 3)

    class CacheMachine(CacheModelMachine):
        keys = Bundle("keys")

        @initialize()
        def start(self) -> None:
            """Replays the tour when a tour failure is reported (see run_tour)."""
            if self.replay_tour:
                self.tour()

        @rule(target=keys, i=inst, k=keys_s, v=values_s)
        def insert_new(self, i: int, k: Any, v: Any) -> Any:
            self.do_insert(i, k, v)
            return k

        @rule(i=inst, k=keys, v=values_s)
        def insert_again(self, i: int, k: Any, v: Any) -> None:
            self.do_insert(i, k, v)

        @rule(i=inst, k=st.one_of(keys, keys_s))
        def get(self, i: int, k: Any) -> None:
            self.do_get(i, k)

        @rule(i=inst, k=keys_s, v1=values_s, v2=values_s)
        def insert_twice(self, i: int, k: Any, v1: Any, v2: Any) -> None:
            self.sc_insert_twice(i, k, v1, v2)

        @rule(i=inst, pair=S.distinct_pairs(caps), v=values_s)
        def distinct_keys(self, i: int, pair: tuple[Any, Any], v: Any) -> None:
            self.sc_distinct(i, pair[0], pair[1], v)

        @precondition(lambda self: self.big_done < 1 and self.big_size > 0)
        @rule(i=inst, k=keys_s, seed=st.integers(0, 2**32))
        def insert_big(self, i: int, k: Any, seed: int) -> None:
            self.sc_big(i, k, seed)

        if TYPED_KEYS in caps:
            @rule(i=inst, pair=S.typed_near_miss(), v=values_s)
            def near_miss_keys(self, i: int, pair: tuple[Any, Any], v: Any) -> None:
                self.sc_near_miss(i, pair[0], pair[1], v)

            @rule(i=inst, pair=S.twin_keys(), v=values_s)
            def twin_keys(self, i: int, pair: tuple[Any, Any], v: Any) -> None:
                self.sc_twins(i, pair[0], pair[1], v)

        if ASYNC in caps:
            @rule(i=inst, k=st.one_of(keys, keys_s))
            def get_async(self, i: int, k: Any) -> None:
                self.do_get(i, k, "async")

            @rule(target=keys, i=inst, k=keys_s, v=values_s)
            def async_after_insert(self, i: int, k: Any, v: Any) -> Any:
                self.sc_async_after_insert(i, k, v)
                return k

            @rule(target=keys, i=inst, k=st.one_of(keys, keys_s), v=values_s)
            def insert_async(self, i: int, k: Any, v: Any) -> Any:
                self.do_insert(i, k, v, "async")
                return k

        if PERSISTENT in caps:
            @precondition(lambda self: len(self.subjects) < 3)
            @rule()
            def reopen(self) -> None:
                self.subjects.append(self.subjects[-1].reopen())
                self.check_all(len(self.subjects) - 1)

            @rule(i=inst, k=keys_s, v=values_s)
            def insert_then_reopen(self, i: int, k: Any, v: Any) -> None:
                self.sc_insert_then_reopen(i, k, v)

        if VERSION in caps:
            @rule(d=st.integers(0, 2))
            def set_version(self, d: int) -> None:
                self.switch(self.base_version + d)

            @rule(i=inst, k=keys_s, v=values_s, d=st.integers(1, 2))
            def version_roundtrip(self, i: int, k: Any, v: Any, d: int) -> None:
                self.sc_version_roundtrip(i, k, v, d)

        if RICH_VALUES in caps:
            @rule(i=inst, k=keys_s, v=S.mutable_values())
            def mutate_after_insert(self, i: int, k: Any, v: Any) -> None:
                self.sc_mutate_after_insert(i, k, v)

            @rule(i=inst, k=keys_s, v=S.mutable_values())
            def mutate_after_get(self, i: int, k: Any, v: Any) -> None:
                self.sc_mutate_after_get(i, k, v)

        if THREADS in caps:
            @rule(i=inst, ks=st.lists(S.str_keys(), min_size=2, max_size=4, unique=True),
                  v=values_s)
            def thread_burst(self, i: int, ks: list[Any], v: Any) -> None:
                self.burst(i, [k for k in ks if token(k) not in self.here()], v)

    CacheMachine.replay_tour = False
    CacheMachine.target = target
    CacheMachine.workdir = workdir
    CacheMachine.enabled = enabled
    CacheMachine.caps = caps
    return CacheMachine


def size_big_values(machine: type[CacheModelMachine], examples: int, budget: float = 10.0
                    ) -> int:
    """Size insert_big's value so that all examples' big inserts fit in ``budget`` seconds at
    the rate the tour measured (at most 2 MiB; 0, i.e. no big inserts, below 128 KiB): a slow
    target costs seconds here, not one slow insert per example."""
    per_byte = machine.probe_seconds / 65536
    size = 2 << 20 if per_byte <= 0 else min(int(budget / max(examples, 1) / per_byte), 2 << 20)
    machine.big_size = size if size >= 1 << 17 else 0
    return machine.big_size


TOUR_PROGRAM = """state = CacheMachine()  # with replay_tour = True
state.start()  # runs CacheModelMachine.tour(): every scenario once with fixed data
state.teardown()"""


def run_tour(machine: type[CacheModelMachine]) -> tuple[str, str] | None:
    """Run the tour once, outside Hypothesis: (clause id, message) of its first failure."""
    from ._harness import ClauseFailure

    m = machine()
    try:
        m.tour()
    except ClauseFailure as failure:
        return failure.clause_id, str(failure)
    finally:
        m.teardown()
    return None
