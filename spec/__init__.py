"""cachespec.spec: the executable specification.

- ``CLAUSES`` / ``get_clause(id)``: every clause, with id, level (MUST/SHOULD), text, the
  capabilities it needs and the checks that exercise it;
- ``CHECKS``: Hypothesis state machines and bounded race/crash runs, each
  ``run(target, workdir, profile_name, clauses_to_check) -> [Violation]``;
- ``render_markdown()``: the spec as Markdown (docs/SPEC.md is a copy);
- ``get_profile(name)``: Hypothesis settings for ``quick``, ``default`` and ``thorough``.

Importing this package changes no Hypothesis settings: runs pass their settings explicitly.
"""

from __future__ import annotations

from ._checks import CHECKS, Check
from ._clauses import CLAUSES, FAMILIES, TORCH_ASSERTIONS, Clause, get_clause
from ._harness import Violation
from ._profiles import PROFILE_NAMES, get_profile, profile_from_env
from ._render import render_markdown

__all__ = [
    "CHECKS", "CLAUSES", "FAMILIES", "PROFILE_NAMES", "TORCH_ASSERTIONS", "Check", "Clause",
    "Violation", "get_clause", "get_profile", "profile_from_env", "render_markdown",
]
