"""``cachespec verify`` (and, when the harness module is present, ``cachespec stress``).

``verify`` checks recorded histories offline. A history may carry the durability check's
input as ``{"ev": "meta", "final_reads": {key_id: digest | null}}`` records; ``--corruption``
is implied by any ``{"ev": "meta", "fault": "corrupt"}`` record.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAIL = 0, 1
MAX_SHOWN = 50  # violations printed in full; the JSON report has them all


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify", help="check recorded stress histories for linearizability violations",
        description="Check history files (or directories of *.jsonl) written by "
                    "`cachespec stress`. Exit 0: linearizable, 1: violations, 2: bad input.")
    p.add_argument("history", nargs="+", metavar="HISTORY", help="history file or directory")
    p.add_argument("--no-clock", dest="clock", action="store_false",
                   help="histories come from several hosts: skip real-time checks")
    p.add_argument("--corruption", action="store_true",
                   help="faults corrupted entries: CacheError is an allowed outcome")
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    p.set_defaults(func=run_verify)
    try:
        run_mod = importlib.import_module("cachespec.stress._run")
    except ModuleNotFoundError as err:
        if err.name != "cachespec.stress._run":
            raise
    else:
        run_mod.register_stress(subparsers)


def history_files(args: list[str]) -> list[Path]:
    """Expand directories to their ``*.jsonl`` files; a missing path is a usage error."""
    from cachespec._cli import UsageError

    files: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
            if not found:
                raise UsageError(f"no *.jsonl history files in directory {arg}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no such history file or directory: {arg}")
    return files


def run_verify(args: argparse.Namespace) -> int:
    from cachespec._cli import UsageError

    from ._checker import check_durability, check_history, format_violation
    from ._history import HistoryError, read_history

    files = history_files(args.history)
    try:
        events = read_history(files)
    except HistoryError as err:
        raise UsageError(str(err)) from None
    metas = [e for e in events if e["ev"] == "meta"]
    corruption = args.corruption or any(m.get("fault") == "corrupt" for m in metas)
    try:
        report = check_history(events, clock=args.clock, corruption=corruption)
    except HistoryError as err:
        raise UsageError(str(err)) from None
    finals: dict[Any, dict[str, Any]] = {}  # group -> key id -> digest of the final read
    for m in metas:
        if isinstance(m.get("final_reads"), dict):
            finals.setdefault(m.get("group"), {}).update(m["final_reads"])
    for group, reads in finals.items():
        # One group: its records may carry the group or not; several: judge each apart.
        report.violations.extend(check_durability(events, reads, group=group) if len(finals) > 1
                                 else check_durability(events, reads))
    final_reads = [k for reads in finals.values() for k in reads]
    mode = ("" if args.clock else ", no clock") + (", corruption allowed" if corruption else "")
    print(f"cachespec verify: {len(files)} file(s), {report.ops} ops on {report.keys} keys, "
          f"{report.indeterminate} indeterminate{mode}"
          + (f", {len(final_reads)} final reads" if final_reads else ""))
    if report.orphans:
        print(f"warning: {report.orphans} completions without an invoke were ignored")
    for v in report.violations[:MAX_SHOWN]:
        print()
        print(format_violation(v))
    if len(report.violations) > MAX_SHOWN:
        print(f"\n... and {len(report.violations) - MAX_SHOWN} more violations")
    if args.json:
        try:
            Path(args.json).write_text(report.to_json() + "\n")
        except OSError as err:
            raise UsageError(f"cannot write {args.json}: {err.strerror or err}") from None
    if report.violations:
        kinds: dict[str, int] = {}
        for v in report.violations:
            kinds[v.kind] = kinds.get(v.kind, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        print(f"\nFAIL: {len(report.violations)} violation(s): {summary}")
        return EXIT_FAIL
    print("OK: no violations")
    return EXIT_OK
