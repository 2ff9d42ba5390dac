"""OnDiskCache.insert creates the entry file (open(path, "xb")), writes the version prefix and
then pickles straight into it. When pickling fails midway the half-written file stays: insert
raises, yet afterwards get raises EOFError or returns garbage and every later insert returns
False. One failed write (an unpicklable object deep inside a value) poisons the key for every
process until the file is deleted by hand. Writing to a temporary file and publishing it only
when complete (as cachespec's reference does) leaves the key absent and insertable.
"""
import tempfile
import threading
from pathlib import Path

from torch._inductor.cache import OnDiskCache


def attempt(fn):
    try:
        return repr(fn())
    except Exception as err:
        return f"raised {type(err).__name__}: {err}"


with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    print("insert(key, value with a lock inside) ->",
          attempt(lambda: cache.insert("key", [b"x" * 100, threading.Lock()])))
    print("get(key) ->", attempt(lambda: cache.get("key")))
    print("insert(key, 'good value') ->", attempt(lambda: cache.insert("key", "good value")))
    after = attempt(lambda: cache.get("key"))
    print("get(key) ->", after)
    if after != repr("good value"):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
