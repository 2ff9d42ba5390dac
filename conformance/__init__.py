"""Conformance: turn a target name into a Subject, run the spec's checks on it, report per clause.

Public API:

- ``resolve_target(name) -> Target`` and ``list_targets()`` (built-ins, ``cachespec.targets``
  entry points, ``module:Class`` for torch-shaped classes);
- ``Adapter`` for caches shaped differently (see ``cachespec.conformance.adapters._base``);
- ``run_conformance(targets, ...)`` -> ``Report`` (the engine behind ``cachespec check`` and the
  pytest plugin), and the report writers.

Heavy modules (runner, reports) are imported on first use so that the pytest plugin, which
imports this package in every pytest run, stays cheap.
"""

from __future__ import annotations

from typing import Any

from cachespec.spec._subject import (
    ALL_CAPABILITIES, ASYNC, CORE, ENV_LOADER, FILE_LOADER, FILES, LOCK, PERSISTENT, PROCESSES,
    RICH_VALUES, THREADS, TYPED_KEYS, VERSION, Subject, Target, TargetError,
)
from ._targets import (
    BUILTIN_TARGETS, ENTRY_POINT_GROUP, REFERENCE_TARGETS, TargetListing, list_targets,
    resolve_target,
)
from .adapters._base import Adapter, AdapterSubject

_LAZY = {
    "run_conformance": "._runner",
    "Report": "._runner",
    "TargetReport": "._runner",
    "ClauseResult": "._runner",
    "PROFILES": "._runner",
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
    "ALL_CAPABILITIES", "ASYNC", "Adapter", "AdapterSubject", "BUILTIN_TARGETS", "CORE",
    "ClauseResult", "ENTRY_POINT_GROUP", "ENV_LOADER", "FILES", "FILE_LOADER", "LOCK",
    "PERSISTENT", "PROCESSES", "PROFILES", "REFERENCE_TARGETS", "RICH_VALUES", "Report",
    "Subject", "THREADS", "TYPED_KEYS", "Target", "TargetError", "TargetListing", "TargetReport",
    "VERSION", "list_targets", "render_table", "resolve_target", "run_conformance",
    "write_json", "write_junit", "write_markdown",
]
