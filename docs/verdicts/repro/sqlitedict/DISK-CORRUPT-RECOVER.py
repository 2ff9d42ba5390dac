"""Once a stored value is damaged (here: a byte flipped inside it, see DISK-CORRUPT-DETECTED),
the key is poisoned for good with the check-then-set users write: ``key in d`` is True, so the
insert returns False and ``get`` keeps returning the wrong value; nothing in sqlitedict notices
the damage, so nothing ever replaces the row. A user has to find and delete the row by hand.
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
    d.get("key")  # the damaged entry is read
    inserted = "key" not in d
    if inserted:
        d["key"] = VALUE
    got = d.get("key")
    d.close()
    print("insert after the damage ->", inserted, "| get('key') == stored value:", got == VALUE)
    if not inserted and got != VALUE:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
