"""FileSystemCache stores any picklable object: add(key, object()) returns True and get returns
an object. That is cachelib's documented behaviour (values are pickled), not a defect; the spec's
SHOULD clause asks a cache to keep to builtin data so that reading an entry never has to import
or call anything, which a pickle of arbitrary objects cannot promise.
"""
import tempfile

from cachelib import FileSystemCache

with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    stored = cache.add("key", object())
    print(f"add(key, object()) -> {stored}; get -> {cache.get('key')!r}")
    if stored is True:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
