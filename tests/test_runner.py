"""The runner's semantics against a fake spec: n/a, not checked, re-runs, timeouts, reports."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _conformance_fakes import write_fakes

from cachespec.conformance import _engine
from cachespec.conformance._engine import select_clauses
from cachespec.conformance._report import render_markdown, render_table, write_json, write_junit
from cachespec.conformance._runner import Report, run_conformance


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = write_fakes(tmp_path / "fakes")
    monkeypatch.syspath_prepend(str(d))  # the worker inherits it through PYTHONPATH
    for module in ("fakespec", "fakecaches"):  # this test's copies, not an earlier test's
        monkeypatch.delitem(sys.modules, module, raising=False)
    # the engine's spec, passed on to the worker as --spec by the session
    monkeypatch.setattr(_engine, "DEFAULT_SPEC", "fakespec")
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


def test_a_target_that_cannot_start_in_the_worker_fails_every_clause(fakes: Path) -> None:
    (fakes / "childfail.py").write_text(
        "import sys\n"
        "if sys.argv[0].endswith('_worker.py'):\n"
        "    raise RuntimeError('not importable in a child process')\n"
        "from fakecaches import Good\n")
    report = run_conformance(["childfail:Good"], profile="quick")
    (t,) = report.targets
    assert t.error and "not importable in a child process" in t.error
    # the worker never reported capabilities, so no clause can be called n/a
    assert t.capabilities == []
    assert {c.status for c in t.clauses} == {"fail"}
    assert all((c.error or "").startswith("not run") for c in t.clauses)
    assert report.failed()


def test_one_engine_in_process_and_in_the_worker(fakes: Path, tmp_path: Path) -> None:
    from cachespec.conformance import judge_in_process, resolve_target

    in_worker = run_conformance(["fakecaches:Overwrites"], profile="quick").targets[0]
    here = judge_in_process(resolve_target("fakecaches:Overwrites"), tmp_path / "work")
    assert [(c.id, c.status, c.error, c.counterexample, c.note) for c in here.clauses] == [
        (c.id, c.status, c.error, c.counterexample, c.note) for c in in_worker.clauses]
    assert here.capabilities == in_worker.capabilities
    # the check's note reaches the clause result, the blob advice never does
    notes = {c.id: c.note for c in here.clauses if c.note}
    assert notes == {"CORE-GET-MISS": "looked up one absent str key"}


def test_a_check_skipped_in_process_leaves_its_clauses_undecided(fakes: Path,
                                                                 tmp_path: Path) -> None:
    from cachespec.conformance import judge_in_process, resolve_target

    report = judge_in_process(resolve_target("fakecaches:Good"), tmp_path, checks=["slow"],
                              patterns=["CONC-*", "CORE-GET-MISS"])
    assert {c.id: c.status for c in report.clauses} == {
        "CORE-GET-MISS": "undecided", "CONC-HANG": "undecided", "CONC-SLOW": "pass"}


def test_every_spec_profile_has_a_stall_timeout_and_others_are_refused(fakes: Path) -> None:
    from cachespec.conformance._session import stall_timeout
    from cachespec.spec import PROFILE_NAMES

    assert [stall_timeout(p) > 0 for p in PROFILE_NAMES] == [True] * len(PROFILE_NAMES)
    with pytest.raises(ValueError, match="unknown profile 'fast'; use one of quick, default"):
        run_conformance(["fakecaches:Good"], profile="fast")


@pytest.mark.parametrize(("text", "cleaned"), [
    (None, None),
    ("state = M()\nstate.get(1)", "state = M()\nstate.get(1)"),
    ("state.get(1)\n\nYou can reproduce this example by temporarily adding "
     "@reproduce_failure('6.1', b'AA==') as a decorator on your test case", "state.get(1)"),
    ("@reproduce_failure('6.1', b'AA==')", None),
])
def test_counterexamples_lose_hypothesis_blob_advice(text: str | None,
                                                     cleaned: str | None) -> None:
    assert _engine.clean_counterexample(text) == cleaned


@pytest.mark.parametrize(("level", "ok"), [("must", "must"), ("MUST", "must"),
                                           (" Should ", "should"), ("may", None), (None, None)])
def test_levels_are_case_insensitive_and_unknown_ones_rejected(level: object,
                                                               ok: str | None) -> None:
    from cachespec.conformance._results import parse_level

    if ok is None:
        with pytest.raises(ValueError, match="use one of must, should"):
            parse_level(level)
    else:
        assert parse_level(level) == ok


@pytest.mark.parametrize("kwargs", [{}, {"size": 3}, {"b": b"\x00", "a": (1, -0.5, None)},
                                    {"nested": {"k": [1, {2, 3}]}, "flag": True}])
def test_constructor_arguments_round_trip_through_the_name(kwargs: dict[str, object]) -> None:
    from cachespec.conformance._target_args import has_args, split_args, with_args

    name = with_args("pkg.mod:Cache", kwargs)
    assert has_args(name) == bool(kwargs)
    if kwargs:
        assert split_args(name) == ("pkg.mod:Cache", kwargs)
        assert name == with_args("pkg.mod:Cache", dict(reversed(list(kwargs.items()))))


def test_a_class_bound_to_arguments_is_rebuilt_with_them(fakes: Path) -> None:
    from cachespec.conformance import resolve_target

    target = resolve_target("fakecaches:Configurable(overwrite=True)")
    assert target.name == "fakecaches:Configurable(overwrite=True)"
    subject = target.open(fakes)
    assert subject.insert("k", 1) and subject.insert("k", 2) and subject.get("k") == 2
    keeping = resolve_target("fakecaches:Configurable(overwrite=False)").open(fakes)
    assert keeping.insert("k", 1) and not keeping.insert("k", 2)


def test_clause_ids_cited_by_the_conformance_modules_exist() -> None:
    import ast
    import re

    import cachespec.conformance as conformance
    from cachespec.spec import CLAUSES, FAMILIES

    ids = {c.id for c in CLAUSES}
    cited = re.compile(rf"\b(?:{'|'.join(FAMILIES)})-[A-Z][A-Z0-9-]*[A-Z0-9]\b")
    unknown = []
    for path in sorted(Path(conformance.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        docs = [ast.get_docstring(n) or "" for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))]
        unknown += [f"{path.name}: {cid}" for doc in docs for cid in cited.findall(doc)
                    if cid not in ids]
    assert unknown == []


def test_the_parent_resolves_a_target_once_and_uses_the_workers_capabilities(
        fakes: Path) -> None:
    import os

    report = run_conformance(["fakecaches:Counted", "fakecaches:WorkerSeesMore"],
                             profile="quick", level="must")
    pids = (fakes / "constructions.log").read_text().split()
    assert pids.count(str(os.getpid())) == 1  # the up-front validation; the worker did the rest
    assert len(pids) > 1
    sees_more = report.targets[1]
    # this process sees only core; the worker's answer (core + persistent) is the one used
    assert sees_more.capabilities == ["core", "persistent"]
    assert {c.id: c.status for c in sees_more.clauses}["DISK-REOPEN"] != "n/a"


def test_each_clause_is_settled_once_when_its_last_check_reports() -> None:
    from types import SimpleNamespace as NS

    from cachespec.conformance._engine import CheckOutcome, TargetVerdicts

    clause = NS(id="X-ONE", level="MUST", capabilities=frozenset({"core"}))
    other = NS(id="X-TWO", level="SHOULD", capabilities=frozenset({"core"}))
    spec = NS(CHECKS=(NS(name="a", clause_ids=("X-ONE", "X-TWO"), capabilities=frozenset()),
                      NS(name="b", clause_ids=("X-ONE",), capabilities=frozenset())))
    settled: list[tuple[str, str]] = []
    v = TargetVerdicts(spec, [clause, other], {"core"}, lambda r: settled.append((r.id, r.status)))
    assert v.results["X-ONE"].status == "undecided" and not v.final("X-ONE")
    v.record("a", ["X-ONE", "X-TWO"], CheckOutcome(["X-ONE"], {}, 1.0, ["X-TWO"]))
    # X-TWO's only check never judged it; X-ONE waits for check b
    assert settled == [("X-TWO", "undecided")]
    v.record("b", ["X-ONE"], CheckOutcome([], {"X-ONE": ("broke", "program", 0.5)}, 1.0))
    assert settled == [("X-TWO", "undecided"), ("X-ONE", "fail")]
    one = v.results["X-ONE"]
    assert (one.error, one.counterexample, one.checks) == ("broke", "program", ["a", "b"])


def test_a_clause_a_probe_proved_inapplicable_is_na_unless_another_check_judged_it(
        tmp_path: Path) -> None:
    from types import SimpleNamespace as NS

    from cachespec.conformance._engine import CheckOutcome, TargetVerdicts, run_check
    from cachespec.spec._harness import CheckResult, inapplicable, ledger

    # run_check carries what the check proved: only for clauses it neither judged nor violated
    def run(target: object, workdir: Path, profile: str, clauses: frozenset[str]) -> CheckResult:
        with ledger() as book:
            inapplicable("X-ONE", "nothing on disk")
            inapplicable("X-TWO", "nothing on disk")
            book.judged("X-TWO")
        return CheckResult([], dict(book.counts), {}, dict(book.inapplicable))

    out = run_check(NS(name="probe", run=run), NS(name="t"), ["X-ONE", "X-TWO"], "quick", tmp_path)
    assert out.inapplicable == {"X-ONE": "nothing on disk"} and out.passed == ["X-TWO"]

    clauses = [NS(id=c, level="MUST", capabilities=frozenset({"core"})) for c in ("X-ONE", "X-TWO")]
    spec = NS(CHECKS=(NS(name="a", clause_ids=("X-ONE", "X-TWO"), capabilities=frozenset()),
                      NS(name="b", clause_ids=("X-TWO",), capabilities=frozenset())))
    v = TargetVerdicts(spec, clauses, {"core"})
    v.record("a", ["X-ONE", "X-TWO"], CheckOutcome([], {}, 1.0, ["X-ONE", "X-TWO"],
                                                   inapplicable={"X-ONE": "no file",
                                                                 "X-TWO": "no file"}))
    v.record("b", ["X-TWO"], CheckOutcome(["X-TWO"], {}, 1.0))
    one, two = v.results["X-ONE"], v.results["X-TWO"]
    assert (one.status, one.note) == ("n/a", "no file")  # proved: never a pass, never undecided
    assert two.status == "pass"  # another check judged it: the proof of one check is not final
