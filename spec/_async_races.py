"""Races through an executor: ``insert_async`` calls of one absent key, and errors that must
come out of ``Future.result()`` with the type the synchronous call raises (ASYNC- clauses).

Even rounds hold every executor worker until all calls have been made, so a cache that decides
at call time (not in the worker) always sees the key absent: the check does not depend on how
fast the executor picks the calls up.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ._compare import show, strict_equal
from ._harness import Violation, Violations, error_name, fast_switching, new_dir, scaled
from ._profiles import get_budget
from ._races import _JOIN, value_for
from ._strategies import UNPICKLABLE_LAMBDA, failing_value
from ._subject import Subject, Target


def run_async(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
              ) -> list[Violation]:
    """insert_async races through an executor; errors must come out of result().

    Even rounds are scheduled: every worker of the executor is held until all calls were made,
    so no job runs before the last call returns (a decision taken at call time sees every key
    absent, without luck). Odd rounds run free."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    rounds = max(get_budget(profile).thread_rounds // 2, 4)
    workers = 8
    with ThreadPoolExecutor(workers) as ex, fast_switching():
        subject = target.open(new_dir(workdir, "async"))
        for r in range(rounds):
            held = r % 2 == 0
            gate = threading.Event()
            if held:  # (bounded: a target that waits on its own job inside the call goes on)
                for _ in range(workers):
                    ex.submit(gate.wait, scaled(5.0))
            keys = [f"async-{r}-{j}" for j in range(4)]
            try:
                futs = [(j, w, subject.insert_async(k, value_for(caps, w, 16), ex))
                        for w in range(4) for j, k in enumerate(keys)]
                gets = [(j, subject.get_async(k, ex)) for j, k in enumerate(keys)]
            finally:
                gate.set()
            outcome: dict[int, list[Any]] = {j: [] for j in range(len(keys))}
            for j, w, f in futs:
                outcome[j].append((w, _result(f)))
            for j, f in gets:
                res = _result(f)
                if isinstance(res, BaseException):
                    outcome[j].append(("get", res))
            how = "calls made while every executor worker was held, then released" if held \
                else "free-running"
            for j, k in enumerate(keys):
                wins = [w for w, res in outcome[j] if res is True]
                text = f"round {r} ({how}): 4 insert_async({show(k)}, value of w) on one " \
                       f"executor -> {[(w, show(res)) for w, res in outcome[j]]}"
                if not v.check("ASYNC-ONE-WINNER", len(wins) == 1, f"{len(wins)} of 4 "
                               f"concurrent insert_async calls of one key returned True", text):
                    continue
                got = _result(subject.get_async(k, ex))
                v.check("ASYNC-ONE-WINNER", strict_equal(got, value_for(caps, wins[0], 16)),
                        f"get_async after the race returned {show(got)}, winner was w{wins[0]}",
                        text)
        check_async_errors(v, target, subject, ex)
        subject.close()
    return v.list()


def _result(f: Any) -> Any:
    """The future's result or exception; a load-scaled wait, so a busy machine is not a hang."""
    try:
        return f.result(timeout=scaled(_JOIN))
    except Exception as err:  # noqa: BLE001
        return err


def check_async_errors(v: Violations, target: Target, subject: Subject, ex: Any) -> None:
    """For every input the sync method rejects, the async one must raise the same type. An
    input the sync method accepts judges nothing (ASYNC-ERRORS stays undecided if all do)."""
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
            res = fut.result(timeout=scaled(_JOIN))
        except Exception as err:  # noqa: BLE001
            v.check("ASYNC-ERRORS", isinstance(err, type(sync_err)) or (
                isinstance(err, target.error_type) and isinstance(sync_err, target.error_type)),
                f"{call} raised {error_name(err)} where {op} raised {error_name(sync_err)}",
                call)
            continue
        v.check("ASYNC-ERRORS", False, f"{call} returned {show(res)} where {op} raised "
                f"{error_name(sync_err)}", call)

