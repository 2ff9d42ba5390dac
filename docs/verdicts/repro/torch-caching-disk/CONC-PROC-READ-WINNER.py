"""The insert race of _OnDiskCacheImpl across processes (see CONC-PROC-ONE-WINNER) also breaks
reads: a process that takes a just-created, still empty entry file for a stale one unlinks it
and writes its own, so after the race the processes do not agree on one value, and a reader can
get None or a truncated value for a key whose insert returned True. torch's interface calls
insert and get without the directory lock, so compile workers sharing the disk cache can see
different, or missing, entries for the same key. Each process here inserts its own value and
then reads the key back; the snippet stops at the first race where the reads disagree with a
single value.
"""
import multiprocessing as mp
import tempfile

from torch._inductor.runtime.caching.implementations import _OnDiskCacheImpl


def insert_then_get(tmp: str, key: str, n: int, barrier, results) -> None:
    impl = _OnDiskCacheImpl(tmp)
    barrier.wait()
    try:
        won = impl.insert(key, b"%d" % n * 100_000)
        hit = impl.get(key)
        results.put((n, won, None if hit is None else hit.value))
    except OSError:
        results.put((n, None, None))


if __name__ == "__main__":
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(200):
            barrier, results = ctx.Barrier(6), ctx.Queue()
            procs = [ctx.Process(target=insert_then_get,
                                 args=(tmp, f"key-{attempt}", n, barrier, results))
                     for n in range(6)]
            for p in procs:
                p.start()
            got = [results.get(timeout=60) for _ in procs]
            for p in procs:
                p.join()
            reads = {value for _, _, value in got}
            if None in reads or len(reads) > 1:  # a miss after the race, or disagreeing reads
                print("after an insert race between 6 processes, their reads of the key do not "
                      "all return one winner's value")
                print("DEVIATION REPRODUCED")
                raise SystemExit(0)
    print("every race had one winner that every process read")
    raise SystemExit(1)
