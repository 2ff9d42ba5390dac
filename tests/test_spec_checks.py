"""The checks against the reference targets (clean at the quick profile) and against small
broken subjects (each bug is reported under the expected clause, with a replayable program)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cachespec.spec as spec
from _toy import ToyTarget
from cachespec.conformance import ClauseResult, judge_in_process

#: clauses a reference target is known to break (none today); anything else failing fails the test
KNOWN_GAPS: dict[str, set[str]] = {}


def drive(target: object, workdir: Path, profile: str = "quick",
          only: tuple[str, ...] | None = None) -> dict[str, ClauseResult]:
    """The failed clauses, as the conformance engine decides them (every applicable check, re-run
    without failed clauses), with the checks run in this process; ``only``: these checks."""
    report = judge_in_process(target, workdir, profile, checks=only)
    return {c.id: c for c in report.clauses if c.status == "fail"}


@pytest.mark.parametrize("name", ["reference-memory", "reference-disk"])
def test_reference_targets_pass_at_quick(name: str, tmp_path: Path) -> None:
    from cachespec.conformance import resolve_target

    failed = drive(resolve_target(name), tmp_path)
    unexpected = {cid: v.error for cid, v in failed.items() if cid not in KNOWN_GAPS.get(name, ())}
    assert not unexpected


@pytest.mark.parametrize("disk", [False, True], ids=["memory", "disk"])
def test_correct_toy_targets_pass(disk: bool, tmp_path: Path) -> None:
    # (the toy's env loader splits naively, as torch's does, so it is left to the reference;
    # the toy does not check who owns its storage: SAFE-PRIVATE-STORAGE is tests/test_spec_trust)
    only = tuple(c.name for c in spec.CHECKS if c.name != "trust-storage") if disk else (
        "machine-cache", "machine-file-loader", "race-threads", "fault-serialization")
    failed = drive(ToyTarget(disk), tmp_path, only=only)
    assert not failed, {c: v.error for c, v in failed.items()}


@pytest.mark.parametrize(("disk", "bug", "clause"), [
    (False, "overwrite", "CORE-INSERT-NO-OVERWRITE"),
    (False, "str-key", "KEY-DISTINCT"),
    (False, "share", "ISO-INSERT-COPY"),
    (True, "ignore-version", "VERSION-ISOLATED"),
    (True, "overwrite", "CORE-INSERT-NO-OVERWRITE"),
])
def test_broken_subjects_fail_the_expected_clause(disk: bool, bug: str, clause: str,
                                                  tmp_path: Path) -> None:
    failed = drive(ToyTarget(disk, frozenset({bug})), tmp_path, only=("machine-cache",))
    assert clause in failed
    assert "state = CacheMachine()" in (failed[clause].counterexample or "")


def test_a_random_program_failure_carries_the_shrunk_program(tmp_path: Path) -> None:
    # only the insert_big rule meets this bug: the counterexample is Hypothesis' program
    failed = drive(ToyTarget(False, frozenset({"big-lost"})), tmp_path, only=("machine-cache",))
    assert set(failed) == {"CORE-GET-INSERTED"}
    program = failed["CORE-GET-INSERTED"].counterexample or ""
    assert "state.insert_big(" in program and "@reproduce_failure" not in program


def test_a_disabled_clause_is_followed_not_cascaded(tmp_path: Path) -> None:
    target = ToyTarget(False, frozenset({"overwrite"}))
    check = next(c for c in spec.CHECKS if c.name == "machine-cache")
    rest = frozenset(check.clause_ids) - {"CORE-INSERT-NO-OVERWRITE"}
    assert check.run(target, tmp_path / "a", "quick", rest).violations == []
    assert check.run(target, tmp_path / "b", "quick",
                     frozenset({"CORE-GET-MISSING"})).violations == []


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="profile"):
        spec.CHECKS[0].run(ToyTarget(False), tmp_path, "fast", frozenset({"CORE-GET-MISSING"}))
