"""The same check-then-set race as CONC-ONE-WINNER, seen by a reader: both threads pass the
``key not in d`` check, thread A stores and a reader sees A's value, then B's ``d[key] = value``
(``REPLACE INTO``) overwrites it, and the reader now sees B's value. A value once read from the
cache changed under the reader; a user caching compiled artefacts can load two different ones
for one key. Missing API (no atomic add), not a bug of sqlitedict's documented dict semantics.
"""
import os
import tempfile
import threading

from sqlitedict import SqliteDict

checked, a_stored, reads = threading.Barrier(2), threading.Event(), []


def insert(d: SqliteDict, name: str) -> None:
    free = "key" not in d
    checked.wait()  # both threads have checked
    if name == "B":
        a_stored.wait()  # B is descheduled until A stored and the reader read
    if free:
        d["key"] = name
    if name == "A":
        reads.append(d.get("key"))
        a_stored.set()


with tempfile.TemporaryDirectory() as tmp:
    d = SqliteDict(os.path.join(tmp, "cache.sqlite"), autocommit=True)
    threads = [threading.Thread(target=insert, args=(d, n)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reads.append(d.get("key"))
    print("reads of 'key' in order:", reads)
    d.close()
    if len(set(reads)) > 1:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
