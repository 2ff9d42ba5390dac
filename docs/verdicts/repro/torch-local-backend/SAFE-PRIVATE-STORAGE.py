"""LocalCacheBackend reads whatever file sits at the path it is given: on a directory another
user owns and everyone can write, an entry planted there by that user is returned as genuine.
The backend itself has no directory to check (its keys are full paths); the gap is in how torch
picks the directory: cache_dir() is <tempdir>/torchinductor_<user>, created with
os.makedirs(exist_ok=True) and never checked for its owner or mode, so whoever creates it first
decides what the victim's LocalAutotuneCache reads (autotuning configs, from which the
kernel's launch config is chosen). This deviates from the spec's SHOULD-level storage trust;
it is shared with torch's other caches under cache_dir(), not particular to this backend.
Needs root (to chown).
"""
import os
import tempfile
from pathlib import Path

from torch._inductor import codecache  # noqa: F401  put imports it lazily: load it as root
from torch._inductor.remote_cache import LocalCacheBackend

NOBODY = 65534
if os.geteuid() != 0:
    raise SystemExit("run as root: building another user's directory needs chown")
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    shared = Path(tmp, "torchinductor_victim")
    shared.mkdir()
    os.chown(shared, NOBODY, NOBODY)
    os.chmod(shared, 0o777)
    path = str(shared / "ab" / "abcd.best_config")
    pid = os.fork()
    if pid == 0:  # the other user plants an entry
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        LocalCacheBackend().put(path, b'{"planted": "by uid 65534"}')
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0, "the other user could not plant the entry"
    got = LocalCacheBackend().get(path)
    print(f"directory owner uid {shared.stat().st_uid}, mode {oct(shared.stat().st_mode & 0o777)}")
    print("victim get ->", got)
    if got == b'{"planted": "by uid 65534"}':
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
