"""diskcache pickles keys that are not int/float/str/bytes and looks them up by those bytes; a
frozenset pickles its members in iteration order, which depends on PYTHONHASHSEED. So a key
containing a set of strings, added by one process, is not found by another process with a
different hash seed (the default: randomized per process). diskcache's caveats say pickled
bytes define equality, but not that this makes set-valued keys process-local. A user sharing a
cache directory between processes (diskcache's headline feature) gets misses and duplicates for
such keys; sorting the members into a tuple before using them as a key avoids it.
"""
import os
import subprocess
import sys
import tempfile

CHILD = """
import sys
import diskcache
key = ("opts", frozenset({"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}))
with diskcache.Cache(sys.argv[1]) as cache:
    print(cache.add(key, "computed") if sys.argv[2] == "add" else cache.get(key))
"""

with tempfile.TemporaryDirectory() as tmp:
    def run(seed: str, op: str) -> str:
        env = dict(os.environ, PYTHONHASHSEED=seed)
        return subprocess.run([sys.executable, "-c", CHILD, tmp, op], env=env,
                              capture_output=True, text=True, check=True).stdout.strip()

    print("PYTHONHASHSEED=1: add(key, 'computed') ->", run("1", "add"))
    print("PYTHONHASHSEED=1: get(key) ->", run("1", "get"))
    got = run("2", "get")
    print("PYTHONHASHSEED=2: get(key) ->", got)
    if got != "computed":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
