"""The one error type of the reference cache."""

from __future__ import annotations


class CacheError(ValueError):
    """Raised for every documented cache failure; the underlying cause is chained."""
