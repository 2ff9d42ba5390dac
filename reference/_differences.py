"""Where ``cachespec.reference`` deliberately differs from ``torch._inductor.cache``'s surface.

The one list of intended differences in names, kinds and signatures. ``tests/test_torch_parity``
compares the two modules member by member and fails on any difference that is not listed here,
and on any listed one that has gone away. Behavioural differences (stricter domains, one
directory per version) are in the README and the spec, not here: this is about the API shape.
"""

from __future__ import annotations

#: ``"<Class>.<member>: <what differs>"`` -> why the reference differs there.
TORCH_DIFFERENCES: dict[str, str] = {
    "OnDiskCache.base_dir: property, torch has cached_property": (
        "assigning base_dir must validate the path (CacheError for a non-path), resolve a "
        "relative path at assignment, and forget which directories this instance already made; "
        "a cached_property is assigned by writing the instance dict, with no hook for any of "
        "that. Reading and assigning work the same way in both."
    ),
    "InductorOnDiskCache.base_dir: property, torch has cached_property": (
        "inherited from OnDiskCache for the same reason; the Inductor default directory comes "
        "from an overridden _default_base_dir instead of a second cached_property."
    ),
}

__all__ = ["TORCH_DIFFERENCES"]
