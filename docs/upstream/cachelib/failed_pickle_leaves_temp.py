"""A value whose pickling raises leaves its tmp*.__wz_cache file behind, even after clear()."""
import os, tempfile
from cachelib import FileSystemCache

class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot be pickled")

with tempfile.TemporaryDirectory() as tmp:
    cache = FileSystemCache(tmp, threshold=0, default_timeout=0)
    for i in range(3):
        try:
            cache.add(f"key-{i}", [b"x" * 100_000, Unpicklable()])
        except RuntimeError:
            pass
    cache.clear()
    left = [n for n in os.listdir(tmp) if n.endswith(".__wz_cache")]
    print(f"{len(left)} temporary files left:", left)
    if left:
        print("DEFECT REPRODUCED")
