"""OnDiskCache hashes pickle.dumps(key), and a frozenset pickles its members in iteration order,
which depends on PYTHONHASHSEED (str hashing is randomized per process by default). A key such
as ("opts", frozenset({...})), a tuple and so a documented Key type, therefore maps to a
different file in each process: an entry written by one compile worker is invisible to the next
run or to a sibling worker. A user sees a persistent cache that never hits across processes for
keys containing sets of strings (for example a set of enabled flags), with no error and with
duplicate entries piling up. Sorting set members before encoding (cachespec's reference does)
makes the file name independent of the hash seed.
"""
import os
import subprocess
import sys
import tempfile

CHILD = """
import sys
from pathlib import Path
from torch._inductor.cache import OnDiskCache
cache = OnDiskCache()
cache.base_dir = Path(sys.argv[1])
key = ("opts", frozenset({"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}))
if sys.argv[2] == "insert":
    print(cache.insert(key, "compiled"))
else:
    print(cache.get(key))
"""

with tempfile.TemporaryDirectory() as tmp:
    def run(seed: str, op: str) -> str:
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", CHILD, tmp, op], env=env,
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()

    print("PYTHONHASHSEED=1: insert(key, 'compiled') ->", run("1", "insert"))
    print("PYTHONHASHSEED=1: get(key) ->", run("1", "get"))
    got = run("2", "get")
    print("PYTHONHASHSEED=2: get(key) ->", got)
    if got != "compiled":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
