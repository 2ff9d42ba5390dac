"""Target resolution: built-in names, module:Class inference, adapters, entry points, errors."""

from __future__ import annotations

import importlib.util
import sys
import threading
from functools import cached_property
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from cachespec.conformance import (
    ASYNC, CORE, ENV_LOADER, FILE_LOADER, FILES, LOCK, PERSISTENT, PROCESSES, RICH_VALUES,
    THREADS, TYPED_KEYS, VERSION, Adapter, Target, TargetError, list_targets, resolve_target,
)
from cachespec.conformance import _targets
from cachespec.conformance._torchshaped import TorchShapedTarget, infer_capabilities

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
DISK_CAPS = {CORE, ASYNC, PERSISTENT, PROCESSES, VERSION, LOCK, FILES, THREADS, TYPED_KEYS,
             RICH_VALUES}


# -- torch-shaped classes defined here, resolved as tests.test_targets:Class ---------------------
class CacheError(ValueError):
    pass


class PlainDict:
    """No lock: makes no thread-safety claim."""

    def __init__(self) -> None:
        self.d: dict = {}

    def get(self, key):
        return self.d.get(key)

    def insert(self, key, value):
        return self.d.setdefault(key, value) is value


class Locked(PlainDict):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()


class ReadOnlyBaseDir(PlainDict):
    @property
    def base_dir(self) -> Path:
        return Path("/tmp")


class Declared(PlainDict):
    cachespec_capabilities = ("typed-keys",)


class Misdeclared(PlainDict):
    cachespec_capabilities = ("teleport",)


# -- built-ins -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["reference-memory", "reference-disk", "reference-inductor-disk"])
def test_reference_targets_resolve_with_torch_shaped_capabilities(name: str, tmp_path: Path) -> None:
    target = resolve_target(name)
    assert isinstance(target, Target) and target.name == name
    assert target.error_type.__name__ == "CacheError"
    if name == "reference-memory":
        assert set(target.capabilities) == {CORE, ENV_LOADER, FILE_LOADER, THREADS, TYPED_KEYS,
                                            RICH_VALUES}
    else:
        assert set(target.capabilities) == DISK_CAPS
        assert target.open(tmp_path).storage == tmp_path


@needs_torch
def test_torch_targets_capabilities() -> None:
    caps = {name: set(resolve_target(name).capabilities)
            for name in ("torch-memory", "torch-disk", "torch-caching-memory", "torch-caching-disk")}
    assert caps["torch-memory"] == {CORE, ENV_LOADER, FILE_LOADER, THREADS, TYPED_KEYS, RICH_VALUES}
    assert caps["torch-disk"] == DISK_CAPS
    assert caps["torch-caching-memory"] == {CORE, THREADS, RICH_VALUES}
    assert caps["torch-caching-disk"] == {CORE, PERSISTENT, PROCESSES, VERSION, LOCK, FILES, THREADS}


@needs_torch
def test_torch_disk_each_open_uses_its_own_dir_and_reopen_shares_it(tmp_path: Path) -> None:
    target = resolve_target("torch-disk")
    a, b = target.open(tmp_path / "a"), target.open(tmp_path / "b")
    assert a.insert(("k", 1), {"v": [1]}) is True
    assert a.insert(("k", 1), "other") is False
    assert b.get(("k", 1)) is None
    assert a.reopen().get(("k", 1)) == {"v": [1]}
    files = list(a.entry_files())
    assert len(files) == 1 and files[0].parent == tmp_path / "a"
    with a.lock_for(("k", 1)):
        pass
    import torch._inductor.cache as tc

    assert target.error_type is tc.CacheError


@needs_torch
def test_version_bump_patches_every_class_of_the_mro_that_defines_it(tmp_path: Path) -> None:
    import torch._inductor.cache as tc

    target = resolve_target("torch._inductor.cache:InductorOnDiskCache")
    subject = target.open(tmp_path)
    subject.insert("k", 1)
    try:
        target.set_version(7)
        # torch reads OnDiskCache.version by name: the base class must be patched too
        assert tc.OnDiskCache.version == 7 and target.get_version() == 7
        assert subject.get("k") is None
    finally:
        target.set_version(0)
    assert tc.OnDiskCache.version == 0


@needs_torch
def test_torch_caching_disk_adapter_stores_bytes_under_the_test_dir(tmp_path: Path) -> None:
    target = resolve_target("torch-caching-disk")
    s = target.open(tmp_path)
    assert s.get("k") is None
    assert s.insert("k", b"v1") is True and s.insert("k", b"v2") is False
    assert s.reopen().get("k") == b"v1"  # the Hit wrapper is unwrapped
    assert [p.name for p in s.entry_files()] == ["k"]
    old = target.get_version()
    try:
        target.set_version(old + 1)
        assert s.get("k") is None
    finally:
        target.set_version(old)


@needs_torch
def test_torch_caching_memory_adapter_unwraps_hits(tmp_path: Path) -> None:
    s = resolve_target("torch-caching-memory").open(tmp_path)
    assert s.insert("k", [1, 2]) is True and s.insert("k", 3) is False
    assert s.get("k") == [1, 2] and s.get("absent") is None


def test_diskcache_adapter_add_is_write_once(tmp_path: Path) -> None:
    pytest.importorskip("diskcache")
    s = resolve_target("diskcache").open(tmp_path)
    assert s.insert((1, "a"), {"x": 1}) is True
    assert s.insert((1, "a"), "other") is False
    assert s.reopen().get((1, "a")) == {"x": 1}
    s.close()


