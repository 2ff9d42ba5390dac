"""The fault checks: corruption tested at the level the storage proves (per-entry files or the
storage as a whole), every clause judged, leftovers of refused inserts, and messages that say
where a wrong value differs."""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path
from typing import Any

import pytest

from cachespec.conformance import (
    CORE, FILES, PERSISTENT, PROCESSES, RICH_VALUES, TYPED_KEYS, Adapter, resolve_target,
)
from cachespec.spec import CHECKS
from cachespec.spec._clauses import CLAUSES
from cachespec.spec._damage import where_differ

MUTANTS = "cachespec.conformance.mutants._catalogue"
BY_NAME = {c.name: c for c in CHECKS}


def run(target: Any, check: str, tmp_path: Path, clauses: set[str] | None = None) -> Any:
    if isinstance(target, str):
        target = resolve_target(target)
    c = BY_NAME[check]
    return c.run(target, tmp_path / check, "quick", frozenset(clauses or c.clause_ids))


def applicable(target: Any, check: str) -> set[str]:
    caps = set(target.capabilities)
    return {c.id for c in CLAUSES if check in c.checked_by and c.capabilities <= caps}


def violated(res: Any) -> dict[str, str]:
    return {v.clause_id: v.error for v in res.violations}


# -- correct caches of three designs: every clause judged, nothing violated --------------------
@pytest.mark.parametrize(("name", "level"), [
    ("reference-disk", "per-entry files"),
    ("sqlite_cache:SQLiteCache", "storage-level"),
])
def test_correct_caches_pass_corruption_at_their_proved_level(name: str, level: str,
                                                               tmp_path: Path) -> None:
    target = resolve_target(name)
    # both have a settable base_dir; only the one-file-per-key layout proves FILES
    assert (FILES in target.capabilities) == (level == "per-entry files")
    assert PERSISTENT in target.capabilities
    res = run(target, "fault-corrupt-files", tmp_path)
    assert res.violations == []
    assert res.undecided(frozenset(applicable(target, "fault-corrupt-files"))) == set()
    for clause in ("DISK-CORRUPT-ENTRY", "DISK-CORRUPT-DETECTED", "DISK-CORRUPT-RECOVER",
                   "SAFE-DISK-NO-CODE"):
        assert res.notes[clause].startswith(level), res.notes


@pytest.mark.parametrize("name", ["reference-disk", "reference-memory",
                                  "sqlite_cache:SQLiteCache"])
def test_serialization_faults_judge_every_applicable_clause(name: str, tmp_path: Path) -> None:
    target = resolve_target(name)
    res = run(target, "fault-serialization", tmp_path)
    assert res.violations == []
    assert res.undecided(frozenset(applicable(target, "fault-serialization"))) == set()


# -- broken caches are caught ----------------------------------------------------------------
def test_sqlite_without_checksums_is_caught_and_told_where_the_value_differs(tmp_path: Path
                                                                            ) -> None:
    res = run("sqlite_cache:SQLiteNoChecksum", "fault-corrupt-files", tmp_path)
    error = violated(res)["DISK-CORRUPT-DETECTED"]
    assert "differs at value[1][" in error and "got[" in error and "expected[" in error
    got, want = error.split("got[", 1)[1].split(", expected[", 1)
    assert got.split("=", 1)[1] != want.split("=", 1)[1].split(";")[0]  # the windows differ
    assert "storage-level" in res.notes["DISK-CORRUPT-DETECTED"]


def test_sqlite_letting_database_errors_out_fails_corrupt_entry(tmp_path: Path) -> None:
    res = run("sqlite_cache:SQLiteRawErrors", "fault-corrupt-files", tmp_path)
    errors = violated(res)
    assert "DatabaseError" in errors["DISK-CORRUPT-ENTRY"]
    assert "DatabaseError" in errors["ERROR-ONLY-CACHEERROR"]


def test_per_entry_detected_message_shows_where_values_differ(tmp_path: Path) -> None:
    res = run(f"{MUTANTS}:NoChecksumDisk", "fault-corrupt-files", tmp_path)
    error = violated(res)["DISK-CORRUPT-DETECTED"]
    assert "differs at value" in error and "per-entry" in res.notes["DISK-CORRUPT-DETECTED"]


