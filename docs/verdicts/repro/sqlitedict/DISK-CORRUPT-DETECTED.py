"""A byte flipped inside a stored value is returned as the value: sqlitedict keeps values as
BLOBs without any checksum and SQLite does not checksum page contents, so a damaged payload
that still unpickles reads as a different, wrong value with no error. Here one byte in the
middle of a stored 2 KiB bytes value is flipped in the file. A cache of compiled artefacts would
hand out corrupted code. sqlitedict makes no promise about damaged files; this is the spec's
SHOULD (detect corruption), not a documented guarantee.
"""
import os
import pickle
import tempfile

from sqlitedict import SqliteDict

VALUE = [0, b"\x00" * 2048]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "cache.sqlite")
    d = SqliteDict(path, autocommit=True)
    d["key"] = VALUE
    d.close()
    data = open(path, "rb").read()
    at = data.find(pickle.dumps(VALUE, pickle.HIGHEST_PROTOCOL)) + 1024
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(bytes([data[at] ^ 0x41]))
    d = SqliteDict(path, autocommit=True)
    got = d.get("key")
    d.close()
    print("get('key') == stored value:", got == VALUE, "| bytes that differ:",
          sum(a != b for a, b in zip(got[1], VALUE[1])))
    if got != VALUE:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
