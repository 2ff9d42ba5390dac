"""Bounded fault runs: writers SIGKILLed mid-insert, serialization failing midway, corrupt and
truncated entry files, a lock holder that dies, and key encodings across PYTHONHASHSEEDs.

Each run describes a failure as the short sequence of steps that produced it.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cachespec.conformance._subject import (
    FILES, PERSISTENT, RICH_VALUES, VERSION, Subject, Target,
)

from ._compare import show, strict_equal
from ._harness import Violation, Violations, error_name, kill, new_dir, rebuild_target
from ._loaders import evil_pickle
from ._profiles import get_budget
from ._strategies import UNPICKLABLE_LAMBDA, failing_value

_JOIN = 30.0
_RECOVER = 2.0  #: seconds within which a key must be usable again after a crash


def _value(caps: frozenset[str], tag: int, size: int) -> Any:
    payload = bytes([tag % 256]) * size
    return [tag, payload] if RICH_VALUES in caps else payload


def call_within(seconds: float, fn: Callable[[], Any]) -> tuple[bool, Any]:
    """(finished, result or exception) of ``fn`` run in a daemon thread for at most ``seconds``."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as err:  # noqa: BLE001
            box.append(err)

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(seconds)
    return (not th.is_alive(), box[0] if box else None)


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as err:  # noqa: BLE001
        return err


# -- a writer killed mid-insert -------------------------------------------------------------
def _writer(target: Target, storage: str, prefix: str, size: int, conn: Any) -> None:
    t = rebuild_target(target)
    s = t.open(Path(storage))
    caps = frozenset(t.capabilities)
    i = 0
    while True:
        val = _value(caps, i, size)
        conn.send(("start", i, time.monotonic()))
        res = s.insert(f"{prefix}-{i}", val)
        conn.send(("done", i, time.monotonic(), res))
        i += 1


def stray_files(subject: Subject, storage: Path) -> list[Path]:
    """Regular files under ``storage`` that are neither entries nor locks."""
    entries = {p.resolve() for p in subject.entry_files()}
    out = []
    for p in storage.rglob("*"):
        if not p.is_file() or p.resolve() in entries:
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
        while recv.poll(0):  # an insert that completed just before the signal
            try:
                msg = recv.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "done":
                dones[msg[1]] = msg[3]
        if killed_in is None:
            v.add("CRASH-ATOMIC", "the writer process did not complete two inserts within 30 s",
                  f"round {r}: a process inserting {size}-byte values")
            break
        kills += 1
        story = (f"round {r}: a process inserts {prefix}-0, {prefix}-1, ... ({size}-byte values) "
                 f"into one storage; it was SIGKILLed during insert({prefix}-{killed_in}) "
                 f"(inserts that returned: {sorted(dones)}); then a fresh instance")
        fresh = target.open(storage)
        for i in sorted(dones):
            key, want = f"{prefix}-{i}", _value(caps, i, size)
            got = outcome(lambda: fresh.get(key))
            v.check("CRASH-DURABLE", dones[i] is not True or strict_equal(got, want),
                    lambda: f"insert({key}) returned True before the writer died, but get "
                    f"returned {show(got)}", f"{story} called get({key})")
        key, want = f"{prefix}-{killed_in}", _value(caps, killed_in, size)
        got = outcome(lambda: fresh.get(key))
        v.check("CRASH-ATOMIC", got is None or strict_equal(got, want), lambda: (
            f"get of the key being inserted when the writer died returned {show(got)} (expected "
            "None or the whole value)"), f"{story} called get({key})")
        small = _value(caps, 7, 8)
        done, res = call_within(_RECOVER + 1, lambda: (fresh.insert(key, small), fresh.get(key)))
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
        strays = stray_files(probe, storage)
        v.check("CRASH-NO-STRAY-TEMP", len(strays) <= 1, lambda: (
            f"{len(strays)} files that are neither entries nor locks remain after {kills} "
            f"killed writers: {[str(p.relative_to(storage)) for p in strays[:5]]}"),
            f"{kills} writer processes SIGKILLed mid-insert of {size}-byte values, each "
            "followed by a fresh instance inserting the interrupted key")
        probe.close()
    return v.list()


