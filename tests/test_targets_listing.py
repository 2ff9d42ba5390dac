"""``cachespec targets`` lists built-ins from their declarations: no target (torch!) is imported
to list it, and the declared capabilities are the ones resolving reports."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from cachespec.conformance import _targets, list_targets, resolve_target


@pytest.mark.parametrize("name", _targets.BUILTIN_TARGETS)
def test_declared_capabilities_are_what_resolving_reports(name: str) -> None:
    declared = _targets._BUILTINS[name]
    if any(importlib.util.find_spec(m) is None for m in declared.needs):
        pytest.skip(f"{', '.join(declared.needs)} not installed")
    if declared.path:  # e.g. redis without a redis-server binary: listed unavailable instead
        reason = _targets._import_builtin(declared.path, name).unavailable()
        if reason:
            pytest.skip(reason)
    assert frozenset(resolve_target(name).capabilities) == declared.capabilities
    (row,) = [r for r in list_targets() if r.name == name]
    assert row.available and row.capabilities == declared.capabilities


def test_listing_targets_imports_no_target_package() -> None:
    code = ("import sys; from cachespec._cli import main; main(['targets']); "
            "print('imported:', sorted(m for m in ('torch', 'diskcache') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "imported: []"
    assert "torch-disk" in done.stdout
    assert done.stderr == ""  # no torch import warnings either


def test_a_missing_package_is_found_without_importing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else object())
    rows = {r.name: r for r in list_targets()}
    for name in ("torch-memory", "torch-disk", "torch-caching-memory", "torch-caching-disk"):
        assert not rows[name].available and "cachespec[torch]" in (rows[name].error or "")
    assert rows["reference-disk"].available and rows["diskcache"].available
