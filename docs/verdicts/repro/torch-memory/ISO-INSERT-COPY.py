"""InMemoryCache stores the inserted object itself, so mutating a value after inserting it
changes what every later get returns. torch's API does not promise copies (the in-memory cache
is a dict of references), so this deviates only from cachespec's SHOULD-level isolation. A user
hits it when building a value incrementally (insert a list, then keep appending to it): the
cache's content silently changes after the write-once insert, and on-disk caches of the same
interface behave differently (they pickle at insert time).
"""
from torch._inductor.cache import InMemoryCache

cache = InMemoryCache()
value = [1, {"a": [2]}]
print("insert('k', [1, {'a': [2]}]) ->", cache.insert("k", value))
value.append("mutated after insert")
print("get('k') ->", cache.get("k"))
if cache.get("k") != [1, {"a": [2]}]:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
