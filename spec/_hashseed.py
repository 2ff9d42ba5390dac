"""Key encodings across interpreters: a key holding sets, inserted by a process with one
PYTHONHASHSEED, must be found by a process with another (set iteration order differs).

The other process is a fresh child of a :class:`Zygote` spawned with the other seed; it builds
its own instance, and this process holds none while it runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._subject import Target

from ._children import ChildError, Zygote, attempt
from ._compare import show, strict_equal
from ._crashes import value_of
from ._harness import Violation, Violations, new_dir, outcome


# -- key encoding across PYTHONHASHSEED -----------------------------------------------------
def _steps(target: Target, chan: Any, storage: str, steps: list[tuple[str, Any, Any]]
           ) -> list[Any]:
    """In a fresh process: run get/insert steps on a fresh instance, outcomes in order."""
    s = target.open(Path(storage))
    out = [attempt(lambda: s.get(k) if op == "get" else s.insert(k, val))
           for op, k, val in steps]
    s.close()
    return out


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


def run_hashseed(target: Target, workdir: Path, profile: str, clauses: frozenset[str]
                 ) -> list[Violation]:
    """Keys holding sets cross a PYTHONHASHSEED boundary both ways: this process inserts some,
    a child with another seed finds them and inserts others, which this process must find."""
    v = Violations(clauses)
    caps = frozenset(target.capabilities)
    storage = new_dir(workdir, "hashseed")
    keys = hashseed_keys()
    items = [(k, value_of(caps, i, 8)) for i, k in enumerate(keys)]
    mine, theirs = items[::2], items[1::2]
    seed = _other_seed()
    steps = [("get", k, None) for k, _ in mine] + [("insert", k, val) for k, val in mine] + \
        [("insert", k, val) for k, val in theirs]
    # this process's instance is closed before the other process starts and opened again
    # after it ended: no two instances of the storage are ever open at once
    s = target.open(storage)
    parent_ins = [outcome(lambda: s.insert(k, val)) for k, val in mine]
    s.close()
    try:
        with Zygote(target, env={"PYTHONHASHSEED": str(seed)}) as z:
            res = z.run(_steps, str(storage), steps)
    except ChildError as err:
        v.add("KEY-STABLE-HASHSEED", f"the process with PYTHONHASHSEED={seed} failed: {err}",
              f"this process inserts {len(mine)} keys holding sets; a process with "
              f"PYTHONHASHSEED={seed} gets and inserts them")
        return v.list()
    s = target.open(storage)
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
