"""FileSystemCache.get unpickles entry files, so an entry file replaced by a pickle that calls a
function runs that function. cachelib documents pickle as its serializer and that the cache
"depends on being the only user of the cache_dir", so this is pickle's documented risk rather
than a cachelib defect; the spec's SHOULD clause asks that reading a cache never run code.
"""
import pickle
import struct
import tempfile

from cachelib import FileSystemCache

ran = []


def mark():
    ran.append("code from the entry file ran")
    return "forged"


class Forged:
    def __reduce__(self):
        return (mark, ())


with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp)
    cache.add("key", b"genuine")
    with open(cache._get_filename("key"), "wb") as f:
        f.write(struct.pack("I", 0) + pickle.dumps(Forged()))
    print("get ->", cache.get("key"), ran)
    if ran:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
