"""Fault runs on one process: values whose serialization fails midway, and corrupt or
truncated storage (``run_corrupt``, in ``_corrupt``: the key must stay usable and no code in a
file may run).

Each run describes a failure as the short sequence of steps that produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._subject import PERSISTENT, RICH_VALUES, TYPED_KEYS, Target

from ._compare import show, strict_equal
from ._corrupt import run_corrupt
from ._crashes import value_of
from ._damage import storage_files
from ._harness import Hung, Violation, Violations, error_name, new_dir, outcome
from ._strategies import UNPICKLABLE_LAMBDA, failing_value

__all__ = ["run_corrupt", "run_serialization"]


def _leftovers(storage: Path, before: set[Path]) -> list[str]:
    """Files (lock files excluded) that appeared in ``storage`` since ``before``, sorted."""
    return sorted(str(p.relative_to(storage)) for p in storage_files(storage) - before)


# -- serialization failing midway -----------------------------------------------------------
def run_serialization(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                      ) -> list[Violation]:
    """Unpicklable keys and values, and a value whose pickling raises after a large prefix;
    a refused insert must leave the key absent and insertable, and no new file behind."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    storage = new_dir(workdir, "serial")
    s = target.open(storage)
    persistent = PERSISTENT in caps

    def expect_cache_error(call: str, fn: Callable[[], Any], clause: str | None) -> bool:
        """True if fn raised the target's CacheError; judges ``clause`` and, when fn raised,
        ERROR-ONLY-CACHEERROR."""
        res = outcome(fn)
        ok = isinstance(res, target.error_type)
        if isinstance(res, Hung):
            v.add(clause or "ERROR-ONLY-CACHEERROR", f"{call} {res}", call)
            return False
        # provoked to fail: raising CacheError or not failing at all both hold the clause
        v.check("ERROR-ONLY-CACHEERROR", ok or not isinstance(res, BaseException),
                lambda: f"{call} raised {error_name(res)}, not CacheError", call)
        if clause is not None:
            v.check(clause, ok, lambda: (
                f"{call} raised {error_name(res)}, not CacheError"
                if isinstance(res, BaseException) else
                f"{call} returned {show(res)} (expected CacheError)"), call)
        return ok

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
        if persistent:
            # a store's own files (a database, its journal) appear with its first write: make
            # them exist before counting what a failed insert leaves behind
            outcome(lambda: s.insert("warm-up", good))
        for n, size in enumerate((0, 1 << 20)):
            _failed_insert(v, target, s, storage if persistent else None, f"failing-{n}", size,
                           good)
    s.close()
    return v.list()


def _failed_insert(v: Violations, target: Target, s: Any, storage: Path | None, key: str,
                   size: int, good: Any) -> None:
    """insert(key, <a value whose pickling raises after ``size`` bytes>) is refused with
    CacheError, leaves no file, and the key reads None and takes a good value afterwards."""
    bad = failing_value(size)
    call = f"insert({key!r}, [b'x' * {size}, 'prefix', <object whose __reduce__ raises>])"
    before = storage_files(storage)
    res = outcome(lambda: s.insert(key, bad))
    if res is True and storage is None:
        # an in-memory cache never serializes: storing any object is documented, and then the
        # whole value (the very objects) must be what get returns
        got = outcome(lambda: s.get(key))
        v.check("SAFE-FAILED-INSERT-ABSENT", got is bad, lambda: (
            f"an in-memory cache took the value (insert returned True) but get returned "
            f"{show(got)}"), f"{call} returned True; then get({key!r})")
        return
    if res is True or res is False:
        v.add("SAFE-FAILED-INSERT-ABSENT", f"{call} returned {res!r}: a value that "
              "cannot be serialized was accepted", call)
        return
    if isinstance(res, Hung):
        v.add("SAFE-FAILED-INSERT-ABSENT", f"{call} {res}", call)
        return
    ok = isinstance(res, target.error_type)
    for clause in ("ERROR-ONLY-CACHEERROR", "SAFE-FAILED-INSERT-ABSENT"):
        v.check(clause, ok, lambda: f"{call} raised {error_name(res)}, not CacheError", call)
    if storage is not None:
        left = _leftovers(storage, before)
        v.check("SAFE-FAILED-INSERT-ABSENT", not left, lambda: (
            f"the refused insert left {len(left)} new file(s) in the storage: {left}"),
            f"{call} raised; then list the files under the storage directory")
    readers = [s] + ([s.reopen()] if storage is not None else [])
    for inst, r in enumerate(readers):
        got = outcome(lambda: r.get(key))
        v.check("SAFE-FAILED-INSERT-ABSENT", got is None, lambda: (
            f"after the failed insert get returned {show(got)} (expected None)"),
            f"{call} raised; then get({key!r})" + (" on a reopened instance" if inst else ""))
    ins = outcome(lambda: s.insert(key, good))
    after = outcome(lambda: s.get(key))
    v.check("SAFE-FAILED-INSERT-ABSENT", ins is True and strict_equal(after, good),
            lambda: f"after the failed insert, insert returned {show(ins)} and get "
            f"{show(after)}", f"{call} raised; then insert({key!r}, {show(good)}), get")
    for r in readers[1:]:
        r.close()
