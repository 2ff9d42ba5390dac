"""Bounded concurrency runs: threads of one instance, executors, and several processes racing
on the same keys. Each run records a small history and judges it; a failure is described as the
events of the failing key, which is the shortest replayable account of a race.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._subject import RICH_VALUES, Subject, Target

from ._compare import show, strict_equal
from ._harness import (
    Violation, Violations, error_name, fast_switching, new_dir,
)
from ._profiles import get_budget
from ._strategies import UNPICKLABLE_LAMBDA, failing_value

_JOIN = 30.0


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
            ("None" if self.value is None else f"value of w{self.value}"))
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


def judge_history(v: Violations, events: list[Event], keys: list[Any], writers: int,
                  header: str, final: dict[int, Any]) -> None:
    """Judge one round's history per key against a write-once register."""
    base = min((e.t0 for e in events), default=0)
    for e in events:
        e.t0 -= base
        e.t1 -= base
    for j in range(len(keys)):
        ev = sorted((e for e in events if e.key == j), key=lambda e: e.t0)

        def cex(extra: str = "") -> str:
            return "\n".join([f"{header}; k{j} = {show(keys[j])}", *(e.text(keys) for e in ev)]
                             + ([extra] if extra else []))

        ins = [e for e in ev if e.op == "insert"]
        errs = [e for e in ins if isinstance(e.result, BaseException)]
        wins = [e for e in ins if e.result is True]
        get_errs = [e for e in ev if e.op == "get" and isinstance(e.result, BaseException)]
        v.check("CONC-READ-WINNER", not get_errs, lambda: f"a get during the race raised "
                f"{error_name(get_errs[0].result)}", cex)
        v.check("CONC-ONE-WINNER", len(wins) == 1 and not errs,
                f"{len(ins)} concurrent inserts of one key: {len(wins)} returned True"
                + (f", {len(errs)} raised" if errs else ""), cex)
        if len(wins) != 1:
            continue
        win = wins[0]
        gets = [e for e in ev if e.op == "get" and not isinstance(e.result, BaseException)]
        bad = [g for g in gets if g.value is not None and g.value != win.value]
        v.check("CONC-READ-WINNER", not bad and final.get(j) == win.value,
                "a get returned something other than None or the winner's value" if bad else
                f"after the race get returned {final.get(j)!r} (writer id), winner was "
                f"w{win.value}", lambda: cex(f"  final get -> {final.get(j)!r}"))
        # Once any operation on the key has shown it present, no later get may miss it.
        shown = [e.t1 for e in ins] + [g.t1 for g in gets if g.value is not None]
        first = min(shown) if shown else None
        stale = [g for g in gets if g.value is None and first is not None and g.t0 > first]
        v.check("CONC-NO-STALE-READ", not stale, "a get that started after the key was "
                "shown present returned None", cex)
        early = [g for g in gets if g.value == win.value and g.t1 < win.t0] + \
                [e for e in ins if e.result is False and e.t1 < win.t0]
        v.check("CONC-LINEARIZABLE", not early, "an operation saw the winner's entry before "
                "the winner's insert started", cex)


