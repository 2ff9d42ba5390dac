"""Pass means judged: the machine checks record a judgement exactly where a clause's condition
was evaluated and held, so no applicable clause is undecided on the reference, and a clause the
check cannot reach stays unjudged."""

from __future__ import annotations

from pathlib import Path

import pytest
from _toy import ToyTarget

import cachespec.spec as spec
from cachespec.conformance import resolve_target
from cachespec.spec._harness import ClauseFailure, ledger
from cachespec.spec._machines import make_cache_machine

MACHINE_CHECKS = ("machine-cache", "machine-env-loader", "machine-file-loader")


def _check(name: str) -> spec.Check:
    return next(c for c in spec.CHECKS if c.name == name)


def _applicable(target: object, check: spec.Check) -> frozenset[str]:
    caps = set(target.capabilities)  # type: ignore[attr-defined]
    return frozenset(c for c in check.clause_ids if spec.get_clause(c).capabilities <= caps)


@pytest.mark.parametrize(("name", "check_name"), [
    *[("reference-memory", check) for check in MACHINE_CHECKS],
    ("reference-disk", "machine-cache"),  # (the loaders are the in-memory cache's)
    ("reference-inductor-disk", "machine-cache"),
])
def test_every_applicable_clause_is_judged_on_the_reference(name: str, check_name: str,
                                                            tmp_path: Path) -> None:
    target = resolve_target(name)
    check = _check(check_name)
    assert check.capabilities <= set(target.capabilities)
    clauses = _applicable(target, check)
    result = check.run(target, tmp_path, "quick", clauses)
    assert result.violations == []
    assert result.undecided(clauses) == set()
    assert set(result.judged) == set(clauses)


def test_a_clause_the_check_cannot_reach_stays_unjudged(tmp_path: Path) -> None:
    # insert stores nothing (and says so): no entry ever exists, so no get can show a merge,
    # and no second insert meets a present key
    target = ToyTarget(False, frozenset({"store-nothing"}))
    unreachable = frozenset({"KEY-DISTINCT", "KEY-TYPED-DISTINCT", "CORE-INSERT-NO-OVERWRITE",
                             "KEY-EQUAL-SAME"})
    result = _check("machine-cache").run(target, tmp_path, "quick",
                                         unreachable | {"CORE-GET-MISSING"})
    assert result.violations == []
    assert result.undecided(unreachable) == unreachable
    assert result.judged.get("CORE-GET-MISSING", 0) > 0


def test_a_matching_get_judges_only_what_it_decided(tmp_path: Path) -> None:
    target = resolve_target("reference-memory")
    machine = make_cache_machine(target, tmp_path, frozenset(c.id for c in spec.CLAUSES))
    state = machine()
    with ledger() as book:
        state.do_get(0, "absent")
    assert book.counts == {"CORE-GET-MISSING": 1}  # nothing stored: no merge to rule out
    with ledger() as book:
        state.do_insert(0, 1, b"one")
        state.do_insert(0, True, b"true")
        state.do_insert(0, 1, b"again")
        state.do_get(0, 1)
    assert book.counts == {"CORE-INSERT-NEW": 2, "CORE-GET-INSERTED": 1,
                           "CORE-INSERT-NO-OVERWRITE": 1, "KEY-TYPED-DISTINCT": 1}
    state.teardown()


def _burst_machine(tmp_path: Path, enabled: frozenset[str]) -> object:
    target = ToyTarget(False, frozenset({"insert-raises-empty"}))
    return make_cache_machine(target, tmp_path, enabled)()


def test_a_raising_insert_in_a_burst_is_named_with_its_error(tmp_path: Path) -> None:
    state = _burst_machine(tmp_path, frozenset(c.id for c in spec.CLAUSES))
    with pytest.raises(ClauseFailure) as failure:
        state.burst(0, ["", "other"], b"v")  # type: ignore[attr-defined]
    assert failure.value.clause_id == "CORE-INSERT-NEW"
    assert "insert(''" in str(failure.value)
    assert "raised ToyError: cannot store the empty key" in str(failure.value)


def test_a_raising_insert_is_not_blamed_on_the_get_after_it(tmp_path: Path) -> None:
    # (#9) with CORE-INSERT-NEW already decided, the burst used to report CORE-GET-INSERTED as
    # "get('') right after its insert returned None": nothing was inserted, nothing to judge
    everything_else = frozenset(c.id for c in spec.CLAUSES) - {"CORE-INSERT-NEW"}
    state = _burst_machine(tmp_path, everything_else)
    state.burst(0, ["", "other"], b"v")  # type: ignore[attr-defined]


def test_an_insert_refused_by_another_versions_entry_is_not_blamed_on_this_version() -> None:
    # torch's OnDiskCache: one file per key whatever the version; get deletes a file of another
    # version, insert is refused while one exists. After v1 -> v0 -> v1 the v1 entry is gone
    # (whether it survives is left open by the spec) and an insert is refused by v0's file: a
    # VERSION-INSERTABLE violation. The model used to take that False for "v1's entry survived"
    # and then blamed CORE-GET-INSERTED (a MUST) when get returned None.
    pytest.importorskip("torch")
    import cachespec.conformance  # noqa: F401 - registers the target names
    from cachespec.spec import machine

    Machine = machine("machine-cache", "torch-disk", ["CORE-GET-INSERTED", "VERSION-INSERTABLE"])
    state = Machine()
    state.start()
    state.version_roundtrip(instance=0, key="", offset=1, value=(set(), set()))
    state.set_version(offset=0)
    state.set_version(offset=1)
    with pytest.raises(AssertionError, match="VERSION-INSERTABLE"):
        state.distinct_keys(instance=0, pair=("", " "), value=set())
    state.teardown()
