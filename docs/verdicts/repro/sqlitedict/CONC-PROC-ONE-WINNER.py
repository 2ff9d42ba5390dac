"""The check-then-set race of CONC-ONE-WINNER across processes, each with its own SqliteDict on
one file (autocommit=True, sqlitedict's way to share a dict): process A checks ``key not in d``
and is descheduled (here: it waits for a line on stdin); this process checks and stores; A
resumes and stores too (``REPLACE INTO``). Both processes report that they inserted the key,
and A's value silently replaced this one's. No atomic add exists in sqlitedict's API.
"""
import os
import subprocess
import sys
import tempfile

from sqlitedict import SqliteDict

WRITER_A = """
import sys
from sqlitedict import SqliteDict
d = SqliteDict(sys.argv[1], autocommit=True)
free = "key" not in d
print("checked", flush=True)
sys.stdin.readline()  # descheduled between the check and the set
if free:
    d["key"] = "A"
d.close()
print(free, flush=True)
"""

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "cache.sqlite")
    SqliteDict(path, autocommit=True).close()  # create the table first
    a = subprocess.Popen([sys.executable, "-c", WRITER_A, path], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    assert a.stdout.readline().strip() == "checked"
    d = SqliteDict(path, autocommit=True)
    b_result = "key" not in d
    if b_result:
        d["key"] = "B"
    a_result = a.communicate("go\n", timeout=60)[0].strip()
    print(f"insert results: A -> {a_result}, B -> {b_result} | d['key'] = {d['key']!r}")
    d.close()
    if a_result == "True" and b_result is True:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
