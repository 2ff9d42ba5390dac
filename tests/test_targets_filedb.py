"""The sqlite3, sqlitedict and lmdb targets: cheap unit tests of their adapters (what each
call does to the store), and the storage-level corruption check surviving a reader that a
damaged file kills (LMDB's SIGBUS on a truncated data.mdb). Full checks and stress runs on
these targets are soaks."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import cachespec.spec as spec
from cachespec.conformance import Adapter, resolve_target
from cachespec.spec import limits_of, size_of
from cachespec.spec._subject import CORE, PERSISTENT, PROCESSES


# -- sqlite3 ------------------------------------------------------------------------------
def test_sqlite3_is_write_once_with_typed_keys(tmp_path: Path) -> None:
    s = resolve_target("sqlite3").open(tmp_path)
    assert s.get(1) is None and s.insert(1, ["one", b"\x00"]) is True
    assert s.insert(1, "again") is False and s.get(1) == ["one", b"\x00"]
    assert s.get(True) is None and s.get(1.0) is None  # equal under ==, other types
    assert s.insert(("ab", "ab"), 1) is True
    assert s.insert(("ab", "".join(["a", "b"])), 2) is False  # equal keys built apart
    assert s.reopen().get(1) == ["one", b"\x00"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.sqlite3"]


def test_sqlite3_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    s = resolve_target("sqlite3").open(tmp_path)
    with pytest.raises(sqlite3.ProgrammingError):
        s.insert("k", object())
    with pytest.raises(sqlite3.ProgrammingError):
        s.get(lambda: None)
    assert s.get("k") is None and s.insert("k", 1) is True


def _flip_stored_value(db: Path) -> None:
    conn = sqlite3.connect(db)
    (blob,) = conn.execute("SELECT value FROM entries").fetchone()
    damaged = bytes(blob[:-1]) + bytes([blob[-1] ^ 0x41])
    conn.execute("UPDATE entries SET value = ?", (damaged,))
    conn.commit()
    conn.close()


def test_sqlite3_detects_a_damaged_row_and_insert_replaces_it(tmp_path: Path) -> None:
    s = resolve_target("sqlite3").open(tmp_path)
    assert s.insert("k", b"value" * 10) is True
    _flip_stored_value(tmp_path / "cache.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="checksum"):
        s.get("k")
    assert s.insert("k", b"new") is True and s.get("k") == b"new"
    assert s.insert("k", b"newer") is False


def test_sqlite3_replaces_a_database_it_cannot_read(tmp_path: Path) -> None:
    s = resolve_target("sqlite3").open(tmp_path)
    s.insert("k", 1)
    (tmp_path / "cache.sqlite3").write_bytes(b"\x80garbage" * 64)
    fresh = resolve_target("sqlite3").open(tmp_path)  # opening does not refuse it for good
    with pytest.raises(sqlite3.DatabaseError):
        fresh.get("k")
    assert fresh.insert("k", 2) is True and fresh.get("k") == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_sqlite3_refuses_storage_another_user_can_write(tmp_path: Path) -> None:
    storage = tmp_path / "foreign"
    storage.mkdir()
    os.chown(storage, 65534, 65534)
    os.chmod(storage, 0o777)
    with pytest.raises(sqlite3.DatabaseError, match="refusing"):
        resolve_target("sqlite3").open(storage)


# -- sqlitedict -----------------------------------------------------------------------------
def test_sqlitedict_insert_is_check_then_set(tmp_path: Path) -> None:
    pytest.importorskip("sqlitedict")
    target = resolve_target("sqlitedict")
    s = target.open(tmp_path)
    try:
        assert s.get("k") is None and s.insert("k", {"a": 1}) is True
        assert s.insert("k", "other") is False and s.get("k") == {"a": 1}
        other = s.reopen()
        assert other.get("k") == {"a": 1}
        other.close()
    finally:
        s.close()
    assert target.error_type is sqlite3.Error and "typed-keys" not in target.capabilities


# -- lmdb -----------------------------------------------------------------------------------
def test_lmdb_instances_of_one_process_share_the_environment(tmp_path: Path) -> None:
    pytest.importorskip("lmdb")
    target = resolve_target("lmdb")
    a = target.open(tmp_path)
    b = target.open(tmp_path)  # lmdb refuses a second Environment on one dir in a process
    assert a.insert("k", b"v") is True and b.insert("k", b"w") is False and b.get("k") == b"v"
    a.close()
    assert b.get("k") == b"v"  # the environment stays open while an instance uses it
    b.close()
    c = target.open(tmp_path)
    assert c.get("k") == b"v"
    c.close()


def test_lmdb_keys_up_to_the_declared_limit_fit_and_the_empty_key_works(tmp_path: Path) -> None:
    lmdb = pytest.importorskip("lmdb")
    target = resolve_target("lmdb")
    limit = limits_of(target).max_key_bytes
    env = lmdb.open(str(tmp_path / "probe"), map_size=1 << 20)
    assert limit is not None and limit <= env.max_key_size() - 1  # one byte of prefix
    env.close()
    s = target.open(tmp_path / "store")
    try:
        longest = "é" * (limit // 2)
        assert size_of(longest) <= limit
        assert s.insert(longest, b"long") is True and s.get(longest) == b"long"
        assert s.insert("", b"empty") is True and s.get("") == b"empty"
    finally:
        s.close()


def test_lmdb_clears_the_reader_slots_of_killed_processes_when_it_opens(tmp_path: Path) -> None:
    pytest.importorskip("lmdb")
    import subprocess
    import sys

    hold = ("import lmdb, sys; e = lmdb.open(sys.argv[1], map_size=1 << 30); "
            "print('open', flush=True); sys.stdin.read()")
    reader = ("import lmdb, os, signal, sys; e = lmdb.open(sys.argv[1], map_size=1 << 30); "
              "t = e.begin(); t.get(b'k'); t.abort(); os.kill(os.getpid(), signal.SIGKILL)")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # keeps the lock table alive
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        for _ in range(3):  # readers killed after a read: py-lmdb keeps their slots cached
            died = subprocess.run([sys.executable, "-c", reader, str(tmp_path)], timeout=60)
            assert died.returncode == -signal.SIGKILL
        s = resolve_target("lmdb").open(tmp_path)
        try:
            assert s.native.env.reader_check() == 0  # the adapter's open already cleared them
        finally:
            s.close()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)


# -- the corruption check survives a reader that a damaged file kills ----------------------
class _StoreError(Exception):
    """The single-file store's own error."""


