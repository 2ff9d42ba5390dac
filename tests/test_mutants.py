"""The mutant catalogue: its shape, a few faults shown directly, and the kill rate.

The kill test runs every mutant on its intended clause at ``quick`` (the default suite); the
full catalogue on every clause at ``default`` is a soak (``--soak`` or CACHESPEC_SOAK=1).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from cachespec.conformance import resolve_target
from cachespec.conformance.mutants import (
    CONTROLS, MUTANTS, get_mutant, kill_rate, render_table, run_catalogue, run_controls,
    save_counterexample,
)
from cachespec.conformance.mutants import _catalogue as catalogue
from cachespec.reference import CacheError, InMemoryCache

FAMILIES = ("CORE", "KEY", "ASYNC", "DISK", "VERSION", "LOAD", "ERROR", "ISO", "SAFE", "CONC",
            "CRASH")


#: Caught in fewer than 20 of 20 seeded runs at ``quick`` in one measurement
#: (benchmarks/mutant_reliability.py: NegativeCacheMemory 15/20 at quick, 20/20 at default; the
#: race depends on thread scheduling, which no seed fixes): checked at ``default`` here until
#: race-threads primes a per-thread read before the race.
NEEDS_DEFAULT = frozenset({"NegativeCacheMemory"})


def _soak(config: pytest.Config) -> bool:
    return bool(config.getoption("--soak", default=False) or os.environ.get("CACHESPEC_SOAK"))


# -- the catalogue's shape ------------------------------------------------------------------
def test_at_least_25_mutants_with_unique_names() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) >= 25
    assert len(set(names)) == len(names)


def test_every_family_is_targeted() -> None:
    targeted = {m.intended_clause.split("-")[0] for m in MUTANTS}
    assert targeted == set(FAMILIES)


def test_intended_clauses_exist_in_the_spec() -> None:
    from cachespec.spec import get_clause

    for m in MUTANTS:
        assert get_clause(m.intended_clause).id == m.intended_clause, m.name


@pytest.mark.parametrize("name", [m.name for m in MUTANTS])
def test_mutant_is_a_torch_shaped_target(name: str) -> None:
    m = get_mutant(name)
    assert m.description and "\n" not in m.description
    cls = getattr(catalogue, name)
    assert cls.intended_clause == m.intended_clause
    target = resolve_target(m.target)
    assert target.error_type is CacheError
    assert "core" in target.capabilities


def test_get_mutant_is_case_insensitive_and_names_near_misses() -> None:
    assert get_mutant("strkeymemory").name == "StrKeyMemory"
    with pytest.raises(KeyError, match="StrKeyMemory"):
        get_mutant("StrKeyMemroy")


# -- a few faults, shown directly (the checks find the rest) --------------------------------
def test_overwriting_insert_overwrites() -> None:
    c = catalogue.OverwritingInsertMemory()
    assert c.insert("k", 1) is True
    assert c.insert("k", 2) is False
    assert c.get("k") == 2


def test_str_keys_merge_int_and_str() -> None:
    c = catalogue.StrKeyMemory()
    c.insert(1, "one")
    assert c.get("1") == "one"


def test_pickle_keys_split_equal_tuples(tmp_path: Path) -> None:
    c = catalogue.PickleKeyDisk()
    c.base_dir = tmp_path
    s = "ab"
    c.insert((s, s), 1)
    assert c.get((s, "".join(["a", "b"]))) is None


def test_float_bits_keys_split_equal_floats() -> None:
    c = catalogue.FloatBitsKeyMemory()
    assert c.insert((0.0, "k"), 1) is True
    assert c.get((-0.0, "k")) is None  # equal keys, two entries
    assert c.insert(-0.0, 2) is True and c.insert(0.0, 3) is True


def test_evicting_memory_forgets_the_oldest_entries() -> None:
    c = catalogue.EvictingMemory()
    for n in range(501):
        assert c.insert(n, n) is True
    assert c.get(0) is None and c.get(1) == 1 and c.get(500) == 500


def test_stale_blocks_insert_under_new_version(tmp_path: Path) -> None:
    c = catalogue.StaleBlocksDisk()
    c.base_dir = tmp_path
    old = catalogue.StaleBlocksDisk.version
    assert c.insert("k", 1)
    try:
        catalogue.StaleBlocksDisk.version = old + 1
        assert c.get("k") is None
        assert c.insert("k", 2) is False
    finally:
        catalogue.StaleBlocksDisk.version = old


def test_unsafe_file_loader_runs_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (marker.write_text, ("x",))

    path = tmp_path / "cache.pkl"
    path.write_bytes(pickle.dumps({"k": Boom()}))
    with pytest.raises(CacheError):
        InMemoryCache.from_file_path(path)  # the correct loader refuses it
    assert not marker.exists()
    catalogue.FileUnsafeMemory.from_file_path(path)
    assert marker.exists()


def test_two_phase_insert_lets_two_win_and_changes_a_read_value() -> None:
    import threading

    from cachespec.spec._points import Points

    c = catalogue.TwoPhaseInsertMemory()
    with Points() as probe:
        c.insert("probe", b"p")
    # pause the first insert just before its second critical section (after its check)
    # (its points: with, if, with-exit, *with*, store, with-exit, return)
    k = [i for i, d in enumerate(probe.seen) if "mutants/_memory.py" in d][-4]
    gate, paused, out = threading.Event(), threading.Event(), {}

    def first() -> None:
        with Points(stop_at=k, on_stop=lambda i, d: (paused.set(), gate.wait(10))):
            out["first"] = c.insert("k", b"first")

    th = threading.Thread(target=first)
    th.start()
    assert paused.wait(10)
    assert c.insert("k", b"second") is True
    seen = c.get("k")
    gate.set()
    th.join(10)
    assert out["first"] is True and seen == b"second" and c.get("k") == b"first"


# -- reporting --------------------------------------------------------------------------------
def test_counterexample_is_kept_from_the_first_catch(tmp_path: Path) -> None:
    from cachespec.conformance.mutants import MutantResult

    r = MutantResult("X", "t", "CORE-GET-MISSING", "d", caught_by=["CORE-GET-MISSING"],
                     counterexample="state.get('a')", failure="boom")
    first = save_counterexample(r, tmp_path)
    assert first is not None and "state.get('a')" in first.read_text()
    r.counterexample = "other"
    assert save_counterexample(r, tmp_path) is None
    assert "state.get('a')" in first.read_text()
    survivor = MutantResult("Y", "t", "CORE-GET-MISSING", "d")
    assert save_counterexample(survivor, tmp_path) is None
    table = render_table([r, survivor])
    assert "SURVIVED" in table and "kill rate: 1/2 = 50.0%" in table
    assert kill_rate([r, survivor]) == 0.5


def test_cli_lists_and_refuses_unknown_mutants() -> None:
    cmd = [sys.executable, "-m", "cachespec", "mutants"]
    listed = subprocess.run([*cmd, "--list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0
    assert len(listed.stdout.splitlines()) == len(MUTANTS)
    bad = subprocess.run([*cmd, "--mutant", "NoSuchMutant"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2
    assert "NoSuchMutant" in bad.stderr and "Traceback" not in bad.stderr


# -- the kill rate ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_every_mutant_is_caught_by_its_intended_clause_quick() -> None:
    fast = [m for m in MUTANTS if m.name not in NEEDS_DEFAULT]
    results = run_catalogue(fast, profile="quick", scope="intended", jobs=2)
    results += run_catalogue([get_mutant(n) for n in sorted(NEEDS_DEFAULT)], profile="default",
                             scope="intended")
    table = render_table(results)
    assert all(r.error is None for r in results), table
    missed = {r.name for r in results if not r.caught_as_intended}
    # Known spec gaps must still survive: once the spec catches one, drop its spec_gap note.
    assert missed == {m.name for m in MUTANTS if m.spec_gap}, table
    assert kill_rate([r for r in results if not r.spec_gap]) == 1.0


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("control", CONTROLS)
def test_correct_implementations_are_flagged_by_nothing_quick(control: str) -> None:
    (r,) = run_controls("quick", controls=[control])
    assert r.error is None, r.error
    assert r.caught_by == [], f"{control} flagged by {r.caught_by}: {r.failure}"


@pytest.mark.soak
def test_full_catalogue_at_default_kills_everything(request: pytest.FixtureRequest,
                                                   tmp_path: Path) -> None:
    if not _soak(request.config):
        pytest.skip("soak: run with --soak or CACHESPEC_SOAK=1")
    out = tmp_path / "mutants.json"
    proc = subprocess.run([sys.executable, "-m", "cachespec", "mutants", "--profile", "default",
                           "--controls", "--jobs", "2", "--json", str(out)],
                          capture_output=True, text=True, timeout=6 * 3600)
    data = json.loads(out.read_text())
    gaps = {m.name for m in MUTANTS if m.spec_gap}
    assert all(m["caught_as_intended"] for m in data["mutants"] if m["name"] not in gaps), \
        proc.stdout
    assert all(not c["caught_by"] and not c["error"] for c in data["controls"]), proc.stdout
    assert {m["name"] for m in data["mutants"] if not m["killed"]} <= gaps, proc.stdout
