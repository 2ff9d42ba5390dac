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
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
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
