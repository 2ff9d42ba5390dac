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
from _conformance_fakes import fake_env, write_fakes


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fakes(tmp_path_factory.mktemp("fakes"))


def cachespec(fakes: Path, *args: str, cwd: Path | None = None,
              spec: str | None = "fakespec") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cachespec", *args], capture_output=True,
                          text=True, env=fake_env(fakes, spec), cwd=cwd or fakes, timeout=300)


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
    assert out.returncode == 0 and out.stdout.startswith("# Fake spec")
    assert "`CORE-INSERT-ONCE` (MUST)" in out.stdout


def test_progress_lines_only_on_a_tty(fakes: Path) -> None:
    piped = cachespec(fakes, "check", "fakecaches:Good", "--profile", "quick", "--level", "must")
    assert "fakecaches:Good: CORE-GET-MISS pass" not in piped.stdout
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "cachespec", "check", "fakecaches:Good",
                             "--profile", "quick", "--level", "must"],
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
