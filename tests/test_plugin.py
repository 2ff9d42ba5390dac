"""The pytest plugin and the CacheConformanceTests base class, run the way a user runs them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _conformance_fakes import fake_env, write_fakes


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project dir holding the fake spec and caches (and no tests of its own)."""
    return write_fakes(tmp_path / "project")


def run_pytest(project: Path, *args: str, fake_spec: bool = True
               ) -> tuple[int, dict[str, str], str]:
    """Exit code, {test name: passed|failed|skipped|xfailed} from --junitxml, and the output."""
    junit = project / "junit.xml"
    junit.unlink(missing_ok=True)
    plugin = ["-p", "use_fakespec"] if fake_spec else []
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin, "-q", "-rA",
         f"--junitxml={junit}", *args],
        capture_output=True, text=True, cwd=project, env=fake_env(project), timeout=600)
    outcomes: dict[str, str] = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            skipped = case.find("skipped")
            status = ("failed" if case.find("failure") is not None or case.find("error") is not None
                      else "xfailed" if skipped is not None and skipped.get("type") == "pytest.xfail"
                      else "skipped" if skipped is not None else "passed")
            classname = case.get("classname") or ""
            outcomes[f"{classname.rsplit('.', 1)[-1]}::{case.get('name')}"] = status
    return done.returncode, outcomes, done.stdout + done.stderr


def by_clause(outcomes: dict[str, str]) -> dict[str, str]:
    return {name.rsplit("test_clause[", 1)[1].rstrip("]"): status
            for name, status in outcomes.items() if "test_clause[" in name}


def test_broken_target_fails_its_clause_by_test_id(project: Path) -> None:
    code, outcomes, output = run_pytest(project, "--cachespec-target", "fakecaches:Overwrites",
                                        "--cachespec-profile", "quick")
    assert code == 1, output
    assert by_clause(outcomes) == {
        "CORE-INSERT-ONCE": "failed", "CORE-GET-MISS": "passed", "CORE-SECOND": "failed",
        "DISK-REOPEN": "skipped", "CONC-HANG": "passed", "CONC-SLOW": "passed",
        "SAFE-UNCHECKED": "failed", "SAFE-UNJUDGED": "failed"}
    assert "cachespec[fakecaches:Overwrites]::test_clause[CORE-INSERT-ONCE]" in output
    assert "insert('k', 1); insert('k', 2); get('k')" in output  # the counterexample


def test_good_target_passes_at_level_must(project: Path) -> None:
    code, outcomes, output = run_pytest(project, "--cachespec-target", "fakecaches:Good",
                                        "--cachespec-profile", "quick", "--cachespec-level", "must")
    assert code == 0, output
    assert by_clause(outcomes) == {"CORE-INSERT-ONCE": "passed", "CORE-GET-MISS": "passed",
                                   "CORE-SECOND": "passed", "DISK-REOPEN": "skipped"}


def test_k_selects_clauses_and_xdist_distributes_them(project: Path) -> None:
    code, outcomes, output = run_pytest(project, "--cachespec-target", "fakecaches:Overwrites",
                                        "--cachespec-profile", "quick", "-n", "2",
                                        "-k", "CORE-INSERT-ONCE or CORE-GET-MISS")
    assert code == 1, output
    assert by_clause(outcomes) == {"CORE-INSERT-ONCE": "failed", "CORE-GET-MISS": "passed"}


def test_hanging_target_fails_by_timeout(project: Path) -> None:
    code, outcomes, output = run_pytest(project, "--cachespec-target", "fakecaches:Hangs",
                                        "--cachespec-profile", "quick", "--cachespec-timeout", "2",
                                        "-k", "CONC-HANG or CORE-GET-MISS")
    assert code == 1, output
    assert by_clause(outcomes) == {"CONC-HANG": "failed", "CORE-GET-MISS": "passed"}
    assert "timed out after 2 s" in output


@pytest.mark.parametrize(("args", "message"), [
    (["--cachespec-target", "no-such-target"], "unknown target 'no-such-target'"),
    (["--cachespec-target", "fakecaches:Good", "--cachespec-profile", "fast"],
     "--cachespec-profile: unknown profile 'fast'; use one of quick, default, thorough"),
])
def test_bad_options_are_usage_errors(project: Path, args: list[str], message: str) -> None:
    code, _, output = run_pytest(project, *args)
    assert code == pytest.ExitCode.USAGE_ERROR
    assert message in output and "Traceback" not in output


def test_base_class_by_attribute_and_by_fixture(project: Path) -> None:
    (project / "test_my_cache.py").write_text(textwrap.dedent('''
        import pytest
        from cachespec.conformance.testing import CacheConformanceTests
        import fakecaches

        class TestGood(CacheConformanceTests):
            target = "fakecaches:Good"
            profile = "quick"
            level = "must"

        class TestBroken(CacheConformanceTests):
            profile = "quick"

            @pytest.fixture
            def cachespec_target(self):
                return fakecaches.Overwrites   # a class works as well as a name
    '''))
    code, outcomes, output = run_pytest(project, "test_my_cache.py")
    assert code == 1, output
    assert outcomes["TestGood::test_clause[CORE-INSERT-ONCE]"] == "passed"
    assert outcomes["TestGood::test_clause[DISK-REOPEN]"] == "skipped"
    assert outcomes["TestGood::test_clause[SAFE-UNCHECKED]"] == "skipped"  # SHOULD, level must
    assert outcomes["TestBroken::test_clause[CORE-INSERT-ONCE]"] == "failed"
    assert outcomes["TestBroken::test_clause[CORE-GET-MISS]"] == "passed"
    assert outcomes["TestBroken::test_clause[DISK-REOPEN]"] == "skipped"


