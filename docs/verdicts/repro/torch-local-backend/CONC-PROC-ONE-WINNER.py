"""By design of a put-overwrite backend, not a bug. Two processes that put the same key both
complete normally (rename replaces the entry atomically, whoever comes second), and put returns
nothing, so both believe they stored their value: the adapter reports both inserts as True. For
torch's autotuning results, where every process computes an equally good value, this is the
intended last-writer-wins; it is not the spec's write-once insert with exactly one winner.
"""
import os
import tempfile

from torch._inductor.remote_cache import LocalCacheBackend

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "ab", "abcd.best_config")
    completed = []
    for name in ("A", "B"):
        pid = os.fork()
        if pid == 0:  # each process has its own backend, as separate compiles do
            LocalCacheBackend().put(path, b"value of " + name.encode())
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status == 0:
            completed.append(name)  # its put returned without an error
    print("processes whose put completed:", completed, "| get ->", LocalCacheBackend().get(path))
    if len(completed) == 2:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
