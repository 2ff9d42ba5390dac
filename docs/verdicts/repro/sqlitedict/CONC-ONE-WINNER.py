"""sqlitedict has no atomic "insert if absent": ``d[key] = value`` is ``REPLACE INTO`` and the
inherited ``setdefault`` is MutableMapping's ``try: d[key] / except KeyError: d[key] = v``.
So the check-then-set its users write (``if key not in d: d[key] = value``) lets two threads
of one SqliteDict both find the key absent and both store, and both believe they won. The
barrier here only fixes the interleaving that a thread switch between the check and the set
produces on its own. This is a missing API, not a bug of what sqlitedict documents (dict
semantics for ``d[key] = value``); a user sharing a SqliteDict as a write-once cache loses the
"first value wins" guarantee.
"""
import os
import tempfile
import threading

from sqlitedict import SqliteDict

barrier, results = threading.Barrier(2), {}


def insert(d: SqliteDict, name: str) -> None:
    free = "key" not in d  # the check ...
    barrier.wait()  # ... a thread switch here ...
    if free:
        d["key"] = name  # ... then the set
    results[name] = free


with tempfile.TemporaryDirectory() as tmp:
    d = SqliteDict(os.path.join(tmp, "cache.sqlite"), autocommit=True)
    threads = [threading.Thread(target=insert, args=(d, n)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("insert results:", results, "| d['key'] =", d["key"])
    d.close()
    if list(results.values()).count(True) > 1:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
