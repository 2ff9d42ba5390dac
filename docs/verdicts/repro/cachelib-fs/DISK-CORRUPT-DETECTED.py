"""FileSystemCache keeps no checksum: an entry file emptied (what a crash before the data
reached the disk can leave, as set() never fsyncs) reads as a miss while the file stays, and a
flipped payload byte is returned as the value. cachelib does not promise corruption detection;
the spec's SHOULD clause asks for it because a cache hit is trusted as the real result.
"""
import logging
import tempfile

from cachelib import FileSystemCache

logging.disable(logging.CRITICAL)
with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    cache.add("empty", b"x" * 100)
    open(cache._get_filename("empty"), "wb").close()
    cache.add("flipped", b"x" * 100)
    path = cache._get_filename("flipped")
    data = bytearray(open(path, "rb").read())
    data[-10] ^= 0x01  # one payload byte
    open(path, "wb").write(data)
    empty, flipped = cache.get("empty"), cache.get("flipped")
    print(f"emptied entry: get -> {empty!r}, has -> {cache.has('empty')}; "
          f"flipped byte: get -> ...{flipped[-12:]!r}")
    if empty is None or flipped != b"x" * 100:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
