"""A damaged entry file makes FileSystemCache.get raise MemoryError, where cachelib documents get
as returning "the value if it exists and is readable, else None". get catches OSError, EOFError
and struct.error, and its serializer catches pickle.PickleError, but unpickling damaged bytes
raises others too: here one byte of the pickle's frame length is set to 0xff (as a bad sector or
a torn write can do) and pickle tries to allocate a frame of petabytes. Other damage gives
ValueError ("unsupported pickle protocol") or OverflowError the same way.
Reported upstream: docs/upstream/cachelib.md, section 4.
"""
import logging
import tempfile

from cachelib import FileSystemCache

logging.disable(logging.CRITICAL)
with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    cache.add("key", b"x" * 100)
    path = cache._get_filename("key")  # the entry file: sha256 of the key in the directory
    data = bytearray(open(path, "rb").read())
    data[12] = 0xFF  # 4-byte expiry, PROTO 5, FRAME opcode, then the 8-byte frame length
    open(path, "wb").write(data)
    try:
        print("get ->", cache.get("key"))
    except TypeError:
        raise SystemExit(1)
    except BaseException as err:
        print(f"get raised {type(err).__name__} {err}")
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