# -- serialization failing midway -----------------------------------------------------------
def run_serialization(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                      ) -> list[Violation]:
    """Unpicklable keys and values, and a value whose pickling raises after a large prefix."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    storage = new_dir(workdir, "serial")
    s = target.open(storage)
    persistent = PERSISTENT in caps

    def expect_cache_error(call: str, fn: Callable[[], Any], clause: str | None) -> bool:
        """True if fn raised the target's CacheError."""
        res = outcome(fn)
        if isinstance(res, target.error_type):
            return True
        if isinstance(res, BaseException):
            v.add("ERROR-ONLY-CACHEERROR", f"{call} raised {error_name(res)}, not CacheError",
                  call)
            if clause is not None:
                v.add(clause, f"{call} raised {error_name(res)}, not CacheError", call)
        elif clause is not None:
            v.add(clause, f"{call} returned {show(res)} (expected CacheError)", call)
        return False

    key_clause = "ERROR-UNPICKLABLE-KEY" if persistent else None
    good = _value(caps, 1, 4)
    expect_cache_error("get(lambda: None)", lambda: s.get(UNPICKLABLE_LAMBDA), key_clause)
    expect_cache_error("insert(lambda: None, value)", lambda: s.insert(UNPICKLABLE_LAMBDA, good),
                       key_clause)
    if RICH_VALUES in caps:
        expect_cache_error("insert('lambda-value', lambda: None)",
                           lambda: s.insert("lambda-value", UNPICKLABLE_LAMBDA),
                           "ERROR-UNPICKLABLE-VALUE" if persistent else None)
        for n, size in enumerate((0, 1 << 20)):
            key = f"failing-{n}"
            bad = failing_value(size)
            call = (f"insert({key!r}, [b'x' * {size}, 'prefix', <object whose __reduce__ "
                    "raises>])")
            res = outcome(lambda: s.insert(key, bad))
            if res is True or res is False:
                v.add("SAFE-FAILED-INSERT-ABSENT", f"{call} returned {res!r}: a value that "
                      "cannot be serialized was accepted", call)
                continue
            if not isinstance(res, target.error_type):
                for clause in ("ERROR-ONLY-CACHEERROR", "SAFE-FAILED-INSERT-ABSENT"):
                    v.add(clause, f"{call} raised {error_name(res)}, not CacheError", call)
            readers = [s] + ([s.reopen()] if persistent else [])
            for inst, r in enumerate(readers):
                got = outcome(lambda: r.get(key))
                v.check("SAFE-FAILED-INSERT-ABSENT", got is None, lambda: (
                    f"after the failed insert get returned {show(got)} (expected None)"),
                    f"{call} raised; then get({key!r})" + (" on a reopened instance"
                                                           if inst else ""))
            ins = outcome(lambda: s.insert(key, good))
            after = outcome(lambda: s.get(key))
            v.check("SAFE-FAILED-INSERT-ABSENT", ins is True and strict_equal(after, good),
                    lambda: f"after the failed insert, insert returned {show(ins)} and get "
                    f"{show(after)}", f"{call} raised; then insert({key!r}, {show(good)}), get")
            for r in readers[1:]:
                r.close()
    s.close()
    return v.list()


