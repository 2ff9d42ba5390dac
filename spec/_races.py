"""Threads of one instance racing on the same keys (executors: ``_async_races``; processes:
``_procraces``). Each run records a small history and judges it; a failure is described as the
events of the failing key, which is the shortest replayable account of a race.

The thread race has two phases. The *scheduled* phase needs no luck: racer A traces its insert
(``spec._points``) and pauses at point k, racer B runs its whole get (or insert and get) while A
waits, then A resumes; for each chosen k. That opens every check-then-act window of the insert
in turn. The *free-running* phase then races many threads for bugs that need real concurrency.
Liveness is judged by lack of progress over a load-scaled period, never by a fixed wall clock.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._subject import RICH_VALUES, Subject, Target

from ._compare import show, strict_equal
from ._harness import (
    NATIVE_IDS, Violation, Violations, error_name, fast_switching, new_dir, scaled,
    wait_unless_blocked,
)
from ._points import Points, choose
from ._profiles import get_budget

_JOIN = 30.0
#: no racer completed an operation for this long (stretched by load): CONC-LIVENESS is violated
_STALL = 30.0
#: how long racer B may run while A is paused before the schedule concludes that B waits for A
#: (a lock A holds) and lets A go on: _GRACE_FACTOR times B's own operations run alone, within
#: load-scaled bounds. Only the order of that one schedule depends on it, never a verdict.
_GRACE, _GRACE_MIN, _GRACE_FACTOR = 0.5, 0.05, 25
_RACE_CLAUSES = ("CONC-ONE-WINNER", "CONC-READ-WINNER", "CONC-NO-STALE-READ",
                 "CONC-LINEARIZABLE")


@dataclass
class Event:
    thread: int
    op: str  #: "get" or "insert"
    key: int  #: index into the round's keys
    value: int | None  #: writer id whose value was inserted / returned (None: absent)
    t0: int
    t1: int
    result: Any  #: bool for insert, the raw value for get, or the exception

    def text(self, keys: list[Any]) -> str:
        what = f"insert(k{self.key}, value of w{self.value})" if self.op == "insert" else \
            f"get(k{self.key})"
        res = error_name(self.result) if isinstance(self.result, BaseException) else (
            self.result if self.op == "insert" else
            ("None" if self.value is None else
             "a value of nobody (torn or foreign)" if self.value == -1 else
             f"value of w{self.value}"))
        return f"  [{self.t0 / 1e6:10.3f}..{self.t1 / 1e6:10.3f} ms] thread {self.thread}: " \
               f"{what} -> {res}"


def value_for(caps: frozenset[str], writer: int, size: int) -> Any:
    payload = bytes([writer % 256]) * size
    return [writer, payload] if RICH_VALUES in caps else payload


def writer_of(caps: frozenset[str], got: Any, writers: int, size: int) -> int | None:
    """Which writer's value ``got`` is; -1 if it is nobody's (torn, foreign, wrong type)."""
    if got is None:
        return None
    for w in range(writers):
        if strict_equal(got, value_for(caps, w, size)):
            return w
    return -1


def _who(x: Any) -> str:
    return "None" if x is None else x if isinstance(x, str) else \
        "nobody's value" if x == -1 else f"w{x}"


def judge_history(v: Violations, events: list[Event], keys: list[Any], writers: int,
                  header: str, final: dict[int, list[Any]]) -> None:
    """Judge one round's history per key against a write-once register. ``final[j]``: what gets
    made after every racer finished returned (writer ids, or an error's text).

    With several winners (already a CONC-ONE-WINNER violation) the read clauses are judged too:
    every read is None or a winner's value, all values read agree, and none is stale."""
    base = min((e.t0 for e in events), default=0)
    for e in events:
        e.t0 -= base
        e.t1 -= base
    for j in range(len(keys)):
        ev = sorted((e for e in events if e.key == j), key=lambda e: e.t0)
        fin = final.get(j, [])

        def cex(extra: str = "") -> str:
            return "\n".join([f"{header}; k{j} = {show(keys[j])}", *(e.text(keys) for e in ev),
                              f"  after the race get -> {', '.join(map(_who, fin))}"]
                             + ([extra] if extra else []))

        ins = [e for e in ev if e.op == "insert"]
        errs = [e for e in ins if isinstance(e.result, BaseException)]
        wins = [e for e in ins if e.result is True]
        get_errs = [e for e in ev if e.op == "get" and isinstance(e.result, BaseException)]
        gets = [e for e in ev if e.op == "get" and not isinstance(e.result, BaseException)]
        v.check("CONC-READ-WINNER", not get_errs, lambda: f"a get during the race raised "
                f"{error_name(get_errs[0].result)}", cex)
        v.check("CONC-ONE-WINNER", len(wins) == 1 and not errs,
                f"{len(ins)} concurrent inserts of one key: {len(wins)} returned True"
                + (f", {len(errs)} raised" if errs else ""), cex)
        # nobody won: an insert that raised may still have stored its value
        allowed = {e.value for e in wins} or {e.value for e in errs}
        names = ", ".join(sorted(f"w{w}" for w in allowed)) or "none"
        foreign = [g for g in gets if g.value is not None and g.value not in allowed]
        after_bad = [x for x in fin if x not in allowed and (wins or x is not None)]
        seen = sorted({g.value for g in gets if g.value is not None}
                      | {x for x in fin if isinstance(x, int)})
        v.check("CONC-READ-WINNER", not foreign and not after_bad and len(seen) <= 1,
                lambda: f"a get returned {_who(foreign[0].value)}, not a winner's value "
                f"(winners: {names})" if foreign else
                f"after the race get returned {_who(after_bad[0])} (winners: {names})"
                if after_bad else f"gets of one key returned the values of different writers "
                f"({', '.join(map(_who, seen))}): the value changed after it was read", cex)
        # Once any operation on the key has shown it present, no later get may miss it.
        shown = [e.t1 for e in ins if not isinstance(e.result, BaseException)] + \
                [g.t1 for g in gets if g.value is not None]
        first = min(shown) if shown else None
        stale = [g for g in gets if g.value is None and first is not None and g.t0 > first]
        v.check("CONC-NO-STALE-READ", not stale, "a get that started after the key was "
                "shown present returned None", cex)
        starts = {e.value: e.t0 for e in wins}
        early = [g for g in gets if g.value in starts and g.t1 < starts[g.value]] + \
                [e for e in ins if e.result is False and starts and e.t1 < min(starts.values())]
        v.check("CONC-LINEARIZABLE", not early, "an operation saw a winner's entry before "
                "the winner's insert started", cex)


class _Log:
    """The events of one race, and when a racer last completed an operation (its progress)."""

    def __init__(self, caps: frozenset[str], writers: int, size: int) -> None:
        self.caps, self.writers, self.size = caps, writers, size
        self.events: list[Event] = []
        self.last = time.monotonic()
        self._lock = threading.Lock()

    def insert(self, subject: Subject, thread: int, j: int, key: Any, w: int) -> None:
        val = value_for(self.caps, w, self.size)
        t0 = time.perf_counter_ns()
        try:
            res: Any = subject.insert(key, val)
        except Exception as err:  # noqa: BLE001
            res = err
        self._add(Event(thread, "insert", j, w, t0, time.perf_counter_ns(), res))

    def get(self, subject: Subject, thread: int, j: int, key: Any) -> None:
        t0 = time.perf_counter_ns()
        try:
            res: Any = subject.get(key)
            who = writer_of(self.caps, res, self.writers, self.size)
        except Exception as err:  # noqa: BLE001
            res, who = err, -1
        self._add(Event(thread, "get", j, who, t0, time.perf_counter_ns(), res))

    def _add(self, e: Event) -> None:
        with self._lock:
            self.events.append(e)
            self.last = time.monotonic()

    def stalled(self) -> bool:
        """No racer completed an operation for a long, load-scaled period."""
        return time.monotonic() - self.last > scaled(_STALL)

    def finish(self, threads: list[threading.Thread]) -> bool:
        """Join ``threads``; False if they stopped making progress (see :meth:`stalled`)."""
        while True:
            alive = [th for th in threads if th.is_alive()]
            if not alive:
                return True
            if self.stalled():
                return False
            alive[0].join(0.05)


def _final(log: _Log, subject: Subject, keys: list[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for j, k in enumerate(keys):
        try:
            out[j] = [writer_of(log.caps, subject.get(k), log.writers, log.size)]
        except Exception as err:  # noqa: BLE001
            out[j] = [error_name(err)]
    return out


def run_threads(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                ) -> list[Violation]:
    """Scheduled races (A paused at each chosen point of its insert while B runs), then
    writers and readers (threads) of one instance racing freely on a few keys."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    rounds = get_budget(profile).thread_rounds
    subject = target.open(new_dir(workdir, "sched"))
    going = _scheduled(v, subject, caps, max(24, 3 * rounds))
    if going:  # (a stuck instance is left alone: closing it could hang too)
        subject.close()
    if going and any(v.on(c) for c in _RACE_CLAUSES):
        _free_running(v, target, workdir, caps, rounds)
    # judged unless a stall was reported: every racer of every round finished
    v.check("CONC-LIVENESS", True, "", None)
    return v.list()


def _stuck(v: Violations, log: _Log, what: str) -> bool:
    v.check("CONC-LIVENESS", False, lambda: f"no racer completed an operation for "
            f"{scaled(_STALL):.0f} s (load-scaled): a racer is stuck", lambda: "\n".join(
                [what, *(e.text([]) for e in sorted(log.events, key=lambda e: e.t0))]))
    return False


def _scheduled(v: Violations, subject: Subject, caps: frozenset[str], budget: int) -> bool:
    """For each chosen point k of an insert: A pauses there, B runs, A resumes. False when a
    racer got stuck (the run must stop)."""
    try:
        subject.insert("sched-warm", value_for(caps, 0, 16))  # lazy state (dirs) exists now
        with Points() as probe:
            subject.insert("sched-probe", value_for(caps, 0, 16))
        solo = 0.0
        for i in range(3):  # B's operations alone: how long B may take while A is paused
            t0 = time.monotonic()
            subject.insert(f"sched-solo-{i}", value_for(caps, 1, 16))
            subject.get(f"sched-solo-{i}")
            subject.get(f"sched-solo-{i}")
            solo = max(solo, time.monotonic() - t0)
    except Exception:  # noqa: BLE001 - a failing insert is judged by the free-running phase
        return True
    grace = min(scaled(_GRACE), max(scaled(_GRACE_MIN), _GRACE_FACTOR * solo))
    for k in choose(probe.count, budget, prefer=probe.windows()):
        for then in ("get", "insert"):
            if not _schedule(v, subject, caps, k, probe.count, then, grace):
                return False
            if not any(v.on(c) for c in _RACE_CLAUSES):
                return True
    return True


def _schedule(v: Violations, subject: Subject, caps: frozenset[str], k: int, count: int,
              then: str, grace: float) -> bool:
    """One schedule: A = insert(key, w0) paused before its point k; B = get (or insert(key, w1)
    then get) while A waits; A resumes; B gets again (a per-thread memory of the miss must be
    forgotten); the main thread gets last."""
    key = f"sched-{k}-{then}"
    log = _Log(caps, 2, 16)
    paused, gate, a_done, b_ops = (threading.Event() for _ in range(4))
    where = ["(A finished before reaching it)"]

    def pause(i: int, description: str) -> None:
        where[0] = description
        paused.set()
        gate.wait()

    def racer_a() -> None:
        try:
            with Points(stop_at=k, on_stop=pause):
                log.insert(subject, 0, 0, key, 0)
        finally:
            a_done.set()

    def racer_b() -> None:
        if then == "insert":
            log.insert(subject, 1, 0, key, 1)
        log.get(subject, 1, 0, key)
        b_ops.set()
        a_done.wait()
        log.get(subject, 1, 0, key)

    b_ops_text = "get" if then == "get" else "insert(value of w1), get"
    what = f"scheduled race: thread 0 runs insert(k0, value of w0) and pauses before its point " \
           f"{k} of {count}"
    ta = threading.Thread(target=racer_a, daemon=True)
    b_ids: list[int] = []
    _racer_b = racer_b

    def racer_b() -> None:  # noqa: F811 - the same racer, telling the main thread who it is
        NATIVE_IDS[threading.get_ident()] = threading.get_native_id()
        b_ids.append(threading.get_ident())
        _racer_b()

    tb = threading.Thread(target=racer_b, daemon=True)
    ta.start()
    while not (paused.wait(0.01) or a_done.is_set()):
        if log.stalled():
            gate.set()
            return _stuck(v, log, what)
    tb.start()
    waited = not wait_unless_blocked(b_ops, b_ids, grace) and paused.is_set()
    gate.set()
    header = f"{what} ({where[0]}); thread 1 runs {b_ops_text}" + (
        f" (it waited for thread 0: not done after {grace:.2f} s, {_GRACE_FACTOR}x its "
        "operations run alone)" if waited else "") + "; thread 0 resumes; thread 1 gets again"
    if not log.finish([ta, tb]):
        return _stuck(v, log, header)
    judge_history(v, log.events, [key], 2, header, _final(log, subject, [key]))
    return True


def _line_up(barrier: threading.Barrier) -> bool:
    """Wait for every racer (no timeout: a stuck one is a liveness finding, and aborting the
    barrier then lets the others leave quietly)."""
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        return False
    return True


def _free_running(v: Violations, target: Target, workdir: Path, caps: frozenset[str],
                  rounds: int) -> None:
    """Writers and readers (threads) of one instance race on a few keys, many rounds."""
    rng = random.Random(1234)
    for r in range(rounds):
        writers, readers = 6, 2
        size = 1 << 16 if r % 4 == 3 else 16  # large values widen the window of a torn write
        keys: list[Any] = [f"race-{r}-{j}" for j in range(3)]
        subject = target.open(new_dir(workdir, "threads"))
        log = _Log(caps, writers, size)
        barrier = threading.Barrier(writers + readers)
        writing = threading.Event()  # set while any writer may still be running
        writing.set()
        finished = [0]
        lock = threading.Lock()

        def writer(w: int) -> None:
            order = list(range(len(keys)))
            random.Random(w * 7919 + r).shuffle(order)
            if not _line_up(barrier):
                return
            for j in order:
                log.insert(subject, w, j, keys[j], w)
            with lock:
                finished[0] += 1
                if finished[0] == writers:
                    writing.clear()

        def read_all(n: int) -> None:
            for j in range(len(keys)):
                log.get(subject, writers + n, j, keys[j])

        def reader(n: int) -> None:
            read_all(n)  # misses before the race: a cache that remembers them must forget them
            if not _line_up(barrier):
                return
            passes = 0
            while writing.is_set() and passes < 1000:
                read_all(n)
                passes += 1
            read_all(n)  # after every insert returned: each key must be seen

        threads = [threading.Thread(target=writer, args=(w,), daemon=True)
                   for w in range(writers)]
        threads += [threading.Thread(target=reader, args=(n,), daemon=True)
                    for n in range(readers)]
        rng.shuffle(threads)
        header = f"round {r}: {writers} writer threads each insert every key with their own " \
                 f"value ({size} bytes), {readers} reader threads get"
        with fast_switching():
            for th in threads:
                th.start()
            done = log.finish(threads)
        if not done:
            barrier.abort()  # a racer stuck before the barrier must not keep the others there
            _stuck(v, log, header)
            return
        judge_history(v, log.events, keys, writers, header, _final(log, subject, keys))
        subject.close()
        if not any(v.on(c) for c in _RACE_CLAUSES):
            return
