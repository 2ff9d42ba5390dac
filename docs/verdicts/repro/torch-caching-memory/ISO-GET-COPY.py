"""_InMemoryCacheImpl.get returns Hit(value=<the stored object>), so a reader that mutates the
value changes it for every later reader. Deviation from cachespec's SHOULD-level isolation only;
torch's memoizer treats hits as read-only, direct users mutating a hit in place corrupt the
cache for everyone else in the process.
"""
from torch._inductor.runtime.caching.implementations import _InMemoryCacheImpl

impl = _InMemoryCacheImpl()
impl.insert("k", [1, {"a": [2]}])
impl.get("k").value[1]["a"].append("mutated by a reader")
print("second get('k').value ->", impl.get("k").value)
if impl.get("k").value != [1, {"a": [2]}]:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
