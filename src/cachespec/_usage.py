"""What every command shares: exit codes and the usage error.

It sits at the bottom of the package (beside ``__version__``) so that each concern's command
module can use it without importing the dispatcher, which imports them.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(Exception):
    """A command's input is wrong: printed as one line, exit code 2."""


__all__ = ["EXIT_FAIL", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "UsageError"]
