"""`cachespec check / targets / spec` as a user runs them: exit codes, one-line errors, reports."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _conformance_fakes import cli_argv, fake_env, write_fakes


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fakes(tmp_path_factory.mktemp("fakes"))


def cachespec(fakes: Path, *args: str, cwd: Path | None = None,
              fake_spec: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli_argv(*args, fake_spec=fake_spec), capture_output=True,
                          text=True, env=fake_env(fakes), cwd=cwd or fakes, timeout=300)


def test_broken_target_fails_with_error_and_counterexample(fakes: Path, tmp_path: Path) -> None:
    out = cachespec(fakes, "check", "fakecaches:Overwrites", "--profile", "quick",
                    "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"),
                    "--markdown", str(tmp_path / "r.md"))
    assert out.returncode == 1, out.stderr
    assert "CORE-INSERT-ONCE  MUST    FAIL" in out.stdout
    assert "insert('k', 1); insert('k', 2); get('k')" in out.stdout
    assert "CORE-GET-MISS     MUST    pass" in out.stdout
    assert "DISK-REOPEN       MUST    n/a" in out.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    (target,) = data["targets"]
    assert target["target"] == "fakecaches:Overwrites"
    assert all(isinstance(c, str) for c in target["capabilities"])
    for clause in target["clauses"]:
        assert clause["level"] in ("MUST", "SHOULD")
        assert clause["status"] in ("pass", "fail", "n/a", "undecided")
        assert clause["error"] is None or isinstance(clause["error"], str)
        assert clause["counterexample"] is None or isinstance(clause["counterexample"], str)
        assert isinstance(clause["seconds"], float)
        if clause["status"] == "n/a":
            assert clause["error"] is None  # n/a is neither a pass nor a failure
    statuses = {c["id"]: c["status"] for c in target["clauses"]}
    assert statuses["DISK-REOPEN"] == "n/a" and statuses["CORE-INSERT-ONCE"] == "fail"
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "r.xml").getroot().iter("testcase")}
    assert cases["CORE-INSERT-ONCE"].find("failure") is not None
    assert cases["DISK-REOPEN"].find("skipped") is not None
    assert "**FAIL**" in (tmp_path / "r.md").read_text()


def test_exit_code_counts_the_chosen_level(fakes: Path) -> None:
    # Good fails only SAFE-UNCHECKED, a SHOULD clause no check covers
    should = cachespec(fakes, "check", "fakecaches:Good", "--profile", "quick")
    assert should.returncode == 1 and "SAFE-UNCHECKED" in should.stdout
    must = cachespec(fakes, "check", "fakecaches:Good", "--profile", "quick", "--level", "must")
    assert must.returncode == 0, must.stdout + must.stderr
    assert "SAFE-UNCHECKED" not in must.stdout


def test_no_target_checks_the_reference_targets(fakes: Path, tmp_path: Path) -> None:
    out = cachespec(fakes, "check", "--profile", "quick", "--clause", "CORE-GET-MISS",
                    "--json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    targets = json.loads((tmp_path / "r.json").read_text())["targets"]
    assert [t["target"] for t in targets] == [
        "reference-memory", "reference-disk", "reference-inductor-disk"]
    assert all(t["clauses"][0]["status"] == "pass" for t in targets)


def test_clause_filter(fakes: Path, tmp_path: Path) -> None:
    out = cachespec(fakes, "check", "fakecaches:Overwrites", "--profile", "quick",
                    "--clause", "CORE-GET-MISS", "--json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    (target,) = json.loads((tmp_path / "r.json").read_text())["targets"]
    assert [c["id"] for c in target["clauses"]] == ["CORE-GET-MISS"]


def test_hanging_target_is_reported_not_waited_for(fakes: Path) -> None:
    out = cachespec(fakes, "check", "fakecaches:Hangs", "--profile", "quick", "--timeout", "2")
    assert out.returncode == 1
    assert "timed out after 2 s without progress (deadlock or livelock?)" in out.stdout


@pytest.mark.parametrize(("args", "hint"), [
    (["check", "no-such-target"], "unknown target"),
    (["check", "nosuchmodule_xyz:Cache"], "cannot import module"),
    (["check", "fakecaches:Nope"], "has no attribute"),
    (["check", "collections:OrderedDict"], "not cache-shaped"),
    (["check", "fakecaches:NeedsArgs"], "constructor arguments"),
    (["check", "fakecaches:Good", "--clause", "NOPE-*"], "no clause matches"),
    (["check", "fakecaches:Good", "--json", "/nonexistent-dir/r.json"], "does not exist"),
    (["check", "fakecaches:Good", "--timeout", "0"], "--timeout"),
    (["check", "fakecaches:Good", "--profile", "fast"], "unknown profile 'fast'"),
    (["check", "fakecaches:Configurable(True)"], "keyword arguments"),
    (["check", "fakecaches:Configurable(overwrite=open)"], "not a Python literal"),
])
def test_usage_errors_exit_2_with_one_line(fakes: Path, args: list[str], hint: str) -> None:
    out = cachespec(fakes, *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and hint in lines[0], out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_targets_lists_builtins_with_capabilities(fakes: Path) -> None:
    out = cachespec(fakes, "targets")
    assert out.returncode == 0, out.stderr
    for name in ("reference-memory", "reference-disk", "reference-inductor-disk", "torch-memory",
                 "torch-disk", "torch-caching-memory", "torch-caching-disk", "diskcache"):
        assert any(line.startswith(name + " ") for line in out.stdout.splitlines()), name
    assert "persistent" in out.stdout


def test_spec_prints_the_rendered_spec(fakes: Path) -> None:
    out = cachespec(fakes, "spec")
    assert out.returncode == 0 and out.stdout.startswith("# Fake spec"), out.stderr
    assert "`CORE-INSERT-ONCE` (MUST)" in out.stdout


def test_a_log_gets_a_header_and_one_line_per_check(fakes: Path) -> None:
    piped = cachespec(fakes, "check", "fakecaches:Overwrites", "fakecaches:Good", "--profile",
                      "quick", "--level", "must")
    lines = piped.stdout.splitlines()
    assert lines[0] == ("cachespec check: 2 target(s): fakecaches:Overwrites, fakecaches:Good; "
                        "profile quick; level must (MUST clauses)")
    checks = [line for line in lines if ": check " in line]
    # the MUST clauses of the fake spec are covered by checks core and reopen; reopen needs
    # persistence, which neither target has
    assert [line.split(" finished")[0] for line in checks] == [
        "fakecaches:Overwrites: check core", "fakecaches:Good: check core"]
    assert "2 failed (CORE-INSERT-ONCE, CORE-SECOND)" in checks[0]
    assert "failed" not in checks[1]
    # the per-clause lines are for a terminal
    assert "fakecaches:Good: CORE-GET-MISS pass" not in piped.stdout


def test_progress_lines_on_a_tty(fakes: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(cli_argv("check", "fakecaches:Good", "--profile", "quick",
                                     "--level", "must"),
                            stdout=slave, stderr=subprocess.DEVNULL, env=fake_env(fakes),
                            cwd=fakes)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=300) == 0
    os.close(master)
    text = b"".join(chunks).decode(errors="replace")
    assert "fakecaches:Good: CORE-GET-MISS pass" in text


def test_constructor_arguments_travel_in_the_target_name(fakes: Path, tmp_path: Path) -> None:
    out = cachespec(fakes, "check", "fakecaches:Configurable(overwrite=True)",
                    "fakecaches:Configurable(label='x', overwrite=False)", "--profile", "quick",
                    "--clause", "CORE-INSERT-ONCE", "--json", str(tmp_path / "r.json"))
    assert out.returncode == 1, out.stdout + out.stderr
    targets = json.loads((tmp_path / "r.json").read_text())["targets"]
    # the worker rebuilt each target with its own arguments
    assert {t["target"]: t["clauses"][0]["status"] for t in targets} == {
        "fakecaches:Configurable(overwrite=True)": "fail",
        "fakecaches:Configurable(label='x', overwrite=False)": "pass"}


def test_output_and_reports_never_show_reproduce_failure(fakes: Path, tmp_path: Path) -> None:
    out = cachespec(fakes, "check", "fakecaches:Overwrites", "--profile", "quick",
                    "--clause", "CORE-INSERT-ONCE", "--json", str(tmp_path / "r.json"),
                    "--markdown", str(tmp_path / "r.md"), "--junit", str(tmp_path / "r.xml"))
    assert out.returncode == 1
    assert "insert('k', 1); insert('k', 2); get('k')" in out.stdout  # the counterexample stays
    for text in (out.stdout, out.stderr, *(p.read_text() for p in tmp_path.iterdir())):
        assert "reproduce_failure" not in text and "You can reproduce" not in text


def test_notes_are_shown_beside_the_verdict(fakes: Path, tmp_path: Path) -> None:
    out = cachespec(fakes, "check", "fakecaches:Good", "--profile", "quick", "--clause",
                    "CORE-GET-MISS", "--json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "note: looked up one absent str key" in out.stdout
    (target,) = json.loads((tmp_path / "r.json").read_text())["targets"]
    assert target["clauses"][0]["note"] == "looked up one absent str key"


def test_an_internal_error_during_a_run_exits_3_with_its_cause(
        fakes: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from cachespec._cli import main
    from cachespec.conformance import _engine, _session

    monkeypatch.syspath_prepend(str(fakes))
    monkeypatch.setattr(_engine, "DEFAULT_SPEC", "fakespec")

    def garbling_worker(target: str, profile: str, spec: str, fd: int, workroot: Path
                        ) -> list[str]:  # a worker that breaks the protocol
        return [sys.executable, "-c", f"import os, time; os.write({fd}, b'not json\\n'); "
                                      "time.sleep(60)"]

    monkeypatch.setattr(_session, "worker_command", garbling_worker)
    code = main(["check", "fakecaches:Good", "--profile", "quick"])
    err = capsys.readouterr().err
    assert code == 3
    last = err.strip().splitlines()[-1]
    assert last.startswith("cachespec check: internal error: WorkerProtocolError:")
    assert "not a JSON event" in last and "usage error" not in err


def test_level_is_case_insensitive(fakes: Path) -> None:
    out = cachespec(fakes, "check", "fakecaches:Good", "--profile", "quick", "--level", "MUST",
                    "--clause", "CORE-GET-MISS")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "level must (MUST clauses)" in out.stdout
