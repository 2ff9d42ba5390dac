"""After a writer died mid-insert, torch's OnDiskCache keeps the truncated entry: its version
prefix matches, so get raises CacheError on every call and insert finds the file present and
returns False. The key stays unusable for every process until someone deletes the file by hand;
for Inductor that is a compiled artifact that can never be cached again after one crash. The
writer is killed deterministically by the kernel (RLIMIT_FSIZE); the checker's SIGKILL finds it
only in some runs at profile quick. Publishing complete files atomically avoids it.
"""
import subprocess
import sys
import tempfile
from pathlib import Path

from torch._inductor.cache import OnDiskCache

WRITER = """
import resource, signal, sys
from pathlib import Path
from torch._inductor.cache import OnDiskCache
cache = OnDiskCache()
cache.base_dir = Path(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; restore the kill
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # killed writing past 1 MiB
cache.insert("big", [b"x" * (4 << 20)])
"""


def attempt(fn):
    try:
        return repr(fn())
    except Exception as err:
        return f"raised {type(err).__name__}"


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-c", WRITER, tmp], capture_output=True)
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    print("insert('big', ['small']) ->", attempt(lambda: cache.insert("big", ["small"])))
    after = attempt(lambda: cache.get("big"))
    print("get('big') ->", after)
    if after != repr(["small"]):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
