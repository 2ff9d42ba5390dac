"""``cachespec mutants``: check every deliberately broken cache and report the kill rate."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from cachespec.conformance.mutants._docs import REGENERATE

_PROFILES = ("quick", "default", "thorough")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "mutants", help="check the catalogue of broken caches: every one must be caught",
        description="Run the conformance checks on each mutant (a deliberately broken cache) and "
                    "print which clauses caught it and how fast. Exit 1 if any survives, or if "
                    "--controls finds a failure in a correct implementation.")
    p.add_argument("--profile", choices=_PROFILES, default="default",
                   help="check budget (default: %(default)s)")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    p.add_argument("--mutant", action="append", metavar="NAME", default=None,
                   help="only this mutant (class name; repeatable)")
    p.add_argument("--intended-only", action="store_true",
                   help="check each mutant on its intended clause only (much faster)")
    p.add_argument("--controls", action="store_true",
                   help="also check the correct implementations (reference-memory, "
                        "reference-disk), which nothing may flag")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="mutants checked at once, each in its own worker (default: 1)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="per-check timeout (default: the profile's)")
    p.add_argument("--counterexamples", type=Path, metavar="DIR",
                   help="store each caught mutant's counterexample in DIR/<name>.txt as a "
                        "runnable program (kept from the first catch; see --overwrite). "
                        f"docs/mutants is regenerated with: {REGENERATE}")
    p.add_argument("--overwrite", action="store_true",
                   help="with --counterexamples, replace files already there (and, when every "
                        "mutant was checked, remove the files of mutants no longer in the "
                        "catalogue)")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.set_defaults(func=cmd_mutants)


def cmd_mutants(args: argparse.Namespace) -> int:
    from cachespec._usage import UsageError
    from cachespec.conformance.mutants._catalogue import MUTANTS, get_mutant
    from cachespec.conformance.mutants._run import (
        kill_rate, render_table, run_catalogue, run_controls,
    )
    from cachespec.conformance.mutants._docs import write as write_counterexamples

    try:
        chosen = [get_mutant(n) for n in args.mutant] if args.mutant else list(MUTANTS)
    except KeyError as err:
        raise UsageError(str(err.args[0])) from None
    if args.list:
        for m in chosen:
            print(f"{m.name:32} {m.intended_clause:26} {m.description}")
        return 0
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    for path in (args.json,):
        if path is not None and not path.parent.exists():
            raise UsageError(f"--json {path}: directory {path.parent} does not exist")

    started = time.monotonic()
    tty = sys.stderr.isatty()

    def progress(r: Any) -> None:
        verdict = "caught" if r.killed else ("ERROR" if r.error else "SURVIVED")
        print(f"  {r.name}: {verdict} ({r.seconds:.1f} s)", file=sys.stderr, flush=tty or True)

    scope = "intended" if args.intended_only else "full"
    results = run_catalogue(chosen, args.profile, scope, args.jobs, args.timeout, progress)
    controls = run_controls(args.profile, args.timeout) if args.controls else []
    if args.counterexamples:
        everything = args.overwrite and not args.mutant
        write_counterexamples(results, args.counterexamples, args.overwrite,
                              prune=[m.name for m in MUTANTS] if everything else None)
    print(render_table(results, controls))
    print(f"wall time {time.monotonic() - started:.1f} s, profile {args.profile}, scope {scope}")
    if args.json:
        args.json.write_text(json.dumps({
            "profile": args.profile, "scope": scope,
            "kill_rate": kill_rate(results),
            "wall_seconds": time.monotonic() - started,
            "mutants": [r.to_dict() for r in results],
            "controls": [c.to_dict() for c in controls],
        }, indent=2, default=str) + "\n")
    bad_controls = any(c.caught_by or c.error for c in controls)
    return 0 if all(r.killed for r in results) and not bad_controls else 1


__all__ = ["cmd_mutants", "register"]