def test_where_differ_names_the_first_differing_index_with_a_window() -> None:
    want = [3, b"\x03" * 2048]
    got = [3, b"\x03" * 1000 + b"B" + b"\x03" * 1047]
    text = where_differ(got, want)
    assert text.startswith("at value[1][1000] (lengths 2048 and 2048)")
    assert "got[992:1008] = b'\\x03\\x03\\x03\\x03\\x03\\x03\\x03\\x03B" in text
    assert where_differ({"a": 1}, {"a": 2}) == "at value['a']: got 1, expected 2"
    assert "length 2, expected 3" in where_differ([1, 2], [1, 2, 3])
    assert "got float" in where_differ(1.0, 1)


def test_a_refused_insert_that_leaves_a_temp_file_is_caught(tmp_path: Path) -> None:
    res = run(f"{MUTANTS}:LeftoverTempDisk", "fault-serialization", tmp_path)
    error = violated(res)["SAFE-FAILED-INSERT-ABSENT"]
    assert "left 1 new file(s)" in error and ".__wz_cache" in error


class IgnoresDir:
    """Has a settable base_dir but keeps everything in memory: nothing to damage."""

    base_dir = Path(tempfile.gettempdir())
    cachespec_error_type = ValueError

    def __init__(self) -> None:
        self.d: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        return self.d.get(key)

    def insert(self, key: Any, value: Any) -> bool:
        return self.d.setdefault(key, value) is value


def test_storage_with_no_files_proves_the_corruption_clauses_inapplicable(tmp_path: Path) -> None:
    # acknowledged inserts and still no file: the entries live elsewhere, nothing to damage. The
    # clauses are proved n/a (with the reason), never passed: nothing judged them
    target = resolve_target(f"{__name__}:IgnoresDir")
    res = run(target, "fault-corrupt-files", tmp_path)
    assert res.violations == []
    assert {"DISK-CORRUPT-ENTRY", "DISK-CORRUPT-DETECTED"} <= res.undecided(
        frozenset(applicable(target, "fault-corrupt-files")))
    assert "held no file after 6 acknowledged inserts" in res.inapplicable["DISK-CORRUPT-ENTRY"]
    assert set(res.inapplicable) == {"DISK-CORRUPT-ENTRY", "DISK-CORRUPT-DETECTED",
                                     "DISK-CORRUPT-RECOVER", "SAFE-DISK-NO-CODE"} & set(
        applicable(target, "fault-corrupt-files"))


# -- a cachelib-like cache: one pickle file per key, MemoryError on a damaged one --------------
class FileStoreError(Exception):
    """The fake's declared error type."""


class CachelibLike(Adapter):
    """One file per key holding the pickled value; a damaged file makes get raise MemoryError,
    as cachelib's FileSystemCache does for some truncations."""

    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, FILES, TYPED_KEYS, RICH_VALUES})
    error_type = FileStoreError

    def create(self, storage: Path | None) -> Any:
        return storage

    def _path(self, native: Path, key: Any) -> Path:
        import hashlib

        return native / hashlib.sha256(repr(key).encode()).hexdigest()

    def get(self, native: Path, key: Any) -> Any:
        path = self._path(native, key)
        if not path.exists():
            return None
        try:
            return pickle.loads(path.read_bytes())
        except Exception as err:
            raise MemoryError("cannot allocate") from err

    def insert(self, native: Path, key: Any, value: Any) -> bool:
        try:
            data = pickle.dumps(value)
        except Exception as err:
            raise FileStoreError(str(err)) from err
        try:
            with open(self._path(native, key), "xb") as fh:
                fh.write(data)
        except FileExistsError:
            return False
        return True


def test_a_memoryerror_on_a_damaged_entry_fails_corrupt_entry(tmp_path: Path) -> None:
    res = run(CachelibLike("cachelib-like"), "fault-corrupt-files", tmp_path)
    errors = violated(res)
    assert "MemoryError" in errors["DISK-CORRUPT-ENTRY"]
    assert "MemoryError" in errors["ERROR-ONLY-CACHEERROR"]


