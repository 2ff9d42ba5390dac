"""InMemoryCache.get returns the stored object itself, so a caller that mutates what get
returned changes the cached value for every later reader. This is the in-memory dict's normal
aliasing (torch promises no copies), a deviation from cachespec's SHOULD-level isolation only.
A user hits it when post-processing a cached result in place (sorting, appending): the next
lookup returns the already-modified object, which is hard to trace back to the cache.
"""
from torch._inductor.cache import InMemoryCache

cache = InMemoryCache()
cache.insert("k", [1, {"a": [2]}])
got = cache.get("k")
got[1]["a"].append("mutated by a reader")
print("second get('k') ->", cache.get("k"))
if cache.get("k") != [1, {"a": [2]}]:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
