"""The cachelib targets: each builds the FileSystemCache its docstring names (write-once: no
pruning, no expiry; defaults: cachelib's own), insert is add and get is get, keys are str only
(cachelib's TypeError is the error type), and one file per key keeps FILES."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("cachelib")

from cachespec.conformance import resolve_target  # noqa: E402
from cachespec.spec import FILES, TYPED_KEYS  # noqa: E402


@pytest.mark.parametrize("name, threshold, timeout", [("cachelib-fs", 0, 0),
                                                      ("cachelib-fs-defaults", 500, 300)])
def test_configuration(name: str, threshold: int, timeout: int, tmp_path: Path) -> None:
    target = resolve_target(name)
    with target.open(tmp_path) as subject:
        native = subject.native  # type: ignore[attr-defined]
        assert (native._threshold, native.default_timeout) == (threshold, timeout)
        assert native._path == str(tmp_path)
    assert FILES in target.capabilities and TYPED_KEYS not in target.capabilities
    assert target.error_type is TypeError


def test_add_is_write_once_and_persists(tmp_path: Path) -> None:
    target = resolve_target("cachelib-fs")
    with target.open(tmp_path) as s:
        assert s.get("k") is None
        assert s.insert("k", {"v": [1, b"x"]}) is True
        assert s.insert("k", "other") is False
        with s.reopen() as again:
            assert again.get("k") == {"v": [1, b"x"]}
            assert again.insert("k", "other") is False


def test_non_str_key_is_cachelibs_type_error(tmp_path: Path) -> None:
    target = resolve_target("cachelib-fs")
    with target.open(tmp_path) as s, pytest.raises(target.error_type, match="string"):
        s.insert(1, "v")


def test_write_once_config_never_expires(tmp_path: Path) -> None:
    """default_timeout=0 is stored as expiry 0, which get reads as "never": an entry whose
    header says 0 is returned however late it is read (no clock needed to show it)."""
    import struct

    target = resolve_target("cachelib-fs")
    with target.open(tmp_path) as s:
        s.insert("k", b"v")
        path = Path(s.native._get_filename("k"))  # type: ignore[attr-defined]
        assert struct.unpack("I", path.read_bytes()[:4]) == (0,)


def test_stress_corrupter_is_told_each_keys_entry_file(tmp_path: Path) -> None:
    """Without it the corrupter damages anonymous files and the judge cannot excuse the key it
    hit: a damaged entry read as a miss was reported as a lost acknowledged write."""
    from cachespec.stress._faults import entry_path_hook

    with resolve_target("cachelib-fs").open(tmp_path) as s:
        s.insert("k", b"v")
        hook = entry_path_hook(s)
        assert hook is not None
        assert Path(hook("k")).is_file() and Path(hook("k")).parent == tmp_path
