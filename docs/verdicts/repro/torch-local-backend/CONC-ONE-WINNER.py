"""By design of a put-overwrite backend, not a bug. Concurrent puts of one key from threads of
one process all complete normally (each thread writes its own .<pid>.<thread>.tmp and renames it
over the entry), and put returns nothing, so every writer believes it stored its value: the
adapter reports all of them as True. The entry then holds whichever rename came last. For
torch's autotuning results any writer's value is acceptable; for a write-once cache, where the
winner's value is what every reader must agree on, there is no winner to agree on.
"""
import os
import tempfile
import threading

from torch._inductor.remote_cache import LocalCacheBackend

with tempfile.TemporaryDirectory() as tmp:
    backend = LocalCacheBackend()
    path = os.path.join(tmp, "ab", "abcd.best_config")
    start, stored = threading.Barrier(4), []

    def writer(i: int) -> None:
        start.wait()
        backend.put(path, b"value of writer %d" % i)
        stored.append(i)  # put returned without an error: this writer stored its value

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("writers whose put completed:", sorted(stored), "| get ->", backend.get(path))
    if len(stored) > 1:
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
