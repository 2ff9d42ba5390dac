"""FALSE POSITIVE (reported to the spec owners). The clause comes
from torch's test of cache.py's OnDiskCache, which pickles keys. _OnDiskCacheImpl never pickles
keys: its docstrings say the key "must be str" and it joins it to the cache directory. A lambda
is outside that documented domain, and get(lambda) fails with the TypeError of Path / function
(a precondition violation, not a serialization failure). The clause should apply only to
targets with typed keys (capability typed-keys), where keys are serialized; for str-only caches
there is no unpicklable key.
"""
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    try:
        impl.get(lambda: None)  # type: ignore[arg-type]  (keys must be str)
        raise SystemExit(1)
    except Exception as err:
        print(f"get(lambda: None) raised {type(err).__name__}: {err}")
        print("DEVIATION REPRODUCED")
