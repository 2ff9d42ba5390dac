"""Adapter for ``lmdb`` (py-lmdb): ``put(key, value, overwrite=False)`` as the write-once insert.

* Storage: ``lmdb.open(str(storage), map_size=1 GiB)``: an environment directory holding
  ``data.mdb`` and ``lock.mdb``. The map is sparse, so 1 GiB costs only what is written; it is
  far more than the checks write (the retention check writes 64 MiB).
* insert: ``with env.begin(write=True) as txn: return txn.put(k, v, overwrite=False)``; LMDB
  serialises write transactions (one writer at a time, across processes) and ``put`` returns
  False when the key exists, so this is LMDB's own atomic add. get: ``txn.get(k)`` in a read
  transaction.
* One environment per process and directory. LMDB forbids opening an environment twice in one
  process (py-lmdb raises "already open in this process"), so instances on one directory in one
  process share the environment (reference-counted, closed with the last instance), as LMDB's
  documentation asks. A forked child never reuses its parent's environment (it is keyed by pid).
* Stale readers: py-lmdb keeps a finished read transaction cached for reuse, which holds a slot
  of LMDB's reader table (126 by default) for as long as the process lives; a process killed
  after a read leaves its slot behind. LMDB's documentation asks applications whose processes
  can die to clear such slots with ``mdb_reader_check``, so the adapter calls
  ``env.reader_check()`` when it opens an environment, as a careful user would. (Without it,
  enough killed processes fill the table and no new process can open the environment at all:
  docs/upstream/lmdb.md.)
* Keys are ``str`` (no TYPED_KEYS), stored as ``b"k" + key.encode("utf-8", "surrogatepass")``:
  LMDB keys are bytes, and it refuses an empty key (``MDB_BAD_VALSIZE``), hence the one-byte
  prefix. Its key limit is ``env.max_key_size()`` (511 bytes in this build), so the adapter
  declares ``Limits(max_key_bytes=510)`` in ``size_of``'s measure (UTF-8 bytes of a str).
* Values are ``bytes`` (no RICH_VALUES): LMDB stores bytes, and pickling would be the adapter's
  choice, not LMDB's behaviour. Returned as ``bytes`` (py-lmdb copies out of the map).

Error type: ``lmdb.Error``, the base class of every error py-lmdb raises.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from cachespec.spec._limits import Limits
from cachespec.spec._subject import CORE, PERSISTENT, PROCESSES, THREADS
from ._base import Adapter

MAP_SIZE = 1 << 30
_PREFIX = b"k"

#: (pid, real path) -> [environment, open instances]: LMDB allows one environment per process
_ENVS: dict[tuple[int, str], list[Any]] = {}
_ENVS_LOCK = threading.Lock()


class _Instance:
    """One adapter-level instance: a share of this process's environment on a directory."""

    def __init__(self, storage: Path) -> None:
        import lmdb

        self.slot = (os.getpid(), os.path.realpath(storage))
        with _ENVS_LOCK:
            entry = _ENVS.get(self.slot)
            if entry is None:
                env = lmdb.open(str(storage), map_size=MAP_SIZE)
                env.reader_check()  # clear the reader slots of processes that died
                entry = _ENVS[self.slot] = [env, 0]
            entry[1] += 1
        self.env = entry[0]
        self.closed = False

    def close(self) -> None:
        with _ENVS_LOCK:
            if self.closed:
                return
            self.closed = True
            entry = _ENVS.get(self.slot)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] == 0:
                del _ENVS[self.slot]
                entry[0].close()


def _key(key: Any) -> bytes:
    if not isinstance(key, str):
        raise TypeError(f"lmdb adapter keys are str, not {type(key).__name__}")
    return _PREFIX + key.encode("utf-8", "surrogatepass")


class LMDBAdapter(Adapter):
    name = "lmdb"
    description = "lmdb.Environment(dir): put(overwrite=False) as insert (adapter)"
    capabilities = frozenset({CORE, PERSISTENT, PROCESSES, THREADS})
    limits = Limits(max_key_bytes=511 - len(_PREFIX))

    def __init__(self, name: str | None = None) -> None:
        import lmdb  # fail at resolve time when it is not installed

        super().__init__(name)
        self.error_type = lmdb.Error

    def create(self, storage: Path | None) -> Any:
        if storage is None:
            raise NotImplementedError("lmdb needs a directory")
        return _Instance(Path(storage))

    def get(self, native: Any, key: Any) -> Any | None:
        with native.env.begin() as txn:
            return txn.get(_key(key))

    def insert(self, native: Any, key: Any, value: Any) -> bool:
        with native.env.begin(write=True) as txn:
            return bool(txn.put(_key(key), value, overwrite=False))

    def close(self, native: Any) -> None:
        native.close()