def run_threads(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                ) -> list[Violation]:
    """Writers and readers (threads) of one instance race on a few keys, many rounds."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    rounds = get_budget(profile).thread_rounds
    rng = random.Random(1234)
    for r in range(rounds):
        writers, readers = 6, 2
        size = 1 << 16 if r % 4 == 3 else 16  # large values widen the window of a torn write
        keys: list[Any] = [f"race-{r}-{j}" for j in range(3)]
        subject = target.open(new_dir(workdir, "threads"))
        events: list[Event] = []
        lock = threading.Lock()
        barrier = threading.Barrier(writers + readers)
        writing = threading.Event()  # set while any writer may still be running
        writing.set()
        finished = [0]

        def writer(w: int) -> None:
            order = list(range(len(keys)))
            random.Random(w * 7919 + r).shuffle(order)
            val = value_for(caps, w, size)
            barrier.wait(timeout=_JOIN)
            for j in order:
                t0 = time.perf_counter_ns()
                try:
                    res: Any = subject.insert(keys[j], val)
                except Exception as err:  # noqa: BLE001
                    res = err
                t1 = time.perf_counter_ns()
                with lock:
                    events.append(Event(w, "insert", j, w, t0, t1, res))
            with lock:
                finished[0] += 1
                if finished[0] == writers:
                    writing.clear()

        def read_all(n: int) -> None:
            for j in range(len(keys)):
                t0 = time.perf_counter_ns()
                try:
                    res: Any = subject.get(keys[j])
                    who = writer_of(caps, res, writers, size)
                except Exception as err:  # noqa: BLE001
                    res, who = err, -1
                t1 = time.perf_counter_ns()
                with lock:
                    events.append(Event(writers + n, "get", j, who, t0, t1, res))

        def reader(n: int) -> None:
            read_all(n)  # misses before the race: a cache that remembers them must forget them
            barrier.wait(timeout=_JOIN)
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
        with fast_switching():
            for th in threads:
                th.start()
            deadline = time.monotonic() + _JOIN
            for th in threads:
                th.join(timeout=max(deadline - time.monotonic(), 0.1))
        if any(th.is_alive() for th in threads):
            v.add("CONC-ONE-WINNER", "a thread of the race did not finish within 30 s",
                  f"round {r}: {writers} writer and {readers} reader threads on {len(keys)} keys")
            break
        final: dict[int, Any] = {}
        for j, k in enumerate(keys):
            try:
                final[j] = writer_of(caps, subject.get(k), writers, size)
            except Exception as err:  # noqa: BLE001
                final[j] = error_name(err)
        judge_history(v, events, keys, writers,
                      f"round {r}: {writers} writer threads each insert every key with their own "
                      f"value ({size} bytes), {readers} reader threads get", final)
        subject.close()
        if not any(v.on(c) for c in ("CONC-ONE-WINNER", "CONC-READ-WINNER", "CONC-NO-STALE-READ",
                                     "CONC-LINEARIZABLE")):
            break
    return v.list()


def run_async(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
              ) -> list[Violation]:
    """insert_async races through an executor; errors must come out of result()."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    rounds = max(get_budget(profile).thread_rounds // 2, 3)
    with ThreadPoolExecutor(8) as ex, fast_switching():
        subject = target.open(new_dir(workdir, "async"))
        for r in range(rounds):
            keys = [f"async-{r}-{j}" for j in range(4)]
            futs = [(j, w, subject.insert_async(k, value_for(caps, w, 16), ex))
                    for w in range(4) for j, k in enumerate(keys)]
            gets = [(j, subject.get_async(k, ex)) for j, k in enumerate(keys)]
            outcome: dict[int, list[Any]] = {j: [] for j in range(len(keys))}
            for j, w, f in futs:
                try:
                    outcome[j].append((w, f.result(timeout=_JOIN)))
                except Exception as err:  # noqa: BLE001
                    outcome[j].append((w, err))
            for j, f in gets:
                try:
                    f.result(timeout=_JOIN)
                except Exception as err:  # noqa: BLE001
                    outcome[j].append(("get", err))
            for j, k in enumerate(keys):
                wins = [w for w, res in outcome[j] if res is True]
                text = f"round {r}: 4 insert_async({show(k)}, value of w) on one executor -> " \
                       f"{[(w, show(res)) for w, res in outcome[j]]}"
                if not v.check("ASYNC-ONE-WINNER", len(wins) == 1, text, text):
                    continue
                try:
                    got = subject.get_async(k, ex).result(timeout=_JOIN)
                except Exception as err:  # noqa: BLE001
                    got = err
                v.check("ASYNC-ONE-WINNER", strict_equal(got, value_for(caps, wins[0], 16)),
                        f"get_async after the race returned {show(got)}, winner was w{wins[0]}",
                        text)
        check_async_errors(v, target, subject, ex)
        subject.close()
    return v.list()


def check_async_errors(v: Violations, target: Target, subject: Subject, ex: Any) -> None:
    """For every input the sync method rejects, the async one must raise the same type."""
    probes: list[tuple[str, Any, Any]] = [
        ("get", UNPICKLABLE_LAMBDA, None),
        ("insert", UNPICKLABLE_LAMBDA, b"v"),
        ("insert", "async-err-value", UNPICKLABLE_LAMBDA),
        ("insert", "async-err-failing", failing_value(1024)),
        ("insert", "async-err-object", object()),
    ]
    for n, (op, key, value) in enumerate(probes):
        key_s = key if not isinstance(key, str) else f"{key}-sync-{n}"
        try:
            (subject.get(key_s) if op == "get" else subject.insert(key_s, value))
            continue  # the sync method accepts it: nothing to compare
        except Exception as err:  # noqa: BLE001
            sync_err = err
        key_a = key if not isinstance(key, str) else f"{key}-async-{n}"
        call = f"{op}_async({show(key_a)}{'' if op == 'get' else ', ' + show(value)})"
        try:
            fut = subject.get_async(key_a, ex) if op == "get" else \
                subject.insert_async(key_a, value, ex)
            res = fut.result(timeout=_JOIN)
        except Exception as err:  # noqa: BLE001
            v.check("ASYNC-ERRORS", isinstance(err, type(sync_err)) or (
                isinstance(err, target.error_type) and isinstance(sync_err, target.error_type)),
                f"{call} raised {error_name(err)} where {op} raised {error_name(sync_err)}",
                call)
            continue
        v.add("ASYNC-ERRORS", f"{call} returned {show(res)} where {op} raised "
              f"{error_name(sync_err)}", call)
