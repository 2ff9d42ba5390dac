"""The ``torch-local-backend`` target: torch's ``LocalCacheBackend`` through its adapter.

Cheap unit tests of the adapter (one torch import per test process). The fresh quick check
against the published verdict is tests/test_verdicts.py's (a soak: the target is HEAVY).
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from cachespec.conformance import _targets, resolve_target
from cachespec.conformance.adapters.torch_remote import SUFFIX, entry_path

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="torch is not installed")


def test_entry_path_is_torchs_digest_named_file_under_storage(tmp_path: Path) -> None:
    digest = hashlib.sha256("k\u00e9y".encode()).hexdigest()
    assert entry_path(tmp_path, "k\u00e9y") == str(tmp_path / digest[:2] / (digest + SUFFIX))
    # keys that would be hostile file names stay one file inside the storage directory
    for key in ("../x", "/etc/passwd", "a" * 400, "", "\x00", "\ud800"):
        path = Path(entry_path(tmp_path, key))
        assert path.parent.parent == tmp_path and len(path.name) == 64 + len(SUFFIX)
    assert entry_path(tmp_path, "a") != entry_path(tmp_path, "b")


def test_adapter_module_does_not_import_torch() -> None:
    code = ("import sys; import cachespec.conformance.adapters.torch_remote as m; "
            "print(m.LocalBackendAdapter.unavailable(), 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "False"]


@needs_torch
def test_put_get_through_the_adapter(tmp_path: Path) -> None:
    target = resolve_target("torch-local-backend")
    assert target.error_type is OSError
    assert frozenset(target.capabilities) == _targets._BUILTINS["torch-local-backend"].capabilities
    with target.open(tmp_path) as cache:
        assert cache.get("k") is None
        assert cache.insert("k", b"first") is True
        assert cache.get("k") == b"first"
        assert Path(entry_path(tmp_path, "k")).read_bytes() == b"first"
        # put overwrites, and insert cannot tell: True again, the second value wins (by design)
        assert cache.insert("k", b"second") is True
        assert cache.get("k") == b"second"
        assert cache.insert("empty", b"") is True and cache.get("empty") == b""
        assert sorted(p.name for p in cache.entry_files()) == sorted(
            Path(entry_path(tmp_path, k)).name for k in ("k", "empty"))
        with target.open(tmp_path) as other:  # persistent: a second instance reads the files
            assert other.get("k") == b"second"


@needs_torch
def test_a_failed_insert_raises_the_declared_error_type(tmp_path: Path) -> None:
    target = resolve_target("torch-local-backend")
    blocker = tmp_path / "store"
    blocker.write_bytes(b"")  # a file where the storage directory's sub-directory must go
    cache = target.open(tmp_path)
    cache.native.storage = blocker  # every entry path now lies under a regular file
    with pytest.raises(target.error_type):
        cache.insert("k", b"v")
    with pytest.raises(target.error_type):
        cache.get("k")
