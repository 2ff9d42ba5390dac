"""Crash runs across processes: a writer SIGKILLed in the middle of a multi-MB insert, and a
process that dies while holding a key's lock.

Each run describes a failure as the short sequence of steps that produced it.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from ._subject import FILES, RICH_VALUES, Subject, Target

from ._compare import show, strict_equal
from ._harness import (
    Violation, Violations, call_within, error_name, kill, new_dir, outcome, rebuild_target,
    scaled,
)
from ._profiles import get_budget

_JOIN = 30.0
_RECOVER = 2.0  #: seconds within which a key must be usable again after a crash


def value_of(caps: frozenset[str], tag: int, size: int) -> Any:
    payload = bytes([tag % 256]) * size
    return [tag, payload] if RICH_VALUES in caps else payload


# -- a writer killed mid-insert -------------------------------------------------------------
def _writer(target: Target, storage: str, prefix: str, size: int, conn: Any) -> None:
    t = rebuild_target(target)
    s = t.open(Path(storage))
    caps = frozenset(t.capabilities)
    i = 0
    while True:
        val = value_of(caps, i, size)
        conn.send(("start", i, time.monotonic()))
        res = s.insert(f"{prefix}-{i}", val)
        conn.send(("done", i, time.monotonic(), res))
        i += 1


def data_files(storage: Path) -> list[Path]:
    """Regular files under ``storage`` that are not lock files.

    Entries are counted by asking the cache which keys are present, not by the subject's
    entry_files(): an adapter may list temporaries among the entries."""
    out = []
    for p in storage.rglob("*"):
        if not p.is_file():
            continue
        if p.name.endswith(".lock") or any(part in ("locks", "lock") for part in p.parts):
            continue
        out.append(p)
    return out


def run_kill_writer(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                    ) -> list[Violation]:
    """A writer process inserting multi-MB values is SIGKILLed in the middle of an insert."""
    import multiprocess as mp  # type: ignore[import-untyped]

    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    ctx = mp.get_context("fork")
    storage = new_dir(workdir, "kill")
    size = 3 << 20
    rng = random.Random(99)
    kills = 0
    started: list[str] = []
    for r in range(max(get_budget(profile).kill_rounds, 3)):
        prefix = f"kill-{r}"
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_writer, args=(target, str(storage), prefix, size, send),
                           daemon=True)
        proc.start()
        starts: dict[int, float] = {}
        dones: dict[int, Any] = {}
        durations: list[float] = []
        deadline = time.monotonic() + _JOIN
        killed_in: int | None = None
        try:
            while time.monotonic() < deadline:
                if not recv.poll(max(deadline - time.monotonic(), 0.01)):
                    break
                msg = recv.recv()
                if msg[0] == "start":
                    starts[msg[1]] = msg[2]
                    if len(durations) >= 2:  # aim the kill inside this insert
                        time.sleep(rng.uniform(0.15, 0.85) * min(durations))
                        kill(proc.pid)
                        killed_in = msg[1]
                        break
                else:
                    dones[msg[1]] = msg[3]
                    durations.append(msg[2] - starts[msg[1]])
        except (EOFError, OSError):
            pass
        proc.join(timeout=5)
        if proc.is_alive():
            kill(proc.pid)
            proc.join(timeout=5)
        while recv.poll(0):  # inserts that began or completed before the signal landed
            try:
                msg = recv.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "done":
                dones[msg[1]] = msg[3]
            else:
                starts[msg[1]] = msg[2]
        if killed_in is None:
            v.add("CRASH-ATOMIC", "the writer process did not complete two inserts within 30 s",
                  f"round {r}: a process inserting {size}-byte values")
            break
        kills += 1
        started += [f"{prefix}-{i}" for i in starts]
        story = (f"round {r}: a process inserts {prefix}-0, {prefix}-1, ... ({size}-byte values) "
                 f"into one storage; it was SIGKILLed during insert({prefix}-{killed_in}) "
                 f"(inserts that returned: {sorted(dones)}); then a fresh instance")
        fresh = target.open(storage)
        for i in sorted(dones):
            key, want = f"{prefix}-{i}", value_of(caps, i, size)
            got = outcome(lambda: fresh.get(key))
            v.check("CRASH-DURABLE", dones[i] is not True or strict_equal(got, want),
                    lambda: f"insert({key}) returned True before the writer died, but get "
                    f"returned {show(got)}", f"{story} called get({key})")
        for i in sorted(set(starts) - set(dones)):  # the insert(s) the signal interrupted
            key, want = f"{prefix}-{i}", value_of(caps, i, size)
            got = outcome(lambda: fresh.get(key))
            v.check("CRASH-ATOMIC", got is None or strict_equal(got, want), lambda: (
                f"get of the key being inserted when the writer died returned {show(got)} "
                "(expected None or the whole value)"), f"{story} called get({key})")
        key, want = f"{prefix}-{killed_in}", value_of(caps, killed_in, size)
        small = value_of(caps, 7, 8)
        done, res = call_within(scaled(_RECOVER) + 1,
                                lambda: (fresh.insert(key, small), fresh.get(key)))
        text = f"{story} called insert({key}, small value) then get({key})"
        if not done:
            v.add("CRASH-RECOVER", f"insert/get of {key} did not finish within {_RECOVER} s "
                  "after the writer died", text)
        elif isinstance(res, BaseException):
            v.add("CRASH-RECOVER", f"recovering {key} raised {error_name(res)}", text)
        else:
            ins, after = res
            ok = strict_equal(after, small) if ins is True else strict_equal(after, want)
            v.check("CRASH-RECOVER", ok and ins in (True, False), lambda: (
                f"after the crash insert returned {ins!r} and get returned {show(after)}"), text)
        fresh.close()
    if FILES in caps and kills:
        probe = target.open(storage)
        # a key whose get returns a value or raises (a torn entry: CRASH-ATOMIC's business)
        # has a file; whatever else is not a lock is a stray temporary
        present = sum(outcome(lambda: probe.get(k)) is not None for k in started)
        files = data_files(storage)
        strays = len(files) - present
        v.check("CRASH-NO-STRAY-TEMP", strays <= 1, lambda: (
            f"{len(files)} non-lock files but {present} entries remain after {kills} killed "
            f"writers: {[str(p.relative_to(storage)) for p in files[:6]]}"),
            f"{kills} writer processes SIGKILLed mid-insert of {size}-byte values, each "
            "followed by a fresh instance inserting the interrupted key")
        probe.close()
    return v.list()


# -- a lock holder that dies ----------------------------------------------------------------
def _holder(target: Target, storage: str, keys: list[str], conn: Any) -> None:
    t = rebuild_target(target)
    s = t.open(Path(storage))
    locks = [s.lock_for(k) for k in keys]
    for lk in locks:
        lk.__enter__()
    conn.send("held")
    time.sleep(3600)


def run_lock_holder(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                    ) -> list[Violation]:
    """A process takes the locks of two keys and is SIGKILLed; reads never wait for it, and
    writes go through within 2 s after its death."""
    import multiprocess as mp  # type: ignore[import-untyped]

    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    ctx = mp.get_context("fork")
    storage = new_dir(workdir, "lock")
    s = target.open(storage)
    present, absent = "lock-present", "lock-absent"
    vp, va = value_of(caps, 1, 64), value_of(caps, 2, 64)
    s.insert(present, vp)
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_holder, args=(target, str(storage), [present, absent], send),
                       daemon=True)
    proc.start()
    story = (f"insert({present!r}); another process enters lock_for({present!r}) and "
             f"lock_for({absent!r})")
    try:
        if not recv.poll(_JOIN) or recv.recv() != "held":
            v.add("CRASH-LOCK-RELEASED", "the lock-holder process could not take the locks",
                  story)
            return v.list()
        for key, want in ((present, vp), (absent, None)):
            done, got = call_within(scaled(_RECOVER), lambda: s.get(key))
            v.check("SAFE-LOCK-FREE-READS", done and strict_equal(got, want), lambda: (
                f"get({key!r}) while another process holds its lock "
                + ("did not return within 2 s" if not done else f"returned {show(got)}")),
                f"{story}; get({key!r}) while it holds them")
    finally:
        kill(proc.pid)
        proc.join(timeout=5)
    story += " and is SIGKILLed"
    started = time.monotonic()
    done, res = call_within(scaled(_RECOVER), lambda: (s.insert(absent, va), s.get(absent),
                                               s.insert(present, va), s.get(present)))
    text = f"{story}; insert({absent!r}), get, insert({present!r}), get"
    if not done:
        v.add("CRASH-LOCK-RELEASED", f"insert/get still blocked {_RECOVER} s after the lock "
              "holder died", text)
    elif isinstance(res, BaseException):
        v.add("CRASH-LOCK-RELEASED", f"raised {error_name(res)} after the lock holder died", text)
    else:
        ok = res[0] is True and strict_equal(res[1], va) and res[2] is False and \
            strict_equal(res[3], vp)
        v.check("CRASH-LOCK-RELEASED", ok, f"after the lock holder died: {show(res)} "
                f"({time.monotonic() - started:.2f} s)", text)
    s.close()
    return v.list()


