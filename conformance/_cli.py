"""``cachespec check``, ``cachespec targets`` and ``cachespec spec``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cachespec._usage import EXIT_FAIL, EXIT_OK, UsageError
from cachespec.spec._subject import TargetError

from ._results import LEVELS


def register(subparsers: Any) -> None:
    check = subparsers.add_parser(
        "check", help="check targets against the spec, one verdict per clause",
        description="Check cache targets clause by clause. Exit 0 when no clause at --level "
                    "fails, 1 when one does, 2 for usage errors, 3 for an internal error.")
    check.add_argument("targets", nargs="*", metavar="TARGET",
                       help="built-in name, entry-point name, module:Class or "
                            "'module:Class(key=literal, ...)' (default: the reference targets)")
    # the profile names live in the spec (PROFILE_NAMES); validate_run checks them, so that
    # building this parser does not import Hypothesis
    check.add_argument("--profile", default="default", metavar="PROFILE",
                       help="the spec's search profile: quick (~20 s per target), default "
                            "(~90 s) or thorough")
    check.add_argument("--level", type=str.lower, choices=LEVELS, default="should",
                       help="clauses checked and counted: must = MUST only; should = both")
    check.add_argument("--clause", action="append", metavar="ID", default=None,
                       help="only this clause id (fnmatch patterns like 'CORE-*' work); repeatable")
    check.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")
    check.add_argument("--markdown", type=Path, metavar="FILE", help="write a Markdown report")
    check.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML")
    check.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="a check with no completed operation of the target for this long "
                            "is a hang (default from the profile: 30/60/300 s)")
    check.set_defaults(func=cmd_check)

    targets = subparsers.add_parser("targets", help="list the named targets and their capabilities")
    targets.set_defaults(func=cmd_targets)

    spec = subparsers.add_parser("spec", help="print the specification (Markdown)")
    spec.set_defaults(func=cmd_spec)


def _writable(path: Path | None, flag: str) -> None:
    if path is not None and not path.resolve().parent.is_dir():
        raise UsageError(f"{flag} {path}: directory {path.resolve().parent} does not exist")


def _validate(args: argparse.Namespace, names: list[str]) -> None:
    """Every usage error, decided before the first check starts (exit 2, one line)."""
    from ._runner import validate_run

    for flag, path in (("--json", args.json), ("--markdown", args.markdown), ("--junit", args.junit)):
        _writable(path, flag)
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    try:
        validate_run(names, args.profile, args.level, args.clause, timeout=args.timeout)
    except (TargetError, ValueError) as err:
        raise UsageError(str(err)) from None
    except ImportError as err:
        raise UsageError(f"the spec is not importable ({err}); reinstall cachespec") from None


def cmd_check(args: argparse.Namespace) -> int:
    from . import REFERENCE_TARGETS
    from ._report import (
        check_line, header, progress_line, render_table, write_json, write_junit, write_markdown,
    )
    from ._runner import run_target
    from ._results import Report

    names = list(args.targets) or list(REFERENCE_TARGETS)
    _validate(args, names)
    # a terminal shows each clause as it is decided; a log (CI) gets one line per check
    tty = sys.stdout.isatty()
    print(header(names, args.profile, args.level), flush=True)

    def on_clause(target: str, result: Any) -> None:
        print(progress_line(target, result), flush=True)

    def on_check(target: str, check: str, outcome: Any) -> None:
        print(check_line(target, check, outcome), flush=True)

    # past validation, any exception is the harness's fault: cachespec's main makes it exit 3
    reports = [run_target(n, args.profile, args.level, args.clause, None,
                          on_clause if tty else None, args.timeout,
                          None if tty else on_check)
               for n in names]
    report = Report(reports, args.profile, args.level)
    print()
    print(render_table(report))
    if args.json:
        write_json(report, args.json)
    if args.markdown:
        write_markdown(report, args.markdown)
    if args.junit:
        write_junit(report, args.junit)
    return EXIT_FAIL if report.failed() else EXIT_OK


def cmd_targets(args: argparse.Namespace) -> int:
    from . import list_targets

    rows = list_targets()
    width = max(len(r.name) for r in rows)
    for r in rows:
        if r.available:
            limits = r.limits.describe()
            print(f"{r.name:<{width}}  {', '.join(sorted(r.capabilities))}"
                  + (f"; limits: {limits}" if limits else ""))
        else:
            print(f"{r.name:<{width}}  unavailable: {r.error}")
        detail = r.description if r.source == "built-in" else f"{r.description} (from {r.source})"
        print(f"{'':<{width}}    {detail}")
    print(f"\nor any torch-shaped class as module:Class (e.g. "
          f"torch._inductor.cache:OnDiskCache)")
    return EXIT_OK


def cmd_spec(args: argparse.Namespace) -> int:
    from ._engine import load_spec

    try:
        spec = load_spec()
    except ImportError as err:
        raise UsageError(f"the spec is not importable ({err}); reinstall cachespec") from None
    sys.stdout.write(spec.render_markdown())
    return EXIT_OK
