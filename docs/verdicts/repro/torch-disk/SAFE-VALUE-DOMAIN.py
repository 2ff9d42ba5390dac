"""cachespec's SHOULD-level value domain: a cache holds builtin data only and refuses anything
else with CacheError. torch's OnDiskCache pickles any picklable object, classes and callables by
reference included, so the entry depends on code being importable (and unchanged) in every
process that later reads it, and reading it imports that code. Restricting values to builtin
data is what makes a code-free decoder possible (see SAFE-DISK-NO-CODE).
"""
import collections
import tempfile
from pathlib import Path

from torch._inductor.cache import OnDiskCache

with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    value = collections.OrderedDict(a=1)
    print("insert('k', OrderedDict(a=1)) ->", cache.insert("k", value))
    got = cache.get("k")
    print("get('k') ->", repr(got), type(got).__name__)
    if isinstance(got, collections.OrderedDict):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
