"""The insert race of _OnDiskCacheImpl (see CONC-ONE-WINNER) across processes, which is how
torch's compile workers share the disk cache: a process that finds the file already created but
not yet written takes it for a stale entry, unlinks it and writes its own, so several processes
get True for one key. The file lock that would prevent it (impl.lock()) is not taken by torch's
interface. Compile workers racing on the same kernel each believe they populated the cache.
"""
import multiprocessing as mp
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl


def insert(tmp: str, key: str, n: int, barrier, results) -> None:
    impl = _OnDiskCacheImpl(tmp)
    barrier.wait()
    try:
        results.put(impl.insert(key, b"%d" % n * 100_000))
    except OSError:
        results.put(None)


if __name__ == "__main__":
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(200):
            barrier, results = ctx.Barrier(6), ctx.Queue()
            procs = [ctx.Process(target=insert, args=(tmp, f"key-{attempt}", n, barrier, results))
                     for n in range(6)]
            for p in procs:
                p.start()
            got = [results.get(timeout=60) for _ in procs]
            for p in procs:
                p.join()
            if got.count(True) > 1:
                print("6 processes inserted one absent key: more than one insert returned True")
                print("DEVIATION REPRODUCED")
                raise SystemExit(0)
    print("every race had a single winner")
    raise SystemExit(1)
