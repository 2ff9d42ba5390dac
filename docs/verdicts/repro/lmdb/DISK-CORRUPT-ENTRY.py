"""LMDB maps its data file into memory and trusts it: when ``data.mdb`` is shorter than the
pages its meta page points to (a file truncated to half, as a full disk, a partial copy or a
crash of the machine can leave it), a read transaction touches a mapped page past the end of
the file and the kernel kills the process with SIGBUS. No exception, no chance to recover: the
process reading the cache dies. The read runs in a child process here so that this script can
report it. LMDB documents that it relies on the file's integrity (no checksums); opening does
not compare the file's size with the last page in use, which would turn this into an error.
"""
import os
import signal
import subprocess
import sys
import tempfile

import lmdb

READER = """
import sys, lmdb
env = lmdb.open(sys.argv[1], map_size=1 << 30)
with env.begin() as txn:
    print([txn.get(b"k%d" % i) is not None for i in range(6)])
"""

with tempfile.TemporaryDirectory() as tmp:
    env = lmdb.open(tmp, map_size=1 << 30)
    for i in range(6):
        with env.begin(write=True) as txn:
            txn.put(b"k%d" % i, bytes([i]) * 2048, overwrite=False)
    env.close()
    data = os.path.join(tmp, "data.mdb")
    os.truncate(data, os.path.getsize(data) // 2)
    done = subprocess.run([sys.executable, "-c", READER, tmp], capture_output=True, text=True)
    died = -done.returncode if done.returncode < 0 else None
    print("reader exit status:", done.returncode,
          f"(killed by {signal.Signals(died).name})" if died else done.stdout.strip())
    if died:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
