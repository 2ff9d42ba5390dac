"""torch's OnDiskCache.insert creates the final entry file with open(path, "xb") and pickles into
it in place, so a writer that dies mid-write (OOM killer, SIGKILL, a full disk) leaves a file
with a valid version prefix and a truncated pickle. Every later get then raises CacheError
("value is potentially corrupted") instead of returning None or the whole value. Here the writer
is killed deterministically by the kernel (RLIMIT_FSIZE: SIGXFSZ once the file reaches 1 MiB)
while storing 4 MiB. The file lock does not help: it serializes writers, it does not make the
publish atomic. Compile workers killed under memory pressure are common, so users do hit this;
see CRASH-RECOVER for why it does not heal. The checker finds it only when its SIGKILL lands
during a write, so at profile quick its verdict varies between runs; this snippet is exact.
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

with tempfile.TemporaryDirectory() as tmp:
    writer = subprocess.run([sys.executable, "-c", WRITER, tmp], capture_output=True)
    print("writer killed by signal:", -writer.returncode if writer.returncode < 0 else None)
    cache = OnDiskCache()
    cache.base_dir = Path(tmp)
    try:
        got = cache.get("big")
        print("get('big') ->", None if got is None else f"a value of {len(got[0])} bytes")
        raise SystemExit(0 if got is not None and len(got[0]) != 4 << 20 else 1)
    except Exception as err:
        print(f"get('big') raised {type(err).__name__}: {err}")
        print("DEVIATION REPRODUCED")
