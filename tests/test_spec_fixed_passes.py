"""Fixed passes that meet a clause in every run (not by a lucky Hypothesis draw), and the scoping
of clauses that blamed implementations for documented behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

import cachespec.spec as spec
from cachespec.conformance import resolve_target
from cachespec.spec import Violation
from _toy import ToyTarget

_MUTANTS = "cachespec.conformance.mutants._catalogue"


def run_check(name: str, target: object, workdir: Path, *clauses: str) -> dict[str, Violation]:
    check = next(c for c in spec.CHECKS if c.name == name)
    found = check.run(target, workdir, "quick",  # type: ignore[arg-type]
                      frozenset(clauses)).violations
    return {v.clause_id: v for v in found}


def test_get_async_after_a_sync_insert_is_not_a_memoized_miss(tmp_path: Path) -> None:
    # the toy hands back a key's first get_async future until insert_async forgets it
    failed = run_check("machine-cache", ToyTarget(False, frozenset({"memo-get-async"})),
                       tmp_path, "ASYNC-GET", "CORE-GET-INSERTED")
    assert set(failed) & {"ASYNC-GET", "CORE-GET-INSERTED"}


@pytest.mark.parametrize(("mutant", "clause"), [
    ("EnvSplitsOnSeparatorsMemory", "LOAD-ENV-SCAN"),
    ("EnvSkipsBadLiteralMemory", "LOAD-ENV-BAD-LITERAL"),
])
def test_env_loader_tour_meets_the_clause_every_run(mutant: str, clause: str,
                                                    tmp_path: Path) -> None:
    failed = run_check("machine-env-loader", resolve_target(f"{_MUTANTS}:{mutant}"), tmp_path,
                       clause)
    assert clause in failed
    assert "state.tour()" in (failed[clause].counterexample or "")


def test_loader_tours_pass_on_the_reference(tmp_path: Path) -> None:
    target = resolve_target("reference-memory")
    for which in ("env", "file"):
        machine = spec._loaders.make_loader_machine(
            target, tmp_path, frozenset(c.id for c in spec.CLAUSES), which)
        assert spec._loaders.run_loader_tour(machine) is None


def test_scan_pairs_hold_both_separators() -> None:
    import pickle

    from cachespec.spec._loaders import plain_pair, scan_pairs

    pairs = scan_pairs(frozenset({"typed-keys"}))
    reprs = "".join(repr(pickle.dumps(k)) + repr(pickle.dumps(v)) for k, v in pairs)
    assert "," in reprs.replace("', b'", "") and ";" in reprs
    assert sum(not plain_pair(k, v) for k, v in pairs) >= 4


def test_in_memory_cache_may_accept_an_unserializable_value(tmp_path: Path) -> None:
    # the toy memory target stores the value object (it never serializes): documented, not unsafe
    failed = run_check("fault-serialization", ToyTarget(False, frozenset({"share"})), tmp_path,
                       "SAFE-FAILED-INSERT-ABSENT", "ERROR-ONLY-CACHEERROR")
    assert "SAFE-FAILED-INSERT-ABSENT" not in failed


def test_unpicklable_key_clause_needs_typed_keys() -> None:
    assert "typed-keys" in spec.get_clause("ERROR-UNPICKLABLE-KEY").capabilities


def test_big_values_are_sized_to_the_rate_the_tour_measured() -> None:
    from cachespec.spec._machines import CacheModelMachine, size_big_values

    class Fast(CacheModelMachine):
        probe_seconds = 0.002  # 64 KiB in 2 ms: 2 MiB values fit the budget

    class Slow(CacheModelMachine):
        probe_seconds = 0.33  # 64 KiB in a third of a second (a chunked writer): a token size

    assert size_big_values(Fast, examples=80) == 2 << 20 == Fast.big_size
    # the rule still runs (a token value): the rate may change a size, never which programs a
    # derandomized search draws
    assert size_big_values(Slow, examples=80) == 4096 == Slow.big_size
    assert 1 << 17 <= size_big_values(Slow, examples=12) < 2 << 20  # fewer: a smaller value


def test_a_slow_target_does_not_pay_for_big_values_per_example(tmp_path: Path) -> None:
    target = resolve_target(f"{_MUTANTS}:ChunkedPublishMemory")
    machine = spec._machines.make_cache_machine(target, tmp_path, frozenset({"CORE-GET-MISSING"}))
    assert spec._machines.run_tour(machine) is None
    assert machine.probe_seconds > 0.05
    # all examples' big inserts together stay within the 10 s budget at the measured rate
    size = spec._machines.size_big_values(machine, examples=80)
    assert size * 80 / 65536 * machine.probe_seconds <= 10.0