class MappedFileStore(Adapter):
    """One file holding a length header and the pickled dict of entries. Like a store that maps
    its file (LMDB), it dies of SIGBUS when the file is shorter than its header says, instead
    of raising: a damaged file can kill the reader."""

    name = "test_targets_filedb:MappedFileStore"
    capabilities = frozenset({CORE, PERSISTENT, PROCESSES})
    error_type = _StoreError

    def create(self, storage: Path | None) -> Any:
        assert storage is not None
        return storage / "store.bin"

    def _load(self, path: Path) -> dict[Any, Any]:
        import hashlib
        import pickle

        if not path.exists():
            return {}
        data = path.read_bytes()
        size = int.from_bytes(data[:8], "big") if len(data) >= 8 else 1 << 40
        if len(data) < 40 + size:
            os.kill(os.getpid(), signal.SIGBUS)  # a mapped page past the end of the file
        body = data[8:8 + size]
        if hashlib.sha256(body).digest() != data[8 + size:40 + size]:
            raise _StoreError("checksum mismatch")
        return pickle.loads(body)  # noqa: S301 - checksummed above

    def get(self, native: Any, key: Any) -> Any | None:
        return self._load(native).get(key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        import hashlib
        import pickle

        try:
            entries = self._load(native)
        except _StoreError:
            entries = {}
        if key in entries:
            return False
        entries[key] = value
        body = pickle.dumps(entries)
        native.write_bytes(len(body).to_bytes(8, "big") + body + hashlib.sha256(body).digest())
        return True


def test_storage_damage_that_kills_the_reader_is_a_violation_not_the_end_of_the_check(
        tmp_path: Path) -> None:
    check = next(c for c in spec.CHECKS if c.name == "fault-corrupt-files")
    clauses = frozenset({"DISK-CORRUPT-ENTRY", "DISK-CORRUPT-DETECTED", "DISK-CORRUPT-RECOVER",
                         "ERROR-ONLY-CACHEERROR", "SAFE-DISK-NO-CODE"})
    result = check.run(MappedFileStore(), tmp_path, "quick", clauses)  # this process lives on
    found = {v.clause_id: v for v in result.violations}
    assert set(found) == {"DISK-CORRUPT-ENTRY"}
    assert "died (killed by a signal" in found["DISK-CORRUPT-ENTRY"].error
    # the damages after the fatal one were still judged
    assert result.judged.get("DISK-CORRUPT-DETECTED") and result.judged.get("SAFE-DISK-NO-CODE")


# -- stress (soak: `pytest --soak`) --------------------------------------------------------
#: what a 10 s kill-fault stress run may report per target: sqlite3 and lmdb nothing;
#: sqlitedict's check-then-set only ever double winners (never a lost or torn value)
_STRESS_ALLOWED = {"sqlite3": set(), "lmdb": set(), "sqlitedict": {"CONC-ONE-WINNER"}}


@pytest.mark.soak
@pytest.mark.timeout(600)
@pytest.mark.parametrize("target", sorted(_STRESS_ALLOWED))
def test_stress_with_kills(target: str, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    pytest.importorskip({"sqlite3": "sqlite3"}.get(target, target))
    out = tmp_path / "report.json"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "cachespec", "stress", target, "--procs", "4",
                           "--duration", "10", "--faults", "kill", "--json", str(out)],
                          env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(out.read_text())
    assert report["ops"] > 0 and report["errors"] == 0 and report["faults"]["kills"] > 0
    clauses = {v["clause"] for v in report["violations"]}
    assert clauses <= _STRESS_ALLOWED[target], report["violations"][:3]


# -- a check worker killed by its target is reported as dead, not as hung ------------------
class DiesOnInsert(Adapter):
    """Kills its own process (SIGBUS, as LMDB on a truncated file) on every insert, the slow
    way a dying process can go (a core dump of a big mapping): its result pipe closes first,
    and the process is gone only a moment later."""

    name = "test_targets_filedb:DiesOnInsert"
    capabilities = frozenset({CORE})
    error_type = _StoreError

    def create(self, storage: Path | None) -> Any:
        return {}

    def get(self, native: Any, key: Any) -> Any | None:
        return native.get(key)

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        import sys
        import time

        if "--result-fd" in sys.argv:  # in the check worker: its event pipe closes first
            os.close(int(sys.argv[sys.argv.index("--result-fd") + 1]))
            time.sleep(2)  # the window between EOF and the exit (not a synchronisation)
        os.kill(os.getpid(), signal.SIGBUS)
        return False


def test_a_worker_killed_by_its_target_is_reported_as_dead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cachespec.conformance._runner import run_conformance

    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # the worker imports this module
    report = run_conformance([DiesOnInsert.name], profile="quick", timeout=60.0,
                             clause_patterns=["CORE-INSERT-NEW"])
    (clause,) = report.targets[0].clauses
    assert clause.status == "fail"
    assert f"worker died (exit -{int(signal.SIGBUS)})" in (clause.error or ""), clause.error
