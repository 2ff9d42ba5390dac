"""get() of a damaged entry raises MemoryError instead of returning None."""
import logging, tempfile
from cachelib import FileSystemCache

logging.disable(logging.CRITICAL)
with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    cache.add("key", b"x" * 100)
    path = cache._get_filename("key")
    data = bytearray(open(path, "rb").read())
    data[12] = 0xFF  # one byte of the pickle's 8-byte frame length (after 4-byte expiry)
    open(path, "wb").write(data)
    try:
        print("get ->", cache.get("key"))
    except Exception as err:  # documented: "the value if it exists and is readable, else None"
        print(f"get raised {type(err).__name__}")
        print("DEFECT REPRODUCED")