# -- corrupt entry files --------------------------------------------------------------------
def _corruptions(data: bytes, marker: Path, rng: random.Random) -> list[tuple[str, bytes]]:
    n = len(data)

    def flip(i: int) -> bytes:
        i = min(max(i, 0), n - 1)
        return data[:i] + bytes([data[i] ^ 0x41]) + data[i + 1:]

    evil = evil_pickle(marker)
    out = [("empty", b""), ("header only", data[:4]), ("truncated to half", data[: n // 2]),
           ("last byte cut", data[:-1]), ("first byte flipped", flip(0)),
           ("middle byte flipped", flip(n // 2)), ("last byte flipped", flip(n - 1)),
           ("garbage appended", data + b"\x00garbage"), ("zeros", bytes(n)),
           ("random bytes", rng.randbytes(n))]
    out += [(f"code-running pickle after {off} original bytes", data[:off] + evil)
            for off in (0, 4, 8, 12, 16)]
    out += [(f"byte {k} flipped", flip(k)) for k in rng.sample(range(n), min(n, 3))]
    return out


def run_corrupt(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                ) -> list[Violation]:
    """Every entry-file corruption: get raises CacheError or returns the right value; the key
    stays usable; no code in the file runs."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    storage = new_dir(workdir, "corrupt")
    s = target.open(storage)
    rng = random.Random(7)
    rounds = get_budget(profile).corrupt_rounds
    n = 0
    for r in range(rounds):
        value = _value(caps, r, 2048) if r % 2 == 0 else (
            {"r": r, "t": ("x", -0.0, None)} if RICH_VALUES in caps else b"small-%d" % r)
        marker_dir = new_dir(workdir, "markers")
        probe_key = f"corrupt-probe-{r}"
        before = set(s.entry_files())
        s.insert(probe_key, value)
        new = [p for p in s.entry_files() if p not in before]
        if len(new) != 1:
            v.add("DISK-CORRUPT-ENTRY", f"cannot locate the entry file: entry_files() listed "
                  f"{len(new)} new files after one insert", f"insert({probe_key!r}, ...)")
            break
        original = new[0].read_bytes()
        for kind, data in _corruptions(original, marker_dir / f"ran-{r}", rng):
            n += 1
            key = f"corrupt-{n}"
            before = set(s.entry_files())
            s.insert(key, value)
            files = [p for p in s.entry_files() if p not in before]
            if len(files) != 1:
                continue
            path = files[0]
            os.chmod(path, 0o644)
            path.write_bytes(data)
            story = f"insert({key!r}, {show(value)}); entry file {kind}; then get({key!r})"
            reader = s.reopen() if PERSISTENT in caps else s
            got = outcome(lambda: reader.get(key))
            ran = any(marker_dir.iterdir())
            v.check("SAFE-DISK-NO-CODE", not ran, "get ran code found in an entry file", story)
            if isinstance(got, BaseException) and not isinstance(got, target.error_type):
                v.add("DISK-CORRUPT-ENTRY", f"get raised {error_name(got)}", story)
                v.add("ERROR-ONLY-CACHEERROR", f"get of a corrupt entry raised "
                      f"{error_name(got)}, not CacheError", story)
            elif not isinstance(got, BaseException) and not strict_equal(got, value):
                v.add("DISK-CORRUPT-DETECTED", f"get returned {show(got)} (entry file {kind}); "
                      f"expected CacheError or {show(value)}", story)
                continue  # undetected: whether the key is usable is not the question
            new_value = _value(caps, 200 + r, 16)
            ins = outcome(lambda: reader.insert(key, new_value))
            after = outcome(lambda: reader.get(key))
            want = new_value if ins is True else value
            v.check("DISK-CORRUPT-RECOVER", ins in (True, False) and strict_equal(after, want),
                    lambda: f"after the corrupt entry was read, insert returned {show(ins)} and "
                    f"get returned {show(after)}", f"{story}; insert({key!r}, {show(new_value)}); "
                    f"get({key!r})")
            if reader is not s:
                reader.close()
    s.close()
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
    vp, va = _value(caps, 1, 64), _value(caps, 2, 64)
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
            done, got = call_within(_RECOVER, lambda: s.get(key))
            v.check("SAFE-LOCK-FREE-READS", done and strict_equal(got, want), lambda: (
                f"get({key!r}) while another process holds its lock "
                + ("did not return within 2 s" if not done else f"returned {show(got)}")),
                f"{story}; get({key!r}) while it holds them")
    finally:
        kill(proc.pid)
        proc.join(timeout=5)
    story += " and is SIGKILLed"
    started = time.monotonic()
    done, res = call_within(_RECOVER, lambda: (s.insert(absent, va), s.get(absent),
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


# -- key encoding across PYTHONHASHSEED -----------------------------------------------------
_CHILD = r"""
import pickle, sys
from pathlib import Path
job = pickle.load(open(sys.argv[1], "rb"))
from cachespec.conformance import resolve_target
t = resolve_target(job["target"])
if job["version"] is not None:
    t.set_version(job["version"])
s = t.open(Path(job["storage"]))
out = []
for op, k, val in pickle.loads(job["steps"]):
    try:
        out.append(s.get(k) if op == "get" else s.insert(k, val))
    except Exception as e:
        out.append("raised %s: %s" % (type(e).__name__, e))
pickle.dump(out, open(sys.argv[2], "wb"))
"""


def hashseed_keys() -> list[Any]:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    return [frozenset(words), (frozenset(words[:5]), 1),
            frozenset({("a", "b"), ("c", "d"), ("e", "f"), ("g",)}),
            frozenset({frozenset({"x", "y"}), frozenset({"z", "w", "v"}), "u"}),
            (b"k", frozenset({b"p", b"q", b"r", b"s"}))]


def _other_seed() -> int:
    """A PYTHONHASHSEED different from this process's."""
    mine = os.environ.get("PYTHONHASHSEED", "random")
    return 2 if mine == "1" else 1


def _run_child(target: Target, workdir: Path, storage: Path, seed: int,
               steps: list[tuple[str, Any, Any]]) -> list[Any] | str:
    job_path = workdir / f"hashseed-job-{seed}.pkl"
    out_path = workdir / f"hashseed-out-{seed}.pkl"
    version = target.get_version() if VERSION in target.capabilities else None
    with open(job_path, "wb") as fp:
        pickle.dump({"target": target.name, "storage": str(storage), "version": version,
                     "steps": pickle.dumps(steps)}, fp)
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(job_path), str(out_path)],
                              env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "timed out after 60 s"
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
    with open(out_path, "rb") as fp:
        return pickle.load(fp)  # type: ignore[no-any-return]


def run_hashseed(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                 ) -> list[Violation]:
    """Keys holding sets cross a PYTHONHASHSEED boundary both ways: this process inserts some,
    a child with another seed finds them and inserts others, which this process must find."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    storage = new_dir(workdir, "hashseed")
    keys = hashseed_keys()
    items = [(k, _value(caps, i, 8)) for i, k in enumerate(keys)]
    mine, theirs = items[::2], items[1::2]
    s = target.open(storage)
    parent_ins = [outcome(lambda: s.insert(k, val)) for k, val in mine]
    seed = _other_seed()
    steps = [("get", k, None) for k, _ in mine] + [("insert", k, val) for k, val in mine] + \
        [("insert", k, val) for k, val in theirs]
    res = _run_child(target, workdir, storage, seed, steps)
    if isinstance(res, str):
        if "TargetError" in res:
            return []  # the target cannot be rebuilt from its name in a fresh interpreter
        v.add("KEY-STABLE-HASHSEED", f"the child process failed: {res}", None)
        return v.list()
    n = len(mine)
    for j, (k, val) in enumerate(mine):
        got, again = res[j], res[n + j]
        v.check("KEY-STABLE-HASHSEED", parent_ins[j] is True and strict_equal(got, val)
                and again is False, "an equal key inserted under another PYTHONHASHSEED was "
                "not found", f"this process: insert({show(k)}) -> {show(parent_ins[j])}; a "
                f"process with PYTHONHASHSEED={seed}: get -> {show(got)}, insert -> "
                f"{show(again)}")
    for j, (k, val) in enumerate(theirs):
        ins = res[2 * n + j]
        got = outcome(lambda: s.get(k))
        again = outcome(lambda: s.insert(k, val))
        v.check("KEY-STABLE-HASHSEED", ins is True and strict_equal(got, val) and again is False,
                "an equal key inserted under another PYTHONHASHSEED was not found",
                f"a process with PYTHONHASHSEED={seed}: insert({show(k)}) -> {show(ins)}; this "
                f"process: get -> {show(got)}, insert -> {show(again)}")
    s.close()
    return v.list()
