"""torch's InMemoryCache is a plain dict, so keys that are equal under == but of different types
(1, True, 1.0; (1,) and (True,)) are one entry: get(True) returns the value inserted for 1, and
insert(True, ...) is refused. torch's docstrings promise nothing more (the class says it uses "a
dictionary"), so this is a deviation from cachespec's SHOULD-level typed key identity, not from
torch's documentation. A user hits it when keys mix bools and ints, e.g. a config tuple
(True, 3) and (1, 3) built by different code paths: the second lookup silently gets the value
computed for the first. cachespec's reference cache keys by type and value.
"""
from torch._inductor.cache import InMemoryCache

cache = InMemoryCache()
print("insert(1, 'computed for int 1') ->", cache.insert(1, "computed for int 1"))
print("insert(True, 'computed for bool True') ->", cache.insert(True, "computed for bool True"))
print("get(True) ->", repr(cache.get(True)))
print("get((True, 3)) after insert((1, 3), 'A') ->",
      cache.insert((1, 3), "A"), repr(cache.get((True, 3))))
if cache.get(True) == "computed for int 1":
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
