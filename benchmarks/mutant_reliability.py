"""How reliably does the spec catch each mutant? Runs the checks covering a mutant's intended
clause N times (default 20) with different seeds and reports catches/N per mutant.

A clause that catches a mutant in fewer than N of N runs catches it by luck: its strategy (or
its race/crash schedule) needs strengthening, not a retry. Usage::

    python benchmarks/mutant_reliability.py [--profile quick] [--runs 20] [--mutant NAME ...]
                                            [--json FILE]

Seeds. Run ``i`` uses seed ``base + i`` for ``random`` and Hypothesis (its global seed, with
``derandomize`` turned off: the spec's profiles derandomize, so without this every run would
replay the same examples). The runs of one mutant share a child process (PYTHONHASHSEED = the
base seed; the hash-seed check starts its own processes with their own seeds), killed after
``--timeout`` seconds per run; runs cut short by it count as catches (the runner fails a hung
check), and so does a check that raises.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_CHILD = r"""
import json, os, random, sys, tempfile, time, traceback
from pathlib import Path
target_name, clause, profile = sys.argv[1], sys.argv[2], sys.argv[3]
seeds = [int(s) for s in sys.argv[4:]]
import hypothesis, hypothesis.core
from hypothesis import settings
import cachespec.spec as spec
import cachespec.spec._profiles as P
orig = P.get_profile
def patched(name):
    return settings(orig(name), derandomize=False)
for mod in list(sys.modules.values()):
    if getattr(mod, "__name__", "").startswith("cachespec.spec") and getattr(mod, "get_profile", None) is orig:
        mod.get_profile = patched
from cachespec.conformance import resolve_target
target = resolve_target(target_name)
checks = [c for c in spec.CHECKS if clause in c.clause_ids and set(c.capabilities) <= set(target.capabilities)]
version = target.get_version() if "version" in target.capabilities else None
for seed in seeds:
    random.seed(seed)
    hypothesis.core.global_force_seed = seed
    caught, by, error = False, [], None
    t0 = time.monotonic()
    for check in checks:
        work = Path(tempfile.mkdtemp(prefix="reliab-"))
        try:
            violations = check.run(target, work, profile, frozenset([clause])).violations
        except BaseException as err:
            caught, error = True, f"{check.name} raised {type(err).__name__}: {err}"
            break
        finally:
            if version is not None:
                target.set_version(version)
        if any(v.clause_id == clause for v in violations or ()):
            caught = True
            by.append(check.name)
            break
    print(json.dumps({"seed": seed, "caught": caught, "checks": [c.name for c in checks],
                      "by": by, "error": error, "seconds": time.monotonic() - t0}), flush=True)
"""


def run_seeds(target: str, clause: str, profile: str, seeds: list[int], timeout: float
              ) -> list[dict[str, Any]]:
    """Run the check once per seed in one child process (PYTHONHASHSEED = the first seed).
    Seeds not reported when the child hangs past ``timeout`` per seed count as caught."""
    env = dict(os.environ, PYTHONHASHSEED=str(seeds[0] % (2**32)))
    with tempfile.TemporaryDirectory(prefix="cachespec-reliab-") as cwd:
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(cwd, ".hypothesis")
        try:
            proc = subprocess.run([sys.executable, "-c", _CHILD, target, clause, profile,
                                   *map(str, seeds)], capture_output=True, text=True,
                                  timeout=timeout * len(seeds), cwd=cwd, env=env,
                                  start_new_session=True)
            out, err = proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = f"hung > {timeout * len(seeds):g} s (the runner fails a hung check)"
    runs = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    done = {r["seed"] for r in runs}
    for seed in seeds:
        if seed not in done:
            hung = err.startswith("hung")
            runs.append({"seed": seed, "caught": hung, "seconds": 0.0,
                         "error": err if hung else f"driver failed: {err.strip()[-400:]}"})
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="quick", choices=("quick", "default", "thorough"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1, help="base seed (default: 1)")
    parser.add_argument("--mutant", action="append", default=None)
    parser.add_argument("--timeout", type=float, default=180.0, help="per run, seconds")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--jobs", type=int, default=1, help="mutants measured at once")
    args = parser.parse_args(argv)

    from cachespec.conformance.mutants import MUTANTS, get_mutant

    mutants = [get_mutant(n) for n in args.mutant] if args.mutant else list(MUTANTS)
    rows = []
    started = time.monotonic()
    from concurrent.futures import ThreadPoolExecutor

    def measure(m: Any) -> list[dict[str, Any]]:
        return run_seeds(m.target, m.intended_clause, args.profile,
                         [args.seed + i for i in range(args.runs)], args.timeout)

    pool = ThreadPoolExecutor(max(args.jobs, 1))
    for m, runs in zip(mutants, pool.map(measure, mutants)):
        catches = sum(bool(r.get("caught")) for r in runs)
        errors = sorted({r["error"] for r in runs if r.get("error") and not r.get("caught")})
        secs = sum(r.get("seconds", 0.0) for r in runs) / len(runs)
        rows.append({"mutant": m.name, "clause": m.intended_clause, "catches": catches,
                     "runs": args.runs, "mean_seconds": round(secs, 2), "errors": errors,
                     "checks": runs[0].get("checks", [])})
        flag = "" if catches == args.runs else "   <-- by luck: strengthen"
        print(f"{m.name:32} {m.intended_clause:26} {catches:2}/{args.runs}  "
              f"{secs:6.2f} s/run{flag}", flush=True)
        for e in errors:
            print(f"    error: {e}", flush=True)
    weak = [r for r in rows if r["catches"] < r["runs"]]
    print(f"\n{len(rows) - len(weak)}/{len(rows)} mutants caught in every run "
          f"(profile {args.profile}, {args.runs} seeds from {args.seed}); "
          f"{time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"profile": args.profile, "runs": args.runs,
                                         "base_seed": args.seed, "mutants": rows}, indent=2))
    return 1 if weak else 0


if __name__ == "__main__":
    sys.exit(main())
