"""FileSystemCache.add of a value pickle refuses (a lambda) returns True: cachelib's
FileSystemSerializer.dump catches the PicklingError, logs a warning and returns, so set goes on
to os.replace() a file that holds only the 4-byte expiry header. The caller is told the value
was stored; get then returns None (the empty pickle fails to load) and add returns False (the
file exists), so the key can never be stored again through add.
Reported upstream: docs/upstream/cachelib.md, section 2.
"""
import logging
import tempfile

from cachelib import FileSystemCache

logging.disable(logging.CRITICAL)  # cachelib logs the swallowed error as a warning
with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)
    try:
        stored = cache.add("key", lambda: None)
    except Exception as err:
        print("add raised", type(err).__name__)
        raise SystemExit(1)
    print(f"add(key, lambda) -> {stored}; get -> {cache.get('key')!r}; "
          f"add(key, 1) -> {cache.add('key', 1)}; get -> {cache.get('key')!r}")
    if stored is True:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
