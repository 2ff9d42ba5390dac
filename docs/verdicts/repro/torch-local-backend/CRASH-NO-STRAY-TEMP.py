"""A real, minor defect of torch's codecache.write_atomic, which LocalCacheBackend.put uses: it
writes .<pid>.<thread>.tmp next to the entry and renames it, but nothing removes that temporary
when the writer dies mid-write (SIGKILL, the OOM killer) or the write raises (disk full, a file
size quota, KeyboardInterrupt: there is no try/finally). The name carries the dead writer's pid,
so no later put reuses it and it stays in the cache directory for good, as big as what was
written before the failure. Here a writer is killed by the kernel (RLIMIT_FSIZE: SIGXFSZ once
the file reaches 1 MiB) while storing 4 MiB; the key is then stored by another process, and the
directory holds the entry and the dead writer's 1 MiB temporary. The entry itself is never torn
(CRASH-ATOMIC passes). Reported upstream in docs/upstream/torch.md.
"""
import os
import resource
import signal
import tempfile

from torch._inductor.remote_cache import LocalCacheBackend

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "ab", "abcd.best_config")
    pid = os.fork()
    if pid == 0:  # the writer that dies mid-put
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; restore the kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
        LocalCacheBackend().put(path, b"x" * (4 << 20))
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("writer killed by signal:", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
    LocalCacheBackend().put(path, b"stored by a later writer")
    files = {f: os.path.getsize(os.path.join(tmp, "ab", f)) for f in os.listdir(os.path.join(tmp, "ab"))}
    print("files for 1 key:", len(files), "| temporaries:",
          sorted(size for f, size in files.items() if f.endswith(".tmp")), "bytes")
    if any(f.endswith(".tmp") for f in files):
        print("DEVIATION REPRODUCED")
        raise SystemExit(0)
raise SystemExit(1)
