"""The distribution: one top-level package, subpackages mapped from the top-level folders."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("reference", "spec", "conformance", "stress")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        # with build isolation, as `pip install` builds: a fresh venv's bundled setuptools cannot
        # build a wheel by itself (no bdist_wheel before setuptools 70.1)
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("cachespec-*.whl")
    return built


def test_wheel_installs_only_the_cachespec_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top_level == {"cachespec"}
    for sub in SUBPACKAGES:
        assert f"cachespec/{sub}/__init__.py" in names
        assert f"cachespec/{sub}/py.typed" in names
    assert "cachespec/py.typed" in names


def test_wheel_declares_console_script_and_pytest_plugin(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (entry_points,) = [n for n in zf.namelist() if n.endswith("entry_points.txt")]
        text = zf.read(entry_points).decode()
    assert "cachespec = cachespec._cli:main" in text
    assert "[pytest11]" in text and "cachespec.conformance.plugin" in text


def test_installed_wheel_imports_from_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    code = (
        "import cachespec, cachespec.reference as r, cachespec.spec, cachespec.conformance, cachespec.stress;"
        "print(r.__file__); import importlib.util as u;"
        "print([m for m in ('reference', 'spec', 'conformance', 'stress') if u.find_spec(m)])"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    file_line, leaked = done.stdout.splitlines()
    assert file_line.startswith(str(target))
    assert leaked == "[]"


def test_version_command() -> None:
    from cachespec import __version__

    done = subprocess.run([sys.executable, "-m", "cachespec", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == f"cachespec {__version__}"


def test_maintainer_tools_are_not_shipped(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "verdicts" in n or n.startswith("tools/")]
    done = subprocess.run([sys.executable, "-m", "cachespec", "verdicts"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "invalid choice: 'verdicts'" in done.stderr


def test_ci_runs_the_readme_test_command_in_a_fresh_venv() -> None:
    """CI is a fresh machine: a new venv in a temp dir, no system site-packages, and exactly
    the README's install and test commands (whatever they say, CI says)."""
    import re

    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    (command,) = [b.strip() for b in blocks if "pytest" in b and "pip install -e" in b]
    install, test = (part.strip() for part in command.split("&&"))
    script = (REPO / ".ci" / "run").read_text()
    lines = [line.strip() for line in script.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert "set -euo pipefail" in lines
    assert any(re.search(r"-m venv \"?\$venv\"?$", line) for line in lines)
    assert any("mktemp -d" in line for line in lines)
    assert "system-site-packages" not in script
    assert lines[-2:] == [install, test], lines[-2:]
    assert any(line.startswith("source") and "activate" in line for line in lines)
