"""The clause registry: ids, levels, capabilities, checks and the torch test mapping."""

from __future__ import annotations

import subprocess
import sys

import pytest
import cachespec.spec as spec
from cachespec.spec import ALL_CAPABILITIES, CORE, HARNESS_CAPABILITIES

#: clause ids other parts of the project (stress checker, mutant catalogue) rely on
SHARED_IDS = ("CONC-ONE-WINNER", "CONC-READ-WINNER", "CONC-NO-STALE-READ", "CONC-LINEARIZABLE",
              "ERROR-ONLY-CACHEERROR", "CRASH-DURABLE", "CRASH-ATOMIC", "VERSION-ISOLATED")

#: every test of test/inductor/test_cache.py on the cache classes
TORCH_TESTS = (
    "CacheTest.test_get", "CacheTest.test_insert", "CacheTest.test_get_concurrent",
    "CacheTest.test_insert_concurrent", "CacheTest.test_combo_concurrent",
    "AsyncCacheTest.test_get_async", "AsyncCacheTest.test_insert_async",
    "AsyncCacheTest.test_get_async_concurrent", "AsyncCacheTest.test_insert_async_concurrent",
    "AsyncCacheTest.test_combo_async_concurrent",
    "OtherTest.test_in_memory_cache_from_env_var",
    "OtherTest.test_in_memory_cache_from_env_var_missing_comma_separator",
    "OtherTest.test_in_memory_cache_from_env_var_bad_encoding",
    "OtherTest.test_in_memory_cache_from_env_var_not_un_pickle_able",
    "OtherTest.test_in_memory_cache_from_env_var_duplicated_entries",
    "OtherTest.test_in_memory_cache_from_file_path",
    "OtherTest.test_in_memory_cache_from_file_path_not_un_pickle_able",
    "OtherTest.test_in_memory_cache_from_file_path_not_dict",
    "OtherTest.test_on_disk_cache_fpath_from_key_un_pickle_able",
    "OtherTest.test_on_disk_cache_version_bump",
)


def test_ids_are_unique_and_well_formed() -> None:
    ids = [c.id for c in spec.CLAUSES]
    assert len(ids) == len(set(ids))
    for c in spec.CLAUSES:
        assert c.id.split("-", 1)[0] in spec.FAMILIES, c.id
        assert c.id == c.id.upper() and " " not in c.id
        assert c.level in ("MUST", "SHOULD")
        assert c.text.strip().endswith("."), c.id
        assert CORE in c.capabilities, c.id
        assert c.capabilities <= ALL_CAPABILITIES | HARNESS_CAPABILITIES, c.id


def test_every_family_and_level_is_used() -> None:
    assert {c.id.split("-", 1)[0] for c in spec.CLAUSES} == set(spec.FAMILIES)
    assert {c.level for c in spec.CLAUSES} == {"MUST", "SHOULD"}


def test_shared_ids_exist() -> None:
    for cid in SHARED_IDS:
        assert spec.get_clause(cid).id == cid


def test_get_clause_names_near_ids() -> None:
    with pytest.raises(KeyError, match="CORE-INSERT-NEW"):
        spec.get_clause("CORE-INSERT-NW")


def test_every_clause_is_checked_by_an_existing_check_that_covers_it() -> None:
    checks = {c.name: c for c in spec.CHECKS}
    assert len(checks) == len(spec.CHECKS)
    for c in spec.CLAUSES:
        assert c.checked_by, c.id
        for name in c.checked_by:
            assert c.id in checks[name].clause_ids
        # a target with just the clause's capabilities can run one of its checks
        assert any(checks[n].capabilities <= c.capabilities for n in c.checked_by), c.id
    for check in spec.CHECKS:
        assert check.clause_ids and callable(check.run)


def test_every_torch_test_is_mapped_to_existing_clauses() -> None:
    mapped = {test for test, _, _ in spec.TORCH_ASSERTIONS}
    assert mapped == set(TORCH_TESTS)
    for _test, assertion, ids in spec.TORCH_ASSERTIONS:
        assert assertion and ids
        for cid in ids:
            spec.get_clause(cid)
    for c in spec.CLAUSES:
        for test in c.torch_tests:
            assert test in TORCH_TESTS, (c.id, test)
            assert c.level == "MUST", c.id  # what torch's tests assert is documented behaviour


def test_profiles() -> None:
    for name in spec.PROFILE_NAMES:
        s = spec.get_profile(name)
        assert s.deadline is None and s.database is None
    assert spec.get_profile("quick").max_examples < spec.get_profile("default").max_examples
    with pytest.raises(ValueError, match="quick"):
        spec.get_profile("fast")


def test_import_leaves_hypothesis_settings_alone() -> None:
    code = ("from hypothesis import settings\n"
            "before = (settings._current_profile, settings().max_examples, settings().deadline)\n"
            "import cachespec.spec\n"
            "after = (settings._current_profile, settings().max_examples, settings().deadline)\n"
            "assert before == after, (before, after)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