# -- module:Class inference --------------------------------------------------------------------
def test_module_class_resolves_and_round_trips_by_name() -> None:
    name = f"{__name__}:Locked"
    target = resolve_target(name)
    assert target.name == name and resolve_target(target.name).name == name
    assert target.error_type is CacheError  # the CacheError of the defining module


def test_threads_inferred_from_a_held_lock_only() -> None:
    assert THREADS in resolve_target(f"{__name__}:Locked").capabilities
    assert THREADS not in resolve_target(f"{__name__}:PlainDict").capabilities
    assert {TYPED_KEYS, RICH_VALUES} <= resolve_target(f"{__name__}:PlainDict").capabilities


def test_read_only_base_dir_is_not_persistent() -> None:
    caps = resolve_target(f"{__name__}:ReadOnlyBaseDir").capabilities
    assert PERSISTENT not in caps and FILES not in caps


def test_cached_property_base_dir_and_int_version_make_a_disk_target(tmp_path: Path) -> None:
    class Disk(PlainDict):
        version = 3

        @cached_property
        def base_dir(self) -> Path:
            return Path("/nonexistent")

        def lock_path(self, key) -> Path:
            return self.base_dir / "locks" / "x.lock"

    caps = infer_capabilities(Disk, Disk())
    assert {PERSISTENT, PROCESSES, FILES, VERSION, LOCK, THREADS} <= caps
    subject = TorchShapedTarget("x:Disk", Disk).open(tmp_path)
    assert subject.native.base_dir == tmp_path


def test_declared_capabilities_override_inference() -> None:
    assert set(resolve_target(f"{__name__}:Declared").capabilities) == {CORE, TYPED_KEYS}
    with pytest.raises(TargetError, match="unknown capabilities"):
        resolve_target(f"{__name__}:Misdeclared")


def test_adapter_subclass_named_as_module_class(tmp_path: Path) -> None:
    target = resolve_target(f"{__name__}:DictAdapter")
    assert isinstance(target, DictAdapter) and target.name == f"{__name__}:DictAdapter"
    s = target.open(tmp_path)
    assert s.insert("k", b"1") and s.get("k") == b"1"
    with pytest.raises(NotImplementedError):
        s.get_async("k", None)  # type: ignore[arg-type]


class DictAdapter(Adapter):
    capabilities = frozenset({CORE})
    error_type = CacheError

    def create(self, storage):
        return {}

    def get(self, native, key):
        return native.get(key)

    def insert(self, native, key, value):
        return native.setdefault(key, value) is value


# -- errors: one line that says what to do ------------------------------------------------------
@pytest.mark.parametrize(("name", "hint"), [
    ("no-such-target", "unknown target"),
    ("nosuchmodule_xyz:Cache", "cannot import module"),
    (f"{__name__}:Missing", "has no attribute"),
    ("collections:OrderedDict", "not cache-shaped"),
    ("os:path", "not a class"),
    (f"{__name__}:CacheError", "not cache-shaped"),
    ("_conformance_fakes:FAKE_SPEC", "not a class"),
])
def test_bad_names_raise_one_line_target_errors(name: str, hint: str) -> None:
    with pytest.raises(TargetError) as info:
        resolve_target(name)
    message = str(info.value)
    assert hint in message and "\n" not in message


def test_class_needing_constructor_arguments_is_rejected(tmp_path: Path, monkeypatch) -> None:
    from _conformance_fakes import write_fakes

    write_fakes(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TargetError, match="constructor arguments.*Adapter"):
        resolve_target("fakecaches:NeedsArgs")


def test_broken_module_import_is_reported_not_raised(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TargetError, match="RuntimeError: boom"):
        resolve_target("explodes_on_import:Cache")


# -- entry points and the listing -----------------------------------------------------------------
def test_entry_points_register_targets_and_broken_ones_are_listed_unavailable(monkeypatch) -> None:
    eps = {
        "ep-class": EntryPoint("ep-class", f"{__name__}:Locked", _targets.ENTRY_POINT_GROUP),
        "ep-adapter": EntryPoint("ep-adapter", f"{__name__}:DictAdapter", _targets.ENTRY_POINT_GROUP),
        "ep-broken": EntryPoint("ep-broken", "nosuchmodule_xyz:Cache", _targets.ENTRY_POINT_GROUP),
    }
    monkeypatch.setattr(_targets, "_entry_points", lambda: eps)
    assert resolve_target("ep-class").name == "ep-class"
    assert THREADS in resolve_target("ep-class").capabilities
    assert isinstance(resolve_target("ep-adapter"), DictAdapter)
    with pytest.raises(TargetError, match="failed to load"):
        resolve_target("ep-broken")
    rows = {row.name: row for row in list_targets()}
    assert set(_targets.BUILTIN_TARGETS) <= set(rows)
    assert rows["ep-class"].available and THREADS in rows["ep-class"].capabilities
    assert not rows["ep-broken"].available and "nosuchmodule_xyz" in (rows["ep-broken"].error or "")


def test_unavailable_builtin_is_listed_with_its_reason(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "diskcache", None)  # import diskcache -> ImportError
    rows = {row.name: row for row in list_targets()}
    assert not rows["diskcache"].available
    assert "diskcache" in (rows["diskcache"].error or "") and "pip install" in rows["diskcache"].error
    with pytest.raises(TargetError, match="unavailable"):
        resolve_target("diskcache")
