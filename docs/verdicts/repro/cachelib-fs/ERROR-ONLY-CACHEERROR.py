"""cachelib defines no exception class and reports failures by return values (add False, get
None, a logged warning); the only exception it raises on purpose is TypeError, for a key that is
not a str. Other failures escape as whatever raised them: a value whose pickling raises
RuntimeError makes add raise RuntimeError (FileSystemSerializer.dump catches only PickleError),
and a damaged entry makes get raise MemoryError (see DISK-CORRUPT-ENTRY). A caller cannot catch
"the cache failed" without catching everything.
Reported upstream: docs/upstream/cachelib.md, sections 4 and 5.
"""
import tempfile

from cachelib import FileSystemCache


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("this object refuses to be pickled")


with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    try:
        print("add ->", cache.add("key", [b"", "prefix", Unpicklable()]))
    except TypeError:
        raise SystemExit(1)
    except Exception as err:
        print(f"add raised {type(err).__name__}: {err}")
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
