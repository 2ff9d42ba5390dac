"""_OnDiskCacheImpl.insert opens the final entry path with open(path, "xb") and writes the header
and the value into it in place. A writer that dies mid-write (OOM killer, SIGKILL, a full disk
quota) leaves a truncated entry that carries a valid version header, and every later get returns
it as a Hit with the truncated bytes. Here the writer process is killed deterministically by the
kernel (RLIMIT_FSIZE: SIGXFSZ once the file reaches 1 MiB) while storing 4 MiB. torch's
interface would then unpickle a truncated pickle (an error at best). Writing to a temporary file
and renaming/linking it into place when complete, as cachespec's reference does, makes a crash
leave either nothing or the whole entry.
"""
import subprocess
import sys
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

WRITER = """
import resource, signal, sys
from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl
impl = _OnDiskCacheImpl(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; restore the kill
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # killed writing past 1 MiB
impl.insert("big", b"x" * (4 << 20))
print("insert returned")
"""

with tempfile.TemporaryDirectory() as tmp:
    writer = subprocess.run([sys.executable, "-c", WRITER, tmp], capture_output=True, text=True)
    print("writer killed by signal:", -writer.returncode if writer.returncode < 0 else None)
    hit = _OnDiskCacheImpl(tmp).get("big")
    print("get('big') ->", None if hit is None else f"Hit with {len(hit.value)} bytes (inserted {4 << 20})")
    if hit is not None and len(hit.value) != 4 << 20:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
