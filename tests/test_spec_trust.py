"""SAFE-PRIVATE-STORAGE: storage handed to another user and made world-writable is refused by
the reference, used by a cache that checks nothing, and n/a (never pass) without root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import cachespec.spec as spec
from cachespec.conformance import judge_in_process, resolve_target
from cachespec.spec import _subject

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="building another user's storage needs root (chown)")

CLAUSE = "SAFE-PRIVATE-STORAGE"


def _run(name: str, tmp_path: Path) -> spec.CheckResult:
    check = next(c for c in spec.CHECKS if c.name == "trust-storage")
    return check.run(resolve_target(name), tmp_path, "quick", frozenset({CLAUSE}))


def test_the_reference_refuses_foreign_world_writable_storage(tmp_path: Path) -> None:
    result = _run("reference-disk", tmp_path)
    assert result.violations == [] and result.judged.get(CLAUSE)


def test_a_cache_that_checks_no_owner_reads_the_planted_entry(tmp_path: Path) -> None:
    result = _run("diskcache", tmp_path)
    (violation,) = result.violations
    assert violation.clause_id == CLAUSE
    assert "get('trust-planted') returned" in violation.error and "65534" in violation.error


def test_without_root_the_clause_is_na_not_pass(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_subject, "harness_capabilities", lambda: frozenset())
    report = judge_in_process(resolve_target("reference-disk"), tmp_path, "quick",
                              checks=("trust-storage",))
    (row,) = [c for c in report.clauses if c.id == CLAUSE]
    assert row.status == "n/a" and row.missing == ["privileged"]
