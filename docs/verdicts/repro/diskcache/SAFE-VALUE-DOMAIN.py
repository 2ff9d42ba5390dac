"""cachespec's SHOULD-level value domain: a cache holds builtin data only and refuses anything
else with CacheError. diskcache pickles any picklable value by design (its documented default
Disk serializes arbitrary Python objects), so this is a difference of scope, not a bug; it does
mean that reading an entry imports and runs whatever the pickle references.
"""
import collections
import tempfile

import diskcache

with tempfile.TemporaryDirectory() as tmp:
    with diskcache.Cache(tmp) as cache:
        print("add('k', OrderedDict(a=1)) ->", cache.add("k", collections.OrderedDict(a=1)))
        got = cache.get("k")
        print("get('k') ->", repr(got), type(got).__name__)
        if isinstance(got, collections.OrderedDict):
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
raise SystemExit(1)
