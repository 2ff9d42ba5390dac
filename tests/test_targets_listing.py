"""``cachespec targets`` lists built-ins from their declarations: no target (torch!) is imported
to list it, and the declared capabilities are the ones resolving reports."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from cachespec._cli import main
from cachespec.conformance import _targets, list_targets, resolve_target
from cachespec.conformance.adapters import Adapter
from cachespec.spec import TargetError
from cachespec.spec._limits import Limits


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


#: every package a built-in target wraps: listing must import none of them
TARGET_PACKAGES = ("torch", "diskcache", "cachelib", "sqlitedict", "lmdb", "redis")


def test_listing_targets_imports_no_target_package() -> None:
    code = ("import sys; from cachespec._cli import main; main(['targets']); "
            f"print('imported:', sorted(m for m in {TARGET_PACKAGES!r} if m in sys.modules))")
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


def _listed(capsys: pytest.CaptureFixture[str], name: str) -> str:
    """The line ``cachespec targets`` prints for ``name`` (name, capabilities or unavailable)."""
    assert main(["targets"]) == 0
    (line,) = [l for l in capsys.readouterr().out.splitlines() if l.split()[:1] == [name]]
    return line


def test_declared_limits_are_listed(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    # a made-up built-in: the real lmdb/redis adapters may not be installed or written yet
    for name, limits in (("fake-keyed", Limits(max_key_bytes=511)),
                         ("fake-both", Limits(max_key_bytes=511, max_value_bytes=512 << 20))):
        monkeypatch.setitem(_targets._BUILTINS, name, _targets._Builtin(
            "a made-up store with limits", _unresolvable, (), frozenset({"core"}), limits))
    assert _listed(capsys, "fake-keyed").split(None, 1)[1] == "core; limits: keys <= 511 B"
    assert _listed(capsys, "fake-both").endswith("core; limits: keys <= 511 B, values <= 512 MiB")
    (row,) = [r for r in list_targets() if r.name == "fake-keyed"]
    assert row.available and row.limits == Limits(max_key_bytes=511)
    # no limits, no "limits:" part
    assert "limits" not in _listed(capsys, "reference-disk")


NO_SERVER = "no redis-server binary on PATH; install it (apt-get install redis-server)"


class NoServerAdapter(Adapter):
    """An adapter whose store cannot run here: what ``unavailable()`` says must be listed."""

    error_type = OSError

    @classmethod
    def unavailable(cls) -> str | None:
        return NO_SERVER

    def create(self, storage: object) -> object:
        raise AssertionError("an unavailable adapter is never built")

    def get(self, native: object, key: object) -> object:
        raise AssertionError("an unavailable adapter is never built")

    def insert(self, native: object, key: object, value: object) -> bool:
        raise AssertionError("an unavailable adapter is never built")


def test_an_unavailable_adapter_is_listed_with_its_reason(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = f"{__name__}:{NoServerAdapter.__name__}"
    monkeypatch.setitem(_targets._BUILTINS, "fake-server", _targets._Builtin(
        "a made-up server-backed store", _targets._adapter_target(path), (),
        frozenset({"core"}), Limits(max_value_bytes=512 << 20), path))
    (row,) = [r for r in list_targets() if r.name == "fake-server"]
    assert not row.available and row.error == NO_SERVER
    assert _listed(capsys, "fake-server").split(None, 1)[1] == f"unavailable: {NO_SERVER}"
    with pytest.raises(TargetError, match="no redis-server binary on PATH"):
        resolve_target("fake-server")  # and a check of it says the same


def _unresolvable(name: str) -> object:
    raise AssertionError(f"listing {name!r} must not build it")


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    # `cachespec targets | head -1`; here the reader is gone before anything is written, so the
    # listing meets the closed pipe for certain
    proc = subprocess.Popen([sys.executable, "-m", "cachespec", "targets"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "internal error" not in err and "Exception" not in err, err