def test_base_class_constructor_arguments_and_expected_deviations(project: Path) -> None:
    (project / "test_my_cache.py").write_text(textwrap.dedent('''
        import pytest
        from cachespec.conformance.testing import CacheConformanceTests

        class TestOverwriting(CacheConformanceTests):
            target = "fakecaches:Configurable"
            target_kwargs = {"overwrite": True}
            profile = "quick"
            level = "MUST"   # case-insensitive
            expected_deviations = {"CORE-INSERT-ONCE": "overwrites by design",
                                   "CORE-GET-MISS": "listed, but it passes"}

        class TestKeeping(CacheConformanceTests):
            target = "fakecaches:Configurable"
            profile = "quick"
            level = "must"

            @pytest.fixture
            def cachespec_target_kwargs(self):
                return {"overwrite": False}
    '''))
    code, outcomes, output = run_pytest(project, "test_my_cache.py", "-k", "INSERT-ONCE or GET-MISS")
    assert code == 1, output
    assert outcomes == {
        # the deviation deviates: xfail, with its reason
        "TestOverwriting::test_clause[CORE-INSERT-ONCE]": "xfailed",
        # strict: a listed deviation that passes fails, so the list cannot go stale
        "TestOverwriting::test_clause[CORE-GET-MISS]": "failed",
        "TestKeeping::test_clause[CORE-INSERT-ONCE]": "passed",
        "TestKeeping::test_clause[CORE-GET-MISS]": "passed",
    }, output
    assert "overwrites by design" in output
    assert "remove it from expected_deviations" in output


def test_an_unusable_target_fails_even_its_expected_deviations(project: Path) -> None:
    (project / "childfail.py").write_text(
        "import sys\n"
        "if sys.argv[0].endswith('_worker.py'):\n"
        "    raise RuntimeError('not importable in a child process')\n"
        "from fakecaches import Good\n")
    (project / "test_unusable.py").write_text(textwrap.dedent('''
        from cachespec.conformance.testing import CacheConformanceTests

        class TestUnusable(CacheConformanceTests):
            target = "childfail:Good"
            profile = "quick"
            expected_deviations = {"CORE-INSERT-ONCE": "a deviation, not a broken target"}
    '''))
    code, outcomes, output = run_pytest(project, "test_unusable.py", "-k", "CORE-INSERT-ONCE")
    assert code == 1, output
    assert outcomes == {"TestUnusable::test_clause[CORE-INSERT-ONCE]": "failed"}, output
    assert "not importable in a child process" in output


@pytest.mark.parametrize(("body", "message"), [
    ('level = "MUTS"', "TestBad: unknown level 'MUTS'; use one of must, should"),
    ('profile = "fast"', "TestBad: unknown profile 'fast'"),
    ('expected_deviations = {"CORE-NOPE": "x"}', "unknown clause ids CORE-NOPE"),
    ('target_kwargs = {"when": object()}', "is not a Python literal"),
])
def test_base_class_rejects_bad_settings_at_collection(project: Path, body: str,
                                                        message: str) -> None:
    (project / "test_bad.py").write_text(textwrap.dedent(f'''
        from cachespec.conformance.testing import CacheConformanceTests

        class TestBad(CacheConformanceTests):
            target = "fakecaches:Good"
            {body}
    '''))
    code, outcomes, output = run_pytest(project, "test_bad.py")
    assert code == pytest.ExitCode.INTERRUPTED, output  # a collection error stops the run
    assert message in output


def test_plugin_is_inert_without_the_option(project: Path) -> None:
    (project / "test_inert.py").write_text(textwrap.dedent('''
        import sys

        def test_nothing_heavy_was_imported(pytestconfig):
            assert pytestconfig.pluginmanager.hasplugin("cachespec")
            heavy = [m for m in ("cachespec.conformance._runner", "cachespec.conformance._engine",
                                 "cachespec.spec._checks", "cachespec.spec._profiles",
                                 "hypothesis", "torch", "cachespec.reference", "fakespec")
                     if m in sys.modules]
            assert heavy == []
            assert pytestconfig.pluginmanager.get_plugin("cachespec-conformance-suite") is None
    '''))
    code, outcomes, output = run_pytest(project, "test_inert.py", fake_spec=False)
    assert code == 0, output
    assert outcomes == {"test_inert::test_nothing_heavy_was_imported": "passed"}


def _real_spec_ready() -> bool:
    try:
        import cachespec.spec as spec
    except Exception:
        return False
    return bool(getattr(spec, "CHECKS", None)) and bool(getattr(spec, "CLAUSES", None))


@pytest.mark.skipif(not _real_spec_ready(), reason="cachespec.spec has no checks yet")
def test_real_spec_reference_passes_and_overwriting_cache_fails(project: Path) -> None:
    args = ("--cachespec-profile", "quick", "-k", "CORE-", "-n", "2")
    code, outcomes, output = run_pytest(project, "--cachespec-target", "reference-memory", *args,
                                        fake_spec=False)
    assert code == 0, output
    assert by_clause(outcomes) and set(by_clause(outcomes).values()) == {"passed"}
    code, outcomes, output = run_pytest(project, "--cachespec-target", "fakecaches:Overwrites",
                                        *args, fake_spec=False)
    assert code == 1, output
    assert by_clause(outcomes)["CORE-INSERT-NO-OVERWRITE"] == "failed"
