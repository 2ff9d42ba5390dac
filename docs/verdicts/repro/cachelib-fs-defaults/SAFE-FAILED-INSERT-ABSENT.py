"""A value whose pickling fails partway (here a list whose last item's __reduce__ raises) makes
FileSystemCache.add raise, and the temporary file set() had already created with mkstemp
(tmp*.__wz_cache in the cache directory) stays: nothing removes it on that path, and cachelib
ignores *.__wz_cache files everywhere else (its listing, its count, clear()). Each such failure
leaves one more file of up to the value's size. The key itself stays absent and insertable.
Reported upstream: docs/upstream/cachelib.md, section 5.
"""
import os
import tempfile

from cachelib import FileSystemCache


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("this object refuses to be pickled")


with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)
    try:
        cache.add("key", [b"x" * (1 << 20), "prefix", Unpicklable()])
    except RuntimeError as err:
        print("add raised RuntimeError:", err)
    cache.clear()
    left = [(name, os.path.getsize(os.path.join(tmp, name))) for name in os.listdir(tmp)]
    print("files left after the failed add and clear():", left)
    if any(name.endswith(".__wz_cache") for name, _ in left):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
