"""FALSE POSITIVE (reported to the spec owners). The clause requires
a value "that cannot be serialized" to be refused with CacheError. torch's InMemoryCache is
documented as "using a dictionary and thread lock" and never serializes values on insert, so
accepting an object whose pickling would fail is correct for it, and nothing can be
half-written. The clause should apply only to caches that serialize values on insert (e.g.
capability persistent). (Such a value would only fail later, if the user pickles the cache's
contents for from_file_path; that is the user's pickling, not the cache's.)
"""
from torch._inductor.cache import InMemoryCache


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("refuses to be pickled")


cache = InMemoryCache()
print("insert('k', [b'', 'prefix', Unpicklable()]) ->", cache.insert("k", [b"", "prefix", Unpicklable()]))
print("get('k') is stored:", cache.get("k") is not None)
if cache.get("k") is not None:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
