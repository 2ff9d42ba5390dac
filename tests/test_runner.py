"""The runner's semantics against a fake spec: n/a, not checked, re-runs, timeouts, reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _conformance_fakes import write_fakes

from cachespec.conformance._report import render_markdown, render_table, write_json, write_junit
from cachespec.conformance._runner import Report, run_conformance, select_clauses


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = write_fakes(tmp_path / "fakes")
    monkeypatch.syspath_prepend(str(d))  # the worker inherits it through PYTHONPATH
    monkeypatch.setenv("CACHESPEC_SPEC_MODULE", "fakespec")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return d


def _statuses(report: Report) -> dict[str, dict[str, str]]:
    return {t.target: {c.id: c.status for c in t.clauses} for t in report.targets}


def test_verdicts_for_a_broken_and_a_good_target(fakes: Path) -> None:
    report = run_conformance(["fakecaches:Overwrites", "fakecaches:Good"], profile="quick")
    s = _statuses(report)
    assert s["fakecaches:Overwrites"] == {
        "CORE-INSERT-ONCE": "fail",
        "CORE-GET-MISS": "pass",
        "CORE-SECOND": "fail",  # found only by the re-run without the first failure
        "DISK-REOPEN": "n/a",
        "CONC-HANG": "pass",
        "CONC-SLOW": "pass",
        "SAFE-UNCHECKED": "undecided",
        "SAFE-UNJUDGED": "undecided",  # its check ran, but never judged it: not a pass
    }
    assert s["fakecaches:Good"]["CORE-INSERT-ONCE"] == "pass"
    assert s["fakecaches:Good"]["SAFE-UNJUDGED"] == "undecided"
    assert s["fakecaches:Good"]["CORE-SECOND"] == "pass"
    broken = {c.id: c for c in report.targets[0].clauses}
    assert "overwrote" in (broken["CORE-INSERT-ONCE"].error or "")
    assert "# insert('k', 1); insert('k', 2); get('k')" in broken["CORE-INSERT-ONCE"].counterexample
    assert broken["DISK-REOPEN"].missing == ["persistent"]
    assert (broken["SAFE-UNCHECKED"].error or "").startswith("not checked")
    assert "never reached" in (broken["SAFE-UNJUDGED"].error or "")
    assert report.failed()
    # no check ran in (or wrote into) the caller's cwd
    assert not any(Path.cwd().iterdir())


def test_na_and_unchecked_clauses_are_never_pass(fakes: Path) -> None:
    report = run_conformance(["fakecaches:Good", "fakecaches:Disk"], profile="quick")
    import fakespec

    by_id = {c.id: c for c in fakespec.CLAUSES}
    for t in report.targets:
        for c in t.clauses:
            lacking = set(by_id[c.id].capabilities) - set(t.capabilities)
            assert (c.status == "n/a") == bool(lacking)
            if c.status == "pass":
                assert c.checks, f"{c.id} passed without a check"
    assert _statuses(report)["fakecaches:Disk"]["DISK-REOPEN"] == "pass"


def test_a_hanging_target_times_out_and_the_rest_still_runs(fakes: Path) -> None:
    report = run_conformance(["fakecaches:Hangs"], profile="quick", timeout=2.0)
    (t,) = report.targets
    by_id = {c.id: c for c in t.clauses}
    assert by_id["CONC-HANG"].status == "fail"
    assert "timed out after 2 s" in (by_id["CONC-HANG"].error or "")
    # the worker was killed and a fresh one ran the checks after the hung one
    assert by_id["CORE-INSERT-ONCE"].status == "pass"
    assert t.seconds < 60


def test_a_slow_target_making_progress_is_not_declared_hung(fakes: Path) -> None:
    # 10 inserts of 0.4 s each: 4 s in all, but an operation completes every 0.4 s
    report = run_conformance(["fakecaches:Slow"], profile="quick", timeout=2.0,
                             clause_patterns=["CONC-SLOW", "CONC-HANG"])
    assert _statuses(report) == {"fakecaches:Slow": {"CONC-HANG": "pass", "CONC-SLOW": "pass"}}
    hung = run_conformance(["fakecaches:Hangs"], profile="quick", timeout=2.0,
                           clause_patterns=["CONC-HANG"])
    (clause,) = hung.targets[0].clauses
    assert clause.status == "fail" and "without progress" in (clause.error or "")


def test_level_must_ignores_should_clauses(fakes: Path) -> None:
    should = run_conformance(["fakecaches:Good"], profile="quick", level="should")
    must = run_conformance(["fakecaches:Good"], profile="quick", level="must")
    assert should.failed()  # SAFE-UNCHECKED is a SHOULD clause no check covers
    assert not must.failed()
    assert {c.level for c in must.targets[0].clauses} == {"MUST"}


def test_clause_patterns_select_and_unknown_ones_are_rejected(fakes: Path) -> None:
    import fakespec

    assert [c.id for c in select_clauses(fakespec, "should", ["core-*"])] == [
        "CORE-INSERT-ONCE", "CORE-GET-MISS", "CORE-SECOND"]
    report = run_conformance(["fakecaches:Overwrites"], profile="quick",
                             clause_patterns=["CORE-GET-MISS"])
    assert _statuses(report) == {"fakecaches:Overwrites": {"CORE-GET-MISS": "pass"}}
    with pytest.raises(ValueError, match="no clause matches 'NOPE-1'"):
        run_conformance(["fakecaches:Good"], clause_patterns=["NOPE-1"])


def test_reports_carry_the_same_verdicts(fakes: Path, tmp_path: Path) -> None:
    report = run_conformance(["fakecaches:Overwrites"], profile="quick")
    write_json(report, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    (t,) = data["targets"]
    assert t["target"] == "fakecaches:Overwrites" and "core" in t["capabilities"]
    for c in t["clauses"]:
        assert set(c) >= {"id", "level", "status", "error", "counterexample", "seconds"}
        assert c["level"] in ("MUST", "SHOULD") and c["status"] in ("pass", "fail", "n/a", "undecided")
        assert isinstance(c["seconds"], float)
    write_junit(report, tmp_path / "r.xml")
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["CORE-INSERT-ONCE"].find("failure")
    assert failure is not None and "insert('k', 1)" in (failure.text or "")
    assert cases["DISK-REOPEN"].find("skipped") is not None
    assert cases["CORE-GET-MISS"].find("failure") is None
    assert cases["CORE-GET-MISS"].find("skipped") is None
    table = render_table(report)
    assert "CORE-INSERT-ONCE  MUST    FAIL" in table and "counterexample:" in table
    assert "DISK-REOPEN       MUST    n/a" in table
    md = render_markdown(report)
    assert "| `CORE-INSERT-ONCE` | MUST | **FAIL** |" in md and "### Failures" in md


def test_a_target_that_cannot_start_in_the_worker_fails_every_applicable_clause(
        fakes: Path) -> None:
    (fakes / "childfail.py").write_text(
        "import sys\n"
        "if sys.argv[0].endswith('_worker.py'):\n"
        "    raise RuntimeError('not importable in a child process')\n"
        "from fakecaches import Good\n")
    report = run_conformance(["childfail:Good"], profile="quick")
    (t,) = report.targets
    assert t.error and "not importable in a child process" in t.error
    by_status = {c.id: c.status for c in t.clauses}
    assert by_status["DISK-REOPEN"] == "n/a"
    assert all(s in ("fail", "undecided") for cid, s in by_status.items()
               if cid != "DISK-REOPEN")
    assert all((c.error or "").startswith(("not run", "not checked")) for c in t.clauses
               if c.status in ("fail", "undecided"))
    assert report.failed()
