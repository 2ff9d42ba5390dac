"""The published verdicts (docs/verdicts/): the generator, the committed reports, the repro
snippets, and regression cases for the false positives the verdicts exposed.

- fast: the generator's pieces on made-up results, the consistency of the committed reports with
  their snippets, the command's usage errors;
- torch/diskcache: every repro snippet still shows its deviation against the pinned package;
- slow (runs by default): a fresh ``--profile quick`` run per target has exactly the violated
  clauses of the committed report (``python tools/verdicts.py --check-only`` does the same in one
  go);
- false positives: clauses that flagged behaviour torch documents as allowed must not flag it.
"""

from __future__ import annotations

from typing import Any

import ast
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cachespec.conformance._runner import ClauseResult

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "verdicts.py"


def _load_tool() -> object:
    """tools/verdicts.py is a maintainer script outside the package: load it by path."""
    spec = importlib.util.spec_from_file_location("cachespec_tools_verdicts", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


V: Any = _load_tool()
OUT = ROOT / "docs" / "verdicts"
REPROS = sorted(OUT.glob("repro/*/*.py"))


def _has(dist: str) -> bool:
    return V.package_version(dist) is not None


#: the targets whose repro snippets each import torch (3 to 15 s of CPU apiece, about 40
#: snippets): opt-in soaks (``pytest --soak``) so the default suite stays within its budget;
#: ``python tools/verdicts.py`` runs them all whenever it regenerates the reports
HEAVY = tuple(t for t, (dist, _) in V.VERDICT_TARGETS.items() if dist == "torch")


def _weight(target: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.soak] if target in HEAVY else []


def _needs(target: str) -> pytest.MarkDecorator:
    dist = V.VERDICT_TARGETS[target][0]
    if not _has(dist):
        return pytest.mark.skipif(True, reason=f"{dist} is not installed")
    from cachespec.conformance import _targets

    builtin = _targets._BUILTINS.get(target)
    try:
        reason = builtin and builtin.path and _targets._import_builtin(builtin.path,
                                                                       target).unavailable()
    except _targets.TargetError:
        reason = None  # a broken adapter module: the test runs and fails, it is not skipped
    return pytest.mark.skipif(bool(reason), reason=str(reason))  # redis without its server


def _fake(target: str = "torch-memory", **status: str) -> V.Verdicts:
    from cachespec.spec import CLAUSES

    clauses = [ClauseResult(c.id, c.level, status.get(c.id.replace("-", "_"), "pass"),
                            error="boom at /tmp/cachespec-check-abc123/work/x" if
                            status.get(c.id.replace("-", "_")) == "fail" else None)
               for c in CLAUSES]
    return V.Verdicts(target, "torch", "9.9.9", "quick", ["core"], clauses)


# -- the generator ------------------------------------------------------------------------
def test_repro_is_split_into_code_and_assessment(tmp_path: Path) -> None:
    p = tmp_path / "X.py"
    p.write_text('"""What a user hits.\n\nSecond paragraph."""\nimport sys\nprint(1)\n')
    r = V.load_repro(p)
    assert r.assessment == "What a user hits.\n\nSecond paragraph."
    assert r.code == "import sys\nprint(1)\n"


def test_reproduced_needs_exit_zero_and_the_last_line_of_stdout() -> None:
    assert V.ReproRun(0, f"saw it\n{V.REPRODUCED}\n").reproduced
    assert not V.ReproRun(1, f"{V.REPRODUCED}\n").reproduced
    assert not V.ReproRun(0, f"{V.REPRODUCED}\nthen more\n").reproduced
    assert not V.ReproRun(None, "").reproduced
    # stderr is never parsed: a warning there cannot make or break a verdict
    assert V.ReproRun(0, f"{V.REPRODUCED}\n", "UserWarning: Failed to initialize NumPy\n").reproduced
    assert not V.ReproRun(0, "", f"{V.REPRODUCED}\n").reproduced


def test_a_warning_on_stderr_does_not_change_a_repro_verdict(tmp_path: Path) -> None:
    """torch without numpy warns on stderr at import; the snippet's verdict is its stdout's."""
    p = tmp_path / "warns.py"
    p.write_text("import sys, warnings\n"
                 "warnings.warn('Failed to initialize NumPy', UserWarning)\n"
                 f"print({V.REPRODUCED!r})\n")
    run = V.run_repro(p)
    assert run.reproduced, run
    assert "NumPy" in run.stderr and "NumPy" not in run.output  # shown only when it fails
    q = tmp_path / "fails.py"
    q.write_text("import sys\nprint('no longer')\nsys.stderr.write('why: boom\\n')\n")
    failed = V.run_repro(q)
    assert not failed.reproduced and "why: boom" in failed.output


def test_scrub_removes_machine_paths() -> None:
    text = ('File "/tmp/vbase/lib/python3.11/site-packages/torch/x.py", line 3\n'
            "at /tmp/cachespec-check-abc/work/k and /root/.cache/y and /work/wt/x/z.py:4")
    out = V.scrub(text)
    for machine in ("/tmp/", "/root/", "/work/"):
        assert machine not in out
    assert "<site-packages>/torch/x.py" in out


def test_report_marks_a_violation_without_repro_and_round_trips(tmp_path: Path) -> None:
    v = _fake(KEY_TYPED_DISTINCT="fail", ISO_GET_COPY="fail")
    snippet = V.repro_path(tmp_path, v.target, "ISO-GET-COPY")
    snippet.parent.mkdir(parents=True)
    snippet.write_text(f'"""Readers alias the value."""\nprint("{V.REPRODUCED}")\n')
    text, problems = V.render_report(v, tmp_path)
    assert "TODO: no repro" in text and "Readers alias the value." in text
    assert problems == [f"torch-memory: KEY-TYPED-DISTINCT is violated but has no repro "
                        f"({V.repro_path(tmp_path, v.target, 'KEY-TYPED-DISTINCT')})"]
    assert "cachespec-check-abc123" not in text  # run-specific paths are scrubbed
    assert text.count("| `") == len(v.clauses)  # one row per clause
    (tmp_path / "torch-memory.md").write_text(text)
    committed = V.read_committed(tmp_path / "torch-memory.md")
    assert committed == V.Committed("torch-memory", "9.9.9",
                                    frozenset({"KEY-TYPED-DISTINCT", "ISO-GET-COPY"}))
    assert V.compare(v, committed) == []


def test_compare_names_added_and_removed_clauses_and_version_changes() -> None:
    v = _fake(KEY_TYPED_DISTINCT="fail")
    old = V.Committed("torch-memory", "9.9.8", frozenset({"ISO-GET-COPY"}))
    assert V.compare(v, old) == [
        "torch-memory: report is for torch 9.9.8, installed is 9.9.9; regenerate with "
        "`python tools/verdicts.py`",
        "torch-memory: + KEY-TYPED-DISTINCT is violated now but not in the committed report",
        "torch-memory: - ISO-GET-COPY is in the committed report but no longer violated",
    ]
    assert V.compare(v, None) == ["torch-memory: no committed report; run `python tools/verdicts.py`"]


def test_failing_repro_and_stale_repro_are_problems(tmp_path: Path) -> None:
    v = _fake(ISO_GET_COPY="fail")
    bad = V.repro_path(tmp_path, v.target, "ISO-GET-COPY")
    bad.parent.mkdir(parents=True)
    bad.write_text('"""x"""\nprint("no longer")\nraise SystemExit(1)\n')
    stale = V.repro_path(tmp_path, v.target, "CORE-GET-MISSING")
    stale.write_text('"""x"""\n')
    text, problems = V.render_report(v, tmp_path)
    assert "no longer reproduces" in text and len(problems) == 1
    assert V.stale_repros(tmp_path, v) == [
        f"torch-memory: repro {stale} is for CORE-GET-MISSING, which is not violated"]


def test_undecided_clauses_are_shown_as_undecided_never_as_passes(tmp_path: Path) -> None:
    v = _fake(CORE_RETAIN="undecided")
    text, problems = V.render_report(v, tmp_path)
    assert "| `CORE-RETAIN` | MUST | undecided (no check judged it) |" in text
    assert "1 undecided" in text and problems == []
    assert "*CORE-RETAIN*" in V.render_index([v])


def test_index_has_a_row_per_target_and_a_column_per_family() -> None:
    from cachespec.spec import FAMILIES

    text = V.render_index([_fake(KEY_EQUAL_SAME="fail"), _fake("diskcache")])
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    assert len(rows) == 2 and all(r.count("|") == len(FAMILIES) + 3 for r in rows)  # + stress
    assert "[**KEY-EQUAL-SAME**](torch-memory.md#key-equal-same)" in rows[0]


@pytest.mark.parametrize("argv", [["--target", "nope"], ["--check-only", "--out", "/nonexistent/x"],
                                  ["--timeout", "0"]])
def test_bad_input_is_a_usage_error(argv: list[str]) -> None:
    out = subprocess.run([sys.executable, str(TOOL), *argv],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr


def test_index_and_readme_table_are_what_the_committed_reports_say() -> None:
    every = [V.read_committed_verdicts(OUT / f"{t}.md") for t in V.VERDICT_TARGETS]
    assert all(every), "every published target has a committed report"
    index = V.render_index(every, OUT)
    assert (OUT / "README.md").read_text() == index, "run `python tools/verdicts.py`"
    readme = (ROOT / "README.md").read_text()
    assert V.with_readme_table(readme, index) == readme, "README's table is stale: regenerate"
    for v in every:  # the clause rows read back are the report's marker line, not a guess
        committed = V.read_committed(OUT / f"{v.target}.md")
        assert set(v.violated) == set(committed.violated)
        assert len(v.clauses) == len(_fake().clauses)


def test_stress_outcome_is_rendered_and_summarized(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("cachespec_tools_stress_verdicts",
                                                  ROOT / "tools" / "stress_verdicts.py")
    assert spec and spec.loader
    S = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(S)
    doc = S.summarize({"ops": 900, "errors": 2, "faults": {"kills": 3, "restarts": 3},
                       "verdict": "violations", "notes": [],
                       "violations": [{"clause": "CONC-ONE-WINNER", "kind": "two-winners",
                                       "message": f"key k{i} at /tmp/cachespec-x/cache"}
                                      for i in range(5)]}, "sqlitedict", "2.1.0")
    assert doc["violations"] == [{"clause": "CONC-ONE-WINNER", "kind": "two-winners",
                                  "count": 5, "examples": [f"key k{i} at <path>"
                                                           for i in range(3)]}]
    (tmp_path / "stress").mkdir()
    (tmp_path / "stress" / "sqlitedict.json").write_text(__import__("json").dumps(doc))
    text = "\n".join(V.render_stress(V.read_stress(tmp_path, "sqlitedict")))
    assert "`cachespec stress sqlitedict --procs 4" in text and "**violations**" in text
    assert "| `CONC-ONE-WINNER` | two-winners | 5 |" in text and "kills=3" in text
    assert V.render_stress(V.read_stress(tmp_path, "lmdb")) == []
    report = "# Verdicts\n\n## Every clause\n\nrows\n"
    once = V.with_stress_section(report, doc)
    assert once.startswith(report) and once.count("## Under stress") == 1
    assert V.with_stress_section(once, doc) == once  # replaced, not appended again
    assert V.with_stress_section(once, None) == report


@pytest.mark.parametrize("target", list(V.VERDICT_TARGETS))
def test_committed_report_shows_the_recorded_stress_outcome(target: str) -> None:
    text = (OUT / f"{target}.md").read_text()
    assert V.with_stress_section(text, V.read_stress(OUT, target)) == text, \
        "run `python tools/stress_verdicts.py --target T` (or tools/verdicts.py) again"


# -- the committed reports and their snippets ----------------------------------------------
@pytest.mark.parametrize("target", list(V.VERDICT_TARGETS))
def test_committed_report_matches_its_snippets_and_the_pinned_version(target: str) -> None:
    committed = V.read_committed(OUT / f"{target}.md")
    assert committed is not None, f"docs/verdicts/{target}.md is missing; run `python tools/verdicts.py`"
    snippets = {p.stem for p in (OUT / "repro" / target).glob("*.py")}
    assert snippets == set(committed.violated), "every violation has a repro and vice versa"
    text = (OUT / f"{target}.md").read_text()
    assert "TODO: no repro" not in text and "no longer reproduces" not in text
    dist = V.VERDICT_TARGETS[target][0]
    if _has(dist):
        assert committed.version == V.package_version(dist), "pinned version changed: regenerate"


@pytest.mark.parametrize("path", REPROS, ids=[f"{p.parent.name}/{p.stem}" for p in REPROS])
def test_repro_is_standalone_and_documented(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), "the module docstring is the published assessment"
    allowed = set(sys.stdlib_module_names) | {"torch", "diskcache", "cachelib", "sqlitedict",
                                               "lmdb", "redis"}
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


@pytest.mark.torch
@pytest.mark.parametrize("path", [pytest.param(p, marks=_weight(p.parent.name)) for p in REPROS],
                         ids=[f"{p.parent.name}/{p.stem}" for p in REPROS])
def test_repro_still_shows_the_deviation(path: Path) -> None:
    target = path.parent.name
    dist = V.VERDICT_TARGETS[target][0]
    if not _has(dist):
        pytest.skip(f"{dist} is not installed")
    result = V.run_repro(path)
    assert result.reproduced, result.output  # judged on stdout; stderr shown, never parsed


# -- a fresh run agrees with the committed reports ------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.soak  # every target's full check run: `pytest --soak` or tools/verdicts.py --check-only
@pytest.mark.parametrize("target", [pytest.param(t, marks=[_needs(t), *_weight(t)])
                                    for t in V.VERDICT_TARGETS])
def test_fresh_quick_run_has_the_committed_violations(target: str) -> None:
    (v,) = V.collect([target], "quick")
    assert v.error is None, v.error
    problems = V.compare(v, V.read_committed(OUT / f"{target}.md")) + V.stale_repros(OUT, v)
    errors = {c.id: c.error for c in v.clauses if c.status == "fail"}
    assert problems == [], f"{problems}\nerrors of this run: {errors}"


# -- false positives found by the verdicts (regression cases) -------------------------------
def _verdict(target: str, *patterns: str) -> dict[str, ClauseResult]:
    from cachespec.conformance._runner import run_target

    report = run_target(target, "quick", "should", list(patterns), timeout=V.CHECK_TIMEOUT)
    assert report.error is None, report.error
    return {c.id: c for c in report.clauses}


@pytest.mark.slow
@_needs("torch-caching-disk")
def test_str_only_cache_is_not_blamed_for_unpicklable_keys() -> None:
    """_OnDiskCacheImpl documents keys as str; a lambda key is outside its domain, so
    ERROR-UNPICKLABLE-KEY must not fail and ERROR-ONLY-CACHEERROR must not fail because of one."""
    got = _verdict("torch-caching-disk", "ERROR-UNPICKLABLE-KEY", "ERROR-ONLY-CACHEERROR")
    assert got["ERROR-UNPICKLABLE-KEY"].status in ("pass", "n/a"), got["ERROR-UNPICKLABLE-KEY"]
    only = got["ERROR-ONLY-CACHEERROR"]
    assert only.status != "fail" or "lambda" not in (only.error or ""), only


@pytest.mark.slow
@pytest.mark.parametrize("target", [pytest.param(t, marks=_needs(t))
                                    for t in ("torch-memory", "torch-caching-memory")])
def test_in_memory_cache_may_store_unpicklable_values(target: str) -> None:
    """In-memory caches never serialize (torch: "any Python object"), so accepting a value whose
    pickling would fail is documented behaviour, not a failed insert left half-done."""
    got = _verdict(target, "SAFE-FAILED-INSERT-ABSENT")["SAFE-FAILED-INSERT-ABSENT"]
    assert got.status in ("pass", "n/a"), got


@pytest.mark.slow
@_needs("torch-caching-disk")
def test_torch_caching_disk_reads_are_not_blocked_by_the_adapter() -> None:
    """_OnDiskCacheImpl.get takes no lock and torch's interface calls it without impl.lock();
    a blocked read was the adapter's doing (it took impl.lock() around get until it was fixed),
    not torch's."""
    got = _verdict("torch-caching-disk", "SAFE-LOCK-FREE-READS")["SAFE-LOCK-FREE-READS"]
    assert got.status == "pass", got


_STALE_AS_MISS = '''
"""A torch-shaped on-disk cache that detects every corruption (length + sha256), atomically
publishes entries, and, like torch, treats an entry whose version header does not match (an
empty file included) as stale: it deletes it and reports a miss."""
import hashlib, os, pickle, tempfile
from pathlib import Path


class CacheError(ValueError):
    pass


class StaleAsMiss:
    version: int = 0
    base_dir = Path(tempfile.gettempdir()) / "stale-as-miss"  # settable, as torch's

    def _path(self, key):
        return Path(self.base_dir) / hashlib.sha256(repr((type(key), key)).encode()).hexdigest()

    def _header(self):
        return hashlib.sha256(str(type(self).version).encode()).digest()[:4]

    def get(self, key):
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if data[:4] != self._header():
            path.unlink(missing_ok=True)  # stale (or empty): removed, so the key is insertable
            return None
        digest, payload = data[4:36], data[36:]
        if hashlib.sha256(payload).digest() != digest:
            raise CacheError(f"corrupt entry for {key!r}")
        return pickle.loads(payload)

    def insert(self, key, value):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            payload = pickle.dumps(value)
        except Exception as err:
            raise CacheError(str(err)) from err
        if path.exists() and path.read_bytes()[:4] != self._header():
            path.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as fp:
            fp.write(self._header() + hashlib.sha256(payload).digest() + payload)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
'''


@pytest.mark.slow
def test_corruption_reported_as_a_miss_after_removing_the_entry_is_detection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch deletes an entry whose version header does not match and reports a miss; an empty
    entry file is such an entry. That is detection (nothing wrong is returned, the key heals),
    so DISK-CORRUPT-DETECTED must pass for a cache that does only that and checksums the rest."""
    (tmp_path / "stale_as_miss.py").write_text(textwrap.dedent(_STALE_AS_MISS))
    monkeypatch.syspath_prepend(str(tmp_path))
    got = _verdict("stale_as_miss:StaleAsMiss", "DISK-CORRUPT-DETECTED")["DISK-CORRUPT-DETECTED"]
    assert got.status == "pass", got


_SLOW_IN_PLACE = '''
"""A torch-shaped on-disk cache that, like torch's OnDiskCache, writes entries in place (no
temporary files), slowly, so a killed writer leaves its key's entry truncated; get detects that
(a length prefix) and raises CacheError."""
import hashlib, pickle, tempfile, time
from pathlib import Path

CHUNK = 1 << 16


class CacheError(ValueError):
    pass


class SlowInPlace:
    version: int = 0
    base_dir = Path(tempfile.gettempdir()) / "slow-in-place"

    def _path(self, key):
        return Path(self.base_dir) / hashlib.sha256(repr((type(key), key)).encode()).hexdigest()

    def get(self, key):
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        if len(data) < 8 or len(data) != 8 + int.from_bytes(data[:8], "big"):
            raise CacheError(f"truncated entry for {key!r}")
        return pickle.loads(data[8:])

    def insert(self, key, value):
        payload = pickle.dumps(value)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fp = open(path, "xb")
        except FileExistsError:
            return False
        with fp:
            fp.write(len(payload).to_bytes(8, "big"))
            for i in range(0, len(payload), CHUNK):
                fp.write(payload[i:i + CHUNK])
                fp.flush()
                time.sleep(0.002)
        return True
'''


@pytest.mark.slow
def test_truncated_entries_of_killed_writers_are_not_stray_temp_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache that writes in place leaves one truncated entry per interrupted key and no other
    file; that is CRASH-ATOMIC/CRASH-RECOVER's business, not temporary files accumulating."""
    (tmp_path / "slow_in_place.py").write_text(textwrap.dedent(_SLOW_IN_PLACE))
    monkeypatch.syspath_prepend(str(tmp_path))
    got = _verdict("slow_in_place:SlowInPlace", "CRASH-NO-STRAY-TEMP")["CRASH-NO-STRAY-TEMP"]
    assert got.status == "pass", got
