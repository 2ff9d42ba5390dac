"""InMemoryCache.from_env_var documents "Raises: CacheError: If the environment variable is
malformed or contains invalid data", but converts only pickle.UnpicklingError. A pair whose
bytes literal is empty (b'') makes pickle.loads raise EOFError, which escapes as is (a truncated
pickle does the same). A launcher that catches CacheError to fall back to an empty cache crashes
instead. Fix: convert every exception pickle.loads raises on bad input.
"""
import os
import pickle

from torch._inductor.cache import CacheError, InMemoryCache

os.environ["CACHESPEC_REPRO"] = f"{pickle.dumps('key')!r},b''"
try:
    InMemoryCache.from_env_var("CACHESPEC_REPRO")
    print("loaded an empty value pickle without error")
    raise SystemExit(1)
except CacheError as err:
    print("CacheError:", err)
    raise SystemExit(1)
except Exception as err:
    print(f"from_env_var(key,b'') raised {type(err).__name__}: {err} (not a CacheError)")
    print("DEVIATION REPRODUCED")
