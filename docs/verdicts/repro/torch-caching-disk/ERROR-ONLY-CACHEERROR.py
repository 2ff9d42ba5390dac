"""FALSE POSITIVE as reported (same cause as ERROR-UNPICKLABLE-KEY):
the checker's only evidence is get(lambda: None) raising TypeError, and a lambda is not a str,
the documented key type of _OnDiskCacheImpl. Note that this backend defines no error type of its
own for I/O problems either (over-long keys raise OSError, see CORE-GET-MISSING), so once the
clause stops probing non-str keys on str-only caches it may still fail for such reasons.
"""
import tempfile

from torch._inductor.runtime.caching.exceptions import CacheError
from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    try:
        impl.get(lambda: None)  # type: ignore[arg-type]  (keys must be str)
        raise SystemExit(1)
    except CacheError as err:
        print("CacheError:", err)
        raise SystemExit(1)
    except Exception as err:
        print(f"get(lambda: None) raised {type(err).__name__}, not CacheError")
        print("DEVIATION REPRODUCED")
