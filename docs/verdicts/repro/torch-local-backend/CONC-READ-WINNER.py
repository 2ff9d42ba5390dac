"""By design of a put-overwrite backend, not a bug. Each put renames a complete file over the
entry, so a reader never sees a torn value, but a later put replaces the value an earlier get
already returned: two reads of one key return two different writers' values. Here thread B puts
and reads its value, then thread A's put (started first, finishing last, as in the checker's
schedule) lands and the next get returns A's value. For torch's autotuning results either value
works; a write-once cache promises that once a value is read it is the key's value for good.
"""
import os
import tempfile
import threading

from torch._inductor.remote_cache import LocalCacheBackend

with tempfile.TemporaryDirectory() as tmp:
    backend = LocalCacheBackend()
    path = os.path.join(tmp, "ab", "abcd.best_config")
    b_has_read = threading.Event()
    reads = []

    def writer_a() -> None:
        b_has_read.wait()  # A is slower: its rename lands after B's put and read
        backend.put(path, b"value of A")

    a = threading.Thread(target=writer_a)
    a.start()
    backend.put(path, b"value of B")  # thread B (this thread)
    reads.append(backend.get(path))
    b_has_read.set()
    a.join()
    reads.append(backend.get(path))
    print("B's two reads ->", reads)
    if reads[0] != reads[1]:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
