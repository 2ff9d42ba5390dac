"""The README's example commands, run as written from examples/ (quick profile): their exit
codes and what they print are what the README promises.

The commands are read from the README's "Runnable example" block, so the README and this test
cannot drift apart.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def readme_commands() -> list[list[str]]:
    """The ``$ ...`` lines of the README's console block that starts with ``cd examples``."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```console\n(.*?)```", text, re.S)
    (block,) = [b for b in blocks if "$ cd examples" in b]
    lines = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    assert lines[0] == "cd examples"
    return [shlex.split(line) for line in lines[1:]]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
           "PYTEST_ADDOPTS": "-p no:cacheprovider"}  # leave nothing behind in examples/
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    if argv[0] == "pytest":  # this interpreter's pytest, wherever its script was installed
        argv = [sys.executable, "-m", "pytest", *argv[1:]]
    return subprocess.run(argv, cwd=EXAMPLES, env=env, capture_output=True, text=True,
                          timeout=900)


def _rows(output: str, target: str) -> dict[str, str]:
    """clause id -> result of ``target``'s table in ``cachespec check`` output."""
    section = output.split(f"== {target} ", 1)[1].split("\n== ", 1)[0]
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^   ([A-Z]+(?:-[A-Z0-9]+)+)\s+(?:MUST|SHOULD)\s+(\S+)", section, re.M)}


def test_the_readme_lists_the_three_example_commands() -> None:
    assert readme_commands() == [
        ["cachespec", "check", "tiny_cache:TinyCache", "tiny_cache:OverwritingCache",
         "--profile", "quick"],
        ["pytest", "--cachespec-target", "tiny_cache:TinyCache", "--cachespec-profile", "quick"],
        ["pytest", "test_tiny_cache_conformance.py"],
    ]


@pytest.mark.slow
def test_check_passes_tiny_cache_and_catches_the_overwriting_variant() -> None:
    done = _run(readme_commands()[0])
    out = done.stdout
    assert done.returncode == 1, out + done.stderr  # OverwritingCache is broken on purpose
    tiny = _rows(out, "tiny_cache:TinyCache")
    broken = _rows(out, "tiny_cache:OverwritingCache")
    assert tiny and not {c: r for c, r in tiny.items() if r == "FAIL"}, out
    assert broken["CORE-INSERT-NO-OVERWRITE"] == "FAIL", out


@pytest.mark.slow
def test_tiny_cache_has_no_undecided_clause() -> None:
    """TinyCache is correct: every clause that applies is judged and passes (the README's
    promise that the correct example is green)."""
    done = _run(["cachespec", "check", "tiny_cache:TinyCache", "--profile", "quick"])
    rows = _rows(done.stdout, "tiny_cache:TinyCache")
    assert {c: r for c, r in rows.items() if r not in ("pass", "n/a")} == {}, done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.parametrize("which", [1, 2], ids=["plugin", "conformance-class"])
def test_pytest_example_commands_pass(which: int) -> None:
    done = _run(readme_commands()[which])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout[-2000:]
    assert " failed" not in done.stdout.splitlines()[-1]
