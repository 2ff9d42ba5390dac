"""_InMemoryCacheImpl keeps a reference to the inserted object (its docstring: values are "any
Python object"), so mutating the value after insert changes what get returns. This deviates
only from cachespec's SHOULD-level isolation. torch's memoizer stores CacheEntry objects it does
not mutate afterwards, so torch itself is unaffected; a direct user who keeps building a value
after caching it sees the cached entry change behind its back.
"""
from torch._inductor.runtime.caching.implementations import _InMemoryCacheImpl

impl = _InMemoryCacheImpl()
value = [1, {"a": [2]}]
print("insert('k', [1, {'a': [2]}]) ->", impl.insert("k", value))
value.append("mutated after insert")
print("get('k').value ->", impl.get("k").value)
if impl.get("k").value != [1, {"a": [2]}]:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
