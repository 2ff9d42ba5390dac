"""By design of a put-overwrite backend, not a bug. LocalCacheBackend.put(path, data) writes the
file with codecache.write_atomic (a temporary file renamed over the path), so a second put of a
key replaces the first value, and put returns nothing that could say whether an entry was
already there: the adapter reports every insert as True. torch uses it as a last-writer-wins
store of autotuning results (LocalAutotuneCache), where replacing an entry is intended. The
spec's write-once insert (False and the stored value unchanged) is a different contract; a user
who needs it cannot build it on put without a lock or a create-exclusive write of their own.
"""
import os
import tempfile

from torch._inductor.remote_cache import LocalCacheBackend

with tempfile.TemporaryDirectory() as tmp:
    backend = LocalCacheBackend()
    path = os.path.join(tmp, "ab", "abcd.best_config")  # torch's keys are file paths
    print("put first ->", backend.put(path, b"first"))
    print("put second ->", backend.put(path, b"second"))
    got = backend.get(path)
    print("get ->", got)
    if got == b"second":
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
