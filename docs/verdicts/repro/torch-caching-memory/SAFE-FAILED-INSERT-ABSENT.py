"""FALSE POSITIVE (reported to the spec owners). The clause requires
a value "that cannot be serialized" to be refused with CacheError. _InMemoryCacheImpl never
serializes: its docstring says the in-memory value type is "object (any Python object)", so
storing an object whose pickling would fail is documented, correct behaviour, and nothing can be
half-written in a dict. The clause should apply only to caches that serialize values on insert
(e.g. capability persistent), not to in-memory ones.
"""
from torch._inductor.runtime.caching.implementations import _InMemoryCacheImpl


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("refuses to be pickled")


impl = _InMemoryCacheImpl()
print("insert('k', [b'', 'prefix', Unpicklable()]) ->", impl.insert("k", [b"", "prefix", Unpicklable()]))
print("get('k') is a Hit:", impl.get("k") is not None)
if impl.get("k") is not None:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
