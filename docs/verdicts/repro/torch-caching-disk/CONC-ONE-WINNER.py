"""_OnDiskCacheImpl.insert creates the file with open(path, "xb"), but a racing insert that gets
FileExistsError reads the header of a file whose writer has not written it yet, takes the empty
file for a stale entry, unlinks it and writes its own: both inserts return True (here up to all
eight). The backend's docstring leaves locking to "the interface that uses it", yet torch's
interface (runtime/caching/interfaces.py) calls insert without impl.lock(), so this is the
behaviour torch ships. Two writers both believing they won is harmless when they store the same
bytes, but the write-once guarantee is gone: a reader can see one value and later another, and
a loser's file can be unlinked under a reader (see CONC-READ-WINNER).
"""
import tempfile
import threading

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl

threading.excepthook = lambda args: None  # racing threads may also raise; only results matter

with tempfile.TemporaryDirectory() as tmp:
    impl = _OnDiskCacheImpl(tmp)
    for attempt in range(500):
        key, results = f"key-{attempt}", []
        barrier = threading.Barrier(8)

        def insert(n: int) -> None:
            barrier.wait()
            results.append(impl.insert(key, b"%d" % n * 100_000))

        threads = [threading.Thread(target=insert, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if results.count(True) > 1:
            print("8 threads inserted one absent key: more than one insert returned True")
            print("DEVIATION REPRODUCED")
            raise SystemExit(0)
print("every race had a single winner")
raise SystemExit(1)
