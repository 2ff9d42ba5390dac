"""After a writer died mid-insert, the truncated entry of _OnDiskCacheImpl has a valid version
header, so insert sees an existing, non-stale file and returns False, and get keeps returning
the truncated bytes: the key never recovers until the file is deleted by hand. The writer is
killed deterministically by the kernel (RLIMIT_FSIZE) while writing 4 MiB. For torch's
interface this means a compile result that is permanently unreadable from the disk cache after
one crash; an atomic publish (temporary file + rename) avoids it.
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
"""

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-c", WRITER, tmp], capture_output=True)
    impl = _OnDiskCacheImpl(tmp)
    print("after the crash: insert('big', b'small') ->", impl.insert("big", b"small"))
    hit = impl.get("big")
    print("get('big') ->", None if hit is None else f"Hit with {len(hit.value)} bytes")
    if hit is None or hit.value != b"small":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
