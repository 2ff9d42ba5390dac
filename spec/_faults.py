"""Fault runs on one process: values whose serialization fails midway, and corrupt or
truncated entry files (the key must stay usable and no code in a file may run).

Each run describes a failure as the short sequence of steps that produced it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._subject import PERSISTENT, RICH_VALUES, TYPED_KEYS, Target

from ._compare import show, strict_equal
from ._crashes import value_of
from ._harness import Hung, Violation, Violations, error_name, new_dir, outcome
from ._loaders import evil_pickle
from ._profiles import get_budget
from ._strategies import UNPICKLABLE_LAMBDA, failing_value


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
        if isinstance(res, Hung):
            v.add(clause or "ERROR-ONLY-CACHEERROR", f"{call} {res}", call)
            return False
        if isinstance(res, BaseException):
            v.add("ERROR-ONLY-CACHEERROR", f"{call} raised {error_name(res)}, not CacheError",
                  call)
            if clause is not None:
                v.add(clause, f"{call} raised {error_name(res)}, not CacheError", call)
        elif clause is not None:
            v.add(clause, f"{call} returned {show(res)} (expected CacheError)", call)
        return False

    key_clause = "ERROR-UNPICKLABLE-KEY" if persistent else None
    good = value_of(caps, 1, 4)
    if TYPED_KEYS in caps:  # a lambda is outside a str-only cache's documented keys
        expect_cache_error("get(lambda: None)", lambda: s.get(UNPICKLABLE_LAMBDA), key_clause)
        expect_cache_error("insert(lambda: None, value)",
                           lambda: s.insert(UNPICKLABLE_LAMBDA, good), key_clause)
    if RICH_VALUES in caps:
        # The reference's value domain: no object outside builtin data gets in, serialized or not.
        for label, alien in (("object()", object()), ("lambda: None", UNPICKLABLE_LAMBDA)):
            key = f"alien-{label}"
            call = f"insert({key!r}, {label})"
            if expect_cache_error(call, lambda: s.insert(key, alien), "SAFE-VALUE-DOMAIN"):
                got = outcome(lambda: s.get(key))
                v.check("SAFE-VALUE-DOMAIN", got is None,
                        lambda: f"after the refused insert get returned {show(got)}",
                        f"{call} raised CacheError; then get({key!r})")
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
            if res is True and not persistent:
                continue  # an in-memory cache never serializes: storing any object is documented
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
        value = value_of(caps, r, 2048) if r % 2 == 0 else (
            {"r": r, "t": ("x", -0.0, None)} if RICH_VALUES in caps else b"small-%d" % r)
        marker_dir = new_dir(workdir, "markers")
        probe_key = f"corrupt-probe-{r}"
        before = set(s.entry_files())
        if isinstance(outcome(lambda: s.insert(probe_key, value)), Hung):
            v.add("DISK-CORRUPT-ENTRY", "insert did not return within 10 s", probe_key)
            break
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
            if isinstance(outcome(lambda: s.insert(key, value)), Hung):
                v.add("DISK-CORRUPT-ENTRY", "insert did not return within 10 s", key)
                return v.list()
            files = [p for p in s.entry_files() if p not in before]
            if len(files) != 1:
                continue
            path = files[0]
            os.chmod(path, 0o644)
            path.write_bytes(data)
            story = f"insert({key!r}, {show(value)}); entry file {kind}; then get({key!r})"
            reader = s.reopen() if PERSISTENT in caps else s
            got = outcome(lambda: reader.get(key))
            if isinstance(got, Hung):
                v.add("DISK-CORRUPT-ENTRY", f"get {got}", story)
                return v.list()
            ran = any(marker_dir.iterdir())
            v.check("SAFE-DISK-NO-CODE", not ran, "get ran code found in an entry file", story)
            if isinstance(got, BaseException) and not isinstance(got, target.error_type):
                v.add("DISK-CORRUPT-ENTRY", f"get raised {error_name(got)}", story)
                v.add("ERROR-ONLY-CACHEERROR", f"get of a corrupt entry raised "
                      f"{error_name(got)}, not CacheError", story)
            elif got is None and not path.exists():
                pass  # detected: the entry was removed and a miss reported (torch's stale entry)
            elif not isinstance(got, BaseException) and not strict_equal(got, value):
                v.add("DISK-CORRUPT-DETECTED", f"get returned {show(got)} (entry file {kind}); "
                      f"expected CacheError or {show(value)}", story)
                continue  # undetected: whether the key is usable is not the question
            new_value = value_of(caps, 200 + r, 16)
            ins = outcome(lambda: reader.insert(key, new_value))
            after = outcome(lambda: reader.get(key)) if not isinstance(ins, Hung) else ins
            if isinstance(after, Hung):
                v.add("DISK-CORRUPT-RECOVER", f"insert/get {after}", f"{story}; "
                      f"insert({key!r}, {show(new_value)}); get({key!r})")
                return v.list()
            want = new_value if ins is True else value
            v.check("DISK-CORRUPT-RECOVER", ins in (True, False) and strict_equal(after, want),
                    lambda: f"after the corrupt entry was read, insert returned {show(ins)} and "
                    f"get returned {show(after)}", f"{story}; insert({key!r}, {show(new_value)}); "
                    f"get({key!r})")
            if reader is not s:
                reader.close()
    s.close()
    return v.list()
