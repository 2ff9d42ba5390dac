"""A damaged value in sqlitedict's file makes ``get`` raise pickle's UnpicklingError: SQLite
stores the value as an opaque BLOB without a checksum, and sqlitedict hands whatever bytes it
gets to pickle.loads. Here the first byte of one stored pickle is zeroed in the file (a stray
write or bad sector would do the same). The MUST clause allows only the cache's error or the
right value; the caller gets an exception of another library, and the key stays unusable (see
DISK-CORRUPT-RECOVER).
"""
import os
import pickle
import sqlite3
import tempfile

from sqlitedict import SqliteDict

VALUE = [0, b"\x07" * 2048]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "cache.sqlite")
    d = SqliteDict(path, autocommit=True)
    d["key"] = VALUE
    d.close()
    data = open(path, "rb").read()
    at = data.find(pickle.dumps(VALUE, pickle.HIGHEST_PROTOCOL))
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(b"\x00")
    d = SqliteDict(path, autocommit=True)
    try:
        print("get('key') ->", d.get("key"))
        raised = None
    except sqlite3.Error:
        raised = None
    except pickle.UnpicklingError as err:
        raised = err
    d.close()
    print("get('key') raised", type(raised).__name__, raised)
    if raised is not None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
