"""A damaged database file makes diskcache raise sqlite3's DatabaseError, not an error of its
own: here the directory's cache.db is cut to its 100-byte header (as a full disk or a crash of
the machine can leave it) and opening the cache again raises sqlite3.DatabaseError. Nothing
wrong is returned, but a caller has to know to catch sqlite3's exceptions, and the cache does
not rebuild the file by itself.
"""
import sqlite3
import tempfile
from pathlib import Path

import diskcache

with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        for i in range(6):
            cache.add(f"k{i}", [i, bytes([i]) * 2048])
    db = Path(tmp) / "cache.db"
    db.write_bytes(db.read_bytes()[:100])  # the SQLite header only
    try:
        with diskcache.Cache(tmp) as cache:
            print("get('k0') ->", cache.get("k0"))
    except diskcache.Timeout:
        raise SystemExit(1)
    except sqlite3.DatabaseError as err:
        print("opening the damaged cache raised", type(err).__name__, err)
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
