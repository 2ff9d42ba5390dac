"""sqlitedict's failures arrive as the exceptions of whatever library raised them: pickle's
PicklingError for a value it cannot serialise (here), pickle's UnpicklingError for a damaged
value (see DISK-CORRUPT-ENTRY), sqlite3's errors from its store, RuntimeError for its own
misuse checks. It defines no exception class, so a caller cannot catch "the cache failed" with
one ``except``. A design choice of sqlitedict, not a bug.
"""
import os
import sqlite3
import tempfile

from sqlitedict import SqliteDict

with tempfile.TemporaryDirectory() as tmp:
    d = SqliteDict(os.path.join(tmp, "cache.sqlite"), autocommit=True)
    try:
        d["key"] = lambda: None
        raised = None
    except sqlite3.Error:
        raised = None
    except Exception as err:  # noqa: BLE001 - which type it is, is the point
        raised = err
    print("d['key'] = lambda: None raised", type(raised).__name__, f"({type(raised).__module__})")
    d.close()
    if raised is not None and not isinstance(raised, sqlite3.Error):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
