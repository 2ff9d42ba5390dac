"""cachespec.spec: the executable specification.

- the Subject/Target protocol and the capability names every check is written against;
- ``CLAUSES`` / ``get_clause(id)``: every clause, with id, level (MUST/SHOULD), text, the
  capabilities it needs and the checks that exercise it;
- ``CHECKS``: Hypothesis state machines and bounded race/crash runs, each
  ``run(target, workdir, profile_name, clauses_to_check) -> CheckResult``;
- ``render_markdown()``: the spec as Markdown (docs/SPEC.md is a copy);
- ``get_profile(name)``: Hypothesis settings for ``quick``, ``default`` and ``thorough``;
- ``replay``/``machine``/``as_program``: a violation as a standalone program that shows it again.

Importing this package changes no Hypothesis settings (runs pass their settings explicitly) and
imports nothing heavy until a check or clause is asked for.
"""

from __future__ import annotations

from typing import Any

# The protocol is imported eagerly (the pytest plugin and every target need it, and it is
# light); the checks pull in Hypothesis and are imported on first use.
from ._subject import (
    ALL_CAPABILITIES, ASYNC, HARNESS_CAPABILITIES, CORE, ENV_LOADER, FILE_LOADER, FILES, LOCK, PERSISTENT, PROCESSES,
    PRIVILEGED, RICH_VALUES, THREADS, TYPED_KEYS, VERSION, Subject, Target, TargetError,
    effective_capabilities, harness_capabilities, rebuild_target,
    register_resolver,
)
from ._limits import NO_LIMITS, Limits, limits_of, size_of

_LAZY = {
    "CHECKS": "._checks", "Check": "._checks",
    "CLAUSES": "._clauses", "FAMILIES": "._clauses", "TORCH_ASSERTIONS": "._clauses",
    "TORCH_NOT_ADOPTED": "._clauses",
    "Clause": "._clauses", "get_clause": "._clauses",
    "CheckResult": "._harness", "Violation": "._harness",
    "PROFILE_NAMES": "._profiles", "get_profile": "._profiles", "profile_from_env": "._profiles",
    "render_markdown": "._render",
    "as_program": "._replay", "machine": "._replay", "replay": "._replay",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALL_CAPABILITIES", "ASYNC", "HARNESS_CAPABILITIES", "CORE", "ENV_LOADER", "FILES", "FILE_LOADER", "LOCK",
    "PERSISTENT", "PRIVILEGED", "PROCESSES", "RICH_VALUES", "Subject", "THREADS", "TYPED_KEYS", "Target",
    "TargetError", "VERSION", "effective_capabilities", "harness_capabilities", "rebuild_target", "register_resolver",
    "CHECKS", "CLAUSES", "CheckResult", "FAMILIES", "PROFILE_NAMES", "TORCH_ASSERTIONS",
    "TORCH_NOT_ADOPTED", "Check", "Clause",
    "Violation", "get_clause", "get_profile", "profile_from_env", "render_markdown",
    "as_program", "machine", "replay", "Limits", "NO_LIMITS", "limits_of", "size_of",
]
