"""Adapters: targets for caches not shaped like ``torch/_inductor/cache.py``.

``Adapter`` (in ``_base``) is the protocol to subclass; ``torch_caching`` and ``diskcache`` are
the built-in adapters behind the ``torch-caching-*`` and ``diskcache`` target names (imported
only when those targets are resolved).
"""

from ._base import Adapter, AdapterSubject

__all__ = ["Adapter", "AdapterSubject"]
