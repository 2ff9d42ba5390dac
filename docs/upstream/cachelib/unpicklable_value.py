"""add() of a value pickle refuses returns True and leaves the key unusable for good."""
import logging, tempfile
from cachelib import FileSystemCache

logging.disable(logging.CRITICAL)  # the swallowed PicklingError is only logged
with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    stored = cache.add("key", lambda: None)      # -> True
    got = cache.get("key")                       # -> None (file holds only the header)
    again = cache.add("key", "a good value")     # -> False (the file exists)
    print(f"add(lambda) -> {stored}, get -> {got!r}, add(good) -> {again}, "
          f"get -> {cache.get('key')!r}, has -> {cache.has('key')}")
    if stored is True and got is None and again is False:
        print("DEFECT REPRODUCED")
