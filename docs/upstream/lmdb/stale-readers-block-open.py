"""py-lmdb 3.0.0: processes killed after opening an environment leave stale reader slots, and
once they fill the table no new process can even open the environment to call reader_check()."""
import os, shutil, signal, subprocess, sys, tempfile
import lmdb

path = tempfile.mkdtemp()
HOLD = "import lmdb, sys; e = lmdb.open(sys.argv[1], max_readers=8); print('open', flush=True); sys.stdin.read()"
holder = subprocess.Popen([sys.executable, "-c", HOLD, path], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)  # keeps the environment open
assert holder.stdout.readline() == "open\n"
for i in range(8):  # worker processes that open the environment, read, and get killed
    if (pid := os.fork()) == 0:
        env = lmdb.open(path)
        with env.begin() as txn:
            txn.get(b"key")  # the read is over; its reader slot stays cached by py-lmdb
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
try:
    lmdb.open(path)
    print("a new process opened the environment")
except lmdb.ReadersFullError as err:
    print("a new process cannot open the environment:", err)
    print("DEFECT REPRODUCED")
finally:
    holder.stdin.close()
    holder.wait()
    shutil.rmtree(path)
