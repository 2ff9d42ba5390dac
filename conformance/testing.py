"""A base class that turns a test file into the cachespec conformance suite for your cache.

In the spirit of zarr's ``StoreTests``: subclass, name your target, and pytest collects one test
per clause, ``TestMyCache::test_clause[CORE-INSERT-ONCE]``::

    # test_my_cache_conformance.py
    from cachespec.conformance.testing import CacheConformanceTests

    class TestMyCache(CacheConformanceTests):
        target = "mypkg.cache:MyCache"   # torch-shaped class, Adapter subclass, or a built-in name
        profile = "quick"                # quick | default | thorough

or provide the target by overriding the ``cachespec_target`` fixture (it must return a target
*name* or an importable class: checks run in child processes that rebuild the target from it).
A clause the target lacks capabilities for is skipped as ``n/a``; a violated clause fails with
the error and the minimal counterexample.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from .plugin import check_clause


def _clause_ids() -> list[str]:
    from ._runner import load_spec

    return [c.id for c in load_spec().CLAUSES]


def target_name(target: Any) -> str:
    """A target given as a name, a class, or an Adapter instance, as the name child processes use."""
    if isinstance(target, str):
        return target
    if isinstance(target, type):
        return f"{target.__module__}:{target.__qualname__}"
    name = getattr(target, "name", None)
    if isinstance(name, str) and name:
        return name
    raise TypeError(f"cannot name target {target!r}: give a target name, a class or an Adapter")


class CacheConformanceTests:
    """Subclass with ``target = ...`` (or a ``cachespec_target`` fixture): one test per clause."""

    target: ClassVar[Any] = None
    profile: ClassVar[str] = "default"
    #: "should" checks MUST and SHOULD clauses; "must" skips the SHOULD ones
    level: ClassVar[str] = "should"
    #: per-check timeout in seconds; None: the profile's
    timeout: ClassVar[float | None] = None

    @pytest.fixture
    def cachespec_target(self) -> Any:
        if self.target is None:
            pytest.fail(f"{type(self).__name__}: set the class attribute `target` or override "
                        "the `cachespec_target` fixture", pytrace=False)
        return self.target

    @pytest.mark.cachespec
    @pytest.mark.parametrize("cachespec_clause", _clause_ids())
    def test_clause(self, cachespec_clause: str, cachespec_target: Any,
                    request: pytest.FixtureRequest) -> None:
        if self.level == "must":
            from ._runner import load_spec

            if str(load_spec().get_clause(cachespec_clause).level).upper() != "MUST":
                pytest.skip("SHOULD clause; level is 'must'")
        check_clause(request.config, request.session, target_name(cachespec_target),
                     cachespec_clause, self.profile, self.timeout)


__all__ = ["CacheConformanceTests", "target_name"]
