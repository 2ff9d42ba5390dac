"""``cachespec stress`` and ``cachespec verify``: the stress commands and their arguments.

Both end in the same judge (``_judge.judge_report``): ``stress`` judges the history it just
recorded, ``verify`` judges saved histories, one run at a time: each directory given is one
run (a run's files live in one directory), so ``verify /tmp/cachespec-stress-*/history``
checks every run on its own and never merges unrelated runs into one history.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from cachespec.stress._report import format_violation
from cachespec.stress._faults import FAULT_KINDS
from cachespec.stress._workload import DEFAULT_MIX

EXIT_OK, EXIT_FAIL = 0, 1
MAX_SHOWN = 50  # violations printed in full; the JSON report has them all

__all__ = ["register", "history_runs", "run_verify", "cmd_stress", "summary_text"]


def register(subparsers: Any) -> None:
    """Add ``verify`` and ``stress`` to the ``cachespec`` command."""
    p = subparsers.add_parser(
        "verify", help="judge recorded stress histories (each run on its own)",
        description="Judge the histories written by `cachespec stress` (its history directory, "
                    "or *.jsonl files) with the same judge as the live run. Each directory is "
                    "one run and is judged on its own. Exit 0: no violation in any run, "
                    "1: violations, 2: bad input.")
    p.add_argument("history", nargs="+", metavar="HISTORY",
                   help="a run's history directory (or the run directory holding history/), "
                        "or history files")
    p.add_argument("--no-clock", dest="clock", action="store_const", const=False, default=None,
                   help="skip every real-time check (by default ops are compared by time "
                        "only with ops of their own host)")
    p.add_argument("--corruption", action="store_const", const=True, default=None,
                   help="CacheError is an allowed outcome (implied by a recorded corrupt fault)")
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    p.set_defaults(func=run_verify)
    _register_stress(subparsers)


# -- verify -----------------------------------------------------------------------------------
def history_runs(args: list[str]) -> dict[Path, list[Path]]:
    """Group the arguments into runs: run directory -> its ``*.jsonl`` files.

    A directory is one run (``DIR/*.jsonl``, or ``DIR/history/*.jsonl`` for the directory a
    run created); files are grouped by the directory that holds them. Missing paths and
    directories without histories are usage errors.
    """
    from cachespec._usage import UsageError

    runs: dict[Path, list[Path]] = {}
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = sorted(path.glob("*.jsonl")) or sorted(path.glob("history/*.jsonl"))
            if not found:
                raise UsageError(f"no *.jsonl history files in directory {arg}")
            files = runs.setdefault(found[0].parent.resolve(), [])
            files.extend(f for f in found if f not in files)
        elif path.is_file():
            files = runs.setdefault(path.parent.resolve(), [])
            if path not in files:
                files.append(path)
        else:
            raise UsageError(f"no such history file or directory: {arg}")
    return runs


def _verify_one(files: list[Path], clock: bool | None, corruption: bool | None) -> Any:
    from cachespec._usage import UsageError
    from cachespec.stress._history import HistoryError, read_history
    from cachespec.stress._judge import judge_report

    try:
        return judge_report(read_history(files), clock=clock, corruption=corruption)
    except HistoryError as err:
        raise UsageError(str(err)) from None


def _print_verdict(verdict: Any, files: int) -> None:
    hosts = getattr(verdict, "hosts", 1)
    mode = ("" if verdict.clock else ", no clock") + (
        f", {hosts} hosts (real time within each host only)" if hosts > 1 else "") + (
        ", corruption allowed" if verdict.corruption else "")
    print(f"{files} file(s), {verdict.ops} ops on {verdict.keys} keys, "
          f"{verdict.indeterminate} indeterminate{mode}"
          + (f", {verdict.final_reads} final reads" if verdict.final_reads else ""))
    if verdict.orphans:
        print(f"warning: {verdict.orphans} completions without an invoke were ignored")
    for v in verdict.violations[:MAX_SHOWN]:
        print()
        print(format_violation(v))
    if len(verdict.violations) > MAX_SHOWN:
        print(f"\n... and {len(verdict.violations) - MAX_SHOWN} more violations")
    if verdict.violations:
        kinds: dict[str, int] = {}
        for v in verdict.violations:
            kinds[v.kind] = kinds.get(v.kind, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        print(f"\nFAIL: {len(verdict.violations)} violation(s): {summary}")
    else:
        print("OK: no violations")


def run_verify(args: argparse.Namespace) -> int:
    from cachespec._usage import UsageError

    runs = history_runs(args.history)
    verdicts = {run: _verify_one(files, args.clock, args.corruption)
                for run, files in runs.items()}
    for run, verdict in verdicts.items():
        print(f"cachespec verify {run}: ", end="")
        _print_verdict(verdict, len(runs[run]))
        if len(runs) > 1:
            print()
    failed = [run for run, verdict in verdicts.items() if verdict.violations]
    if len(runs) > 1:
        print(f"{len(runs)} runs judged one by one: "
              + (f"{len(failed)} with violations" if failed else "no violations"))
    if args.json:
        reports = [{"history": str(run), **v.to_dict()} for run, v in verdicts.items()]
        doc = reports[0] if len(reports) == 1 else {"runs": reports}
        try:
            Path(args.json).write_text(json.dumps(doc, indent=2, default=repr) + "\n")
        except OSError as err:
            raise UsageError(f"cannot write {args.json}: {err.strerror or err}") from None
    return EXIT_FAIL if failed else EXIT_OK


# -- stress -----------------------------------------------------------------------------------
def summary_text(res: Any, kept: str | None = None) -> str:
    """The human summary of a run; ``kept`` names the directory left behind, if any."""
    lines = [f"cachespec stress {res.target}: {res.ops} ops in {res.elapsed:.1f} s "
             f"({res.ops_per_s:.0f} ops/s), {res.errors} op errors"]
    for op, st in res.latency_ms.items():
        lines.append(f"  {op:<13} n={st['n']:<8} p50 {st['p50']:9.3f} ms   p99 {st['p99']:9.3f} ms")
    if res.faults:
        lines.append("  faults: " + ", ".join(f"{k}={v}" for k, v in res.faults.items()))
    for note in res.notes:
        lines.append(f"  note: {note}")
    if not res.checked:
        lines.append("verdict: not checked")
    elif res.violations:
        lines.append(f"verdict: {len(res.violations)} violation(s)")
        for v in res.violations[:20]:
            lines.append(format_violation(v))
        if len(res.violations) > 20:
            lines.append(f"... {len(res.violations) - 20} more (see --json)")
    else:
        lines.append("verdict: ok, 0 violations")
    if kept is not None:
        lines.append(f"  history kept in {kept} (re-judge it: cachespec verify {kept})")
    return "\n".join(lines)


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def _register_stress(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stress", help="run many processes on one cache with faults; check the history",
        description="Run worker processes and threads on one cache directory with a skewed, "
                    "contended key mix; record every op; check the merged history. Exit 0: no "
                    "violation, 1: violations, 2: usage error.")
    p.add_argument("target", metavar="TARGET", help="target name (see `cachespec targets`)")
    p.add_argument("--procs", type=_positive(int), default=4, help="worker processes (4)")
    p.add_argument("--threads", type=_positive(int), default=4, help="threads per process (4)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--duration", type=_positive(float), help="seconds to run (30)")
    g.add_argument("--ops", type=_positive(int), help="total ops to run instead of a duration")
    p.add_argument("--keys", type=_positive(int), default=64, help="distinct keys (64)")
    p.add_argument("--value-size", default="mixed", metavar="DIST",
                   help="mixed|tiny|small|large, a size (4k) or a range LOW-HIGH (16-4M)")
    p.add_argument("--mix", default=DEFAULT_MIX, metavar="SPEC",
                   help=f"op weights ({DEFAULT_MIX})")
    p.add_argument("--faults", default="", metavar="LIST",
                   help=f"comma-separated faults from {','.join(FAULT_KINDS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skew", type=float, default=1.1, help="Zipf exponent of key popularity")
    p.add_argument("--key-epoch", type=float, default=0.25, metavar="S",
                   help="replace the K keys by fresh ones every S seconds, so first inserts "
                        "stay contended (0: fixed keys; default 0.25)")
    p.add_argument("--stuck-timeout", type=_positive(float), default=10.0, metavar="S",
                   help="liveness by progress: ops in flight while no op of the run completed "
                        "for S seconds are stuck (10)")
    p.add_argument("--dir", type=Path, help="run directory: DIR/cache and DIR/history, kept "
                                            "(default: a fresh temporary one)")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary run directory after a passing run (a failing run "
                        "always keeps its history)")
    p.add_argument("--history", type=Path, metavar="FILE", help="write the merged history here")
    p.add_argument("--json", type=Path, metavar="FILE",
                   help="write the JSON report here ('-': stdout)")
    p.set_defaults(func=cmd_stress)


def cmd_stress(args: argparse.Namespace) -> int:
    from cachespec._usage import UsageError
    from cachespec.stress._config import StressConfig, StressUsageError
    from cachespec.stress._faults import parse_faults
    from cachespec.stress._history import read_history
    from cachespec.stress._run import run_stress
    from cachespec.stress._workload import (
        Workload, WorkloadError, parse_mix, parse_value_sizes,
    )

    try:
        workload = Workload(keys=args.keys, mix=parse_mix(args.mix),
                            sizes=parse_value_sizes(args.value_size), skew=args.skew,
                            seed=args.seed, epoch=args.key_epoch)
        faults = parse_faults(args.faults)
    except (WorkloadError, ValueError) as err:
        raise UsageError(str(err)) from None
    if args.dir and any((args.dir / "history").glob("*.jsonl")):
        raise UsageError(f"--dir {args.dir} already holds a run's history; give an empty or "
                         "new directory")
    cfg = StressConfig(
        target=args.target, procs=args.procs, threads=args.threads,
        duration=args.duration if args.duration or args.ops else 30.0, ops=args.ops,
        workload=workload, faults=faults, seed=args.seed, stuck_timeout=args.stuck_timeout,
        storage=args.dir / "cache" if args.dir else None,
        history_dir=args.dir / "history" if args.dir else None,
        progress=sys.stderr.isatty())
    try:
        res = run_stress(cfg)
    except StressUsageError as err:
        raise UsageError(str(err)) from None
    if args.history:
        with open(args.history, "w") as f:
            for e in read_history(res.history_files):
                e.pop("src", None)
                f.write(json.dumps(e) + "\n")
    kept: str | None = res.history_dir
    if res.root is not None:  # a temporary run directory: ours to clean
        if res.violations or args.keep:
            if not args.keep:
                # Entries take up to gigabytes; the history is all `verify` needs.
                shutil.rmtree(res.storage, ignore_errors=True)
            kept = res.history_dir if not args.keep else res.root
        else:
            shutil.rmtree(res.root, ignore_errors=True)
            kept = None
    if args.json:
        doc = res.to_dict()
        doc["kept"] = kept
        text = json.dumps(doc, indent=2, default=repr)
        if str(args.json) == "-":
            print(text)
        else:
            args.json.write_text(text + "\n")
    print(summary_text(res, kept), file=sys.stderr if str(args.json) == "-" else sys.stdout)
    return EXIT_FAIL if res.violations else EXIT_OK
