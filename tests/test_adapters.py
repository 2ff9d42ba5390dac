"""Adapter misuse is caught where it is written: a missing operation or a capability without its
hook when the class is defined, a missing error type when it is built; torch-shaped classes
need a findable error type too, and a constructor that raises gets one hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cachespec.conformance import (
    CORE, ENV_LOADER, FILE_LOADER, LOCK, VERSION, Adapter, TargetError, resolve_target,
)
from cachespec.conformance._torchshaped import find_error_type


class StoreError(Exception):
    pass


def _core(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "create": lambda self, storage: {},
        "get": lambda self, native, key: native.get(key),
        "insert": lambda self, native, key, value: native.setdefault(key, value) is value,
        "error_type": StoreError,
    }
    body.update(extra)
    return body


def define(name: str, caps: set[str], base: type = Adapter, **body: Any) -> type:
    return type(name, (base,), {"capabilities": frozenset(caps | {CORE}), **body})


# -- at definition: TypeError naming the method to write ---------------------------------------
@pytest.mark.parametrize("missing", ["create", "get", "insert"])
def test_a_missing_core_operation_is_named_at_definition(missing: str) -> None:
    body = _core()
    del body[missing]
    with pytest.raises(TypeError, match=rf"must define {missing}\(self, "):
        define("Partial", set(), **body)


@pytest.mark.parametrize(("cap", "hooks"), [
    (LOCK, ["lock_for"]),
    (VERSION, ["get_version", "set_version"]),
    (ENV_LOADER, ["load_env_var"]),
    (FILE_LOADER, ["load_file_path"]),
])
def test_a_capability_without_its_hook_is_named_at_definition(cap: str, hooks: list[str]
                                                              ) -> None:
    with pytest.raises(TypeError) as info:
        define("Claims", {cap}, **_core())
    message = str(info.value)
    assert f"claims the {cap!r} capability" in message
    assert all(h in message for h in hooks) and "has no" not in message


def test_only_the_missing_hook_of_a_pair_is_named() -> None:
    with pytest.raises(TypeError, match="does not define set_version;"):
        define("HalfVersion", {VERSION}, **_core(get_version=lambda self: 0))


def test_a_complete_adapter_and_an_abstract_base_are_accepted(tmp_path: Path) -> None:
    class Base(Adapter, abstract=True):
        def create(self, storage: Any) -> Any:
            return {}

    class Locked(Base):
        capabilities = frozenset({CORE, LOCK})
        error_type = StoreError

        def get(self, native: Any, key: Any) -> Any:
            return native.get(key)

        def insert(self, native: Any, key: Any, value: Any) -> bool:
            return native.setdefault(key, value) is value

        def lock_for(self, native: Any, key: Any) -> Any:
            import threading

            return threading.Lock()

    s = Locked("locked").open(tmp_path)
    assert s.insert("k", b"v") and s.get("k") == b"v"
    with s.lock_for("k"):
        pass


# -- when built: TargetError (the CLI's exit 2) ------------------------------------------------
class NoErrorType(Adapter):
    def create(self, storage: Any) -> Any:
        return {}

    def get(self, native: Any, key: Any) -> Any:
        return native.get(key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        return native.setdefault(key, value) is value


def test_an_adapter_without_error_type_is_a_usage_error() -> None:
    with pytest.raises(TargetError, match="sets no error_type; set error_type = ") as info:
        resolve_target(f"{__name__}:NoErrorType")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bad", [Exception, BaseException, "CacheError", KeyError()])
def test_an_error_type_that_cannot_fail_or_is_not_a_class_is_refused(bad: Any) -> None:
    cls = define("Bad", set(), **_core(error_type=bad))
    with pytest.raises(TargetError, match="error_type is"):
        cls("bad")


def test_capabilities_set_in_init_are_checked_when_built() -> None:
    class Late(Adapter):
        error_type = StoreError
        create = _core()["create"]
        get = _core()["get"]
        insert = _core()["insert"]

        def __init__(self, name: str | None = None) -> None:
            super().__init__(name)
            self.capabilities = frozenset({CORE, LOCK})

    with pytest.raises(TargetError, match="does not define lock_for"):
        Late("late")


def test_builtin_adapters_declare_their_error_types() -> None:
    pytest.importorskip("diskcache")
    import diskcache

    assert resolve_target("diskcache").error_type is diskcache.Timeout


# -- torch-shaped classes ----------------------------------------------------------------------
class NoCacheErrorAnywhere:
    """A cache class in a module (this one) that defines no CacheError."""

    def get(self, key: Any) -> Any:
        return None

    def insert(self, key: Any, value: Any) -> bool:
        return True


class DeclaresItsError(NoCacheErrorAnywhere):
    cachespec_error_type = StoreError


class RaisingConstructor(DeclaresItsError):
    def __init__(self) -> None:
        raise RuntimeError("no config file")


def test_torch_shaped_class_without_a_findable_error_type_is_a_usage_error() -> None:
    with pytest.raises(TargetError, match="cachespec_error_type = ") as info:
        resolve_target(f"{__name__}:NoCacheErrorAnywhere")
    assert "\n" not in str(info.value) and "no CacheError in" in str(info.value)


def test_cachespec_error_type_names_the_error_type() -> None:
    assert find_error_type(DeclaresItsError) is StoreError
    assert resolve_target(f"{__name__}:DeclaresItsError").error_type is StoreError


def test_a_constructor_that_raises_gets_one_hint() -> None:
    with pytest.raises(TargetError) as info:
        resolve_target(f"{__name__}:RaisingConstructor")
    message = str(info.value)
    assert "RuntimeError: no config file" in message
    assert message.count(";") == 1 and "no arguments" not in message
    assert "fix what its constructor raises" in message


def test_cli_check_exits_2_with_one_line_for_a_missing_error_type(tmp_path: Path) -> None:
    (tmp_path / "noerr.py").write_text(
        "class Cache:\n"
        "    def get(self, key):\n        return None\n"
        "    def insert(self, key, value):\n        return True\n")
    cli = Path(sys.executable).with_name("cachespec")
    proc = subprocess.run([str(cli), "check", "noerr:Cache", "--profile", "quick"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cachespec_error_type" in lines[0]


# -- FILES: proved by a probe or declared by an entry_files hook, never claimed alone ----------
class _OneDatabase:
    """Every entry in one file (a stand-in for a database)."""

    def __init__(self, storage: Path) -> None:
        self.path = storage / "all.db"

    def get(self, key: str) -> Any:
        import json

        return json.loads(self.path.read_text()).get(key) if self.path.exists() else None

    def insert(self, key: str, value: Any) -> bool:
        import json

        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        if key in data:
            return False
        data[key] = value.decode() if isinstance(value, bytes) else value
        self.path.write_text(json.dumps(data))
        return True


def _files_adapter(**extra: Any) -> type:
    from cachespec.conformance import FILES, PERSISTENT

    return define("OneDb", {PERSISTENT, FILES}, **_core(
        create=lambda self, storage: _OneDatabase(storage),
        get=lambda self, native, key: native.get(key),
        insert=lambda self, native, key, value: native.insert(key, value), **extra))


def test_files_claimed_without_proof_is_dropped() -> None:
    from cachespec.conformance import FILES, PERSISTENT

    caps = _files_adapter()("one-db").capabilities
    assert FILES not in caps and PERSISTENT in caps


def test_files_declared_by_an_entry_files_hook_is_kept() -> None:
    from cachespec.conformance import FILES

    hook = lambda self, native, storage: iter([native.path])  # noqa: E731
    assert FILES in _files_adapter(entry_files=hook)("one-db").capabilities


class DeclaresNonsense(NoCacheErrorAnywhere):
    cachespec_error_type = "CacheError"


def test_a_cachespec_error_type_that_is_not_an_exception_class_is_refused() -> None:
    with pytest.raises(TargetError, match="cachespec_error_type is 'CacheError'"):
        resolve_target(f"{__name__}:DeclaresNonsense")
