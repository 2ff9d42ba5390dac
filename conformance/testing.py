"""A base class that turns a test file into the cachespec conformance suite for your cache.

In the spirit of zarr's ``StoreTests``: subclass, name your target, and pytest collects one test
per clause, ``TestMyCache::test_clause[CORE-INSERT-NO-OVERWRITE]``::

    # test_my_cache_conformance.py
    from cachespec.conformance.testing import CacheConformanceTests

    class TestMyCache(CacheConformanceTests):
        target = "mypkg.cache:MyCache"   # torch-shaped class, Adapter subclass, or a built-in name
        target_kwargs = {"size": 64}     # constructor arguments (Python literals), if any
        profile = "quick"                # quick | default | thorough
        level = "must"                   # "must": MUST clauses only; "should" (default): both
        expected_deviations = {          # clause id -> why; reported as xfail
            "ISO-GET-COPY": "get returns the stored object itself, as torch's InMemoryCache does",
        }

or override the ``cachespec_target`` / ``cachespec_target_kwargs`` fixtures instead of the
attributes. Checks run in child processes that rebuild the target from its *name*, so the
target must be a name or an importable class, and constructor arguments travel inside the name
as ``module:Class(size=64)`` (see ``_target_args``); the same name works with
``cachespec check``.

A clause the target lacks capabilities for is skipped as ``n/a``; a violated or undecided clause
fails with the error and the minimal counterexample. A clause in ``expected_deviations`` is an
xfail while it deviates and a failure once it passes (strict, so the list cannot go stale).
A bad ``level``, ``profile`` or deviation id raises when the class is defined.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from ._results import parse_level
from .plugin import check_clause, check_profile


def _clause_ids() -> list[str]:
    from ._engine import load_spec

    return [c.id for c in load_spec().CLAUSES]


def target_name(target: Any, kwargs: Mapping[str, Any] | None = None) -> str:
    """A target given as a name, a class, or an Adapter instance (plus constructor arguments),
    as the name child processes rebuild it from."""
    from ._target_args import with_args

    if isinstance(target, str):
        base = target
    elif isinstance(target, type):
        base = f"{target.__module__}:{target.__qualname__}"
    elif isinstance(getattr(target, "name", None), str) and target.name:
        base = target.name
    else:
        raise TypeError(f"cannot name target {target!r}: give a target name, a class or an "
                        "Adapter")
    if kwargs and ":" not in base:
        raise TypeError(f"constructor arguments need a module:Class target, not {base!r}")
    return with_args(base, kwargs)


class CacheConformanceTests:
    """Subclass with ``target = ...`` (or a ``cachespec_target`` fixture): one test per clause."""

    target: ClassVar[Any] = None
    #: keyword arguments for the target's constructor (Python literals)
    target_kwargs: ClassVar[Mapping[str, Any]] = {}
    profile: ClassVar[str] = "default"
    #: "should" checks MUST and SHOULD clauses; "must" skips the SHOULD ones (case-insensitive)
    level: ClassVar[str] = "should"
    #: per-check timeout in seconds; None: the profile's
    timeout: ClassVar[float | None] = None
    #: clause id -> reason: known deviations, reported as xfail; one that passes fails (strict)
    expected_deviations: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        where = f"{cls.__qualname__}"
        try:
            cls.level = parse_level(cls.level)
            check_profile(cls.profile)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        if not isinstance(cls.expected_deviations, Mapping):
            raise TypeError(f"{where}.expected_deviations must map clause ids to reasons")
        known = set(_clause_ids())
        unknown = sorted(set(cls.expected_deviations) - known)
        if unknown:
            raise ValueError(f"{where}.expected_deviations names unknown clause ids "
                             f"{', '.join(unknown)}; run `cachespec spec` to list them")
        if cls.target is not None:
            target_name(cls.target, cls.target_kwargs)  # a bad argument fails here, not per test

    @pytest.fixture
    def cachespec_target(self) -> Any:
        if self.target is None:
            pytest.fail(f"{type(self).__name__}: set the class attribute `target` or override "
                        "the `cachespec_target` fixture", pytrace=False)
        return self.target

    @pytest.fixture
    def cachespec_target_kwargs(self) -> Mapping[str, Any]:
        return dict(self.target_kwargs)

    @pytest.mark.cachespec
    @pytest.mark.parametrize("cachespec_clause", _clause_ids())
    def test_clause(self, cachespec_clause: str, cachespec_target: Any,
                    cachespec_target_kwargs: Mapping[str, Any],
                    request: pytest.FixtureRequest) -> None:
        if self.level == "must":
            from ._engine import load_spec

            if str(load_spec().get_clause(cachespec_clause).level).upper() != "MUST":
                pytest.skip("SHOULD clause; level is 'must'")
        try:
            name = target_name(cachespec_target, cachespec_target_kwargs)
        except TypeError as err:
            pytest.fail(f"{type(self).__name__}: {err}", pytrace=False)
        check_clause(request.config, request.session, name, cachespec_clause, self.profile,
                     self.timeout, self.expected_deviations.get(cachespec_clause))


__all__ = ["CacheConformanceTests", "target_name"]
