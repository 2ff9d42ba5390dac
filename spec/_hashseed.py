"""Key encodings across interpreters: a key holding sets, inserted by a process with one
PYTHONHASHSEED, must be found by a process with another (set iteration order differs)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from ._subject import VERSION, Target, resolver_path

from ._compare import show, strict_equal
from ._crashes import value_of
from ._harness import Violation, Violations, new_dir, outcome


# -- key encoding across PYTHONHASHSEED -----------------------------------------------------
_CHILD = r"""
import pickle, sys
from pathlib import Path
job = pickle.load(open(sys.argv[1], "rb"))
from cachespec.spec._subject import resolve_in_child
t = resolve_in_child(job["resolver"], job["target"])
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
        pickle.dump({"target": target.name, "resolver": resolver_path(), "storage": str(storage), "version": version,
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
    items = [(k, value_of(caps, i, 8)) for i, k in enumerate(keys)]
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
