"""cachespec: an executable specification for write-once key/value caches.

The subpackages are the project's concerns, one each:

- :mod:`cachespec.reference` -- a strict, crash-safe reference cache with the public
  names of ``torch/_inductor/cache.py``;
- :mod:`cachespec.spec` -- the clauses and the Hypothesis machines that check them;
- :mod:`cachespec.conformance` -- targets, the runner, reports, the CLI and the pytest plugin;
- :mod:`cachespec.stress` -- the multi-process harness, fault injection and history checker.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
