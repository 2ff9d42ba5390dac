"""cachespec's SHOULD-level value domain: a cache holds builtin data only and refuses anything
else with CacheError. torch's InMemoryCache stores whatever object it is given (its Value type
hint names str, int, tuple, bytes, dict and list, but nothing enforces it). A user who inserts a
live object (a lock, a module, a tensor with autograd state) gets it back by reference, and the
same cache cannot be saved for from_file_path or shared through from_env_var later.
"""
import threading

from torch._inductor.cache import InMemoryCache

cache = InMemoryCache()
lock = threading.Lock()
print("insert('k', threading.Lock()) ->", cache.insert("k", lock))
print("get('k') is the very same lock object:", cache.get("k") is lock)
if cache.get("k") is not None:
    print("DEVIATION REPRODUCED")
    raise SystemExit(0)
raise SystemExit(1)