# -- in memory: storing an unserializable value is allowed, and then get must return it -------
class CacheError(ValueError):
    pass


class KeepsAnything:
    """A dict cache with a lock: stores any object, as torch's InMemoryCache does."""

    def __init__(self) -> None:
        import threading

        self.d: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        return self.d.get(key)

    def insert(self, key: Any, value: Any) -> bool:
        return self.d.setdefault(key, value) is value


class DropsUnserializable(KeepsAnything):
    """Says it stored the value but keeps nothing when it holds an object that cannot pickle."""

    def insert(self, key: Any, value: Any) -> bool:
        try:
            pickle.dumps(value)
        except Exception:
            return True
        return super().insert(key, value)


def test_in_memory_cache_storing_an_unserializable_value_is_judged(tmp_path: Path) -> None:
    res = run(f"{__name__}:KeepsAnything", "fault-serialization", tmp_path,
              {"SAFE-FAILED-INSERT-ABSENT"})
    assert res.violations == [] and res.judged["SAFE-FAILED-INSERT-ABSENT"] >= 2
    res = run(f"{__name__}:DropsUnserializable", "fault-serialization", tmp_path / "2",
              {"SAFE-FAILED-INSERT-ABSENT"})
    assert "but get returned None" in violated(res)["SAFE-FAILED-INSERT-ABSENT"]


def test_diskcache_storage_is_damaged_as_a_whole_and_its_sqlite_errors_are_reported(
        tmp_path: Path) -> None:
    pytest.importorskip("diskcache")
    target = resolve_target("diskcache")
    assert FILES not in target.capabilities
    res = run(target, "fault-corrupt-files", tmp_path)
    assert "DatabaseError" in violated(res)["DISK-CORRUPT-ENTRY"]
    assert "storage-level" in res.notes["DISK-CORRUPT-ENTRY"]
    assert "cache.db" in res.notes["DISK-CORRUPT-ENTRY"]


# -- one database file holding raw pickles: a forged row runs code ----------------------------
class PickleRows(Adapter):
    """Every value pickled into one SQLite table, unpickled on read, no checksum (as sqlitedict
    keeps them). Byte flips and truncations cannot forge a row; replacing a stored pickle in
    place can, and then get runs the forger's code."""

    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, RICH_VALUES})
    error_type = pickle.UnpicklingError

    def create(self, storage: Path | None) -> Any:
        import sqlite3

        db = sqlite3.connect(str(Path(storage or ".") / "rows.db"), isolation_level=None,
                             check_same_thread=False)  # the harness calls from its threads
        db.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v BLOB)")
        return db

    def get(self, native: Any, key: Any) -> Any | None:
        row = native.execute("SELECT v FROM t WHERE k = ?", (key,)).fetchone()
        return None if row is None else pickle.loads(row[0])

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return native.execute("INSERT OR IGNORE INTO t VALUES (?, ?)", (key, blob)).rowcount == 1


def test_a_pickle_forged_inside_a_database_file_is_caught(tmp_path: Path) -> None:
    res = run(resolve_target(f"{__name__}:PickleRows"), "fault-corrupt-files", tmp_path,
              {"SAFE-DISK-NO-CODE"})
    # before planted_pickles, only byte-level damage reached this file, and the clause passed
    assert "ran code" in violated(res).get("SAFE-DISK-NO-CODE", ""), res


def test_planted_pickle_keeps_the_length_and_runs_code_when_read(tmp_path: Path) -> None:
    from cachespec.spec._damage import planted_pickles

    value = [0, b"\x00" * 512]
    blob = pickle.dumps(value, protocol=4)
    data = b"header" + blob + b"trailer"
    [(kind, forged)] = planted_pickles(data, [value], tmp_path / "ran")
    assert len(forged) == len(data) and forged.startswith(b"header") and "protocol 4" in kind
    pickle.loads(forged[len(b"header"):])
    assert (tmp_path / "ran").is_dir()
    assert planted_pickles(b"no pickle here", [value], tmp_path / "x") == []
