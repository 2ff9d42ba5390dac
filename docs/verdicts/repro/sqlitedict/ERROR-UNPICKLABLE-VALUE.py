"""Storing a value pickle cannot serialise (a lambda) raises pickle's PicklingError from
``d[key] = value``: sqlitedict pickles in the caller's thread and lets the exception through.
Nothing is stored, so no data is lost; the deviation is the error type only: sqlitedict has no
exception class of its own, and a caller catching the sqlite3 errors its store raises does not
catch this one.
"""
import os
import pickle
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
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raised = err
    print("d['key'] = lambda: None raised", type(raised).__name__, "| 'key' in d:", "key" in d)
    d.close()
    if raised is not None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
