"""cachespec's SHOULD-level value domain: a cache holds builtin data only and refuses anything
else with CacheError. _InMemoryCacheImpl is documented to hold "any Python object", so this is a
deliberate difference, not a bug: values it accepts in memory may fail later when an interface
copies them to the on-disk or remote backends, which take bytes.
"""
from torch._inductor.runtime.caching.implementations import _InMemoryCacheImpl

impl = _InMemoryCacheImpl()
alien = object()
print("insert('k', object()) ->", impl.insert("k", alien))
hit = impl.get("k")
print("get('k') ->", hit)
if hit is not None and hit.value is alien:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
