"""The ``cachespec`` console script.

Each concern owns its subcommands: a command module exposes ``register(subparsers)``, which adds
its parsers and sets ``func`` (``args -> exit code``) on them. Modules are imported lazily so that
``cachespec --version`` stays instant and a broken optional dependency only breaks its command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cachespec import __version__

# (module, commands it registers). Order is the order of ``cachespec --help``.
_COMMAND_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cachespec.conformance._cli", ("check", "targets", "spec")),
    ("cachespec.stress._cli", ("stress", "verify")),
    ("cachespec.conformance.mutants._cli", ("mutants",)),
    ("cachespec.reference._bench", ("bench",)),
)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command's input is wrong: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cachespec",
        description="Executable spec, conformance checks and stress tests for write-once caches.",
    )
    parser.add_argument("--version", action="version", version=f"cachespec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, _commands in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            # Only tolerate the command module itself being absent (a partial checkout);
            # a missing dependency inside it is a real error.
            if err.name != module_name and not module_name.startswith(f"{err.name}."):
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except UsageError as err:
        print(f"cachespec {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"cachespec {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
