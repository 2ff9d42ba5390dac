"""The ``cachespec`` console script.

Each concern owns its subcommands: a command module exposes ``register(subparsers)``, which adds
its parsers and sets ``func`` (``args -> exit code``) on them; command modules import their heavy
dependencies inside ``func``, so that ``cachespec --version`` stays instant.

Exit codes: 0 ok, 1 a check failed, 2 usage error (raised as :class:`UsageError` before any work
starts, printed as one line), 3 internal error (any other exception: the traceback, then one line
naming the cause), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from cachespec import __version__

# (module, commands it registers). Order is the order of ``cachespec --help``.
_COMMAND_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cachespec.conformance._cli", ("check", "targets", "spec")),
    ("cachespec.stress._cli", ("stress", "verify")),
    ("cachespec.conformance.mutants._cli", ("mutants",)),
    ("cachespec.reference._bench", ("bench",)),
)

from cachespec._usage import EXIT_INTERNAL, EXIT_USAGE, UsageError

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cachespec",
        description="Executable spec, conformance checks and stress tests for write-once caches.",
    )
    parser.add_argument("--version", action="version", version=f"cachespec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, _commands in _COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers, not at exit
        return code
    except UsageError as err:
        print(f"cachespec {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"cachespec {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`cachespec targets | head`): not an error of ours. Point stdout
        # at /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process killed by SIGPIPE
    except Exception as err:  # noqa: BLE001 - a bug of cachespec, not of the user's input
        traceback.print_exc()
        print(f"cachespec {args.command}: internal error: {type(err).__name__}: {err}",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
