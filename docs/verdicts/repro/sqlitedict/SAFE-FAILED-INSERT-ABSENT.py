"""A value whose pickling fails half-way (a list whose last item refuses to be pickled) makes
``d[key] = value`` raise that item's own exception (RuntimeError here), not a cache error.
sqlitedict pickles before it writes, so nothing half-written is stored and the key stays absent
and insertable: the part of the clause about storage holds; the deviation is that the refusal is
not an error of the cache (sqlitedict has none).
"""
import os
import sqlite3
import tempfile

from sqlitedict import SqliteDict


class Refuses:
    def __reduce__(self):
        raise RuntimeError("this object refuses to be pickled")


with tempfile.TemporaryDirectory() as tmp:
    d = SqliteDict(os.path.join(tmp, "cache.sqlite"), autocommit=True)
    try:
        d["key"] = [b"x", "prefix", Refuses()]
        raised = None
    except sqlite3.Error:
        raised = None
    except RuntimeError as err:
        raised = err
    print("insert raised", type(raised).__name__, "| 'key' in d:", "key" in d,
          "| files:", sorted(os.listdir(tmp)))
    d.close()
    if raised is not None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
