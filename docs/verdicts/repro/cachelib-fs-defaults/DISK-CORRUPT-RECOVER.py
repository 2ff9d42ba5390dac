"""A damaged entry poisons its key for good: FileSystemCache.add decides "present" by
os.path.exists, get and has decide by reading the file. After an entry file is emptied, get
returns None and has returns False, yet add returns False (the file exists) and stores nothing,
and so on forever: the only way out is delete() or set(), which a write-once user of add never
calls. The same happens after add(key, <unpicklable value>) (see ERROR-UNPICKLABLE-VALUE).
Reported upstream: docs/upstream/cachelib.md, sections 2 and 3.
"""
import logging
import tempfile

from cachelib import FileSystemCache

logging.disable(logging.CRITICAL)
with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)
    cache.add("key", b"old")
    open(cache._get_filename("key"), "wb").close()  # the entry file emptied
    got, has = cache.get("key"), cache.has("key")
    added = cache.add("key", b"new")
    print(f"get -> {got!r}, has -> {has}; add(key, b'new') -> {added}; get -> {cache.get('key')!r}")
    if not has and added is False and cache.get("key") is None:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
