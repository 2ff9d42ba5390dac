"""Conformance: turn a target name into a Subject, run the spec's checks on it, report per clause.

Public API:

- ``resolve_target(name) -> Target`` and ``list_targets()`` (built-ins, ``cachespec.targets``
  entry points, ``module:Class`` for torch-shaped classes);
- ``Adapter`` for caches shaped differently (see ``cachespec.conformance.adapters._base``);
- ``run_conformance(targets, ...)`` -> ``Report`` (checks in a worker process per target; what
  ``cachespec check`` runs), ``judge_in_process(target, workdir, ...)`` -> ``TargetReport`` (the
  same verdicts with the checks run in this process), and the report writers;
- ``STALL_TIMEOUTS``: per profile, how long a target may complete no operation before it counts
  as hung.

Heavy modules (runner, reports) are imported on first use so that the pytest plugin, which
imports this package in every pytest run, stays cheap.
"""

from __future__ import annotations

from typing import Any

from cachespec.spec._subject import (
    ALL_CAPABILITIES, ASYNC, CORE, ENV_LOADER, FILE_LOADER, FILES, LOCK, PERSISTENT, PROCESSES,
    RICH_VALUES, THREADS, TYPED_KEYS, VERSION, Subject, Target, TargetError,
)
from cachespec.spec._limits import Limits
from ._targets import (
    BUILTIN_TARGETS, ENTRY_POINT_GROUP, REFERENCE_TARGETS, TargetListing, list_targets,
    resolve_target,
)
from .adapters._base import Adapter, AdapterSubject

_LAZY = {
    "run_conformance": "._runner",
    "run_target": "._runner",
    "judge_in_process": "._engine",
    "Report": "._results",
    "TargetReport": "._results",
    "ClauseResult": "._results",
    "STALL_TIMEOUTS": "._session",
    "write_json": "._report",
    "write_markdown": "._report",
    "write_junit": "._report",
    "render_table": "._report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALL_CAPABILITIES", "ASYNC", "Adapter", "AdapterSubject", "BUILTIN_TARGETS", "CORE", "Limits",
    "ClauseResult", "ENTRY_POINT_GROUP", "ENV_LOADER", "FILES", "FILE_LOADER", "LOCK",
    "PERSISTENT", "PROCESSES", "REFERENCE_TARGETS", "RICH_VALUES", "Report", "STALL_TIMEOUTS",
    "Subject", "THREADS", "TYPED_KEYS", "Target", "TargetError", "TargetListing", "TargetReport",
    "VERSION", "judge_in_process", "list_targets", "render_table", "resolve_target",
    "run_conformance", "run_target", "write_json", "write_junit", "write_markdown",
]
